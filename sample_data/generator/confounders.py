"""Legitimate look-alikes of duplicates that real portfolios show every day."""

from __future__ import annotations

import numpy as np

from claimwatch.sample_data.generator.reference import _A, _CROWNS, _HEAR_I, _HEAR_II, GP


class Confounders:
    """Honest lines that look like duplicates."""

    # ---------------------------------------------------------------- legitimate look-alikes
    def confounders(self, c):
        """Honest lines that look like duplicates: 0 € pairs, several units of one act on one
        day (each with its own RO line and complement invoice), the same act the same day at two
        providers, a member's invoice received before the NOEMIE line of the same care (an
        overpayment to recover, not fraud), and a single cheap invoice sent again by mistake."""
        rng = self.rng
        honest = (c["scen"] == 0) & ~self.used[c["m"]] & (c["recv"] + 40 <= self.d1)
        noemie = honest & (c["src"] == 0)
        added = []

        def pick(mask, share):
            idx = np.flatnonzero(mask)
            return idx[rng.random(len(idx)) < share]

        def copy(rows, **changes):
            out = {k: c[k][rows].copy() for k in c}
            for k, v in changes.items():
                out[k] = np.broadcast_to(np.asarray(v), (len(rows),)).astype(c[k].dtype).copy()
            return out

        # 1. 0 € pairs: care fully covered by the RO (ALD at 100 %, orthodontics) whose complement
        # line asks 0 € too
        zero = pick(noemie & np.isin(c["cat"], [0, 5]) & (self.age[c["m"]] >= 50), 0.01)
        c["ro"][zero] = c["billed"][zero]
        c["claimed"][zero] = 0
        added.append(
            copy(zero, src=rng.choice([2, 3], len(zero)), claimed=0, payee=0)
            | {"recv": np.minimum(c["recv"][zero] + rng.integers(2, 30, len(zero)), self.d1)}
        )
        # 2. several units of one act on one day: a second crown / hearing aid / lens at the same
        # price, each unit with its RO line and the member's complement invoice (part above the base)
        units = pick(noemie & np.isin(c["act"], np.concatenate([_CROWNS, [_HEAR_I, _HEAR_II]])), 0.25)
        c["claimed"][units] = c["base"][units] - np.round(c["base"][units] * 0.6).astype(np.int64)
        second = copy(units)
        second["recv"] = c["recv"][units] + rng.integers(0, 2, len(units))
        complement = []
        for rows in (copy(units), second):
            comp = {k: v.copy() for k, v in rows.items()}
            comp["claimed"] = comp["billed"] - comp["base"]
            comp["src"] = rng.choice([2, 3], len(units), p=[0.8, 0.2]).astype(c["src"].dtype)
            comp["recv"] = np.minimum(comp["recv"] + rng.integers(3, 25, len(units)), self.d1)
            comp["payee"] = np.zeros(len(units), c["payee"].dtype)
            complement.append(comp)
        added += [second, *complement]
        # 3. the same consultation act the same day with two doctors (the second by paper)
        gp = pick(noemie & (c["act"] == _A["G"]), 0.006)
        other = self._pool_pick(
            np.full(len(gp), GP), self.dept_at(c["m"][gp], c["day"][gp]), rng.random(len(gp))
        )
        other = np.where(
            other == c["prov"][gp], self.p_start[GP, self.dept_at(c["m"][gp], c["day"][gp])], other
        )
        keep = other != c["prov"][gp]
        gp, other = gp[keep], other[keep]
        added.append(
            copy(gp, src=3, payee=0)
            | {"prov": other, "recv": np.minimum(c["recv"][gp] + rng.integers(5, 30, len(gp)), self.d1)}
        )
        # 4. an honest double submission: the member uploads the invoice before the NOEMIE line
        # arrives (an overpayment to recover)
        early = pick(noemie & np.isin(c["cat"], [0, 5, 6, 8]) & (c["claimed"] > 0), 0.003)
        upload = copy(early, src=2, payee=0)
        upload["recv"] = c["day"][early] + rng.integers(0, 2, len(early))
        c["recv"][early] = np.minimum(
            np.maximum(c["recv"][early], upload["recv"] + rng.integers(2, 12, len(early))), self.d1
        )
        added.append(upload)
        # 5. a single cheap invoice sent again after it was paid (a mistake, or an unproven one)
        cheap = pick(noemie & (c["cat"] == 0) & (c["claimed"] > 0) & (c["claimed"] <= 3000), 0.0008)
        added.append(
            copy(cheap, src=2, payee=0)
            | {"recv": np.minimum(c["recv"][cheap] + rng.integers(5, 40, len(cheap)), self.d1)}
        )
        self.counts["lookalike_zero_euro_pairs"] = len(zero)
        self.counts["lookalike_multi_unit_acts"] = len(units)
        self.counts["lookalike_two_providers_same_day"] = len(gp)
        self.counts["lookalike_early_uploads"] = len(early)
        self.counts["lookalike_single_resubmissions"] = len(cheap)
        return {k: np.concatenate([c[k], *[a[k].astype(c[k].dtype) for a in added]]) for k in c}
