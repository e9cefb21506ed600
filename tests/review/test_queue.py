"""Review queue on the review store: one open case per member, ranks, re-scores that respect
reviewers' work (decided before or during a run), re-opening after new suspicious lines, a run
whose sync failed completed by the next one, case detail and the append-only audit log."""

from __future__ import annotations

import re
import shutil
from importlib.resources import files
from pathlib import Path

import pytest

from claimwatch.review import queue as review
from claimwatch.review.export import export
from claimwatch.review.store import ReviewError, open_store
from claimwatch.review.sync import catch_up, synced_runs
from claimwatch.store.db import connect
from tests.helpers import (
    rescore,
    review_state,
    rows,
    state,
    top_cases,
    write_duplicate_line,
)

OPEN = "('new', 'in_review', 'needs_info')"

# --------------------------------------------------------------------------- queue shape


def test_the_store_holds_the_runs_queue_in_the_runs_order(queue):
    # the generated inbox holds all five fraud patterns: some members must be queued
    page = review.list_cases(queue.store)
    assert page.total > 20 and len(page.rows) == page.total
    assert [r["rank"] for r in page.rows] == list(range(1, page.total + 1))
    # cases of their own by score; members of a scheme where the run's ranking placed them
    # (sql/queue/rank_open_cases.sql: schemes as investigations), which the store follows
    own = [r["score"] for r in page.rows if r["scheme_id"] is None]
    assert own == sorted(own, reverse=True)
    members = [r["member_id"] for r in page.rows]
    assert len(set(members)) == len(members)
    # the store's cases are DuckDB's, with the same ranks, lines and amounts
    duck = rows(
        queue.db, "select case_id, rank, claim_ids, amount_at_risk, member_id from cases order by rank"
    )
    assert duck == [
        (r["case_id"], r["rank"], r["claim_ids"], r["amount_at_risk"], r["member_id"]) for r in page.rows
    ]
    assert synced_runs(queue.store) == {"r1"}


def test_case_lines_and_amount_match_case_claims(queue):
    # claim_ids and amount_at_risk are derived from case_claims: the reviewer sees what is stored
    mismatches = rows(
        queue.db,
        """
        select c.case_id
        from cases as c
        join (
            select cc.case_id, string_agg(cc.claim_id, ';' order by cc.claim_id) as ids,
                sum(cl.claimed_amount) as amount
            from case_claims as cc join claims as cl on cl.claim_id = cc.claim_id
            group by cc.case_id
        ) as agg on agg.case_id = c.case_id
        where c.claim_ids is distinct from agg.ids or c.amount_at_risk <> agg.amount
    """,
    )
    assert mismatches == []
    # a case without lines (IBAN taken over, nothing paid to it yet) has nothing at risk
    assert all(r["amount_at_risk"] == 0 for r in state(queue).values() if r["claim_ids"] is None)
    # every line of a case belongs to the case's member
    assert (
        rows(
            queue.db,
            """
        select count(*) from case_claims as cc
        join cases as c on c.case_id = cc.case_id
        join claims as cl on cl.claim_id = cc.claim_id
        where cl.member_id <> c.member_id
    """,
        )[0][0]
        == 0
    )


# --------------------------------------------------------------------------- re-scores


def test_rescore_of_the_same_data_keeps_reviewers_work(any_queue):
    q = any_queue
    a, b, c, d = top_cases(q, 4)
    review.assign(q.store, a, "alice", actor="lead")
    review.decide(q.store, b, "needs_info", actor="bob", note="ask for the invoice")
    review.decide(q.store, c, "legitimate", actor="carol", note="household account")
    review.decide(q.store, d, "fraud", actor="dave", note="confirmed by the member")
    before = review_state(q)

    rescore(q, "r2")

    assert review_state(q) == before
    after = state(q)
    # open cases get the new scores (last_run_id), closed ones keep their run and no rank
    assert {
        k: (after[k]["status"], after[k]["rank"] is None, after[k]["last_run_id"]) for k in (a, b, c, d)
    } == {
        a: ("in_review", False, "r2"),
        b: ("needs_info", False, "r2"),
        c: ("closed_legitimate", True, "r1"),
        d: ("closed_fraud", True, "r1"),
    }
    # no new line for c's or d's member: their closed cases stay closed, nothing re-opens
    assert len(after) == len(before)
    # the run read the decisions first: DuckDB's mirror (what scoring reads) carries them
    mirror = {r[0]: r[1:] for r in rows(q.db, "select case_id, status, decision, decided_by from cases")}
    assert mirror[d] == ("closed_fraud", "fraud", "dave") and mirror[c] == (
        "closed_legitimate",
        "legitimate",
        "carol",
    )
    ranks = [r[0] for r in rows(q.db, f"select rank from cases where status in {OPEN} order by rank")]
    assert ranks == list(range(1, len(ranks) + 1))
    assert synced_runs(q.store) == {"r1", "r2"}


