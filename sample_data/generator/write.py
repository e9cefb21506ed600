"""Claim ids, corrections, payee accounts, the members snapshot, and the CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from claimwatch.sample_data.generator.identifiers import _asof, _cat_str, _fmt_email, _zf, string_series
from claimwatch.sample_data.generator.reference import (
    _ACTS,
    _DAY,
    CATEGORIES,
    CHANNELS,
    EVENT_TYPES,
    SCENARIOS,
    SOURCES,
)


class Writer:
    """Write the inbox."""

    # ------------------------------------------------------------------------------- run
    def run(self, out: Path) -> dict[str, int]:
        out.mkdir(parents=True, exist_ok=True)
        rng = self.rng
        self.lookalike = []
        self.members()
        self.home_u = rng.random((self.nh, 2))[self.household]
        self.providers()
        self.legit_events()
        self.breaches()
        self.fraud()
        ep = self.legit_episodes()
        c = self.expand(ep)
        c = self.duplicates_and_edits(c)
        c = self.confounders(c)

        # claim ids in order of reception; corrections re-use an id later in the file
        order = np.lexsort((rng.random(len(c["m"])), c["recv"]))
        c = {k: v[order] for k, v in c.items()}
        N = len(c["m"])
        c["no"] = np.arange(1, N + 1, dtype=np.int64)
        corr = np.flatnonzero((c["scen"] == 0) & (c["recv"] + 5 <= self.d1) & (rng.random(N) < 0.003))
        k = len(corr)
        # corrections: a cancelled line (all amounts 0) or a claimed amount revised downwards
        cancel = rng.random(k) < 0.2
        cor = {key: c[key][corr].copy() for key in c}
        cor["recv"] = np.minimum(cor["recv"] + rng.integers(5, 46, k), self.d1)
        cor["claimed"] = np.round(cor["claimed"] * rng.uniform(0.5, 0.95, k)).astype(np.int64)
        for a_ in ("billed", "ro", "claimed"):
            cor[a_][cancel] = 0
        scen_names = pl.Series([None, *SCENARIOS], dtype=pl.String)
        labels = pl.DataFrame(
            {
                "no": c["no"],
                "is_fraud": (c["scen"] > 0).astype(np.int8),
                "scenario": scen_names.gather(c["scen"]),
            }
        )
        allc = {key: np.concatenate([c[key], cor[key]]) for key in c}
        o2 = np.argsort(allc["recv"], kind="stable")
        allc = {key: v[o2] for key, v in allc.items()}
        # payee IBAN = the member's account in force when the line is paid
        hm, ht, hv = self._hist(self.h_iban)
        hist = pl.DataFrame({"m": hm, "t": ht, "payee_iban": string_series(hv)}).sort("t")
        pids = string_series(np.concatenate([self.p_id, np.array(self.x_id, dtype=object)]))
        ppcs = string_series(np.concatenate([self.p_pc, np.array(self.x_pc, dtype=object)]))
        claims = pl.DataFrame(
            {
                "no": allc["no"],
                "member_id": string_series(self.member_id).gather(allc["m"]),
                "care_date": pl.Series(allc["day"].astype(np.int32)).cast(pl.Date),
                "received_date": pl.Series(allc["recv"].astype(np.int32)).cast(pl.Date),
                "source": pl.Series(SOURCES).gather(allc["src"]),
                "care_category": pl.Series(CATEGORIES).gather(allc["cat"]),
                "act_code": pl.Series(_ACTS, dtype=pl.String).gather(allc["act"]),
                "provider_id": pids.gather(allc["prov"]),
                "provider_postcode": ppcs.gather(allc["prov"]),
                "billed_amount": allc["billed"] / 100,
                "ro_amount": allc["ro"] / 100,
                "claimed_amount": allc["claimed"] / 100,
                "payee": pl.Series(["member", "provider"]).gather(allc["payee"]),
                "m": allc["m"],
                "t": allc["recv"] * _DAY + 20 * 3600,
                "i": np.arange(len(o2)),
            }
        )
        claims = (
            claims.sort("t")
            .join_asof(hist, on="t", by="m", strategy="backward", check_sortedness=False)
            .sort("i")
            .with_columns(
                claim_id=pl.lit("C") + (pl.col("no") + 10**9).cast(pl.String),
                payee_iban=pl.when(pl.col("payee") == "member").then(pl.col("payee_iban")),
            )
            .select(
                "claim_id",
                *[x for x in claims.columns if x not in ("no", "m", "t", "i")],
                "payee_iban",
            )
        )
        labels = labels.select(
            claim_id=pl.lit("C") + (pl.col("no") + 10**9).cast(pl.String),
            is_fraud="is_fraud",
            scenario="scenario",
        )

        # events
        em, et_, ety, evl, ech, eip = self.ev.arrays()
        keep = (et_ >= self.d0 * _DAY) & (et_ < (self.d1 + 1) * _DAY)
        o = np.lexsort((em[keep], et_[keep]))
        em, et_, ety, evl, ech, eip = (x[keep][o] for x in (em, et_, ety, evl, ech, eip))
        ne = len(em)
        events = pl.DataFrame(
            {
                "event_id": pl.Series(_cat_str("E", _zf(np.arange(1, ne + 1) + 10**9, 10)), dtype=pl.String),
                "member_id": string_series(self.member_id[em]),
                "event_time": pl.from_epoch(pl.Series(et_), time_unit="s"),
                "event_type": pl.Series(np.array(EVENT_TYPES)[ety]),
                "new_value": string_series(evl),
                "channel": pl.Series(np.array(CHANNELS)[ech]),
                "ip_country": string_series(eip),
            }
        ).with_columns(
            [
                pl.when(pl.col(x) == "").then(None).otherwise(pl.col(x)).alias(x)
                for x in ("new_value", "ip_country")
            ]
        )

        # members snapshot at extraction time (end): current contact data and IBAN
        n = self.n
        tq = np.full(n, (self.d1 + 1) * _DAY)
        cur = {
            name: _asof(*self._hist(h), np.arange(n), tq)
            for name, h in (
                ("email", self.h_email),
                ("phone", self.h_phone),
                ("iban", self.h_iban),
                ("postcode", self.h_pc),
            )
        }
        memdf = pl.DataFrame(
            {
                "member_id": string_series(self.member_id),
                "subscriber_id": string_series(self.sub_id),
                "last_name": string_series(self.last),
                "first_name": string_series(self.first),
                "sex": pl.Series(self.sex),
                "birth_date": pl.Series(self.birth.astype(np.int32)).cast(pl.Date),
                "postcode": string_series(cur["postcode"]),
                "contract_start": pl.Series(self.cstart.astype(np.int32)).cast(pl.Date),
                "nir": string_series(self.nir),
                "email": string_series(cur["email"]),
                "phone": string_series(cur["phone"]),
                "iban": string_series(cur["iban"]),
            }
        )
        # a few e-mails typed with capitals by the member (Jean.Dupont@Gmail.com)
        em0 = cur["email"]
        has = np.array([x is not None for x in em0], dtype=bool)
        cap = has & (rng.random(n) < 0.06)
        em0 = em0.copy()
        em0[cap] = _fmt_email(em0[cap], np.ones(int(cap.sum()), int))
        memdf = memdf.with_columns(email=string_series(em0))
        memdf = memdf.sort("subscriber_id", "member_id")

        kw = dict(date_format="%Y-%m-%d", datetime_format="%Y-%m-%dT%H:%M:%S", float_precision=2)
        memdf.write_csv(out / "members.csv", **kw)
        events.write_csv(out / "account_events.csv", **kw)
        claims.write_csv(out / "claims.csv", **kw)
        self.breach_df.write_csv(out / "breach_list.csv", **kw)
        labels.write_csv(out / "labels.csv", **kw)
        res = {
            "members": memdf.height,
            "account_events": events.height,
            "claims": claims.height,
            "breach_list": self.breach_df.height,
            "labels": labels.height,
        }
        for s in SCENARIOS:
            res[f"incidents_{s}"] = int(self.inc.get(s, 0))
        res["fraud_claim_lines"] = int(labels["is_fraud"].sum())
        res["claim_corrections"] = int(k)
        res["members_exposed"] = int((self.exp_day < 10**9).sum())
        return res
