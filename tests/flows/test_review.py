"""Review queue: one open case per member, ranks, re-scores that respect reviewers' work,
re-opening after new suspicious lines, assign / decide rules and the append-only audit log."""

from __future__ import annotations

import hashlib
import re
import shutil
from importlib.resources import files
from pathlib import Path

import polars as pl
import pytest

from claimwatch.ingest.load import ingest_batch
from claimwatch.review import queue as review
from claimwatch.review.queue import ReviewError
from claimwatch.scoring.score import score_and_queue
from claimwatch.settings import Settings
from claimwatch.store.db import Database, connect
from tests.conftest import TEST_KEY

OPEN = "('new', 'in_review', 'needs_info')"
REVIEWER_COLUMNS = "case_id, member_id, status, assigned_to, decision, decided_by, decided_at, note"

_TEMPLATES: dict[Path, Path] = {}


def build_queue_db(db_path: Path, inbox: Path, run_id: str = "r1") -> None:
    """Ingest an inbox and score it into a new database (the test key, no Prefect)."""
    settings = Settings(db=db_path, inbox=inbox, key=TEST_KEY)
    db = connect(settings)
    try:
        with db.transaction():
            ingest_batch(db, inbox, run_id, tasks=False)
            score_and_queue(db, settings, run_id)
    finally:
        db.close()


@pytest.fixture(scope="session")
def queue_template(tmp_path_factory, generated_inbox) -> Path:
    """The generated inbox ingested and scored once per session (copied by each test)."""
    # a module-level cache: test modules that import this fixture share one build
    if generated_inbox not in _TEMPLATES:
        path = tmp_path_factory.mktemp("queue_template") / "claimwatch.duckdb"
        build_queue_db(path, generated_inbox)
        _TEMPLATES[generated_inbox] = path
    return _TEMPLATES[generated_inbox]


@pytest.fixture
def queue_db(settings: Settings, queue_template: Path) -> Database:
    """A private copy of the scored database, open read-write."""
    shutil.copyfile(queue_template, settings.db)
    db = connect(settings)
    yield db
    db.close()


def rows(db: Database, sql: str, params=None) -> list[tuple]:
    return db.con.execute(sql, params or []).fetchall()


def rescore(db: Database, settings: Settings, run_id: str, inbox: Path | None = None) -> None:
    """A later run: load the new files of an inbox (if any), then score the whole history."""
    with db.transaction():
        if inbox is not None:
            ingest_batch(db, inbox, run_id, tasks=False)
        score_and_queue(db, settings, run_id)


def top_cases(db: Database, n: int) -> list[str]:
    return [r[0] for r in rows(db, f"select case_id from cases where rank <= {n} order by rank")]


