"""Account timelines: logins, password resets, contact and IBAN changes, moves (also
abroad), breaches."""

from __future__ import annotations

import numpy as np
import polars as pl

from claimwatch.sample_data.generator.events import _channel_ip
from claimwatch.sample_data.generator.identifiers import (
    _asof,
    _cat_str,
    _choice,
    _day,
    _fmt_email,
    _fmt_iban,
    _fmt_nir,
    _fmt_phone,
    _fr_ibans,
    _ibans,
    _office_sec,
    _phones,
    _postcodes,
    _sec_of_day,
    _zf,
    string_series,
)
from claimwatch.sample_data.generator.reference import (
    _BREACHES,
    _DAY,
    _DOM_OLD,
    _DOM_OLD_W,
    _DOM_YNG,
    _DOM_YNG_W,
    _NEG,
    D_CODE,
    D_DOM,
    D_NUM,
    D_W,
    E_ALT,
    E_DCARE,
    E_DPROS,
    E_GP,
    E_HEAR,
    E_OPT,
    EVENT_CODE,
    MOVE_ABROAD_COUNTRIES,
    MOVE_ABROAD_WEIGHTS,
    ND,
)


class Accounts:
    """Account events and breaches."""

    # ---------------------------------------------------------------------------- timelines
    def legit_events(self):
        rng, n, d0, d1 = self.rng, self.n, self.d0, self.d1
        ev = self.ev
        a = np.maximum(self.cstart, d0)
        years = np.maximum(d1 - a, 0) / 365.25
        adult = self.age >= 18
        self.years = years

        def when(m):
            lo = a[m]
            return lo + (rng.random(len(m)) * np.maximum(d1 - lo, 1)).astype(np.int64)

        def stamp(day, ch):
            sec = np.where(ch >= 2, _office_sec(rng, len(day)), _sec_of_day(rng, len(day)))
            return day * _DAY + sec

        # logins from new devices, password resets
        reach = adult & (self.has_mail | self.has_phone)
        for typ, lam, chp in (
            (5, np.where(self.age < 70, 0.45, 0.2), [0.4, 0.6, 0, 0, 0]),
            (4, np.where(self.age < 70, 0.18, 0.22), [0.65, 0.28, 0.07, 0, 0]),
        ):
            k = rng.poisson(lam * years) * reach
            m = np.repeat(np.arange(n), k)
            ch = rng.choice(5, len(m), p=chp)
            ev.add(m, stamp(when(m), ch), typ, "", ch, _channel_ip(rng, ch))

        # e-mail and phone changes (and the password reset people often do after)
        self.mail_chg = np.zeros(n, dtype=bool)
        self.phone_chg = np.zeros(n, dtype=bool)
        self.h_email = [(np.arange(n), np.full(n, _NEG), self.email0)]
        fmt_members = rng.choice(4, n, p=[0.55, 0.25, 0.15, 0.05])
        self.phone_fmt = fmt_members
        ph0 = _fmt_phone(self.phone0, fmt_members)
        ph0[~self.has_phone] = None
        self.h_phone = [(np.arange(n), np.full(n, _NEG), ph0)]
        self.h_iban = [(np.arange(n), np.full(n, _NEG), self.iban0)]
        self.h_pc = [(np.arange(n), np.full(n, _NEG), self.pc0)]
        self.legit_iban_chg = np.zeros(n, dtype=bool)
        for typ in (1, 2):
            has = self.has_mail if typ == 1 else self.has_phone
            m = np.flatnonzero(adult & has & (rng.random(n) < 1 - np.exp(-0.03 * years)))
            ch = rng.choice(5, len(m), p=[0.55, 0.25, 0.12, 0.04, 0.04])
            t = stamp(when(m), ch)
            if typ == 1:
                val = self._emails(m, old=self.age[m] >= 55, variant=1)
                self.h_email.append((m, t, val))
                self.mail_chg[m] = True
            else:
                val = _fmt_phone(
                    _phones(rng, self.dept0[m], np.zeros(len(m), bool), self.age[m] < 35),
                    self.phone_fmt[m],
                )
                self.h_phone.append((m, t, val))
                self.phone_chg[m] = True
            ev.add(m, t, typ, val, ch, _channel_ip(rng, ch))
            # some reset their password a few days later, a few then change their IBAN too
            r = rng.random(len(m))
            f = r < 0.14
            t2 = t[f] + rng.integers(1, 10, f.sum()) * _DAY + rng.integers(-20000, 20000, f.sum())
            ch2 = rng.choice(2, f.sum())
            ev.add(m[f], t2, EVENT_CODE["password_reset"], "", ch2, _channel_ip(rng, ch2, 0.08))
            f2 = f & (r < 0.035) & ~self.border[self.household[m]] & ~self.legit_iban_chg[m]
            t3 = t[f2] + rng.integers(1, 10, f2.sum()) * _DAY + rng.integers(30000, 150000, f2.sum())
            self._legit_iban_change(m[f2], t3, online=0.5)

        # household IBAN changes (new bank; sometimes an online bank) and individual ones
        for mem, acc in self.guard_late:
            if len(mem):
                ch = rng.choice([3, 4], len(mem), p=[0.7, 0.3])
                t = stamp(when(mem), ch)
                ev.add(mem, t, EVENT_CODE["iban_change"], acc, ch, "")
                self.h_iban.append((mem, t, np.full(len(mem), acc, dtype=object)))
        self.legit_iban_chg |= self.protected
        subs = np.flatnonzero(
            self.is_sub & ~self.legit_iban_chg & (rng.random(n) < 1 - np.exp(-0.04 * years))
        )
        ownm = np.flatnonzero(
            self.own_iban & ~self.legit_iban_chg & (rng.random(n) < 1 - np.exp(-0.03 * years))
        )
        m = np.concatenate([subs, ownm])
        ch = rng.choice(5, len(m), p=[0.45, 0.2, 0.05, 0.2, 0.1])
        t = stamp(when(m), ch)
        self._legit_iban_change(m, t, online=0.3, ch=ch)

        # moves: whole household, new postcode (often another department)
        hm = np.flatnonzero(self.is_sub & (rng.random(n) < 1 - np.exp(-0.025 * years)))
        self.move_day = np.full(n, 10**9, dtype=np.int64)
        self.dept1 = self.dept0.copy()
        if len(hm):
            h = self.household[hm]
            nd = np.where(rng.random(len(hm)) < 0.4, self.dept0[hm], rng.choice(ND, len(hm), p=D_W))
            pc = _postcodes(rng, nd)
            ch = rng.choice(5, len(hm), p=[0.4, 0.15, 0.15, 0.2, 0.1])
            t = stamp(when(hm), ch)
            hmap = np.full(self.nh, -1)
            hmap[h] = np.arange(len(hm))
            mem = np.flatnonzero(hmap[self.household] >= 0)
            j = hmap[self.household[mem]]
            mt = np.maximum(t[j] + rng.integers(0, 90, len(mem)), self.cstart[mem] * _DAY)
            ev.add(mem, mt, EVENT_CODE["address_change"], pc[j], ch[j], _channel_ip(rng, ch[j]))
            self.h_pc.append((mem, mt, pc[j]))
            self.move_day[mem] = mt // _DAY
            self.dept1[mem] = nd[j]
        self._moves_abroad(when)

    def _moves_abroad(self, when):
        """People moving abroad: sessions from the new country (a new device), then an IBAN at a
        bank of that country set from there, e-mail and phone unchanged; some send an invoice soon
        after. A legitimate look-alike of a takeover."""
        rng, n, ev = self.rng, self.n, self.ev
        cand = np.flatnonzero(
            (self.is_sub | self.own_iban)
            & (self.age >= 20)
            & ~self.legit_iban_chg
            & ~self.border[self.household]
            & ~self.protected
            & (rng.random(n) < 1 - np.exp(-0.006 * self.years))
        )
        if not len(cand):
            self.moved_abroad = cand
            return
        country = _choice(rng, MOVE_ABROAD_COUNTRIES, len(cand), MOVE_ABROAD_WEIGHTS)
        new = np.empty(len(cand), dtype=object)
        for ctry in np.unique(country):
            sel = country == ctry
            new[sel] = _ibans(rng, str(ctry), int(sel.sum()))
        day = when(cand)
        ch = rng.choice(2, len(cand), p=[0.6, 0.4])
        t = day * _DAY + _sec_of_day(rng, len(cand))
        first_login = rng.random(len(cand)) < 0.8
        ev.add(
            cand[first_login],
            t[first_login] - rng.integers(1, 20, int(first_login.sum())) * _DAY,
            EVENT_CODE["login_new_device"],
            "",
            ch[first_login],
            country[first_login],
        )
        reset = rng.random(len(cand)) < 0.2
        ev.add(
            cand[reset],
            t[reset] - rng.integers(600, 6 * 3600, int(reset.sum())),
            EVENT_CODE["password_reset"],
            "",
            ch[reset],
            country[reset],
        )
        # the account moves with the household members who share it
        share = (~self.own_iban) & ~self.is_sub
        hmap = np.full(self.nh, -1)
        subs = self.is_sub[cand]
        hmap[self.household[cand[subs]]] = np.flatnonzero(subs)
        relatives = np.flatnonzero(share & (hmap[self.household] >= 0))
        who = np.concatenate([cand, relatives])
        j = np.concatenate([np.arange(len(cand)), hmap[self.household[relatives]]])
        tt = np.maximum(
            t[j] + np.where(np.arange(len(j)) < len(cand), 0, rng.integers(60, 3600, len(j))),
            self.cstart[who] * _DAY + 3600,
        )
        ev.add(who, tt, EVENT_CODE["iban_change"], new[j], ch[j], country[j])
        self.h_iban.append((who, tt, new[j]))
        self.legit_iban_chg[who] = True
        self.moved_abroad = who
        upload = rng.random(len(cand)) < 0.4
        if upload.any():
            k = int(upload.sum())
            cday = t[upload] // _DAY
            self.lookalike.append(
                dict(
                    m=cand[upload],
                    day=cday - rng.integers(0, 20, k),
                    et=_choice(rng, [E_OPT, E_DCARE, E_ALT, E_GP], k, [0.3, 0.3, 0.2, 0.2]),
                    src=rng.choice([2, 3], k, p=[0.8, 0.2]),
                    recv=cday + rng.integers(1, 11, k),
                )
            )

    def _legit_iban_change(self, m, t, online, ch=None):
        """A member (and the household members sharing the account) switch to a new bank."""
        rng, ev = self.rng, self.ev
        if len(m) == 0:
            return
        if ch is None:
            ch = rng.choice(5, len(m), p=[0.5, 0.25, 0.05, 0.1, 0.1])
        new = _fr_ibans(rng, len(m), online)
        abroad = rng.random(len(m)) < 0.02
        if abroad.any():
            new[abroad] = np.concatenate(
                [_ibans(rng, str(c), 1) for c in _choice(rng, ["ES", "BE", "DE", "LU"], int(abroad.sum()))]
            )
        # household members sharing the changer's account
        sub_share = self.is_sub[m]
        extra_m, extra_j = [], []
        if sub_share.any():
            share = (~self.own_iban) & ~self.is_sub
            hmap = np.full(self.nh, -1)
            hmap[self.household[m[sub_share]]] = np.flatnonzero(sub_share)
            mem = np.flatnonzero(share & (hmap[self.household] >= 0))
            extra_m, extra_j = mem, hmap[self.household[mem]]
        allm = np.concatenate([m, np.asarray(extra_m, np.int64)])
        j = np.concatenate([np.arange(len(m)), np.asarray(extra_j, np.int64)])
        tt = t[j] + np.where(np.arange(len(j)) < len(m), 0, rng.integers(1, 40, len(j)))
        tt = np.maximum(tt, self.cstart[allm] * _DAY + 3600)
        ev.add(allm, tt, EVENT_CODE["iban_change"], new[j], ch[j], _channel_ip(rng, ch[j], 0.05))
        self.h_iban.append((allm, tt, new[j]))
        self.legit_iban_chg[allm] = True
        # a password reset / new device shortly before (web/app only)
        web = ch < 2
        r = rng.random(len(m))
        f = web & (r < 0.22)
        ev.add(
            m[f],
            t[f] - rng.integers(600, 48 * 3600, f.sum()),
            EVENT_CODE["password_reset"],
            "",
            ch[f],
            _channel_ip(rng, ch[f], 0.06),
        )
        f = web & (r > 0.82)
        ev.add(
            m[f],
            t[f] - rng.integers(120, 6 * 3600, f.sum()),
            EVENT_CODE["login_new_device"],
            "",
            ch[f],
            _channel_ip(rng, ch[f], 0.06),
        )
        # look-alike: an uploaded invoice within days of the change
        f = rng.random(len(m)) < 0.25
        if f.any():
            k = int(f.sum())
            cday = t[f] // _DAY
            self.lookalike.append(
                dict(
                    m=m[f],
                    day=cday - rng.integers(0, 25, k),
                    et=_choice(
                        rng,
                        [E_OPT, E_DPROS, E_ALT, E_HEAR, E_DCARE],
                        k,
                        [0.3, 0.2, 0.3, 0.05, 0.15],
                    ),
                    src=rng.choice([2, 3], k, p=[0.8, 0.2]),
                    recv=cday + rng.integers(1, 11, k),
                )
            )

    # --------------------------------------------------------------------------- breaches
    def breaches(self):
        rng, n = self.rng, self.n
        dates = [b[1] for b in _BREACHES]
        if _day(max(dates)) > self.d1 - 75 or _day(min(dates)) < self.d0 - 400:
            span = self.d1 - self.d0
            bdays = [self.d0 + int(span * f) for f in (0.35, 0.4, 0.45, 0.5, 0.55)]
        else:
            bdays = [_day(d) for d in dates]
        self.bdays = bdays
        self.exp_day = np.full(n, 10**9, dtype=np.int64)
        rows = []
        for (name, _d, share, types, pop, pfmt, estyle), bday in zip(_BREACHES, bdays, strict=True):
            t = bday * _DAY
            alive = self.cstart <= bday + 400
            if pop == "household":
                hsel = rng.random(self.nh) < share
                sel = alive & hsel[self.household]
            elif pop == "young":
                w = np.where(self.age < 45, 1.6, np.where(self.age < 65, 0.8, 0.25))
                sel = alive & (self.age >= 14) & (rng.random(n) < share * w)
            else:
                sel = alive & (self.age >= 18) & (rng.random(n) < share)
            m = np.flatnonzero(sel)
            got = np.zeros(len(m), bool)
            for typ, prob in types.items():
                take = rng.random(len(m)) < prob
                mm = m[take]
                if typ == "nir":
                    v = self.nir[mm]
                elif typ == "email":
                    v = _asof(*self._hist(self.h_email), mm, np.full(len(mm), t))
                elif typ == "phone":
                    v = _asof(*self._hist(self.h_phone), mm, np.full(len(mm), t))
                else:
                    v = _asof(*self._hist(self.h_iban), mm, np.full(len(mm), t))
                ok = np.array([x is not None for x in v], dtype=bool)
                got[np.flatnonzero(take)[ok]] = True
                v = v[ok]
                # non-members in the same dump
                k = int(len(v) * rng.uniform(1.0, 1.6)) + 5
                nm = self._outsiders(typ, k)
                vals = np.concatenate([v, nm])
                rows.append((typ, vals, name, bday, pfmt, estyle))
            mexp = m[got]
            self.exp_day[mexp] = np.minimum(self.exp_day[mexp], bday)
        # write formatted identifiers
        out = []
        for typ, vals, name, bday, pfmt, estyle in rows:
            k = len(vals)
            if typ == "phone":
                digits = string_series(vals).str.replace_all(r"[^0-9+]", "")
                nat = digits.str.replace(r"^\+33", "0").str.replace(r"^0033", "0")
                num = nat.str.slice(1).cast(pl.Int64).to_numpy()
                f = np.where(rng.random(k) < 0.7, pfmt, rng.choice([0, 1, 2, 4], k))
                vals = _fmt_phone(num, f)
            elif typ == "email":
                f = np.where(rng.random(k) < 0.6, estyle, rng.choice(4, k, p=[0.5, 0.3, 0.1, 0.1]))
                vals = _fmt_email(vals, f)
            elif typ == "nir":
                vals = _fmt_nir(vals, rng.choice(3, k, p=[0.6, 0.3, 0.1]))
            else:
                vals = _fmt_iban(vals, rng.choice(2, k, p=[0.6, 0.4]))
            out.append(
                pl.DataFrame(
                    {
                        "identifier_type": [typ] * k,
                        "identifier": string_series(vals),
                        "breach_name": [name] * k,
                        "breach_date": pl.Series([bday] * k, dtype=pl.Int32).cast(pl.Date),
                    }
                )
            )
        bl = pl.concat(out)
        bl = (
            bl.with_columns(r=pl.Series(rng.random(bl.height)))
            .sort(["breach_date", "breach_name", "r"])
            .drop("r")
        )
        self.breach_df = bl

    def _outsiders(self, typ: str, k: int) -> np.ndarray:
        rng = self.rng
        if typ == "nir":
            sexd = rng.integers(1, 3, k)
            yy = rng.integers(0, 100, k)
            mm = rng.integers(1, 13, k)
            dept = rng.choice(ND, k, p=D_W)
            dn = np.where(D_DOM[dept], 97, D_NUM[dept])
            dnum = dn.copy()
            cors = np.isin(D_CODE[dept], ["2A", "2B"])
            dstr = np.where(D_DOM[dept], "97", D_CODE[dept])
            dnum[cors] = np.where(D_CODE[dept][cors] == "2A", 19, 18)
            com = rng.integers(1, 700, k)
            order = rng.integers(1, 1000, k)
            num = sexd * 10**12 + yy * 10**10 + mm * 10**8 + dnum * 10**6 + com * 1000 + order
            return _cat_str(
                _zf(sexd, 1),
                _zf(yy, 2),
                _zf(mm, 2),
                string_series(dstr),
                _zf(com, 3),
                _zf(order, 3),
                _zf(97 - num % 97, 2),
            )
        if typ == "iban":
            return _fr_ibans(rng, k, 0.15)
        if typ == "phone":
            return _fmt_phone(_phones(rng, rng.choice(ND, k, p=D_W), rng.random(k) < 0.05), np.zeros(k, int))
        coh = rng.integers(0, 3, k)
        sex = np.where(rng.random(k) < 0.5, "F", "M")
        f = np.empty(k, dtype=object)
        for s in ("M", "F"):
            for c in range(3):
                m = (sex == s) & (coh == c)
                f[m] = self.pools[(s, c, "slug")][
                    rng.choice(len(self.pools[(s, c)]), m.sum(), p=self.pools[(s, c, "w")])
                ]
        ln = self.pools["last_slug"][rng.choice(len(self.pools["last"]), k, p=self.pools["last_w"])]
        sep = _choice(rng, np.array([".", "", "_", "-"]), k, [0.6, 0.2, 0.1, 0.1])
        num = np.where(rng.random(k) < 0.45, rng.integers(1, 9999, k).astype(str), "")
        dom = np.where(
            rng.random(k) < 0.5,
            _choice(rng, _DOM_OLD, k, _DOM_OLD_W),
            _choice(rng, _DOM_YNG, k, _DOM_YNG_W),
        )
        return _cat_str(
            string_series(f), pl.Series(sep), string_series(ln), pl.Series(num), "@", pl.Series(dom)
        )

    @staticmethod
    def _hist(h):
        return (
            np.concatenate([x[0] for x in h]),
            np.concatenate([x[1] for x in h]),
            np.concatenate([x[2] for x in h]),
        )