def test_a_decision_taken_while_a_run_scores_is_kept(queue, generated_inbox, tmp_path):
    # a queued member with a noemie line: the run brings a new suspicious line for them
    candidates = [
        r
        for r in review.list_cases(queue.store).rows
        if rows(
            queue.db,
            "select count(*) from claims where member_id = ? and source = 'noemie'",
            [r["member_id"]],
        )[0][0]
    ]
    top, member = candidates[0]["case_id"], candidates[0]["member_id"]
    closed_content = {k: v for k, v in state(queue)[top].items() if k != "rank"}
    write_duplicate_line(generated_inbox, member, tmp_path / "inbox2", "CDUP0000001")

    def reviewer_decides():  # after the run read the decisions, before it writes its cases
        review.decide(queue.store, top, "fraud", actor="carol", note="called the member")

    rescore(queue, "r2", tmp_path / "inbox2", during=reviewer_decides)

    after = state(queue)[top]
    assert (after["status"], after["decision"], after["note"]) == (
        "closed_fraud",
        "fraud",
        "called the member",
    )
    # the run still thought the case open, re-scored it and attached the new line to it in DuckDB;
    # the store kept what was decided on
    assert "CDUP0000001" in rows(queue.db, "select claim_ids from cases where case_id = ?", [top])[0][0]
    assert {k: after[k] for k in ("score", "reasons", "claim_ids", "amount_at_risk", "last_run_id")} == {
        k: closed_content[k] for k in ("score", "reasons", "claim_ids", "amount_at_risk", "last_run_id")
    }
    assert after["rank"] is None and review.list_cases(queue.store).rows[0]["rank"] == 1

    # the next run reads the decision first: the line nobody decided on opens a new linked case
    rescore(queue, "r3")

    assert rows(queue.db, "select status, rank, claim_ids from cases where case_id = ?", [top]) == [
        ("closed_fraud", None, closed_content["claim_ids"])
    ]
    new = [r for c, r in state(queue).items() if r["member_id"] == member and c != top]
    assert [(r["status"], r["previous_case_id"], r["claim_ids"]) for r in new] == [
        ("new", top, "CDUP0000001")
    ]


def test_a_run_that_failed_to_write_its_cases_is_completed_by_the_next(
    queue, generated_inbox, tmp_path, monkeypatch
):
    member = next(
        r["member_id"]
        for r in reversed(review.list_cases(queue.store).rows)
        if rows(
            queue.db,
            "select count(*) from claims where member_id = ? and source = 'noemie'",
            [r["member_id"]],
        )[0][0]
    )
    case = next(r["case_id"] for r in state(queue).values() if r["member_id"] == member)
    review.decide(queue.store, case, "legitimate", actor="carol")
    write_duplicate_line(generated_inbox, member, tmp_path / "inbox2", "CDUP0000001")

    from claimwatch.review import sync
    from claimwatch.review.store import ReviewStoreUnavailable

    def store_down(*args, **kwargs):
        raise ReviewStoreUnavailable("review store unavailable: connection refused")

    with monkeypatch.context() as m:
        m.setattr(sync, "write_cases", store_down)
        with pytest.raises(ReviewStoreUnavailable):
            rescore(queue, "r2", tmp_path / "inbox2")
    # DuckDB committed run r2 (a new case for the member); the store has not seen it yet
    opened = rows(queue.db, "select case_id from cases where opened_run_id = 'r2'")
    assert len(opened) == 1 and opened[0][0] not in state(queue)
    assert synced_runs(queue.store) == {"r1"}

    # the next run starts by writing what r2 did not
    assert catch_up(queue.db, queue.store) == ["r2"]

    assert synced_runs(queue.store) == {"r1", "r2"}
    new = state(queue)[opened[0][0]]
    assert (new["member_id"], new["status"], new["previous_case_id"], new["claim_ids"]) == (
        member,
        "new",
        case,
        "CDUP0000001",
    )


