"""Evaluate the queue against labels: case precision@k, recall@k, average precision."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from claimwatch.detectors.metrics import average_precision, precision_at_k, recall_at_k
from claimwatch.errors import InputError
from claimwatch.store.db import Database


def read_labels(db: Database, path: Path | None) -> pl.DataFrame:
    """Labels from a file (CSV/Parquet, contract columns) or, without one, the labels table."""
    if path is None:
        return db.con.sql("select claim_id, is_fraud, scenario from labels").pl()
    if not path.exists():
        raise InputError(f"labels file {path} not found")
    reader = "read_parquet" if path.suffix.lower() in (".parquet", ".pq") else "read_csv"
    quoted = "'" + str(path).replace("'", "''") + "'"
    options = ", all_varchar = true, header = true" if reader == "read_csv" else ""
    frame = db.con.sql(f"select * from {reader}({quoted}{options})").pl()
    missing = {"claim_id", "is_fraud"} - set(frame.columns)
    if missing:
        raise InputError(f"{path}: missing required column(s) {', '.join(sorted(missing))}")
    return frame.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("is_fraud").cast(pl.String).str.to_lowercase().is_in(["1", "true", "yes"]).alias("is_fraud"),
        (
            pl.col("scenario").cast(pl.String) if "scenario" in frame.columns else pl.lit(None, pl.String)
        ).alias("scenario"),
    )


def evaluate(db: Database, labels_path: Path | None, ks: list[int]) -> dict:
    """Compute the queue's quality against labels.

    A case is a hit if its member has a fraudulent line. An incident is found when one of its
    members is in the top k: a fake-provider scheme is one incident per provider, a mule ring
    one per account (each member's: the ring's shared account among those its fraudulent lines
    went to), every other pattern one per member."""
    labels = read_labels(db, labels_path)
    db.con.register("eval_labels", labels.to_arrow())
    fraud = db.con.sql(
        """
        with fraud_lines as (
            select c.member_id, coalesce(l.scenario, 'unknown') as scenario, c.provider_id,
                c.payee_iban_hash, c.claimed_amount
            from eval_labels as l join claims as c on c.claim_id = l.claim_id
            where l.is_fraud
        ),

        links as (
            select member_id, scenario,
                case scenario when 'fake_provider' then provider_id else payee_iban_hash end as link,
                count(*) as lines
            from fraud_lines
            where scenario in ('fake_provider', 'mule_ring')
                and (case scenario when 'fake_provider' then provider_id else payee_iban_hash end)
                    is not null
            group by all
        ),

        main_link as (
            -- a member's ring is the account (its fake provider: the provider) that the most
            -- defrauded members share among those its fraudulent lines went to; then the one
            -- with most of its lines, then the smallest id (a fixed choice: a ring member whose
            -- lines also reached an account of its own stays in its ring)
            select member_id, scenario, link from (
                select *, row_number() over (
                    partition by member_id, scenario order by sharing desc, lines desc, link
                ) as place
                from (
                    select *, count(*) over (partition by scenario, link) as sharing from links
                )
            ) where place = 1
        )

        select f.member_id, f.scenario,
            -- one incident: the provider of a fake-provider scheme, the account of a mule
            -- ring, the member otherwise
            case
                when f.scenario = 'fake_provider' and any_value(m.link) is not null
                    then 'provider:' || any_value(m.link)
                when f.scenario = 'mule_ring' and any_value(m.link) is not null
                    then 'account:' || any_value(m.link)
                else 'member:' || f.member_id
            end as incident,
            sum(f.claimed_amount)::double as fraud_amount
        from fraud_lines as f
        left join main_link as m on m.member_id = f.member_id and m.scenario = f.scenario
        group by f.member_id, f.scenario
        """
    ).pl()
    queue = db.con.sql(
        """
        select case_id, member_id, rank from cases
        where rank is not null order by rank
        """
    ).pl()
    scored = db.con.sql(
        """
        select member_id, score from member_scores
        where run_id = (select max(run_id) from score_runs)
        order by score desc, member_id
        """
    ).pl()
    db.con.unregister("eval_labels")
    fraud_members = fraud.select("member_id").unique()
    positives = fraud_members.height
    case_hits = queue["member_id"].is_in(fraud_members["member_id"].implode()).to_numpy()
    member_hits = scored["member_id"].is_in(fraud_members["member_id"].implode()).to_numpy()
    total_euros = float(fraud["fraud_amount"].sum() or 0.0)
    result: dict = {
        "fraud_members": positives,
        "open_cases": queue.height,
        "average_precision_cases": average_precision(case_hits, positives),
        "average_precision_members": average_precision(member_hits, positives),
        "at_k": {},
        "per_scenario": {},
    }
    for k in ks:
        top_members = queue.head(k)["member_id"]
        found = fraud.filter(pl.col("member_id").is_in(top_members.implode()))
        incidents = fraud["incident"].n_unique()
        result["at_k"][k] = {
            "precision": precision_at_k(case_hits, k),
            "member_recall": recall_at_k(case_hits, positives, k),
            "incident_recall": found["incident"].n_unique() / incidents if incidents else float("nan"),
            "fraud_euro_recall": float(found["fraud_amount"].sum() or 0) / total_euros
            if total_euros
            else float("nan"),
        }
    for scenario, group in fraud.group_by("scenario", maintain_order=True):
        name = scenario[0]
        incidents = group["incident"].n_unique()
        result["per_scenario"][name] = {
            "incidents": incidents,
            "members": group["member_id"].n_unique(),
            **{
                f"recall@{k}": group.filter(pl.col("member_id").is_in(queue.head(k)["member_id"].implode()))[
                    "incident"
                ].n_unique()
                / incidents
                for k in ks
            },
        }
    result["per_scenario"] = dict(sorted(result["per_scenario"].items()))
    return result
