"""Members: households, contracts, ages, contact data, accounts (border workers,
guardianship associations)."""

from __future__ import annotations

import numpy as np
import polars as pl

from claimwatch.sample_data.generator.identifiers import (
    _cat_str,
    _choice,
    _fr_ibans,
    _ibans,
    _phones,
    _postcodes,
    _zf,
    string_series,
)
from claimwatch.sample_data.generator.reference import (
    _DOM_OLD,
    _DOM_OLD_W,
    _DOM_YNG,
    _DOM_YNG_W,
    _NICK,
    BORDER,
    D_CODE,
    D_DOM,
    D_NUM,
    D_REG,
    D_W,
    ND,
)


class People:
    """Members and households."""

    # ------------------------------------------------------------------------------ members
    def members(self):
        rng, n, d0 = self.rng, self.n, self.d0
        p = np.array([0.42, 0.27, 0.13, 0.13, 0.05])
        sizes = rng.choice(5, n, p=p) + 1
        cs = np.cumsum(sizes)
        nh = int(np.searchsorted(cs, n) + 1)
        sizes = sizes[:nh].copy()
        sizes[-1] -= cs[nh - 1] - n
        hstart = np.cumsum(sizes) - sizes
        household_of_member = np.repeat(np.arange(nh), sizes)
        rank = np.arange(n) - hstart[household_of_member]

        r = rng.random(nh)
        has_sp = (sizes >= 2) & (rng.random(nh) < np.where(sizes == 2, 0.72, 0.85))
        sub_age = np.where(
            sizes >= 3,
            rng.uniform(28, 56, nh),
            np.where(
                sizes == 2,
                np.where(has_sp & (r < 0.6), rng.triangular(60, 72, 95, nh), rng.uniform(25, 58, nh)),
                np.where(r < 0.62, rng.triangular(62, 77, 100, nh), rng.uniform(20, 65, nh)),
            ),
        )
        sub_f = rng.random(nh) < 0.54
        hdept = rng.choice(ND, nh, p=D_W)
        hlast = rng.choice(len(self.pools["last"]), nh, p=self.pools["last_w"])
        # couples with two separate single contracts (same address, name and joint account)
        singles = np.flatnonzero((sizes == 1) & (sub_age > 30) & (sub_age < 90))
        npair = int(len(singles) * 0.03)
        pairs = (
            rng.choice(singles, 2 * npair, replace=False).reshape(2, -1) if npair else np.zeros((2, 0), int)
        )
        a_, b_ = pairs
        hdept[b_] = hdept[a_]
        hlast[b_] = hlast[a_]
        sub_f[b_] = ~sub_f[a_]
        sub_age[b_] = np.clip(sub_age[a_] + rng.normal(0, 3, len(a_)), 25, 99)

        is_sub = rank == 0
        is_sp = (rank == 1) & has_sp[household_of_member]
        is_ch = ~is_sub & ~is_sp
        age = sub_age[household_of_member].copy()
        age[is_sp] = np.clip(sub_age[household_of_member][is_sp] + rng.normal(0, 3.5, is_sp.sum()), 19, 100)
        maxc = np.clip(np.minimum(sub_age - 19, 25), 0.3, 25)
        age[is_ch] = rng.random(is_ch.sum()) * maxc[household_of_member][is_ch]
        fem = np.where(
            is_sub,
            sub_f[household_of_member],
            np.where(
                is_sp,
                np.where(rng.random(n) < 0.96, ~sub_f[household_of_member], sub_f[household_of_member]),
                rng.random(n) < 0.49,
            ),
        )
        birth = d0 - np.round(age * 365.25).astype(np.int64)
        # contract start
        new = rng.random(nh) < 0.12
        span = self.d1 - d0
        hcs = np.where(
            new,
            d0 + rng.integers(0, max(1, int(0.8 * span)), nh),
            d0
            - rng.integers(30, np.maximum(31, np.minimum(25 * 365, (sub_age - 18) * 365)).astype(np.int64)),
        )
        cstart = np.maximum(hcs[household_of_member], birth)

        self.household, self.rank, self.nh, self.hsize = household_of_member, rank, nh, sizes
        self.is_sub, self.is_ch = is_sub, is_ch
        self.age, self.fem, self.birth, self.cstart = age, fem, birth, cstart
        self.dept0 = hdept[household_of_member]
        pcs_h = _postcodes(rng, hdept)
        pcs_h[b_] = pcs_h[a_]
        self.pc0 = pcs_h[household_of_member]

        # names
        sex = np.where(fem, "F", "M")
        byear = 1970 + birth / 365.25
        coh = np.where(byear < 1960, 0, np.where(byear < 1990, 1, 2))
        first = np.empty(n, dtype=object)
        fslug = np.empty(n, dtype=object)
        for s in ("M", "F"):
            for c in range(3):
                m = (sex == s) & (coh == c)
                k = rng.choice(len(self.pools[(s, c)]), m.sum(), p=self.pools[(s, c, "w")])
                first[m] = self.pools[(s, c)][k]
                fslug[m] = self.pools[(s, c, "slug")][k]
        lastk = hlast[household_of_member].copy()
        own_name = is_sp & (rng.random(n) < 0.25)
        lastk[own_name] = rng.choice(len(self.pools["last"]), own_name.sum(), p=self.pools["last_w"])
        self.first, self.fslug = first, fslug
        self.last = self.pools["last"][lastk]
        self.lslug = self.pools["last_slug"][lastk]
        self.sex = sex

        # NIR
        place = rng.random(n)
        bdept = np.where(place < 0.68, self.dept0, rng.choice(ND, n, p=D_W))
        foreign = (place > 0.94) | ((place > 0.90) & (age > 55))
        dom = D_DOM[bdept] & ~foreign
        bdate = np.array(birth, dtype="datetime64[D]")
        yy = bdate.astype("datetime64[Y]").astype(int) + 1970
        mm = bdate.astype("datetime64[M]").astype(int) % 12 + 1
        code = D_CODE[bdept]
        dstr = np.where(dom, "97", code).astype(object)
        dnum = D_NUM[bdept].copy()
        cors = (code == "2A") | (code == "2B")
        old_cors = cors & (yy < 1976)
        dstr[old_cors] = "20"
        dnum[cors & ~old_cors & (code == "2A")] = 19
        dnum[cors & ~old_cors & (code == "2B")] = 18
        commune = rng.integers(1, 700, n)
        paris = code == "75"
        commune[paris] = 100 + rng.integers(1, 21, paris.sum())
        commune[dom] = (D_REG[bdept][dom] % 10) * 100 + rng.integers(1, 35, dom.sum())
        dstr[foreign] = "99"
        dnum[foreign] = 99
        commune[foreign] = _choice(
            rng,
            [350, 352, 351, 139, 127, 134, 109, 131, 208, 341, 326, 335],
            foreign.sum(),
            [16, 16, 8, 14, 8, 7, 4, 4, 6, 6, 6, 5],
        )
        order = rng.integers(1, 1000, n)
        sexd = np.where(fem, 2, 1)
        num = sexd * 10**12 + (yy % 100) * 10**10 + mm * 10**8 + dnum * 10**6 + commune * 1000 + order
        key = 97 - num % 97
        nir = _cat_str(
            _zf(sexd, 1),
            _zf(yy % 100, 2),
            _zf(mm, 2),
            string_series(dstr),
            _zf(commune, 3),
            _zf(order, 3),
            _zf(key, 2),
        )
        no_nir = np.where(age < 16, rng.random(n) < 0.55, rng.random(n) < 0.025)
        nir[no_nir] = None
        self.nir = nir

        # e-mail
        has_mail = (age >= 16) & (rng.random(n) < np.where(age < 70, 0.93, np.where(age < 80, 0.75, 0.55)))
        self.email0 = self._emails(np.arange(n), old=age >= 55)
        self.email0[~has_mail] = None
        self.has_mail = has_mail
        # phones
        land = (age >= 15) & (rng.random(n) < np.where(age >= 75, 0.35, np.where(age >= 60, 0.1, 0.02)))
        has_ph = (age >= 15) & (rng.random(n) < 0.95)
        self.phone0 = _phones(rng, self.dept0, land, young=age < 35)
        self.has_phone = has_ph
        # IBAN: subscriber's account shared by the household unless the beneficiary has their own
        sub_iban = _fr_ibans(rng, nh, 0.08)
        sub_iban[b_] = sub_iban[a_]
        self.border = np.zeros(nh, dtype=bool)
        hd_code = D_CODE[hdept]
        for dcode, (c1, c2) in BORDER.items():
            m = np.flatnonzero((hd_code == dcode) & (sub_age > 22) & (sub_age < 63) & (rng.random(nh) < 0.07))
            if len(m):
                ctry = np.where(rng.random(len(m)) < 0.7, c1, c2)
                for c in np.unique(ctry):
                    mm_ = m[ctry == c]
                    sub_iban[mm_] = _ibans(rng, str(c), len(mm_))
                self.border[m] = True
        # protected adults (tutelle / curatelle): reimbursements paid to the guardianship
        # association's account, i.e. one IBAN shared by unrelated members of one department;
        # about a third of them switch to it during the period (a legitimate look-alike of mule rings)
        protected = np.zeros(nh, dtype=bool)
        self.guard_late = []
        singles = np.flatnonzero((sizes == 1) & ~self.border & (sub_age >= 25))
        for _ in range(max(1, n // 8000)):
            cand = singles[(hdept[singles] == rng.choice(ND, p=D_W)) & ~protected[singles]]
            if len(cand) < 3:
                continue
            hs = rng.choice(cand, min(len(cand), int(rng.integers(3, 11))), replace=False)
            acc = _ibans(rng, "FR", 1, np.array([20041, 11315, 13335, 17515, 10278]))[0]
            late = rng.random(len(hs)) < 0.35
            sub_iban[hs[~late]] = acc
            protected[hs] = True
            self.guard_late.append((hstart[hs[late]], acc))
        self.protected = protected[household_of_member]
        own = (is_sp & (rng.random(n) < 0.18)) | (is_ch & (age >= 18) & (rng.random(n) < 0.45))
        iban = sub_iban[household_of_member].copy()
        iban[own] = _fr_ibans(rng, int(own.sum()), 0.25)
        self.iban0, self.own_iban = iban, own
        ids = 10**6 + rng.choice(99 * 10**6, n, replace=False)
        self.member_id = _cat_str("M", _zf(ids, 8))
        sids = 10**6 + rng.choice(99 * 10**6, nh, replace=False)
        self.sub_id = _cat_str("A", _zf(sids, 8))[household_of_member]

    def _emails(self, idx: np.ndarray, old: np.ndarray, variant: int = 0) -> np.ndarray:
        rng = self.rng
        k = len(idx)
        f, ln = self.fslug[idx], self.lslug[idx]
        yy = _zf((1970 + self.birth[idx] // 365) % 100, 2)
        yyyy = (1970 + self.birth[idx] // 365).astype(str)
        nn = rng.integers(1, 999, k).astype(str)
        pat = rng.choice(10, k, p=[0.32, 0.1, 0.08, 0.14, 0.05, 0.05, 0.1, 0.04, 0.06, 0.06])
        if variant:
            pat = (pat + rng.integers(1, 10, k)) % 10
        df = pl.DataFrame(
            {
                "f": string_series(f),
                "l": string_series(ln),
                "yy": yy,
                "yyyy": pl.Series(yyyy),
                "nn": pl.Series(nn),
                "p": pat,
                "nick": pl.Series(_choice(rng, np.array(_NICK), k)),
            }
        )
        F, L, P = pl.col("f"), pl.col("l"), pl.col("p")
        loc = (
            pl.when(P == 0)
            .then(pl.concat_str([F, L], separator="."))
            .when(P == 1)
            .then(F + L)
            .when(P == 2)
            .then(pl.concat_str([F.str.slice(0, 1), L], separator="."))
            .when(P == 3)
            .then(pl.concat_str([F, L], separator=".") + pl.col("yy"))
            .when(P == 4)
            .then(pl.concat_str([F, L], separator="_"))
            .when(P == 5)
            .then(pl.concat_str([L, F], separator="."))
            .when(P == 6)
            .then(F + L + pl.col("nn"))
            .when(P == 7)
            .then(pl.concat_str([F, L, pl.col("yyyy")], separator="."))
            .when(P == 8)
            .then(F.str.slice(0, 1) + L + pl.col("yy"))
            .otherwise(pl.col("nick") + pl.col("nn"))
        )
        dom = np.where(old, _choice(rng, _DOM_OLD, k, _DOM_OLD_W), _choice(rng, _DOM_YNG, k, _DOM_YNG_W))
        out = df.with_columns(d=pl.Series(dom)).select(pl.concat_str([loc, pl.lit("@"), pl.col("d")]))
        e = out.to_series()
        # de-duplicate homonyms: jean.martin@gmail.com, jean.martin2@gmail.com ...
        d2 = pl.DataFrame({"e": e, "i": np.arange(k)}).with_columns(c=pl.col("i").cum_count().over("e"))
        e = d2.select(
            pl.when(pl.col("c") > 1)
            .then(pl.col("e").str.replace("@", pl.col("c").cast(pl.String) + "@"))
            .otherwise(pl.col("e"))
        ).to_series()
        return e.to_numpy().astype(object)
