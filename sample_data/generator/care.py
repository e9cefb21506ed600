"""Care episodes and their claim lines: acts, tariffs, Assurance Maladie share, sources,
delays."""

from __future__ import annotations

import numpy as np

from claimwatch.sample_data.generator.identifiers import _choice, _lognorm
from claimwatch.sample_data.generator.reference import (
    _A,
    _ALT_CODES,
    _ALT_MED,
    _ALT_W,
    _CROWNS,
    _DC_BASE,
    _DC_CODES,
    _DC_W,
    _DRUG_CODE,
    _DRUG_PRICE,
    _DRUG_RATE,
    _HEAR_I,
    _HEAR_II,
    _IMG_BASE,
    _IMG_CODES,
    _IMG_W,
    _LAB_BASE,
    _LAB_CODES,
    _LINES,
    _OPT,
    _RATES,
    _SRC_P,
    ALT,
    AUDIO,
    DENT,
    E_ALT,
    E_DCARE,
    E_DPROS,
    E_GP,
    E_HEAR,
    E_HOSP,
    E_IMG,
    E_LAB,
    E_NURSE,
    E_OPT,
    E_PHYSIO,
    E_REFILL,
    E_SPEC,
    E_SPEECH,
    GP,
    HOSP,
    IMG,
    LAB,
    NET,
    NURSE,
    OPTIC,
    PARAMED,
    PHARM,
    PHYSIO,
    SPEC,
    TOURIST,
)


