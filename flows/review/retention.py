"""Retention (CNIL practice for anti-fraud processing), logged in the audit log (flow: pipelines/purge.py).

- a case closed as legitimate (not relevant) is purged with its scores;
- an unqualified alert (open, no decision) is purged 6 months after it was opened;
- a confirmed fraud case is kept 5 years after its decision.

The review store decides what goes (it holds the decisions); DuckDB drops the purged members'
scores and the cases' mirror in the same step: the DuckDB transaction commits only after the
store's, so a failure on either side leaves both as they were.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa

from claimwatch.review.queue import OPEN, append_audit
from claimwatch.review.store import WRITE_CHUNK, ReviewStore, case_notes, cases
from claimwatch.store.db import Database

UNQUALIFIED_MONTHS = 6
FRAUD_YEARS = 5
RULES = ("closed_legitimate", "unqualified_6_months", "fraud_5_years")


def _months_before(now: datetime, months: int) -> datetime:
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    day = min(
        now.day,
        [
            31,
            29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ][month],
    )
    return now.replace(year=year, month=month + 1, day=day)


def purge_set(store: ReviewStore, now: datetime) -> pl.DataFrame:
    """The cases retention removes now, with the rule that removes each."""
    rule = sa.case(
        (cases.c.status == "closed_legitimate", "closed_legitimate"),
        (
            sa.and_(
                cases.c.status.in_(OPEN),
                cases.c.decision.is_(None),
                cases.c.opened_at < _months_before(now, UNQUALIFIED_MONTHS),
            ),
            "unqualified_6_months",
        ),
        (
            sa.and_(
                cases.c.status == "closed_fraud",
                cases.c.decided_at < _months_before(now, 12 * FRAUD_YEARS),
            ),
            "fraud_5_years",
        ),
    ).label("rule")
    query = sa.select(cases.c.case_id, cases.c.member_id, rule).order_by(cases.c.case_id)
    with store.read() as conn:
        rows = [r for r in conn.execute(query).all() if r.rule is not None]
    return pl.DataFrame(
        rows, schema={"case_id": pl.String, "member_id": pl.String, "rule": pl.String}, orient="row"
    )


def purge(
    db: Database, store: ReviewStore, actor: str = "retention", now: datetime | None = None
) -> dict[str, int]:
    """Delete what retention no longer allows from both stores; return counts per rule."""
    now = now or datetime.now(UTC)
    doomed = purge_set(store, now)
    counts = dict(doomed.group_by("rule").len().sort("rule").iter_rows())
    ids = doomed["case_id"].to_list()
    with db.transaction():
        db.con.register("purge_set", doomed.to_arrow())
        try:
            scores_before = db.con.execute("select count(*) from member_scores").fetchall()[0][0]
            db.run_script("queue/purge_cases.sql", {"now": now})
            scores = scores_before - db.con.execute("select count(*) from member_scores").fetchall()[0][0]
            db.run_script("queue/rank_open_cases.sql")
        finally:
            db.con.unregister("purge_set")
        result = {rule: counts.get(rule, 0) for rule in RULES} | {"member_scores": scores}
        # the store's transaction first: DuckDB commits only if it did
        with store.write() as conn:
            for start in range(0, len(ids), WRITE_CHUNK):
                chunk = ids[start : start + WRITE_CHUNK]
                conn.execute(case_notes.delete().where(case_notes.c.case_id.in_(chunk)))
                conn.execute(
                    cases.update().where(cases.c.previous_case_id.in_(chunk)).values(previous_case_id=None)
                )
                conn.execute(cases.delete().where(cases.c.case_id.in_(chunk)))
            append_audit(conn, actor, "purge", None, result, row_count=len(ids), now=now)
    return result
