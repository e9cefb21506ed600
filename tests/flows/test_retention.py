"""Retention (CNIL practice): legitimate alerts purged with their scores, unqualified alerts after
6 months, confirmed fraud 5 years after the decision; each purge audited once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from claimwatch.review import queue as review
from claimwatch.review.retention import purge
from tests.flows import test_review
from tests.flows.test_review import rescore, rows, top_cases

queue_template = test_review.queue_template
queue_db = test_review.queue_db

NOW = datetime(2027, 6, 1, tzinfo=UTC)


def member_of(db, case_id: str) -> str:
    return rows(db, "select member_id from cases where case_id = ?", [case_id])[0][0]


def traces(db, case_id: str, member_id: str) -> dict[str, int]:
    """Rows a purged case must not leave behind."""
    keys = [
        ("cases", "case_id", case_id),
        ("case_claims", "case_id", case_id),
        ("member_scores", "member_id", member_id),
        ("claim_scores", "member_id", member_id),
    ]
    return {
        table: rows(db, f"select count(*) from {table} where {column} = ?", [value])[0][0]
        for table, column, value in keys
    }


def set_opened(db, age: timedelta) -> None:
    """Make every case look opened `age` before NOW (the test controls the clock)."""
    db.con.execute("update cases set opened_at = ?", [NOW - age])


def test_legitimate_case_is_purged_with_its_scores(queue_db):
    legitimate, fraud = top_cases(queue_db, 2)
    member = member_of(queue_db, legitimate)
    set_opened(queue_db, timedelta(days=10))
    assert traces(queue_db, legitimate, member)["member_scores"] == 1
    review.decide(queue_db, legitimate, "legitimate", "carol")
    review.decide(queue_db, fraud, "fraud", "carol")
    open_before = rows(queue_db, "select count(*) from cases where rank is not null")[0][0]

    counts = purge(queue_db, now=NOW)

    assert counts == {
        "closed_legitimate": 1,
        "unqualified_6_months": 0,
        "fraud_5_years": 0,
        "member_scores": 1,
    }
    assert traces(queue_db, legitimate, member) == {
        "cases": 0,
        "case_claims": 0,
        "member_scores": 0,
        "claim_scores": 0,
    }
    # the fraud case and the recent open cases stay
    assert rows(queue_db, "select status from cases where case_id = ?", [fraud]) == [("closed_fraud",)]
    assert rows(queue_db, "select count(*) from cases where rank is not null")[0][0] == open_before


def test_unqualified_alerts_are_purged_after_six_months(queue_db):
    old, recent, needs_info = top_cases(queue_db, 3)
    set_opened(queue_db, timedelta(days=150))
    queue_db.con.execute(
        "update cases set opened_at = ? where case_id in (?, ?)", [NOW - timedelta(days=190), old, needs_info]
    )
    review.assign(queue_db, recent, "alice", "lead")
    # asking for information is a reviewer's decision: the alert is being qualified
    review.decide(queue_db, needs_info, "needs_info", "carol")
    old_member = member_of(queue_db, old)

    counts = purge(queue_db, now=NOW)

    assert counts["unqualified_6_months"] == 1 and counts["closed_legitimate"] == 0
    assert traces(queue_db, old, old_member) == {
        "cases": 0,
        "case_claims": 0,
        "member_scores": 0,
        "claim_scores": 0,
    }
    left = dict(
        rows(queue_db, "select case_id, status from cases where case_id in (?, ?)", [recent, needs_info])
    )
    assert left == {recent: "in_review", needs_info: "needs_info"}


def test_confirmed_fraud_is_kept_five_years_after_the_decision(queue_db):
    fraud = top_cases(queue_db, 1)[0]
    member = member_of(queue_db, fraud)
    review.decide(queue_db, fraud, "fraud", "carol")
    decided = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
    queue_db.con.execute("update cases set opened_at = ?", [decided - timedelta(days=30)])
    queue_db.con.execute("update cases set decided_at = ? where case_id = ?", [decided, fraud])

    # four years and eleven months on: the confirmed case is kept (unlike every open alert)
    counts = purge(queue_db, now=decided + timedelta(days=5 * 365 - 30))
    assert counts["fraud_5_years"] == 0
    assert traces(queue_db, fraud, member)["cases"] == 1
    assert rows(queue_db, "select count(*) from cases")[0][0] == 1

    counts = purge(queue_db, now=decided + timedelta(days=5 * 365 + 2))
    assert counts["fraud_5_years"] == 1
    assert traces(queue_db, fraud, member) == {
        "cases": 0,
        "case_claims": 0,
        "member_scores": 0,
        "claim_scores": 0,
    }


def test_each_purge_writes_one_audit_row(queue_db):
    legitimate = top_cases(queue_db, 1)[0]
    set_opened(queue_db, timedelta(days=10))
    review.decide(queue_db, legitimate, "legitimate", "carol")
    before = rows(queue_db, "select count(*) from audit_log")[0][0]
    purge(queue_db, actor="weekly", now=NOW)
    purge(queue_db, actor="weekly", now=NOW)  # nothing left to purge: still one row
    got = rows(
        queue_db,
        "select actor, action, case_id, row_count from audit_log "
        "where audit_id > (select min(audit_id) from audit_log) order by audit_id",
    )
    assert rows(queue_db, "select count(*) from audit_log")[0][0] == before + 2
    assert got == [("weekly", "purge", None, 1), ("weekly", "purge", None, 0)]


def test_member_keeping_a_case_keeps_its_scores(queue_db):
    # a legitimate case followed by a new open case of the same member (new lines after closure)
    closed = top_cases(queue_db, 1)[0]
    member = member_of(queue_db, closed)
    set_opened(queue_db, timedelta(days=10))
    review.decide(queue_db, closed, "legitimate", "carol")
    queue_db.con.execute(
        "insert into cases (case_id, member_id, status, score, previous_case_id, opened_run_id, "
        "last_run_id, opened_at, updated_at) values ('CASE-NEXT', ?, 'new', 80, ?, 'r2', 'r2', ?, ?)",
        [member, closed, NOW, NOW],
    )
    counts = purge(queue_db, now=NOW)
    assert counts["closed_legitimate"] == 1 and counts["member_scores"] == 0
    assert traces(queue_db, closed, member)["member_scores"] == 1
    # the new case no longer points to a case that does not exist
    assert rows(queue_db, "select previous_case_id from cases where case_id = 'CASE-NEXT'") == [(None,)]


def test_a_failed_purge_changes_nothing(queue_db, monkeypatch):
    review.decide(queue_db, top_cases(queue_db, 1)[0], "legitimate", "carol")
    before = rows(
        queue_db,
        "select count(*), (select count(*) from member_scores), (select count(*) from audit_log) from cases",
    )

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("claimwatch.review.retention.audit", broken_audit)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        purge(queue_db, now=NOW)
    # a purge nobody can account for must not happen
    assert (
        rows(
            queue_db,
            "select count(*), (select count(*) from member_scores), "
            "(select count(*) from audit_log) from cases",
        )
        == before
    )


def test_purged_legitimate_alert_is_not_reopened_by_the_next_run(settings, queue_db):
    legitimate = top_cases(queue_db, 1)[0]
    member = member_of(queue_db, legitimate)
    review.decide(queue_db, legitimate, "legitimate", "carol")
    purge(queue_db)
    rescore(queue_db, settings, "r2")
    assert rows(queue_db, "select count(*) from cases where member_id = ?", [member])[0][0] == 0