def test_new_suspicious_line_after_a_legitimate_closure_opens_a_linked_case(queue, generated_inbox, tmp_path):
    # a queued member with a noemie line, so that a cross-channel duplicate can be crafted
    candidates = [
        r
        for r in reversed(review.list_cases(queue.store).rows)
        if rows(
            queue.db,
            "select count(*) from claims where member_id = ? and source = 'noemie'",
            [r["member_id"]],
        )[0][0]
    ]
    closed_case, member = candidates[0]["case_id"], candidates[0]["member_id"]
    kept_open = top_cases(queue, 1)[0]
    review.assign(queue.store, kept_open, "alice", actor="lead")
    review.decide(queue.store, closed_case, "legitimate", actor="carol", note="known situation")
    closed_before = state(queue)[closed_case]
    reviewer_before = review_state(queue)
    write_duplicate_line(generated_inbox, member, tmp_path / "inbox2", "CDUP0000001")

    rescore(queue, "r2", tmp_path / "inbox2")

    after = state(queue)
    # the closed case is left exactly as the reviewer closed it
    assert after[closed_case] == closed_before
    new = [r for c, r in after.items() if r["member_id"] == member and c != closed_case]
    assert len(new) == 1
    n = new[0]
    # only the new line is in the new case: the closed case's lines were judged already
    assert (n["status"], n["previous_case_id"], n["claim_ids"], n["opened_run_id"]) == (
        "new",
        closed_case,
        "CDUP0000001",
        "r2",
    )
    assert "DUPLICATE_CLAIM" in n["reason_codes"].split(";") and n["rank"] is not None
    # reviewers' columns of every earlier case are untouched by the run with new lines
    assert {c: v for c, v in review_state(queue).items() if c in reviewer_before} == reviewer_before
    open_members = [r["member_id"] for r in review.list_cases(queue.store).rows]
    assert len(open_members) == len(set(open_members))


# --------------------------------------------------------------------------- case detail


def test_get_case_gathers_lines_events_notes_and_history(queue):
    case = top_cases(queue, 1)[0]
    review.assign(queue.store, case, "alice", actor="lead")
    review.add_note(queue.store, case, "IBAN at an online bank", actor="alice")
    detail = review.get_case(queue.store, case, actor="alice")
    assert detail["case"]["case_id"] == case and detail["case"]["rank"] == 1
    assert detail["member"]["member_id"] == detail["case"]["member_id"]
    lines = detail["claims"]
    assert sorted(r["claim_id"] for r in lines) == sorted(detail["case"]["claim_ids"].split(";"))
    # each line carries the reasons that flagged it in the run
    assert all(r["reason_codes"] for r in lines)
    assert detail["account_events"] and detail["data_as_of"] is not None
    assert [n["body"] for n in detail["notes"]] == ["IBAN at an online bank"]
    assert [(a["actor"], a["action"]) for a in detail["audit"]] == [
        ("lead", "assign"),
        ("alice", "note"),
        ("alice", "view"),
    ]


def test_invalid_commands_raise_and_leave_no_trace(queue):
    case = top_cases(queue, 1)[0]
    before = state(queue)
    with pytest.raises(ReviewError, match="no case"):
        review.assign(queue.store, "CASE-9999999", "alice", actor="lead")
    with pytest.raises(ReviewError, match="no case"):
        review.decide(queue.store, "CASE-9999999", "fraud", actor="carol")
    with pytest.raises(ReviewError, match="no case"):
        review.get_case(queue.store, "CASE-9999999", actor="carol")
    with pytest.raises(ReviewError, match="decision"):
        review.decide(queue.store, case, "maybe", actor="carol")
    with pytest.raises(ReviewError):
        review.decide(queue.store, case, "fraud", actor="  ")
    with pytest.raises(ReviewError):
        review.list_cases(queue.store, status="pending")
    assert state(queue) == before
    assert review.audit(queue.store) == []


