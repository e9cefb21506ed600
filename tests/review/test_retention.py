"""Retention (CNIL practice): legitimate alerts purged with their scores, unqualified alerts after
6 months, confirmed fraud 5 years after the decision, from the review store and DuckDB together;
each purge audited once; a failed purge changes neither."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from claimwatch.review import queue as review
from claimwatch.review.retention import purge
from tests.helpers import rescore, rows, set_opened_at, state, top_cases, write_duplicate_line

NOW = datetime(2027, 6, 1, tzinfo=UTC)
GONE = {"store": 0, "notes": 0, "mirror": 0, "case_claims": 0, "member_scores": 0, "claim_scores": 0}


def member_of(q, case_id: str) -> str:
    return state(q)[case_id]["member_id"]


def traces(q, case_id: str, member_id: str) -> dict[str, int]:
    """Rows a purged case must not leave behind, in the store and in DuckDB."""
    keys = [
        ("cases", "case_id", case_id, "mirror"),
        ("case_claims", "case_id", case_id, "case_claims"),
        ("member_scores", "member_id", member_id, "member_scores"),
        ("claim_scores", "member_id", member_id, "claim_scores"),
    ]
    out = {
        "store": int(case_id in state(q)),
        "notes": sum(n["case_id"] == case_id for n in notes(q)),
    }
    for table, column, value, name in keys:
        out[name] = rows(q.db, f"select count(*) from {table} where {column} = ?", [value])[0][0]
    return out


def notes(q) -> list[dict]:
    from claimwatch.review.sync import store_frames

    return store_frames(q.store, {"case_notes"})["case_notes"].to_dicts()


def test_legitimate_case_is_purged_with_its_scores(any_queue):
    q = any_queue
    legitimate, fraud = top_cases(q, 2)
    member = member_of(q, legitimate)
    set_opened_at(q.store, NOW - timedelta(days=10))
    assert traces(q, legitimate, member)["member_scores"] == 1
    review.decide(q.store, legitimate, "legitimate", actor="carol", note="household account")
    review.decide(q.store, fraud, "fraud", actor="carol")
    open_before = review.list_cases(q.store).total

    counts = purge(q.db, q.store, now=NOW)

    assert counts == {
        "closed_legitimate": 1,
        "unqualified_6_months": 0,
        "fraud_5_years": 0,
        "member_scores": 1,
    }
    assert traces(q, legitimate, member) == GONE
    # the fraud case and the recent open cases stay
    assert state(q)[fraud]["status"] == "closed_fraud"
    assert review.list_cases(q.store).total == open_before


def test_unqualified_alerts_are_purged_after_six_months(queue):
    old, recent, needs_info = top_cases(queue, 3)
    set_opened_at(queue.store, NOW - timedelta(days=150))
    set_opened_at(queue.store, NOW - timedelta(days=190), [old, needs_info])
    review.assign(queue.store, recent, "alice", actor="lead")
    # asking for information is a reviewer's decision: the alert is being qualified
    review.decide(queue.store, needs_info, "needs_info", actor="carol")
    old_member = member_of(queue, old)

    counts = purge(queue.db, queue.store, now=NOW)

    assert counts["unqualified_6_months"] == 1 and counts["closed_legitimate"] == 0
    assert traces(queue, old, old_member) == GONE
    left = state(queue)
    assert (left[recent]["status"], left[needs_info]["status"]) == ("in_review", "needs_info")


def test_confirmed_fraud_is_kept_five_years_after_the_decision(queue):
    fraud = top_cases(queue, 1)[0]
    member = member_of(queue, fraud)
    review.decide(queue.store, fraud, "fraud", actor="carol")
    decided = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
    set_opened_at(queue.store, decided - timedelta(days=30))
    from claimwatch.review.store import cases

    with queue.store.write() as conn:
        conn.execute(cases.update().where(cases.c.case_id == fraud).values(decided_at=decided))

    # four years and eleven months on: the confirmed case is kept (unlike every open alert)
    counts = purge(queue.db, queue.store, now=decided + timedelta(days=5 * 365 - 30))
    assert counts["fraud_5_years"] == 0
    assert traces(queue, fraud, member)["store"] == 1
    assert list(state(queue)) == [fraud]

    counts = purge(queue.db, queue.store, now=decided + timedelta(days=5 * 365 + 2))
    assert counts["fraud_5_years"] == 1
    assert traces(queue, fraud, member) == GONE


def test_each_purge_writes_one_audit_row(queue):
    legitimate = top_cases(queue, 1)[0]
    set_opened_at(queue.store, NOW - timedelta(days=10))
    review.decide(queue.store, legitimate, "legitimate", actor="carol")
    purge(queue.db, queue.store, actor="weekly", now=NOW)
    purge(queue.db, queue.store, actor="weekly", now=NOW)  # nothing left to purge: still one row
    got = [(a["actor"], a["action"], a["case_id"], a["row_count"]) for a in review.audit(queue.store)]
    assert got == [
        ("carol", "decide", legitimate, None),
        ("weekly", "purge", None, 1),
        ("weekly", "purge", None, 0),
    ]


def test_member_keeping_a_case_keeps_its_scores(queue, generated_inbox, tmp_path):
    # a legitimate case followed by a new open case of the same member (new lines after closure)
    member = next(
        r["member_id"]
        for r in reversed(review.list_cases(queue.store).rows)
        if rows(
            queue.db,
            "select count(*) from claims where member_id = ? and source = 'noemie'",
            [r["member_id"]],
        )[0][0]
    )
    closed = next(c for c, r in state(queue).items() if r["member_id"] == member)
    review.decide(queue.store, closed, "legitimate", actor="carol")
    write_duplicate_line(generated_inbox, member, tmp_path / "inbox2", "CDUP0000001")
    rescore(queue, "r2", tmp_path / "inbox2")
    reopened = next(c for c, r in state(queue).items() if r["member_id"] == member and c != closed)
    assert state(queue)[reopened]["previous_case_id"] == closed

    counts = purge(queue.db, queue.store, now=datetime.now(UTC))

    assert counts["closed_legitimate"] == 1 and counts["member_scores"] == 0
    assert traces(queue, closed, member)["member_scores"] >= 1
    # the new case no longer points to a case that does not exist, in either store
    assert state(queue)[reopened]["previous_case_id"] is None
    assert rows(queue.db, "select previous_case_id from cases where case_id = ?", [reopened]) == [(None,)]


def test_a_failed_purge_changes_nothing(queue, monkeypatch):
    review.decide(queue.store, top_cases(queue, 1)[0], "legitimate", actor="carol")
    duck = (
        "select count(*), (select count(*) from member_scores), (select count(*) from case_claims) from cases"
    )
    before = (rows(queue.db, duck), state(queue), review.audit(queue.store))

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr("claimwatch.review.retention.append_audit", broken_audit)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        purge(queue.db, queue.store, now=NOW)
    # a purge nobody can account for must not happen, in the store or in DuckDB
    assert (rows(queue.db, duck), state(queue), review.audit(queue.store)) == before


def test_purged_legitimate_alert_is_not_reopened_by_the_next_run(queue):
    legitimate = top_cases(queue, 1)[0]
    member = member_of(queue, legitimate)
    review.decide(queue.store, legitimate, "legitimate", actor="carol")
    purge(queue.db, queue.store)
    rescore(queue, "r2")
    assert [c for c, r in state(queue).items() if r["member_id"] == member] == []
    assert rows(queue.db, "select count(*) from cases where member_id = ?", [member])[0][0] == 0
