"""Care providers per department: RPPS, FINESS and ADELI numbers, sector-2 fees."""

from __future__ import annotations

import numpy as np

from claimwatch.sample_data.generator.identifiers import (
    _cat_str,
    _choice,
    _luhn_key,
    _postcodes,
    _zf,
    string_series,
)
from claimwatch.sample_data.generator.reference import (
    _NEG,
    ADELI_PROFESSION_CODES,
    D_CODE,
    D_REG,
    D_W,
    GP,
    IMG,
    ND,
    NPT,
    PT_KIND,
    PT_MIN,
    PT_RATIO,
    SPEC,
)


class Providers:
    """Provider pools."""

    # ---------------------------------------------------------------------------- providers
    def providers(self):
        rng = self.rng
        exp_members = np.maximum(D_W * self.n, 1)
        cnt = np.maximum(PT_MIN[:, None], np.ceil(PT_RATIO[:, None] * exp_members[None, :])).astype(np.int64)
        self.p_count = cnt
        self.p_start = (np.cumsum(cnt.ravel()) - cnt.ravel()).reshape(cnt.shape)
        total = int(cnt.sum())
        ptype = np.repeat(np.repeat(np.arange(NPT), ND), cnt.ravel())
        pdept = np.repeat(np.tile(np.arange(ND), NPT), cnt.ravel())
        self.p_type, self.p_dept = ptype, pdept
        self.p_pc = _postcodes(rng, pdept)
        self.p_id = self._provider_ids(ptype, pdept, bad=rng.random(total) < 0.003)
        fac = np.ones(total)
        s2 = (
            ((ptype == SPEC) & (rng.random(total) < 0.45))
            | ((ptype == GP) & (rng.random(total) < 0.08))
            | ((ptype == IMG) & (rng.random(total) < 0.15))
        )
        fac[s2] = np.clip(rng.lognormal(np.log(1.6), 0.25, s2.sum()), 1.15, 3.0)
        self.p_fac = fac
        self.p_gs = rng.random(total) < 0.3
        opend = np.where(
            rng.random(total) < 0.06,
            rng.integers(self.d0 + 30, max(self.d0 + 31, self.d1 - 30), total),
            _NEG,
        )
        opend[self.p_start.ravel()] = _NEG  # the first provider of every pool is always open
        self.p_open = opend

    def _provider_ids(self, ptype, pdept, bad) -> np.ndarray:
        rng = self.rng
        n = len(ptype)
        kind = PT_KIND[ptype]
        out = np.empty(n, dtype=object)
        m = kind == "rpps"
        k = int(m.sum())
        payload = 10 * 10**8 + rng.choice(10**8, k, replace=False)
        key = _luhn_key(payload, 10)
        key = np.where(bad[m], (key + rng.integers(1, 10, k)) % 10, key)
        out[m] = _cat_str(_zf(payload, 10), _zf(key, 1))
        # ADELI (osteopaths, psychologists, other paramedical professions): department +
        # profession code + serial, 9 digits, no check key
        m = kind == "adeli"
        k = int(m.sum())
        if k:
            reg = D_REG[pdept[m]]
            dom = reg > 100
            profession = _choice(rng, ADELI_PROFESSION_CODES, k)
            serial = rng.integers(0, 10**5, k)
            number = np.where(
                dom,
                reg * 10**6 + profession * 10**4 + serial % 10**4,
                reg * 10**7 + profession * 10**5 + serial,
            )
            out[m] = _zf(number, 9).to_numpy().astype(object)
        for kd, mid in (("finess", 0),):
            m = kind == kd
            k = int(m.sum())
            reg = D_REG[pdept[m]]
            dom = reg > 100
            body = rng.choice(10**5, k, replace=False)
            payload = np.where(dom, reg * 10**5 + body, reg * 10**6 + mid * 10**5 + body)
            key = _luhn_key(payload, 8)
            key = np.where(bad[m], (key + rng.integers(1, 10, k)) % 10, key)
            s = _zf(payload, 8).to_numpy().astype(object)
            code = D_CODE[pdept[m]]
            cors = (code == "2A") | (code == "2B")
            s[cors] = (
                _cat_str(string_series(code[cors]), _zf(payload[cors] % 10**6, 6)) if cors.any() else s[cors]
            )
            out[m] = _cat_str(string_series(s), _zf(key, 1))
        return out

    def _add_provider(self, ptype: int, dept: int, bad: bool) -> int:
        pid = self._provider_ids(np.array([ptype]), np.array([dept]), np.array([bad]))[0]
        self.x_id.append(pid)
        self.x_type.append(ptype)
        self.x_dept.append(dept)
        self.x_pc.append(_postcodes(self.rng, np.array([dept]))[0])
        return len(self.p_type) + len(self.x_id) - 1