class Care:
    """Episodes and claim lines."""

    # ------------------------------------------------------------------------- claim lines
    def dept_at(self, m, day):
        return np.where(day >= self.move_day[m], self.dept1[m], self.dept0[m])

    def _pool_pick(self, ptype, dept, u):
        c = self.p_count[ptype, dept]
        return self.p_start[ptype, dept] + np.minimum(c - 1, (u**1.6 * c).astype(np.int64))

    def legit_episodes(self):
        rng, n = self.rng, self.n
        ag = np.digitize(self.age, [6, 18, 40, 60, 75])
        rates = _RATES[ag].copy()
        f = self.fem & (self.age >= 18) & (self.age < 60)
        rates[f, E_GP] *= 1.15
        rates[f, E_SPEC] *= 1.5
        rates[f, E_ALT] *= 1.3
        rates[~self.fem & (self.age >= 18) & (self.age < 60), E_GP] *= 0.85
        w = self.years
        exp_lines = ((rates * _LINES).sum(1) * w).sum() / max(w.sum(), 1e-9)
        scale = 22.0 / exp_lines * 1.16
        mult = rng.gamma(1.6, 1 / 1.6, n)
        lam = rates * (scale * mult * w)[:, None]
        cnt = rng.poisson(lam).ravel()
        cell = np.repeat(np.arange(n * NET), cnt)
        m, et = cell // NET, cell % NET
        # care dates: seasonal, fewer at week-ends, inside the member's cover window
        days = np.arange(self.d0, self.d1 + 1)
        month = days.astype("datetime64[D]").astype("datetime64[M]").astype(int) % 12
        season = np.array([1.25, 1.2, 1.1, 1.0, 0.95, 0.95, 0.85, 0.7, 1.0, 1.05, 1.1, 1.15])[month]
        wd = (days + 3) % 7  # 0 = Monday
        season = season * np.array([1.1, 1.1, 1.05, 1.1, 1.05, 0.45, 0.08])[wd]
        cw = np.concatenate([[0.0], np.cumsum(season)])
        a = np.maximum(self.cstart[m], self.d0) - self.d0
        b = np.full(len(m), self.d1 - self.d0)
        tgt = cw[a] + rng.random(len(m)) * (cw[b + 1] - cw[a])
        day = np.clip(np.searchsorted(cw, tgt, side="right") - 1, a, b) + self.d0
        # dormant spells
        dorm = rng.random(n) < 0.12
        ds = self.d0 + (rng.random(n) * (self.d1 - self.d0)).astype(np.int64)
        de = ds + rng.integers(90, 270, n)
        keep = ~(dorm[m] & (day >= ds[m]) & (day <= de[m]))
        m, et, day = m[keep], et[keep], day[keep]
        dept = self.dept_at(m, day)
        hol = (rng.random(len(m)) < 0.03) & ~np.isin(et, [E_REFILL, E_NURSE, E_SPEECH])
        dept[hol] = rng.choice(TOURIST, hol.sum())
        E = len(m)
        eps = dict(
            m=m,
            day=day,
            et=et,
            dept=dept,
            prov=np.full(E, -1),
            mult=np.ones(E),
            prem=np.zeros(E, bool),
            src=np.full(E, -1),
            recv=np.full(E, -1),
            scen=np.zeros(E, np.int64),
            hol=hol,
        )
        parts = [eps]
        for la in self.lookalike:
            k = len(la["m"])
            d = np.maximum(la["day"], self.cstart[la["m"]])
            parts.append(
                dict(
                    m=la["m"],
                    day=d,
                    et=la["et"],
                    dept=self.dept_at(la["m"], d),
                    prov=np.full(k, -1),
                    mult=np.ones(k),
                    prem=np.zeros(k, bool),
                    src=la["src"],
                    recv=la["recv"],
                    scen=np.zeros(k, np.int64),
                    hol=np.zeros(k, bool),
                )
            )
        if self.fraud_eps:
            fe = {key: np.array([e[key] for e in self.fraud_eps]) for key in self.fraud_eps[0]}
            fe["hol"] = np.zeros(len(fe["m"]), bool)
            parts.append(fe)
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def expand(self, ep):
        """Episodes -> claim lines (care date, category, act, provider, amounts, source, received)."""
        rng = self.rng
        E = len(ep["m"])
        age = self.age[ep["m"]] + (ep["day"] - self.d0) / 365.25
        u_prov = rng.random(E)
        u_src = rng.random(E)  # shared by the lines of one episode: same source, same delay
        z_del = rng.standard_normal(E)
        L: dict[str, list] = {
            k: []
            for k in (
                "li",
                "off",
                "cat",
                "act",
                "pt",
                "prov",
                "billed",
                "base",
                "rate",
                "pf",
                "f24",
            )
        }

        def emit(li, off, cat, act, pt, billed, base, rate, pf=0, f24=0, prov=None):
            k = len(li)
            if k == 0:
                return
            bc = lambda x, dt: np.broadcast_to(np.asarray(x, dtype=dt), (k,))  # noqa: E731
            L["li"].append(li)
            L["off"].append(bc(off, np.int64))
            L["cat"].append(bc(cat, np.int64))
            L["act"].append(bc(act, np.int64))
            L["pt"].append(bc(pt, np.int64))
            L["prov"].append(bc(-1 if prov is None else prov, np.int64))
            L["billed"].append(np.round(bc(billed, float)).astype(np.int64))
            L["base"].append(np.round(bc(base, float)).astype(np.int64))
            L["rate"].append(bc(rate, float))
            L["pf"].append(bc(pf, np.int64))
            L["f24"].append(bc(f24, np.int64))

        def euro(x):
            return np.round(x / 100) * 100

        def pharmacy(li, offs, home_p):
            k = len(li)
            drug = (rng.random(k) ** 2.2 * len(_DRUG_CODE)).astype(np.int64)
            qty = rng.choice([1, 2, 3], k, p=[0.8, 0.15, 0.05])
            price = _DRUG_PRICE[drug] * qty
            emit(
                li,
                offs,
                1,
                _DRUG_CODE[drug],
                PHARM,
                price,
                price,
                _DRUG_RATE[drug],
                prov=np.where(rng.random(k) < home_p, -3, -1),
            )

        def series(idx, nsess, gap_lo, gap_hi):
            li = np.repeat(idx, nsess)
            first = np.repeat(np.cumsum(nsess) - nsess, nsess)
            gaps = rng.integers(gap_lo, gap_hi + 1, len(li))
            gaps[first == np.arange(len(li))] = 0
            off = np.cumsum(gaps)
            off = off - np.repeat(off[np.cumsum(nsess) - nsess], nsess)
            return li, off

        adult = age >= 18
        pf_c = np.where(adult, 200, 0)
        for et in range(NET):
            idx = np.flatnonzero(ep["et"] == et)
            k = len(idx)
            if k == 0:
                continue
            a = age[idx]
            if et == E_GP:
                r = rng.random(k)
                act = np.where(r < 0.07, _A["TCG"], np.where((a >= 75) & (r > 0.8), _A["VG"], _A["G"]))
                base = np.where(act == _A["VG"], 4000, 3000)
                home = (rng.random(k) < 0.8) & ~ep["hol"][idx]
                emit(idx, 0, 0, act, GP, base, base, 0.7, pf_c[idx], prov=np.where(home, -2, -1))
                npx = np.where(rng.random(k) < 0.72, 1 + rng.binomial(3, 0.3, k), 0)
                li = np.repeat(idx, npx)
                pharmacy(li, rng.choice(3, len(li), p=[0.78, 0.18, 0.04]), 0.85)
            elif et == E_SPEC:
                act = _choice(rng, [_A["CS"], _A["APC"], _A["CSC"]], k, [0.62, 0.24, 0.14])
                base = np.where(act == _A["CS"], 3150, np.where(act == _A["APC"], 6000, 4773))
                emit(idx, 0, 0, act, SPEC, base, base, 0.7, pf_c[idx])
                npx = np.where(rng.random(k) < 0.3, 1 + rng.binomial(1, 0.4, k), 0)
                li = np.repeat(idx, npx)
                pharmacy(li, rng.choice(2, len(li), p=[0.8, 0.2]), 0.7)
                im = idx[rng.random(k) < 0.1]
                j = rng.choice(len(_IMG_CODES), len(im), p=_IMG_W)
                emit(
                    im,
                    rng.integers(0, 15, len(im)),
                    3,
                    _IMG_CODES[j],
                    IMG,
                    _IMG_BASE[j],
                    _IMG_BASE[j],
                    0.7,
                    pf_c[im],
                )
            elif et == E_REFILL:
                li = np.repeat(idx, 1 + rng.binomial(5, 0.45, k))
                pharmacy(li, 0, 0.9)
            elif et == E_LAB:
                nl = 1 + rng.binomial(4, 0.4, k)
                li = np.repeat(idx, nl)
                pos = np.arange(len(li)) - np.repeat(np.cumsum(nl) - nl, nl)
                j = (np.repeat(rng.integers(0, len(_LAB_CODES), k), nl) + 5 * pos) % len(_LAB_CODES)
                base = np.round(_LAB_BASE[j] * np.exp(0.12 * rng.standard_normal(len(li))) / 27) * 27
                emit(li, 0, 2, _LAB_CODES[j], LAB, base, base, 0.6)
            elif et == E_IMG:
                nl = 1 + (rng.random(k) < 0.2)
                li = np.repeat(idx, nl)
                pos = np.arange(len(li)) - np.repeat(np.cumsum(nl) - nl, nl)
                j = (np.repeat(rng.choice(len(_IMG_W), k, p=_IMG_W), nl) + 3 * pos) % len(_IMG_W)
                emit(li, 0, 3, _IMG_CODES[j], IMG, _IMG_BASE[j], _IMG_BASE[j], 0.7, pf_c[li])
            elif et == E_DCARE:
                li = np.repeat(idx, 1 + rng.binomial(2, 0.35, k))
                j = rng.choice(len(_DC_CODES), len(li), p=_DC_W)
                off = np.where(rng.random(len(li)) < 0.7, 0, rng.integers(7, 22, len(li)))
                emit(li, off, 5, _DC_CODES[j], DENT, _DC_BASE[j], _DC_BASE[j], 0.6)
            elif et == E_DPROS:
                li = np.repeat(idx, 1 + (rng.random(k) < 0.2))
                kk = len(li)
                rac0 = (rng.random(kk) < 0.45) & ~ep["prem"][li]
                billed = np.where(
                    rac0,
                    np.minimum(euro(_lognorm(rng, 49000, 0.04, kk)), 50000),
                    euro(np.clip(_lognorm(rng, 76000, 0.28, kk) * ep["mult"][li], 45000, 160000)),
                )
                emit(li, 0, 5, _choice(rng, _CROWNS, kk, [0.5, 0.35, 0.15]), DENT, billed, 12000, 0.6)
            elif et == E_OPT:
                r = rng.random(k)
                nl = np.where(r < 0.85, 3, np.where(r < 0.95, 2, 1))
                li = np.repeat(idx, nl)
                pos = np.arange(len(li)) - np.repeat(np.cumsum(nl) - nl, nl)
                kind = np.where(
                    np.repeat(nl, nl) == 2,
                    1,
                    np.where(np.repeat(nl, nl) == 1, 0, np.minimum(pos, 1)),
                )
                kk = len(li)
                al = age[li]
                cls_a = (np.repeat(rng.random(k), nl) < 0.2) & ~ep["prem"][li]
                mu = ep["mult"][li]
                prog = al >= 45
                frame_code = np.where(
                    cls_a, _OPT["frame_a"], np.where(al < 16, _OPT["frame_child"], _OPT["frame_b"])
                )
                lens_code = np.where(
                    cls_a,
                    _OPT["lens_a"],
                    np.where(
                        prog,
                        _choice(rng, [_OPT["prog"], _OPT["prog2"]], kk),
                        _choice(rng, [_OPT["single"], _OPT["single2"]], kk),
                    ),
                )
                fb = np.clip(_lognorm(rng, 14000, 0.4, kk) * mu, 4000, 65000)
                lb = np.where(
                    prog,
                    np.clip(_lognorm(rng, 27000, 0.3, kk) * mu, 12000, 65000),
                    np.clip(_lognorm(rng, 9500, 0.35, kk) * mu, 3000, 30000),
                )
                billed = np.where(
                    kind == 0,
                    np.where(cls_a, np.minimum(_lognorm(rng, 2900, 0.05, kk), 3000), euro(fb)),
                    np.where(cls_a, np.minimum(euro(_lognorm(rng, 4500, 0.3, kk)), 9000), euro(lb)),
                )
                base = np.where(cls_a, billed, 5)
                emit(li, 0, 6, np.where(kind == 0, frame_code, lens_code), OPTIC, billed, base, 0.6)
            elif et == E_HEAR:
                li = np.repeat(idx, np.where(rng.random(k) < 0.75, 2, 1))
                kk = len(li)
                c1 = (rng.random(kk) < 0.3) & ~ep["prem"][li]
                billed = np.where(
                    c1,
                    np.minimum(euro(_lognorm(rng, 92000, 0.03, kk)), 95000),
                    euro(np.clip(_lognorm(rng, 130000, 0.17, kk) * ep["mult"][li], 95000, 210000)),
                )
                emit(li, 0, 7, np.where(c1, _HEAR_I, _HEAR_II), AUDIO, billed, 40000, 0.6)
            elif et == E_PHYSIO:
                ns = np.where(ep["scen"][idx] > 0, 2 + rng.poisson(3, k), 3 + rng.poisson(6, k))
                li, off = series(idx, ns, 2, 4)
                base = np.round(_lognorm(rng, 1750, 0.12, len(li)) * ep["mult"][li])
                emit(li, off, 8, _A["AMK"], PHYSIO, base, base, 0.6)
            elif et == E_NURSE:
                li, off = series(idx, 2 + rng.poisson(8, k), 1, 2)
                base = np.clip(_lognorm(rng, 900, 0.35, len(li)), 300, 4500)
                emit(li, off, 8, _A["AMI"], NURSE, base, base, 0.6)
            elif et == E_ALT:
                ns = np.where(ep["scen"][idx] > 0, 1 + rng.binomial(2, 0.5, k), 1 + rng.poisson(0.45, k))
                li, off = series(idx, ns, 14, 60)
                j = rng.choice(len(_ALT_CODES), len(li), p=_ALT_W)
                billed = euro(
                    np.clip(_lognorm(rng, 1, 0.15, len(li)) * _ALT_MED[j] * ep["mult"][li], 2500, 12000)
                )
                emit(li, off, 9, _ALT_CODES[j], ALT, billed, 0, 0.0)
            elif et == E_HOSP:
                er = rng.random(k) < 0.45
                emit(idx[er], 0, 4, _A["FPU"], HOSP, 1961, 0, 0.0)
                st = idx[~er]
                ks = len(st)
                nights = rng.geometric(0.4, ks) - 1
                ghs = np.clip(_lognorm(rng, 190000, 0.8, ks), 25000, 4000000)
                pf24 = rng.random(ks) < 0.5
                emit(
                    st,
                    0,
                    4,
                    _A["GHS"],
                    HOSP,
                    ghs,
                    ghs,
                    np.where(pf24, 1.0, 0.8),
                    0,
                    np.where(pf24, 2400, 0),
                )
                fj = st[nights > 0]
                emit(fj, 0, 4, _A["FJ"], HOSP, 2000 * nights[nights > 0], 0, 0.0)
                cp = (nights > 0) & (rng.random(ks) < 0.4)
                emit(
                    st[cp],
                    0,
                    4,
                    _A["CP"],
                    HOSP,
                    euro(_lognorm(rng, 7500, 0.2, cp.sum())) * nights[cp],
                    0,
                    0.0,
                )
            elif et == E_SPEECH:
                child = a < 18
                li, off = series(idx, np.where(child, 5 + rng.poisson(8, k), 3 + rng.poisson(3, k)), 6, 8)
                ch = age[li] < 18
                base = np.where(ch, np.round(_lognorm(rng, 2700, 0.08, len(li))), 2200)
                emit(li, off, 8, np.where(ch, _A["AMO"], _A["AMY"]), PARAMED, base, base, 0.6)

        cc = {k: np.concatenate(v) for k, v in L.items()}
        li = cc["li"]
        m = ep["m"][li]
        day = ep["day"][li] + cc["off"]
        frecv = ep["recv"][li]
        late_care = (frecv >= 0) & (day > frecv)  # invoices sent: care happened before sending
        day[late_care] = frecv[late_care] - rng.integers(0, 4, late_care.sum())
        dept = ep["dept"][li]
        pt = cc["pt"]
        # provider: episode override for its main provider type, else pools (home GP / pharmacy)
        main_pt = np.array(
            [GP, SPEC, PHARM, LAB, IMG, DENT, DENT, OPTIC, AUDIO, PHYSIO, NURSE, ALT, HOSP, PARAMED]
        )[ep["et"][li]]
        u = (u_prov[li] + pt * 0.6180339887) % 1.0
        hu = self.home_u[m]
        u = np.where(cc["prov"] == -2, hu[:, 0], np.where(cc["prov"] == -3, hu[:, 1], u))
        prov = self._pool_pick(pt, dept, u)
        late = day < self.p_open[prov]
        prov[late] = self.p_start[pt[late], dept[late]]
        ov = (ep["prov"][li] >= 0) & (pt == main_pt)
        prov[ov] = ep["prov"][li][ov]
        act = cc["act"]
        billed, base = cc["billed"], cc["base"]
        # sector-2 fees and GS coding depend on the provider
        p_fac = np.concatenate([self.p_fac, np.ones(len(self.x_id))])
        p_gs = np.concatenate([self.p_gs, np.zeros(len(self.x_id), bool)])
        fac = p_fac[prov]
        dep = (fac > 1) & np.isin(act, [_A["G"], _A["CS"], _A["APC"], _A["CSC"], *_IMG_CODES])
        billed = np.where(dep, np.round(base * fac / 100) * 100, billed)
        act = np.where((act == _A["G"]) & p_gs[prov], _A["GS"], act)
        ro_raw = np.round(base * cc["rate"]).astype(np.int64)
        ro = np.maximum(ro_raw - cc["pf"] - cc["f24"], 0)
        claimed = billed - ro_raw + cc["f24"]
        cat = cc["cat"]
        # source: shared by the lines of one episode and category
        P = _SRC_P[cat].copy()
        P[base == 0, 0] = 0.0
        old = age[li] >= 75
        P[old, 3] *= 3
        P[old, 2] *= 0.6
        P /= P.sum(1, keepdims=True)
        src = (u_src[li][:, None] > np.cumsum(P, 1)).sum(1).clip(0, 3)
        fsrc = ep["src"][li]
        src = np.where(fsrc >= 0, fsrc, src)
        z = z_del[li]
        delay = np.select(
            [src == 0, src == 1, src == 2],
            [
                2 + np.exp(np.log(4) + 0.45 * z),
                np.exp(np.log(4) + 0.7 * z),
                np.exp(np.log(12) + 0.9 * z),
            ],
            3 + np.exp(np.log(26) + 0.6 * z),
        )
        recv = day + np.round(delay).astype(np.int64)
        recv = np.where(frecv >= 0, np.maximum(frecv, day), recv)
        payee = np.where(src == 1, 1, np.where((src == 0) & (rng.random(len(li)) < 0.06), 1, 0))
        keep = (recv <= self.d1) & (day >= np.maximum(self.cstart[m], self.d0)) & (day <= self.d1)
        out = dict(
            m=m,
            day=day,
            recv=recv,
            src=src,
            cat=cat,
            act=act,
            prov=prov,
            billed=billed,
            ro=ro,
            claimed=claimed,
            payee=payee,
            scen=ep["scen"][li],
            base=base,
            ep=li,
        )
        return {k: v[keep] for k, v in out.items()}