def write_duplicate_line(inbox_in: Path, member_id: str, out_dir: Path, claim_id: str) -> Path:
    """Write claims_extra.csv: a member_upload copy of one of the member's noemie lines.

    Same member, care date, act, billed and claimed amount, received 3 days later: the
    second payment of the same care (DUPLICATE_CLAIM, weight 0.85 as the member sent it)."""
    claims = pl.read_csv(inbox_in / "claims.csv", infer_schema=False)
    original = claims.filter((pl.col("member_id") == member_id) & (pl.col("source") == "noemie")).head(1)
    assert original.height == 1
    duplicate = original.with_columns(
        claim_id=pl.lit(claim_id),
        source=pl.lit("member_upload"),
        received_date=(pl.col("received_date").str.to_date() + pl.duration(days=3)).cast(pl.String),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "claims_extra.csv"
    duplicate.write_csv(path)
    return path


# --------------------------------------------------------------------------- queue shape


def test_one_open_case_per_member_ranked_by_score(queue_db):
    # the generated inbox holds all five fraud patterns: some members must be queued
    opened = rows(queue_db, f"select rank, score from cases where status in {OPEN} order by rank")
    assert len(opened) > 20
    assert (
        rows(
            queue_db,
            f"select member_id from cases where status in {OPEN} group by member_id having count(*) > 1",
        )
        == []
    )
    ranks = [r[0] for r in opened]
    assert ranks == list(range(1, len(opened) + 1))
    # cases of their own by score; members of a scheme placed as detectors/schemes.queue_order says
    from claimwatch.detectors.schemes import queue_order

    cases = queue_db.con.sql(
        f"select case_id, score, amount_at_risk, scheme_id, rank from cases where status in {OPEN}"
    ).pl()
    expected = queue_order(cases.drop("rank")).sort("rank")["case_id"].to_list()
    assert cases.sort("rank")["case_id"].to_list() == expected
    own = cases.filter(pl.col("scheme_id").is_null()).sort("rank")["score"].to_list()
    assert own == sorted(own, reverse=True)
    assert rows(queue_db, "select count(*) from cases where status not in " + OPEN)[0][0] == 0


def test_case_lines_and_amount_match_case_claims(queue_db):
    # claim_ids and amount_at_risk are derived from case_claims: the reviewer sees what is stored
    mismatches = rows(
        queue_db,
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
    assert (
        rows(queue_db, "select count(*) from cases where claim_ids is null and amount_at_risk <> 0")[0][0]
        == 0
    )
    # every line of a case belongs to the case's member
    assert (
        rows(
            queue_db,
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


def test_rescore_of_the_same_data_keeps_reviewers_work(settings, queue_db):
    a, b, c, d = top_cases(queue_db, 4)
    review.assign(queue_db, a, "alice", "lead")
    review.decide(queue_db, b, "needs_info", "bob", "ask for the invoice")
    review.decide(queue_db, c, "legitimate", "carol", "household account")
    review.decide(queue_db, d, "fraud", "dave", "confirmed by the member")
    before = rows(queue_db, f"select {REVIEWER_COLUMNS} from cases order by case_id")
    cases_before = len(before)

    rescore(queue_db, settings, "r2")

    assert rows(queue_db, f"select {REVIEWER_COLUMNS} from cases order by case_id") == before
    # no new line for c's or d's member: their closed cases stay closed, nothing re-opens
    assert rows(queue_db, "select count(*) from cases")[0][0] == cases_before
    state = {
        r[0]: r[1:]
        for r in rows(
            queue_db,
            "select case_id, status, rank is null, last_run_id from cases where case_id in (?, ?, ?, ?)",
            [a, b, c, d],
        )
    }
    # open cases get the new scores (last_run_id), closed ones keep their run and no rank
    assert state == {
        a: ("in_review", False, "r2"),
        b: ("needs_info", False, "r2"),
        c: ("closed_legitimate", True, "r1"),
        d: ("closed_fraud", True, "r1"),
    }
    # the open cases are ranked 1..n again after the two closures
    ranks = [r[0] for r in rows(queue_db, f"select rank from cases where status in {OPEN} order by rank")]
    assert ranks == list(range(1, len(ranks) + 1))


def test_new_suspicious_line_after_a_legitimate_closure_opens_a_linked_case(
    settings, queue_db, generated_inbox, tmp_path
):
    # a queued member with a noemie line, so that a cross-channel duplicate can be crafted
    closed_case, member = rows(
        queue_db,
        f"""
        select c.case_id, c.member_id from cases as c
        where c.status in {OPEN}
            and exists (select 1 from claims as cl where cl.member_id = c.member_id and cl.source = 'noemie')
        order by c.rank desc limit 1
    """,
    )[0]
    kept_open = top_cases(queue_db, 1)[0]
    review.assign(queue_db, kept_open, "alice", "lead")
    review.decide(queue_db, closed_case, "legitimate", "carol", "known situation")
    closed_before = rows(queue_db, "select * from cases where case_id = ?", [closed_case])
    reviewer_before = rows(queue_db, f"select {REVIEWER_COLUMNS} from cases order by case_id")
    write_duplicate_line(generated_inbox, member, tmp_path / "inbox2", "CDUP0000001")

    rescore(queue_db, settings, "r2", tmp_path / "inbox2")

    # the closed case is left exactly as the reviewer closed it
    assert rows(queue_db, "select * from cases where case_id = ?", [closed_case]) == closed_before
    new = rows(
        queue_db,
        "select status, previous_case_id, claim_ids, reason_codes, rank, opened_run_id "
        "from cases where member_id = ? and case_id <> ?",
        [member, closed_case],
    )
    assert len(new) == 1
    status, previous, claim_ids, reason_codes, rank, opened_run = new[0]
    # only the new line is in the new case: the closed case's lines were judged already
    assert (status, previous, claim_ids, opened_run) == ("new", closed_case, "CDUP0000001", "r2")
    assert "DUPLICATE_CLAIM" in reason_codes.split(";")
    assert rank is not None
    # reviewers' columns of every earlier case are untouched by the run with new lines
    after = rows(
        queue_db, f"select {REVIEWER_COLUMNS} from cases where opened_run_id = 'r1' order by case_id"
    )
    assert after == reviewer_before
    assert (
        rows(
            queue_db,
            f"select member_id from cases where status in {OPEN} group by member_id having count(*) > 1",
        )
        == []
    )


# --------------------------------------------------------------------------- assign / decide


def test_assign_moves_a_new_case_to_in_review(queue_db):
    case = top_cases(queue_db, 1)[0]
    review.assign(queue_db, case, "alice", "lead")
    assert rows(queue_db, "select status, assigned_to, rank from cases where case_id = ?", [case]) == [
        ("in_review", "alice", 1)
    ]
    # re-assigning an in_review case keeps its status
    review.assign(queue_db, case, "bruno", "lead")
    assert rows(queue_db, "select status, assigned_to from cases where case_id = ?", [case]) == [
        ("in_review", "bruno")
    ]


@pytest.mark.parametrize(
    ("decision", "status"), [("fraud", "closed_fraud"), ("legitimate", "closed_legitimate")]
)
def test_decide_closes_and_clears_rank(queue_db, decision, status):
    case = top_cases(queue_db, 2)[1]
    assert review.decide(queue_db, case, decision, "carol", "checked") == status
    got = rows(
        queue_db,
        "select status, rank, decision, decided_by, decided_at is not null, note "
        "from cases where case_id = ?",
        [case],
    )
    assert got == [(status, None, decision, "carol", True, "checked")]
    with pytest.raises(ReviewError, match="closed"):
        review.decide(queue_db, case, "needs_info", "carol")
    with pytest.raises(ReviewError, match="closed"):
        review.assign(queue_db, case, "alice", "lead")


def test_needs_info_keeps_the_case_open_and_ranked(queue_db):
    case = top_cases(queue_db, 1)[0]
    assert review.decide(queue_db, case, "needs_info", "carol", "waiting for the optician") == "needs_info"
    assert rows(queue_db, "select status, rank, note from cases where case_id = ?", [case]) == [
        ("needs_info", 1, "waiting for the optician")
    ]
    # a later decision without a note keeps the earlier note
    review.decide(queue_db, case, "fraud", "carol")
    assert rows(queue_db, "select status, note from cases where case_id = ?", [case]) == [
        ("closed_fraud", "waiting for the optician")
    ]


def test_invalid_commands_raise_and_leave_no_trace(queue_db):
    case = top_cases(queue_db, 1)[0]
    before = rows(queue_db, "select * from cases order by case_id")
    with pytest.raises(ReviewError, match="no case"):
        review.assign(queue_db, "CASE-9999999", "alice", "lead")
    with pytest.raises(ReviewError, match="no case"):
        review.decide(queue_db, "CASE-9999999", "fraud", "carol")
    with pytest.raises(ReviewError, match="no case"):
        review.show_case(queue_db, "CASE-9999999")
    with pytest.raises(ReviewError, match="decision"):
        review.decide(queue_db, case, "maybe", "carol")
    with pytest.raises(ReviewError):
        review.decide(queue_db, case, "fraud", "  ")
    with pytest.raises(ReviewError):
        review.list_cases(queue_db, "pending")
    assert rows(queue_db, "select * from cases order by case_id") == before
    assert rows(queue_db, "select count(*) from audit_log")[0][0] == 0


def test_show_case_gathers_lines_events_and_history(queue_db):
    case = top_cases(queue_db, 1)[0]
    review.assign(queue_db, case, "alice", "lead")
    detail = review.show_case(queue_db, case)
    assert detail["case"]["case_id"] == case
    assert detail["member"]["member_id"] == detail["case"]["member_id"]
    assert sorted(r["claim_id"] for r in detail["claims"]) == sorted(detail["case"]["claim_ids"].split(";"))
    assert [a["action"] for a in detail["audit"]] == ["assign"]


# --------------------------------------------------------------------------- audit log


def test_every_assign_decide_and_export_is_audited(queue_db, tmp_path):
    a, b = top_cases(queue_db, 2)
    review.assign(queue_db, a, "alice", "lead")
    review.decide(queue_db, b, "fraud", "carol", "confirmed")
    out = tmp_path / "queue.csv"
    n, digest = review.export(queue_db, "csv", out, "erin", top=10)
    got = rows(
        queue_db, "select actor, action, case_id, row_count, file_sha256 from audit_log order by audit_id"
    )
    assert got == [
        ("lead", "assign", a, None, None),
        ("carol", "decide", b, None, None),
        ("erin", "export", None, 10, hashlib.sha256(out.read_bytes()).hexdigest()),
    ]
    assert n == 10 and digest == got[2][4]


def test_audit_rows_are_never_changed(settings, queue_db, tmp_path):
    from claimwatch.review.retention import purge

    a, b, c = top_cases(queue_db, 3)
    review.assign(queue_db, a, "alice", "lead")
    review.decide(queue_db, b, "legitimate", "carol")
    review.export(queue_db, "parquet", tmp_path / "q.parquet", "erin")
    first = rows(queue_db, "select * from audit_log order by audit_id")
    # everything that writes afterwards: decisions, a re-score, a purge of the legitimate case
    review.decide(queue_db, a, "fraud", "alice")
    review.decide(queue_db, c, "needs_info", "carol")
    rescore(queue_db, settings, "r2")
    purge(queue_db)
    later = rows(queue_db, "select * from audit_log order by audit_id")
    assert later[: len(first)] == first
    assert [r[3] for r in later[len(first) :]] == ["decide", "decide", "purge"]


def test_no_product_statement_updates_or_deletes_audit_rows():
    # the append-only promise, checked where it could be broken: every packaged SQL file and module
    writes = re.compile(
        r"(update\s+audit_log|delete\s+from\s+audit_log|truncate\s+audit_log|"
        r"drop\s+table\s+(if\s+exists\s+)?audit_log)",
        re.IGNORECASE,
    )
    sources = [p for p in Path(review.__file__).parent.glob("*.py")]
    sql_root = files("claimwatch.sql")
    sources += [
        Path(str(sql_root / d / f.name))
        for d in ("schema", "queue", "load", "views", "checks")
        for f in (sql_root / d).iterdir()
        if f.name.endswith(".sql")
    ]
    assert len(sources) > 20
    offenders = [p.name for p in sources if writes.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
