"""Identifiers and formats: NIR, IBAN (with national keys), Luhn keys, postcodes, phones,
e-mails as typed, and the small vectorised helpers they share."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from claimwatch.sample_data.generator.reference import (
    _BE_BANKS,
    _DOM_LAND,
    _DOM_MOB,
    _EPOCH,
    _ES_BANKS,
    _FOREIGN_BANKS,
    _NL_BANKS,
    BANK_ONLINE,
    BANK_ONLINE_W,
    BANK_TRAD,
    BANK_TRAD_W,
    D_CODE,
    D_DOM,
    D_PC_BASE,
    D_ZONE,
)

# =============================================================================== small helpers


def _day(d: date) -> int:
    return (d - _EPOCH).days


def string_series(a) -> pl.Series:
    """String Series from an array that may hold None (polars infers object arrays badly)."""
    return pl.Series(np.asarray(a, dtype=object).tolist(), dtype=pl.String)


def _zf(a, width: int) -> pl.Series:
    return pl.Series(np.asarray(a, dtype=np.int64)).cast(pl.String).str.zfill(width)


def _cat_str(*parts) -> np.ndarray:
    """Concatenate string Series / scalars element-wise -> numpy object array."""
    n = max(len(p) for p in parts if not isinstance(p, str))
    cols = [pl.Series([p] * n) if isinstance(p, str) else pl.Series(p).cast(pl.String) for p in parts]
    df = pl.DataFrame({f"c{i}": c for i, c in enumerate(cols)})
    return df.select(pl.concat_str(pl.all())).to_series().to_numpy().astype(object)


def _luhn_key(payload: np.ndarray, ndig: int) -> np.ndarray:
    d = (payload[:, None] // 10 ** np.arange(ndig, dtype=np.int64)) % 10  # d[:, 0] = rightmost
    dbl = np.arange(ndig) % 2 == 0
    v = np.where(dbl, d * 2, d)
    v = np.where(v > 9, v - 9, v)
    return (10 - v.sum(1) % 10) % 10


def _lognorm(rng, median, sigma, n) -> np.ndarray:
    return np.exp(np.log(median) + sigma * rng.standard_normal(n))


def _choice(rng, values, n, p=None):
    p = None if p is None else np.asarray(p, dtype=float) / np.sum(p)
    return np.asarray(values)[rng.choice(len(values), n, p=p)]


def _mod97(groups, n: int) -> np.ndarray:
    r = np.zeros(n, dtype=np.int64)
    for v, nd in groups:
        r = (r * 10**nd + v) % 97
    return r


def _cc_num(cc: str) -> int:
    return (ord(cc[0]) - 55) * 100 + (ord(cc[1]) - 55)


def _ibans(rng, country: str, n: int, banks=None, bank_w=None) -> np.ndarray:
    """Valid IBANs (mod-97, plus national keys for FR/MC RIB, BE and ES)."""
    if n == 0:
        return np.array([], dtype=object)
    if country in ("FR", "MC"):
        if banks is None:
            banks, bank_w = np.array(_FOREIGN_BANKS["MC"][0]), None
        bank = _choice(rng, banks, n, bank_w).astype(np.int64)
        branch = rng.integers(10, 9999, n)
        acct = rng.integers(0, 10**11, n)
        key = 97 - (89 * bank + 15 * branch + 3 * acct) % 97
        groups = [(bank, 5), (branch, 5), (acct, 11), (key, 2)]
    elif country == "BE":
        bank = _choice(rng, _BE_BANKS, n)
        acct = rng.integers(0, 10**7, n)
        chk = (bank * 10**7 + acct) % 97
        groups = [(bank, 3), (acct, 7), (np.where(chk == 0, 97, chk), 2)]
    elif country == "ES":
        bank = _choice(rng, _ES_BANKS, n)
        branch = rng.integers(1, 9999, n)
        acct = rng.integers(0, 10**10, n)
        w = np.array([1, 2, 4, 8, 5, 10, 9, 7, 3, 6])

        def dc(v):
            dd = (v[:, None] // 10 ** np.arange(9, -1, -1)) % 10
            c = (dd * w).sum(1) % 11
            return np.where(c < 2, c, 11 - c)

        groups = [
            (bank, 4),
            (branch, 4),
            (dc(bank * 10**4 + branch) * 10 + dc(acct), 2),
            (acct, 10),
        ]
    elif country == "NL":
        bank = rng.integers(0, len(_NL_BANKS), n)
        bank_num = np.array([int("".join(str(ord(c) - 55) for c in b)) for b in _NL_BANKS])[bank]
        acct = rng.integers(10**8, 10**10, n)
        r = _mod97([(bank_num, 8), (acct, 10), (_cc_num("NL"), 4), (0, 2)], n)
        return _cat_str("NL", _zf(98 - r, 2), pl.Series(np.array(_NL_BANKS)[bank]), _zf(acct, 10))
    else:
        codes, blen, alen = _FOREIGN_BANKS[country]
        bank = _choice(rng, codes, n).astype(np.int64)
        acct = rng.integers(0, 10**alen, n)
        groups = [(bank, blen), (acct, alen)]
    r = _mod97(groups + [(_cc_num(country), 4), (0, 2)], n)
    return _cat_str(country, _zf(98 - r, 2), *[_zf(np.broadcast_to(v, n), nd) for v, nd in groups])


def _fr_ibans(rng, n: int, online_share: float) -> np.ndarray:
    online = rng.random(n) < online_share
    out = np.empty(n, dtype=object)
    out[~online] = _ibans(rng, "FR", int((~online).sum()), BANK_TRAD, BANK_TRAD_W)
    out[online] = _ibans(rng, "FR", int(online.sum()), BANK_ONLINE, BANK_ONLINE_W)
    return out


def _fraud_ibans(rng, n: int) -> np.ndarray:
    kind = _choice(
        rng,
        np.array(["FR_ONLINE", "LT", "ES", "DE", "BE", "NL", "FR_TRAD"]),
        n,
        [0.33, 0.2, 0.1, 0.14, 0.07, 0.1, 0.06],
    )
    out = np.empty(n, dtype=object)
    for k in np.unique(kind):
        sel = kind == k
        m = int(sel.sum())
        if k == "FR_ONLINE":
            out[sel] = _ibans(rng, "FR", m, BANK_ONLINE, BANK_ONLINE_W)
        elif k == "FR_TRAD":
            out[sel] = _ibans(rng, "FR", m, BANK_TRAD, BANK_TRAD_W)
        elif k == "DE":  # mostly N26
            out[sel] = _ibans(rng, "DE", m)
        else:
            out[sel] = _ibans(rng, str(k), m)
    return out


def _postcodes(rng, dept: np.ndarray) -> np.ndarray:
    n = len(dept)
    code = D_CODE[dept]
    u = rng.random(n)
    a = rng.integers(1, 10, n)
    b = np.where(rng.random(n) < 0.45, 0, rng.integers(0, 10, n))
    c = np.where(rng.random(n) < 0.85, 0, rng.integers(1, 10, n))
    suf = np.where(u < 0.2, 0, a * 100 + b * 10 + c)
    m = code == "75"
    suf[m] = np.where(rng.random(m.sum()) < 0.04, 116, rng.integers(1, 21, m.sum()))
    m = (code == "69") & (u < 0.3)
    suf[m] = rng.integers(1, 10, m.sum())
    m = (code == "13") & (u < 0.45)
    suf[m] = rng.integers(1, 17, m.sum())
    m = code == "2A"
    suf[m] = _choice(
        rng,
        [0, 90, 100, 110, 111, 114, 117, 118, 129, 137, 140, 166, 167, 169, 170],
        m.sum(),
        [30, 15, 6, 6, 4, 4, 4, 4, 4, 5, 4, 4, 4, 3, 3],
    )
    m = code == "2B"
    suf[m] = _choice(
        rng,
        [200, 600, 220, 250, 260, 213, 217, 230, 240, 218, 290, 620],
        m.sum(),
        [30, 15, 7, 6, 7, 5, 5, 5, 6, 4, 6, 4],
    )
    m = D_DOM[dept]
    suf[m] = np.where(
        u[m] < 0.3,
        0,
        rng.integers(1, 10, m.sum()) * 10
        + np.where(rng.random(m.sum()) < 0.6, 0, rng.integers(1, 10, m.sum())),
    )
    return _zf(D_PC_BASE[dept] + suf, 5).to_numpy().astype(object)


def _phones(rng, dept: np.ndarray, landline: np.ndarray, young: np.ndarray | None = None) -> np.ndarray:
    """National significant numbers (9 digits, no leading 0), e.g. 612345678."""
    n = len(dept)
    seven = rng.random(n) < (0.25 if young is None else np.where(young, 0.5, 0.18))
    six = rng.integers(0, 89_000_000, n)  # 0600..0688: 0639 and 069x are overseas ranges
    six = np.where(six // 1_000_000 == 39, six + 1_000_000, six)
    mob = np.where(seven, 700_000_000 + rng.integers(30_000_000, 100_000_000, n), 600_000_000 + six)
    land = D_ZONE[dept].clip(1, 5) * 100_000_000 + rng.integers(0, 100_000_000, n)
    num = np.where(landline, land, mob)
    for code, (p1, p2) in _DOM_MOB.items():
        m = D_CODE[dept] == code
        k = int(m.sum())
        if k:
            pre = np.where(landline[m], _DOM_LAND[code], np.where(rng.random(k) < 0.5, p1, p2))
            num[m] = pre * 1_000_000 + rng.integers(0, 1_000_000, k)
    return num


def _fmt_phone(num: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    """0 0612345678 | 1 06 12 34 56 78 | 2 +33612345678 | 3 06.12.34.56.78 | 4 0033612345678 |
    5 +33 6 12 34 56 78. Overseas numbers are only written in national formats (0, 1, 3)."""
    dom = (num // 1_000_000) >= 590
    fmt = np.where(dom & np.isin(fmt, [2, 4, 5]), 1, fmt)
    s = pl.col("s")
    sp = [s.str.slice(i, 2) for i in (0, 2, 4, 6, 8)]
    df = pl.DataFrame({"s": ("0" + _zf(num, 9)), "f": fmt})
    out = df.select(
        pl.when(pl.col("f") == 1)
        .then(pl.concat_str(sp, separator=" "))
        .when(pl.col("f") == 2)
        .then(pl.lit("+33") + s.str.slice(1))
        .when(pl.col("f") == 3)
        .then(pl.concat_str(sp, separator="."))
        .when(pl.col("f") == 4)
        .then(pl.lit("0033") + s.str.slice(1))
        .when(pl.col("f") == 5)
        .then(pl.concat_str([pl.lit("+33"), s.str.slice(1, 1), *sp[1:]], separator=" "))
        .otherwise(s)
    ).to_series()
    return out.to_numpy().astype(object)


def _fmt_email(email: np.ndarray, style: np.ndarray) -> np.ndarray:
    """0 as is | 1 Jean.Dupont@Gmail.com | 2 UPPER | 3 jean.dupont@GMAIL.COM"""
    df = pl.DataFrame({"e": string_series(email), "f": style})
    loc = pl.col("e").str.split_exact("@", 1).struct.field("field_0")
    dom = pl.col("e").str.split_exact("@", 1).struct.field("field_1")
    out = df.select(
        pl.when(pl.col("f") == 1)
        .then(
            pl.concat_str(
                [
                    loc.str.to_titlecase(),
                    pl.lit("@"),
                    dom.str.slice(0, 1).str.to_uppercase(),
                    dom.str.slice(1),
                ]
            )
        )
        .when(pl.col("f") == 2)
        .then(pl.col("e").str.to_uppercase())
        .when(pl.col("f") == 3)
        .then(pl.concat_str([loc, pl.lit("@"), dom.str.to_uppercase()]))
        .otherwise(pl.col("e"))
    ).to_series()
    return out.to_numpy().astype(object)


def _fmt_nir(nir: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    s = pl.col("s")
    parts = [s.str.slice(a, b) for a, b in ((0, 1), (1, 2), (3, 2), (5, 2), (7, 3), (10, 3), (13, 2))]
    df = pl.DataFrame({"s": string_series(nir), "f": fmt})
    return (
        df.select(
            pl.when(pl.col("f") == 1)
            .then(pl.concat_str(parts, separator=" "))
            .when(pl.col("f") == 2)
            .then(pl.concat_str([s.str.slice(0, 13), pl.lit(" "), s.str.slice(13)]))
            .otherwise(s)
        )
        .to_series()
        .to_numpy()
        .astype(object)
    )


def _fmt_iban(iban: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    s = pl.col("s")
    parts = [s.str.slice(i, 4) for i in range(0, 36, 4)]
    df = pl.DataFrame({"s": string_series(iban), "f": fmt})
    return (
        df.select(
            pl.when(pl.col("f") == 1)
            .then(pl.concat_str(parts, separator=" ").str.strip_chars(" "))
            .otherwise(s)
        )
        .to_series()
        .to_numpy()
        .astype(object)
    )


def _asof(h_m, h_t, h_v, q_m, q_t) -> np.ndarray:
    """Value of a member attribute at given times (history rows: member, time, value)."""
    h = pl.DataFrame(
        {"m": np.asarray(h_m, np.int64), "t": np.asarray(h_t, np.int64), "v": string_series(h_v)}
    ).sort("t")
    q = pl.DataFrame(
        {"qi": np.arange(len(q_m)), "m": np.asarray(q_m, np.int64), "t": np.asarray(q_t, np.int64)}
    ).sort("t")
    r = q.join_asof(h, on="t", by="m", strategy="backward", check_sortedness=False).sort("qi")
    return r["v"].to_numpy().astype(object)


def _sec_of_day(rng, n: int, night: float = 0.0) -> np.ndarray:
    w = np.array(
        [
            0.3,
            0.2,
            0.1,
            0.1,
            0.1,
            0.2,
            0.5,
            1.2,
            2,
            2.5,
            2.6,
            2.4,
            2,
            2.2,
            2.4,
            2.4,
            2.3,
            2.3,
            2.5,
            2.8,
            3,
            2.6,
            1.6,
            0.8,
        ]
    )
    w = w / w.sum() * (1 - night) + night / 24
    return rng.choice(24, n, p=w / w.sum()) * 3600 + rng.integers(0, 3600, n)


def _office_sec(rng, n: int) -> np.ndarray:
    return rng.integers(9 * 3600, 18 * 3600, n)