# --------------------------------------------------------------------------- audit log


def test_every_view_assign_decide_note_and_export_is_audited(queue, tmp_path):
    a, b = top_cases(queue, 2)
    review.get_case(queue.store, a, actor="alice")
    review.assign(queue.store, a, "alice", actor="lead")
    review.decide(queue.store, b, "fraud", actor="carol", note="confirmed")
    review.add_note(queue.store, b, "refund requested", actor="carol")
    out = tmp_path / "queue.csv"
    result = export(queue.store, "csv", out, actor="erin", top=10)
    got = [
        (r["actor"], r["action"], r["case_id"], r["row_count"], r["file_sha256"])
        for r in review.audit(queue.store)
    ]
    assert got == [
        ("alice", "view", a, None, None),
        ("lead", "assign", a, None, None),
        ("carol", "decide", b, None, None),
        ("carol", "note", b, None, None),
        ("erin", "export", None, 10, result.sha256),
    ]
    assert result.rows == 10


def test_audit_rows_are_never_changed(queue, tmp_path):
    from claimwatch.review.retention import purge

    a, b, c = top_cases(queue, 3)
    review.assign(queue.store, a, "alice", actor="lead")
    review.decide(queue.store, b, "legitimate", actor="carol")
    export(queue.store, "parquet", tmp_path / "q.parquet", actor="erin")
    first = review.audit(queue.store)
    # everything that writes afterwards: decisions, a re-score, a purge of the legitimate case
    review.decide(queue.store, a, "fraud", actor="alice")
    review.decide(queue.store, c, "needs_info", actor="carol")
    rescore(queue, "r2")
    purge(queue.db, queue.store)
    later = review.audit(queue.store)
    assert later[: len(first)] == first
    assert [r["action"] for r in later[len(first) :]] == ["decide", "decide", "purge"]


def test_no_product_statement_updates_or_deletes_audit_rows():
    # the append-only promise, checked where it could be broken: every packaged SQL file and module
    writes = re.compile(
        r"(update\s+audit_log|delete\s+from\s+audit_log|truncate\s+audit_log|"
        r"drop\s+table\s+(if\s+exists\s+)?audit_log|audit_log\.(update|delete)\(|audit_log\.drop\()",
        re.IGNORECASE,
    )
    sources = list(Path(review.__file__).parent.glob("*.py"))
    sql_root = files("claimwatch.sql")
    sources += [
        Path(str(sql_root / d / f.name))
        for d in ("schema", "queue", "load", "views", "checks", "review")
        for f in (sql_root / d).iterdir()
        if f.name.endswith(".sql")
    ]
    assert len(sources) > 40
    offenders = [p.name for p in sources if writes.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_an_installation_from_before_the_store_keeps_its_decisions_and_audit(settings, queue_template):
    # decisions and audit rows written in DuckDB by the earlier product, then a store appears
    shutil.copyfile(queue_template, settings.db)
    db = connect(settings)
    try:
        first, second = [r[0] for r in rows(db, "select case_id from cases order by rank limit 2")]
        db.con.execute(
            "update cases set status = 'closed_fraud', decision = 'fraud', decided_by = 'carol', "
            "decided_at = now(), note = 'legacy' where case_id = ?",
            [first],
        )
        db.con.execute(
            "insert into audit_log (actor, action, case_id, details) values ('carol', 'decide', ?, '{}')",
            [first],
        )
        store = open_store(settings)
        try:
            assert catch_up(db, store) == ["r1"]
            assert catch_up(db, store) == []  # once
            case = review.list_cases(store, status="all").rows
            by_id = {r["case_id"]: r for r in case}
            assert (by_id[first]["status"], by_id[first]["note"]) == ("closed_fraud", "legacy")
            assert by_id[second]["rank"] == 1
            assert [(a["actor"], a["action"], a["case_id"]) for a in review.audit(store)] == [
                ("carol", "decide", first)
            ]
        finally:
            store.close()
    finally:
        db.close()
