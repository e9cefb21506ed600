"""The fraud scenarios: account takeover (also subtle, household, border worker), mule ring,
contact hijack, fake provider, duplicates."""

from __future__ import annotations

import numpy as np

from claimwatch.sample_data.generator.identifiers import (
    _choice,
    _fmt_phone,
    _fraud_ibans,
    _ibans,
    _office_sec,
    _phones,
    _sec_of_day,
)
from claimwatch.sample_data.generator.reference import (
    _CROWNS,
    _DAY,
    _DOM_FRAUD,
    _DOM_FRAUD_W,
    _FRAUD_IP,
    _FRAUD_IP_W,
    _NICK,
    _OPT,
    ALT,
    AUDIO,
    BANK_TRAD,
    BANK_TRAD_W,
    D_W,
    D_ZONE,
    DENT,
    E_ALT,
    E_DCARE,
    E_DPROS,
    E_HEAR,
    E_OPT,
    E_PHYSIO,
    EVENT_CODE,
    ND,
    OPTIC,
    PHYSIO,
    SCENARIOS,
)


class Fraud:
    """Fraud incidents."""

    # ---------------------------------------------------------------------------- fraud
    def fraud(self):
        rng, n = self.rng, self.n
        # incidents per scenario: ~fraud_member_rate of members have their account / payout abused
        # (ato, mule ring of ~5.5, hijack, duplicate); fake-provider targets come on top
        k_per = max(1, int(round(n * self.rate / 8.5))) if self.rate > 0 else 0
        fmin = max(self.d0 + 20, min(self.bdays) + 5)
        fmax = self.d1 - 25
        if fmax - fmin < 20:
            fmin = max(self.d0, fmax - 60)
        self.fmin, self.fmax = fmin, fmax
        used = np.zeros(n, dtype=bool)
        adult = self.age >= 20
        clean = ~self.legit_iban_chg & ~self.mail_chg & ~self.phone_chg
        self.fraud_eps = []
        self.x_id, self.x_type, self.x_dept, self.x_pc = [], [], [], []
        inc = {s: 0 for s in SCENARIOS}
        ev = self.ev

        def pick(day, mask, k=1, p_exp=0.85):
            base = mask & ~used & (self.cstart < day - 30)
            w = np.where(self.age >= 65, 1.5, 1.0)
            exp = np.flatnonzero(base & (self.exp_day <= day - 2))
            oth = np.flatnonzero(base & (self.exp_day > day - 2))
            ne = min(len(exp), int(rng.binomial(k, p_exp)))
            no = min(len(oth), k - ne)
            ne = min(len(exp), k - no)
            sel = []
            if ne:
                sel.append(rng.choice(exp, ne, replace=False, p=w[exp] / w[exp].sum()))
            if no:
                sel.append(rng.choice(oth, no, replace=False, p=w[oth] / w[oth].sum()))
            s = np.concatenate(sel) if sel else np.array([], dtype=np.int64)
            used[s] = True
            return s

        def sharers(v):
            """Victim plus the household members paid on the same (shared) account."""
            if self.own_iban[v] or not self.is_sub[v]:
                return np.array([v])
            mem = np.flatnonzero(
                (self.household == self.household[v]) & ~self.own_iban & ~self.legit_iban_chg
            )
            return np.union1d(mem, [v])

        def ip_pick(k=1):
            return _choice(rng, _FRAUD_IP, k, _FRAUD_IP_W)

        def iban_switch(v, t, new, ch, ip, revert_p, contract_level=False):
            """Set the fraudster's account on the victim (and the household sharing it). A
            contract-level change is recorded on the victim only: relatives are paid to the new
            account without an event of their own."""
            mem = sharers(v)
            tt = t + np.arange(len(mem))
            if contract_level:
                ev.add(v, t, EVENT_CODE["iban_change"], new, ch, ip)
            else:
                ev.add(mem, tt, EVENT_CODE["iban_change"], new, ch, ip)
            self.h_iban.append((mem, tt, np.full(len(mem), new, dtype=object)))
            old = self.iban0[v]
            if rng.random() < revert_p:
                rt = t + int(rng.integers(9, 50)) * _DAY
                rt = rt // _DAY * _DAY + int(_office_sec(rng, 1)[0])
                if rt < self.d1 * _DAY:
                    ch2 = int(rng.choice([2, 4, 3], p=[0.6, 0.3, 0.1]))
                    ev.add(
                        v if contract_level else mem,
                        rt + np.arange(1 if contract_level else len(mem)),
                        EVENT_CODE["iban_change"],
                        old,
                        ch2,
                        "",
                    )
                    self.h_iban.append((mem, rt + np.arange(len(mem)), np.full(len(mem), old, dtype=object)))

        def uploads(v, tchange, nmax, scen, first_delay=(1, 5), cats=None, mult=(1.0, 1.5)):
            k = int(rng.integers(1, nmax + 1))
            cats = cats or ([E_OPT, E_DPROS, E_HEAR, E_ALT], [0.3, 0.25, 0.2, 0.25])
            if self.age[v] < 50:  # forged hearing aids mostly for older victims
                cats = (
                    cats[0],
                    [w * (0.2 if e == E_HEAR else 1.0) for e, w in zip(*cats, strict=True)],
                )
            d = tchange // _DAY + int(rng.integers(*first_delay))
            for _ in range(k):
                if d > self.d1 - 2:
                    break
                et = int(_choice(rng, cats[0], 1, cats[1])[0])
                src = 2 if rng.random() < 0.75 else 3
                recv = d + (int(rng.integers(2, 9)) if src == 3 else 0)
                dept = self.dept_at(np.array([v]), np.array([d]))[0]
                r = rng.random()
                pt = {
                    E_OPT: OPTIC,
                    E_DPROS: DENT,
                    E_DCARE: DENT,
                    E_HEAR: AUDIO,
                    E_ALT: ALT,
                    E_PHYSIO: PHYSIO,
                }[et]
                if r < 0.6:
                    prov = -1
                elif r < 0.85:
                    prov = self._pool_pick(np.array([pt]), rng.choice(ND, 1, p=D_W), rng.random(1))[0]
                else:
                    prov = self._add_provider(pt, dept, bool(rng.random() < 0.5))
                self.fraud_eps.append(
                    dict(
                        m=v,
                        day=max(self.d0, d - int(rng.integers(0, 25))),
                        et=et,
                        dept=dept,
                        prov=prov,
                        mult=float(rng.uniform(*mult)),
                        prem=True,
                        src=src,
                        recv=min(recv, self.d1),
                        scen=scen,
                    )
                )
                d += int(rng.integers(0, 9))

        # 1. account takeover then IBAN change then forged invoices
        border_member = self.border[self.household]
        for i in range(k_per):
            day = int(rng.integers(fmin, fmax))
            eligible = adult & clean & self.is_sub | (adult & clean & self.own_iban)
            if i % 7 == 3 and (eligible & border_member & ~used).any():
                eligible = eligible & border_member
            vs = pick(day, eligible)
            if not len(vs):
                continue
            v = int(vs[0])
            t = day * _DAY + int(_sec_of_day(rng, 1, night=0.35)[0])
            ch = int(rng.choice(2, p=[0.65, 0.35]))
            ip = ip_pick()[0]
            pre = rng.choice(3, p=[0.3, 0.3, 0.4])
            if pre in (0, 2):
                ev.add(v, t, EVENT_CODE["password_reset"], "", ch, ip)
            if pre in (1, 2):
                t += int(rng.integers(60, 3600))
                ev.add(v, t, EVENT_CODE["login_new_device"], "", ch, ip)
            t += int(np.clip(rng.lognormal(np.log(6 * 3600), 1.0), 700, 72 * 3600))
            # 0 ordinary, 1 subtle, 2 a border worker's account moved to a third country
            style = 2 if self.border[self.household[v]] else int(rng.choice(2, p=[0.7, 0.3]))
            if style == 1:
                # subtle: a French session, an account at a big French bank, ordinary amounts
                new = _ibans(rng, "FR", 1, BANK_TRAD[:6], BANK_TRAD_W[:6])[0]
                iban_switch(v, t, new, ch, "FR", 0.4)
                uploads(v, t, 3, 1, cats=([E_OPT, E_DCARE, E_ALT], [0.4, 0.3, 0.3]), mult=(0.9, 1.1))
            else:
                new = _fraud_ibans(rng, 1)[0]
                if style == 2:
                    # a border worker's foreign account moved to a third country, from there
                    third = str(rng.choice(["LT", "NL", "ES"]))
                    new = _ibans(rng, third, 1)[0]
                    ip = third
                contract_level = len(sharers(v)) > 1 and rng.random() < 0.6
                iban_switch(v, t, new, ch, ip, 0.55, contract_level=contract_level)
                uploads(v, t, 4, 1)
                if contract_level:
                    # forged invoices in relatives' names, paid to the same (new) account
                    relatives = np.setdiff1d(sharers(v), [v])
                    for r in rng.choice(
                        relatives, min(len(relatives), int(rng.integers(1, 3))), replace=False
                    ):
                        used[r] = True
                        uploads(int(r), t, 2, 1)
            inc["ato_iban"] += 1

        # 2. mule ring: one IBAN on several members of different households
        for _ in range(k_per):
            day = int(rng.integers(fmin, max(fmin + 1, fmax - 21)))
            size = int(rng.integers(3, 9))
            cand = adult & clean & (self.is_sub | self.own_iban)
            vs = pick(day, cand, size)
            # one victim per household
            _, first = np.unique(self.household[vs], return_index=True)
            used[np.setdiff1d(vs, vs[first])] = False
            vs = vs[np.sort(first)]
            if len(vs) < 2:
                used[vs] = False
                continue
            mule = _fraud_ibans(rng, 1)[0]
            ring_ip = ip_pick()[0]
            for v in vs:
                t = (day + int(rng.integers(0, 22))) * _DAY + int(_sec_of_day(rng, 1, night=0.3)[0])
                ch = int(rng.choice(2, p=[0.6, 0.4]))
                ip = ring_ip if rng.random() < 0.6 else ip_pick()[0]
                if rng.random() < 0.5:
                    ev.add(v, t - int(rng.integers(300, 20000)), int(rng.choice([4, 5])), "", ch, ip)
                iban_switch(int(v), t, mule, ch, ip, 0.4)
                uploads(
                    int(v),
                    t,
                    3,
                    2,
                    (1, 7),
                    ([E_OPT, E_DPROS, E_ALT, E_HEAR, E_PHYSIO], [0.3, 0.24, 0.3, 0.12, 0.04]),
                )
            inc["mule_ring"] += 1

        # 3. contact hijack: e-mail / phone changed first, password reset, then IBAN
        for _ in range(k_per):
            day = int(rng.integers(fmin, max(fmin + 1, fmax - 12)))
            vs = pick(day, adult & clean & (self.is_sub | self.own_iban) & self.has_mail)
            if not len(vs):
                continue
            v = int(vs[0])
            ch = int(rng.choice(3, p=[0.4, 0.2, 0.4]))
            ip = "" if ch == 2 else ip_pick()[0]
            t = day * _DAY + int((_office_sec(rng, 1) if ch == 2 else _sec_of_day(rng, 1, 0.3))[0])
            what = rng.choice(3, p=[0.5, 0.25, 0.25])
            if what in (0, 2):
                if rng.random() < 0.4:
                    new = self._emails(np.array([v]), old=np.array([False]), variant=2)[0]
                    new = (
                        new.split("@")[0]
                        + str(rng.integers(10, 99))
                        + "@"
                        + _choice(rng, _DOM_FRAUD, 1, _DOM_FRAUD_W)[0]
                    )
                else:
                    new = (
                        _choice(rng, np.array(_NICK), 1)[0]
                        + str(rng.integers(100, 99999))
                        + "@"
                        + _choice(rng, _DOM_FRAUD, 1, _DOM_FRAUD_W)[0]
                    )
                ev.add(v, t, EVENT_CODE["email_change"], new, ch, ip)
                self.h_email.append((np.array([v]), np.array([t]), np.array([new], dtype=object)))
                if rng.random() < 0.3:
                    rt = t + int(rng.integers(15, 60)) * _DAY
                    if rt < self.d1 * _DAY:
                        ev.add(v, rt, EVENT_CODE["email_change"], self.email0[v], 2, "")
                        self.h_email.append(
                            (
                                np.array([v]),
                                np.array([rt]),
                                np.array([self.email0[v]], dtype=object),
                            )
                        )
            if what in (1, 2):
                t += int(rng.integers(60, 7200))
                newp = _fmt_phone(
                    _phones(rng, np.array([self.dept0[v]]), np.array([False]), np.array([True])),
                    np.array([int(self.phone_fmt[v])]),
                )[0]
                ev.add(v, t, EVENT_CODE["phone_change"], newp, ch, ip)
                self.h_phone.append((np.array([v]), np.array([t]), np.array([newp], dtype=object)))
            t += int(rng.integers(1, 10)) * _DAY + int(rng.integers(-30000, 30000))
            ch2 = int(rng.choice(2, p=[0.7, 0.3]))
            ip2 = ip_pick()[0]
            ev.add(v, t, EVENT_CODE["password_reset"], "", ch2, ip2)
            if rng.random() < 0.5:
                ev.add(v, t + int(rng.integers(30, 900)), EVENT_CODE["login_new_device"], "", ch2, ip2)
            t += int(np.clip(rng.lognormal(np.log(5 * 3600), 1.0), 600, 48 * 3600))
            iban_switch(v, t, _fraud_ibans(rng, 1)[0], ch2, ip2, 0.5)
            uploads(v, t, 4, 3)
            inc["contact_hijack"] += 1

        # 4. fake provider billing identities it never treated, via tiers payant
        for _ in range(k_per):
            day = int(rng.integers(fmin, max(fmin + 1, fmax - 30)))
            et = int(_choice(rng, [E_ALT, E_OPT, E_HEAR, E_PHYSIO], 1, [0.4, 0.25, 0.15, 0.2])[0])
            pt = {E_OPT: OPTIC, E_HEAR: AUDIO, E_ALT: ALT, E_PHYSIO: PHYSIO}[et]
            pdept = int(rng.choice(ND, p=D_W))
            far = D_ZONE[self.dept0] != D_ZONE[pdept]
            age_ok = self.age >= (60 if et == E_HEAR else 18)
            size = int(rng.integers(10, 41))
            vs = pick(day, far & age_ok & (self.move_day > 10**8), min(size, max(1, n // 60)), 0.9)
            if len(vs) < 3:
                used[vs] = False
                continue
            prov = self._add_provider(pt, pdept, bool(rng.random() < 0.7))
            win = int(min(rng.integers(14, 46), max(3, self.d1 - 15 - day)))
            for v in vs:
                d = day + int(rng.integers(0, win))
                self.fraud_eps.append(
                    dict(
                        m=int(v),
                        day=d,
                        et=et,
                        dept=pdept,
                        prov=prov,
                        mult=float(rng.uniform(0.95, 1.3)),
                        prem=False,
                        src=1,
                        recv=-1,
                        scen=4,
                    )
                )
            inc["fake_provider"] += 1
        self.k_dup = k_per
        self.inc = inc
        self.used = used

    # ------------------------------------------------------------------- post-processing
    def duplicates_and_edits(self, c):
        rng = self.rng
        extra = []
        # 5. duplicate: a noemie / tiers-payant care claimed again by upload or paper
        cand_cat = np.isin(c["cat"], [0, 3, 5, 6, 7, 8])
        cand = (
            (c["scen"] == 0)
            & (c["src"] <= 1)
            & cand_cat
            & (c["day"] >= self.fmin)
            & (c["recv"] + 45 <= self.d1)
            & ~self.used[c["m"]]
            & (self.age[c["m"]] >= 18)
        )
        ci = np.flatnonzero(cand)
        n_dup = 0
        if len(ci):
            key_day = c["m"] * 100000 + c["day"]
            order = np.argsort(key_day, kind="stable")
            for _ in range(self.k_dup):
                mem_ok = np.unique(c["m"][ci])
                mem_ok = mem_ok[~self.used[mem_ok]]
                if not len(mem_ok):
                    break
                expo = mem_ok[self.exp_day[mem_ok] <= self.d1]
                pool = expo if (len(expo) and rng.random() < 0.85) else mem_ok
                v = rng.choice(pool)
                self.used[v] = True
                rows = ci[c["m"][ci] == v]
                # prefer expensive care; most fraudsters copy several care events
                w = c["billed"][rows].astype(float) ** 0.5
                events = 1 if rng.random() < 0.25 else int(rng.integers(2, 5))
                firsts = rng.choice(rows, min(events, len(rows)), replace=False, p=w / w.sum())
                src = 2 if rng.random() < 0.7 else 3
                mode = rng.choice(3, p=[0.6, 0.25, 0.15])
                for r0 in firsts:
                    lo = np.searchsorted(key_day[order], key_day[r0])
                    hi = np.searchsorted(key_day[order], key_day[r0], side="right")
                    grp = order[lo:hi]
                    grp = grp[(c["prov"][grp] == c["prov"][r0]) & (c["scen"][grp] == 0)][:4]
                    recv = int(c["recv"][grp].max() + rng.integers(3, 41))
                    for g in grp:
                        row = {k: c[k][g] for k in c}
                        row.update(src=src, recv=min(recv, self.d1), payee=0, scen=5)
                        if mode == 1:
                            row["claimed"] = row["billed"] - row["ro"]
                        elif mode == 2:
                            row["ro"], row["claimed"] = 0, row["billed"]
                        extra.append(row)
                n_dup += 1
        self.inc["duplicate"] = n_dup
        # look-alike: the member sends the invoice of a noemie dental crown / glasses for the
        # part above the RO base (same care, same billed amount, different claimed amount)
        comp = np.flatnonzero(
            (c["scen"] == 0)
            & (c["src"] == 0)
            & np.isin(
                c["act"],
                np.concatenate([_CROWNS, [_OPT["frame_b"], _OPT["prog"], _OPT["single"], _OPT["prog2"]]]),
            )
            & (c["recv"] + 30 <= self.d1)
        )
        comp = comp[rng.random(len(comp)) < 0.2]
        tm = c["base"][comp] - np.round(c["base"][comp] * 0.6).astype(np.int64)
        comp_rows = {k: c[k][comp].copy() for k in c}
        c["claimed"][comp] = tm
        comp_rows["claimed"] = comp_rows["billed"] - comp_rows["base"]
        comp_rows["src"] = rng.choice([2, 3], len(comp), p=[0.8, 0.2])
        comp_rows["recv"] = np.minimum(comp_rows["recv"] + rng.integers(3, 30, len(comp)), self.d1)
        comp_rows["payee"] = np.zeros(len(comp), np.int64)
        if extra:
            ex = {k: np.array([r[k] for r in extra]) for k in c}
            c = {k: np.concatenate([c[k], ex[k].astype(c[k].dtype), comp_rows[k]]) for k in c}
        else:
            c = {k: np.concatenate([c[k], comp_rows[k]]) for k in c}
        self.counts["lookalike_invoice_complements"] = len(comp)
        return c
