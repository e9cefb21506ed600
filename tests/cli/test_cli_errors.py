"""Expected failures of the command line: one line ``error: …`` on stderr, exit code 1, no
traceback, and nothing created by a command that refuses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from claimwatch.settings import Settings
from claimwatch.store.db import init_database
from tests.helpers import TEST_KEY, assert_fails, run_cli

MEMBERS = """member_id,subscriber_id,birth_date,sex,postcode,contract_start,iban
M1,S1,1980-05-04,M,75011,2020-01-01,FR7630006000011234567890189
"""
CLAIMS = """claim_id,member_id,care_date,received_date,source,care_category,act_code,provider_id,\
provider_postcode,billed_amount,ro_amount,claimed_amount,payee,payee_iban
C1,M1,2025-03-01,2025-03-04,noemie,consultation,G,10001234567,75011,30.00,19.00,9.00,member,\
FR7630006000011234567890189
"""


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


def test_a_path_without_a_database_is_refused_and_nothing_is_created(tmp_path):
    db = tmp_path / "typo" / "dir" / "x.duckdb"
    for command in (
        ["run"],
        ["queue", "list"],
        ["export", "--format", "csv", "--out", "q.csv"],
        ["sql", "x"],
    ):
        assert_fails(run_cli(*command, "--db", str(db)), str(db), "claimwatch init")
    # no folder, no database, no key file
    assert not (tmp_path / "typo").exists()


def test_the_installed_command_prints_one_line_for_a_missing_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMWATCH_")}
    proc = subprocess.run(
        [sys.executable, "-m", "claimwatch.cli.main", "run", "--db", str(tmp_path / "none.duckdb")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: no claimwatch database at {tmp_path / 'none.duckdb'}: create one with "
        f"`claimwatch init --db {tmp_path / 'none.duckdb'}`"
    ]
    assert list(tmp_path.iterdir()) == []


def test_init_creates_the_database_and_refuses_to_run_twice(settings):
    result = run_cli("init", "--db", str(settings.db))
    assert result.exit_code == 0 and settings.db.exists()
    assert "CLAIMWATCH_KEY" in result.stdout  # the key came from the environment: no key file
    assert not settings.resolved_key_file.exists()
    assert_fails(run_cli("init", "--db", str(settings.db)), "already exists")


def test_init_without_a_key_creates_a_private_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("CLAIMWATCH_KEY", raising=False)
    db = tmp_path / "new" / "x.duckdb"
    result = run_cli("init", "--db", str(db))
    assert result.exit_code == 0, result.output
    key_file = db.with_name("x.duckdb.key")
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    assert "NEW pseudonymisation key" in result.stderr


def test_a_refused_key_leaves_no_key_file(settings, monkeypatch):
    init_database(settings)  # created with CLAIMWATCH_KEY
    monkeypatch.delenv("CLAIMWATCH_KEY")
    assert_fails(run_cli("run", "--db", str(settings.db)), "no pseudonymisation key")
    assert not settings.resolved_key_file.exists()
    monkeypatch.setenv("CLAIMWATCH_KEY", "short")
    assert_fails(run_cli("run", "--db", str(settings.db)), "at least 32 characters")
    monkeypatch.setenv("CLAIMWATCH_KEY", "another-key-0123456789abcdef0123456789")
    assert_fails(run_cli("run", "--db", str(settings.db)), "another pseudonymisation key")


def test_bad_inbox_is_one_line(settings):
    init_database(settings)
    assert_fails(
        run_cli("run", "--db", str(settings.db), "--inbox", "/nonexistent/inbox"), "is not a directory"
    )


def test_unwritable_outputs_are_one_line(settings, tmp_path):
    init_database(settings)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    db = ("--db", str(settings.db))
    assert_fails(run_cli("export", "--format", "csv", "--out", str(folder), *db), "is a folder")
    assert_fails(run_cli("export", "--format", "csv", "--out", str(a_file / "q.csv"), *db), "cannot write")
    assert_fails(
        run_cli("sql", "select 1 as n", "--live", "--format", "csv", "--out", "/proc/x.csv", *db),
        "cannot write /proc/x.csv",
    )
    assert_fails(run_cli("sql", "select * from no_such_table", "--live", *db), "query failed")


def test_serve_without_a_reachable_server_is_one_line(settings, tmp_path):
    # a process of its own: the test session's Prefect harness must not answer for the server
    init_database(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMWATCH_", "PREFECT_API"))}
    env |= {"CLAIMWATCH_KEY": TEST_KEY, "PREFECT_HOME": str(tmp_path / "prefect-home")}
    serve = [sys.executable, "-m", "claimwatch.cli.main", "serve", "--db", str(settings.db)]
    for api_url, fragment in ((None, "prefect server start"), ("http://127.0.0.1:9/api", "does not answer")):
        proc = subprocess.run(
            serve,
            capture_output=True,
            text=True,
            timeout=120,
            env=env if api_url is None else env | {"PREFECT_API_URL": api_url},
        )
        assert proc.returncode == 1, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr


@pytest.mark.slow
def test_init_then_run_and_a_publishing_failure_says_the_run_committed(prefect_harness, settings: Settings):
    (settings.inbox / "members.csv").write_text(MEMBERS, encoding="utf-8")
    (settings.inbox / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    db = ("--db", str(settings.db), "--inbox", str(settings.inbox))
    assert run_cli("init", *db[:2]).exit_code == 0
    # the report folder cannot be created: publishing fails after the commit
    settings.resolved_report_dir.write_text("not a folder")
    result = run_cli("run", *db)
    assert_fails(result, "committed; publishing failed", "retried on the next run")
    settings.resolved_report_dir.unlink()
    again = run_cli("run", *db)  # nothing new to load; publishing is done this time
    assert again.exit_code == 0, again.output
    assert settings.resolved_analytics_db.exists()
    statuses = run_cli(
        "sql", "select status from runs order by started_at", "--live", "--format", "csv", *db[:2]
    )
    assert statuses.stdout.split() == ["status", "publish_failed", "completed"]
    assert TEST_KEY not in result.output + again.output
