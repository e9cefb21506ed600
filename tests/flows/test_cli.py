"""The ``claimwatch`` command line: queue commands, export, evaluate and read-only SQL, with exit
codes and one-line errors (insurers' scripts rely on them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from claimwatch.cli import main as cli
from claimwatch.publish.analytics import publish_analytics_copy
from claimwatch.settings import Settings
from claimwatch.store.db import init_database
from tests.flows import test_review
from tests.helpers import assert_fails, run_cli

queue_template = test_review.queue_template


@pytest.fixture
def live(settings: Settings, queue_template: Path, monkeypatch) -> Settings:
    """A scored database and its published analytics copy; a wide console for readable tables."""
    settings.db.write_bytes(queue_template.read_bytes())
    publish_analytics_copy(settings)
    monkeypatch.setattr(cli, "console", Console(width=250))
    return settings


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


def test_queue_assign_and_decide(live):
    case = top_case(live)
    result = invoke(live, "queue", "assign", case, "--to", "alice", "--by", "lead")
    assert result.exit_code == 0, result.output
    assert query(live.db, "select status, assigned_to from cases where case_id = ?", [case]) == [
        ("in_review", "alice")
    ]
    result = invoke(
        live, "queue", "decide", case, "--decision", "fraud", "--by", "carol", "--note", "member confirmed"
    )
    assert result.exit_code == 0, result.output
    assert "closed_fraud" in result.stdout
    assert query(live.db, "select status, rank, decided_by, note from cases where case_id = ?", [case]) == [
        ("closed_fraud", None, "carol", "member confirmed")
    ]
    assert query(live.db, "select actor, action, case_id from audit_log order by audit_id") == [
        ("lead", "assign", case),
        ("carol", "decide", case),
    ]
    assert_fails(
        invoke(live, "queue", "decide", case, "--decision", "legitimate", "--by", "carol"), "already closed"
    )
    assert_fails(
        invoke(live, "queue", "decide", top_case(live, 2), "--decision", "maybe", "--by", "carol"),
        "decision must be one of",
    )
    assert_fails(invoke(live, "queue", "assign", "CASE-9999999", "--to", "alice"), "no case CASE-9999999")
    # the failed commands wrote nothing
    assert query(live.db, "select count(*) from audit_log")[0][0] == 2


def test_export(live, tmp_path):
    out = tmp_path / "out" / "queue.csv"
    result = invoke(live, "export", "--format", "csv", "--out", str(out), "--top", "10", "--by", "erin")
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("rank,case_id,member_id,score,amount_at_risk,claim_ids,reasons,status")
    assert len(lines) == 11 and lines[1].startswith(f"1,{top_case(live)},")
    assert query(live.db, "select actor, action, row_count from audit_log") == [("erin", "export", 10)]
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


def test_sql_reads_the_published_copy(live):
    total = query(live.db, "select count(*) from cases")[0][0]
    result = invoke(live, "sql", "select count(*) as n from v_cases", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"n\n{total}\n"
    result = invoke(live, "sql", "select count(*) as n from v_cases")
    assert result.exit_code == 0 and str(total) in result.stdout and "1 row(s)" in result.stdout
    # a change to the live database shows in the copy only after the next published run
    con = duckdb.connect(str(live.db))
    con.execute("delete from cases where rank = 1")
    con.close()
    copy_result = invoke(live, "sql", "select count(*) as n from v_cases", "--format", "csv")
    assert copy_result.stdout == f"n\n{total}\n"
    live_result = invoke(live, "sql", "select count(*) as n from v_cases", "--format", "csv", "--live")
    assert live_result.stdout == f"n\n{total - 1}\n"


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


def test_sql_without_a_published_copy_says_so(settings):
    init_database(settings)
    result = run_cli("sql", "select 1", "--db", str(settings.db))
    assert_fails(result, "no published analytics copy")


def test_sql_answers_from_the_copy_while_a_run_holds_the_live_file(live):
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
        total = query(live.resolved_analytics_db, "select count(*) from cases")[0][0]
        result = invoke(live, "sql", "select count(*) as n from v_cases", "--format", "csv")
        assert result.exit_code == 0, result.output
        assert result.stdout == f"n\n{total}\n"
        assert_fails(invoke(live, "sql", "select 1", "--live"), "being written by a run")
        # commands that need the live file fail fast and point analysts to the copy
        assert_fails(invoke(live, "queue", "list"), "in use by another claimwatch process")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
