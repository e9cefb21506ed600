"""The ``claimwatch`` command line: queue commands, export, evaluate and read-only SQL, with exit
codes and one-line errors (insurers' scripts rely on them)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from claimwatch.cli import main as cli
from claimwatch.publish.analytics import publish_analytics_copy
from claimwatch.review.store import open_store
from claimwatch.review.sync import catch_up
from claimwatch.settings import Settings
from claimwatch.store.db import connect, init_database
from tests.helpers import assert_fails, run_cli


@pytest.fixture
def live(settings: Settings, queue_template: Path, monkeypatch) -> Settings:
    """A scored database, its published analytics copy and its review store (as a run leaves
    them); a wide console for readable tables."""
    settings.db.write_bytes(queue_template.read_bytes())
    publish_analytics_copy(settings)
    db = connect(settings)
    store = open_store(settings)
    try:
        catch_up(db, store)
    finally:
        store.close()
        db.close()
    monkeypatch.setattr(cli, "console", Console(width=250))
    return settings


def store_rows(settings: Settings, sql: str, params=None) -> list[tuple]:
    store = open_store(settings)
    try:
        with store.read() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql, tuple(params or ())).all()]
    finally:
        store.close()


def invoke(settings: Settings, *args: str):
    return run_cli(*args, "--db", str(settings.db))


def query(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def top_case(settings: Settings, rank: int = 1) -> str:
    return query(settings.db, "select case_id from cases where rank = ?", [rank])[0][0]


# --------------------------------------------------------------------------- queue


def test_queue_list(live):
    open_cases = query(live.db, "select count(*) from cases where rank is not null")[0][0]
    result = invoke(live, "queue", "list")
    assert result.exit_code == 0, result.output
    assert f"{open_cases} case(s)" in result.stdout
    result = invoke(live, "queue", "list", "--top", "3")
    assert result.exit_code == 0 and "3 case(s)" in result.stdout
    # the three best-ranked cases, in rank order
    positions = [result.stdout.index(top_case(live, r)) for r in (1, 2, 3)]
    assert positions == sorted(positions)
    result = invoke(live, "queue", "list", "--status", "closed")
    assert result.exit_code == 0 and "0 case(s)" in result.stdout
    assert_fails(invoke(live, "queue", "list", "--status", "pending"), "unknown status 'pending'")


def test_queue_show(live):
    case = top_case(live)
    result = invoke(live, "queue", "show", case, "--json")
    assert result.exit_code == 0, result.output
    detail = json.loads(result.stdout)
    assert detail["case"]["case_id"] == case and detail["case"]["rank"] == 1
    assert {c["claim_id"] for c in detail["claims"]} == set(detail["case"]["claim_ids"].split(";"))
    result = invoke(live, "queue", "show", case)
    assert result.exit_code == 0, result.output
    assert case in result.stdout and "Reasons" in result.stdout and "claim lines" in result.stdout
    assert_fails(invoke(live, "queue", "show", "CASE-9999999"), "no case CASE-9999999")
    # every read of a case's detail is in the audit log with its reader
    result = invoke(live, "queue", "show", case, "--by", "dora")
    assert store_rows(live, "select actor, action, case_id from audit_log order by audit_id")[-1] == (
        "dora",
        "view",
        case,
    )


def test_tables_fit_an_80_column_terminal(live, monkeypatch):
    monkeypatch.setattr(cli, "console", Console(width=80))
    case = top_case(live)
    for args in (("queue", "list"), ("queue", "show", case), ("sql", "select * from v_cases")):
        result = invoke(live, *args)
        assert result.exit_code == 0, result.output
        too_long = [line for line in result.stdout.splitlines() if len(line) > 80]
        assert too_long == [], args
    listing = invoke(live, "queue", "list").stdout
    # whole case ids and ranks stay readable; long reasons end in an ellipsis
    assert case in listing and top_case(live, 2) in listing and "…" in listing
    assert "member" not in listing.splitlines()[0]


def test_queue_assign_and_decide(live):
    case = top_case(live)
    result = invoke(live, "queue", "assign", case, "--to", "alice", "--by", "lead")
    assert result.exit_code == 0, result.output
    assert store_rows(live, "select status, assigned_to from cases where case_id = ?", [case]) == [
        ("in_review", "alice")
    ]
    result = invoke(
        live, "queue", "decide", case, "--decision", "fraud", "--by", "carol", "--note", "member confirmed"
    )
    assert result.exit_code == 0, result.output
    assert "closed_fraud" in result.stdout
    assert store_rows(live, "select status, decided_by, note from cases where case_id = ?", [case]) == [
        ("closed_fraud", "carol", "member confirmed")
    ]
    result = invoke(live, "queue", "note", case, "--text", "refund asked", "--by", "carol")
    assert result.exit_code == 0, result.output
    assert store_rows(live, "select actor, action, case_id from audit_log order by audit_id") == [
        ("lead", "assign", case),
        ("carol", "decide", case),
        ("carol", "note", case),
    ]
    assert_fails(
        invoke(live, "queue", "decide", case, "--decision", "legitimate", "--by", "carol"), "already closed"
    )
    assert_fails(
        invoke(live, "queue", "decide", top_case(live, 2), "--decision", "maybe", "--by", "carol"),
        "decision must be one of",
    )
    assert_fails(invoke(live, "queue", "assign", "CASE-9999999", "--to", "alice"), "no case CASE-9999999")
    assert_fails(
        invoke(live, "queue", "decide", top_case(live, 2), "--decision", "fraud", "--by", "=1+1"), "--by"
    )
    assert_fails(invoke(live, "queue", "decide", "--decision", "fraud", "--by", "carol"), "--scheme")
    # the failed commands wrote nothing
    assert store_rows(live, "select count(*) from audit_log")[0][0] == 3


def test_export(live, tmp_path):
    out = tmp_path / "out" / "queue.csv"
    result = invoke(live, "export", "--format", "csv", "--out", str(out), "--top", "10", "--by", "erin")
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("rank,case_id,member_id,score,amount_at_risk,claim_ids,reasons,status")
    assert len(lines) == 11 and lines[1].startswith(f"1,{top_case(live)},")
    assert store_rows(live, "select actor, action, row_count from audit_log") == [("erin", "export", 10)]
    assert_fails(
        invoke(live, "export", "--format", "pdf", "--out", str(tmp_path / "q.pdf")),
        "--format must be csv, xlsx or parquet",
    )
    assert not (tmp_path / "q.pdf").exists()


def test_evaluate(live, generated_inbox):
    labels = str(generated_inbox / "labels.csv")
    result = invoke(live, "evaluate", "--labels", labels, "--k", "50,100", "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics["at_k"]) == {"50", "100"}
    # the generated inbox has one incident of each of the five patterns
    assert metrics["fraud_members"] >= 5
    assert metrics["open_cases"] == query(live.db, "select count(*) from cases where rank is not null")[0][0]
    for m in metrics["at_k"].values():
        assert 0 <= m["precision"] <= 1 and 0 <= m["member_recall"] <= 1
    # floors, not exact values: the queue must find most defrauded members in its top 100
    assert metrics["at_k"]["100"]["member_recall"] >= 0.5
    result = invoke(live, "evaluate", "--labels", labels, "--k", "50,100")
    assert result.exit_code == 0 and "precision" in result.stdout
    assert_fails(invoke(live, "evaluate", "--labels", "/nonexistent/labels.csv"), "not found")
    assert_fails(invoke(live, "evaluate", "--k", "ten"), "--k")


# --------------------------------------------------------------------------- sql


def test_sql_reads_the_published_copy_and_the_current_review_state(live):
    total = query(live.db, "select count(*) from cases")[0][0]
    result = invoke(live, "sql", "select count(*) as n from v_cases", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"n\n{total}\n"
    result = invoke(live, "sql", "select count(*) as n from v_cases")
    assert result.exit_code == 0 and str(total) in result.stdout and "1 row(s)" in result.stdout
    # a decision is visible to analysts at once (v_cases, cases, the audit log), no run needed
    case = top_case(live)
    assert invoke(live, "queue", "decide", case, "--decision", "fraud", "--by", "carol").exit_code == 0
    status = "select status, count(*) as n from v_cases group by all order by status"
    assert (
        invoke(live, "sql", status, "--format", "csv").stdout
        == f"status,n\nclosed_fraud,1\nnew,{total - 1}\n"
    )
    decided = invoke(
        live, "sql", "select actor, decision from v_audit_log where action = 'decide'", "--format", "csv"
    )
    assert decided.stdout == "actor,decision\ncarol,fraud\n"
    ranked = invoke(live, "sql", "select rank from cases where case_id = 'X' or rank = 1", "--format", "csv")
    assert ranked.stdout == "rank\n1\n"
    # the rest answers from the copy published by the last run
    con = duckdb.connect(str(live.db))
    con.execute("delete from claims where claim_id in (select claim_id from claims limit 1)")
    con.close()
    lines = query(live.resolved_analytics_db, "select count(*) from claims")[0][0]
    assert (
        invoke(live, "sql", "select count(*) as n from claims", "--format", "csv").stdout == f"n\n{lines}\n"
    )
    live_result = invoke(live, "sql", "select count(*) as n from claims", "--format", "csv", "--live")
    assert live_result.stdout == f"n\n{lines - 1}\n"


def test_sql_refuses_writes_and_bad_options(live, tmp_path):
    before = query(live.resolved_analytics_db, "select count(*) from cases")
    assert_fails(invoke(live, "sql", "delete from cases"), "read-only")
    assert_fails(invoke(live, "sql", "drop table cases", "--live"), "read-only")
    assert query(live.resolved_analytics_db, "select count(*) from cases") == before
    assert query(live.db, "select count(*) from cases") == before
    assert_fails(invoke(live, "sql", "select 1", "--format", "xml"), "--format must be table, csv or parquet")
    assert_fails(invoke(live, "sql", "select 1", "--format", "parquet"), "needs --out")
    assert_fails(invoke(live, "sql", "select * from no_such_table"), "no_such_table")
    out = tmp_path / "top.parquet"
    result = invoke(
        live,
        "sql",
        "select case_id from v_cases order by rank limit 5",
        "--format",
        "parquet",
        "--out",
        str(out),
    )
    assert result.exit_code == 0 and out.exists()


def test_queue_commands_before_any_run_say_so(settings):
    init_database(settings)
    result = run_cli("queue", "list", "--db", str(settings.db))
    assert_fails(result, "no review store at", "first `claimwatch run`")
    assert not settings.resolved_review_sqlite.exists()


def test_sql_without_a_published_copy_says_so(settings):
    init_database(settings)
    result = run_cli("sql", "select 1", "--db", str(settings.db))
    assert_fails(result, "no published analytics copy")


def test_reviewers_and_analysts_never_wait_for_a_run(live, tmp_path):
    # another process (a run in progress) holds the live file read-write: DuckDB locks out readers
    hold = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(live.db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        case = top_case_of_copy(live)
        commands = [
            ("queue", "list"),
            ("queue", "show", case, "--by", "carol"),
            ("queue", "assign", case, "--to", "carol", "--by", "lead"),
            ("queue", "decide", case, "--decision", "fraud", "--by", "carol"),
            ("queue", "note", case, "--text", "called the member", "--by", "carol"),
            ("export", "--format", "xlsx", "--out", str(tmp_path / "q.xlsx"), "--by", "erin"),
            ("sql", "select status from v_cases where case_id = '" + case + "'", "--format", "csv"),
        ]
        for args in commands:
            started = time.monotonic()
            result = invoke(live, *args)
            assert result.exit_code == 0, (args, result.output)
            assert time.monotonic() - started < 5, args
        assert result.stdout == "status\nclosed_fraud\n"
        assert_fails(invoke(live, "sql", "select 1", "--live"), "being written by a run")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def top_case_of_copy(settings: Settings) -> str:
    return query(settings.resolved_analytics_db, "select case_id from cases where rank = 1")[0][0]
