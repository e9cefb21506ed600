"""Retention (CNIL practice for anti-fraud processing), logged in the audit log (flow: pipelines/purge.py).

- a case closed as legitimate (not relevant) is purged with its scores;
- an unqualified alert (open, no decision) is purged 6 months after it was opened;
- a confirmed fraud case is kept 5 years after its decision.
"""

from __future__ import annotations

from datetime import UTC, datetime

from claimwatch.review.queue import audit
from claimwatch.store.db import Database

UNQUALIFIED_MONTHS = 6
FRAUD_YEARS = 5


def purge(db: Database, actor: str = "retention", now: datetime | None = None) -> dict[str, int]:
    """Delete what retention no longer allows; return counts per rule (one transaction)."""
    now = now or datetime.now(UTC)
    con = db.con
    with db.transaction():
        con.execute(
            f"""
            create or replace temp table purge_cases as
            select case_id, member_id, status,
                case
                    when status = 'closed_legitimate' then 'closed_legitimate'
                    when status in ('new', 'in_review', 'needs_info') and decision is null
                        and opened_at < ?::timestamptz - interval {UNQUALIFIED_MONTHS} month
                        then 'unqualified_6_months'
                    when status = 'closed_fraud'
                        and decided_at < ?::timestamptz - interval {FRAUD_YEARS} year
                        then 'fraud_5_years'
                end as rule
            from cases
            """,
            [now, now],
        )
        con.execute("delete from purge_cases where rule is null")
        counts = dict(con.execute("select rule, count(*) from purge_cases group by rule").fetchall())
        # scores of purged members go too, unless the member still has a kept case
        con.execute(
            """
            create or replace temp table purge_members as
            select distinct member_id from purge_cases
            where member_id not in (
                select member_id from cases where case_id not in (select case_id from purge_cases)
            )
            """
        )
        scores = con.execute(
            "delete from member_scores where member_id in (select member_id from purge_members)"
        ).fetchall()[0][0]
        con.execute("delete from claim_scores where member_id in (select member_id from purge_members)")
        # a legitimate alert must not come back at the next run: keep its line ids only
        con.execute(
            """
            insert into suppressed_claims
            select distinct cc.claim_id, ?::timestamptz from case_claims as cc
            where cc.case_id in (select case_id from purge_cases where rule = 'closed_legitimate')
            """,
            [now],
        )
        con.execute("delete from case_claims where case_id in (select case_id from purge_cases)")
        # the chain of a re-opened member must not point to a purged case
        con.execute(
            "update cases set previous_case_id = null "
            "where previous_case_id in (select case_id from purge_cases)"
        )
        con.execute("delete from cases where case_id in (select case_id from purge_cases)")
        db.run_script("queue/rank_open_cases.sql")
        result = {
            "closed_legitimate": counts.get("closed_legitimate", 0),
            "unqualified_6_months": counts.get("unqualified_6_months", 0),
            "fraud_5_years": counts.get("fraud_5_years", 0),
            "member_scores": scores,
        }
        audit(db, actor, "purge", None, result, row_count=sum(counts.values()))
    return result
