"""Fault tests: a real ``claimwatch run`` subprocess killed (SIGKILL) during ingest, scoring and
publishing, then the next run; and a scan of every file a run leaves behind.

The process stops at a test-only pause point (CLAIMWATCH_TEST_PAUSE_AT) and is killed there.
After each kill: nothing of the killed run's data is in the database (ingest, scoring) or all
of it is (publishing, after the commit), no file under the database folder holds a clear
identifier of the inbox, the next open marks the run crashed / publish_failed, and the next
run completes with exact counts.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.helpers import TEST_KEY, clear_identifiers

CLI = [sys.executable, "-m", "claimwatch.cli.main"]


@pytest.fixture(scope="module")
def small_inbox(tmp_path_factory) -> Path:
    from claimwatch.sample_data.generator import generate_inbox

    inbox = tmp_path_factory.mktemp("faults") / "inbox"
    generate_inbox(inbox, members=300, seed=5)
    return inbox


@pytest.fixture(scope="module")
def api_url(prefect_harness) -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def _env(api_url: str, db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMWATCH_")}
    env |= {
        "CLAIMWATCH_KEY": TEST_KEY,
        "CLAIMWATCH_DB": str(db),
        "PREFECT_API_URL": api_url,
        # small enough for DuckDB to spill its working data to the private folder
        "CLAIMWATCH_MEMORY_LIMIT": "256MB",
    }
    return env | extra


def _expected_counts(inbox: Path) -> dict[str, int]:
    return {
        # a repeated claim_id is an update of its line
        "claims": pl.read_csv(inbox / "claims.csv", infer_schema=False)["claim_id"].n_unique(),
        "members": pl.read_csv(inbox / "members.csv", infer_schema=False).height,
    }


def _leaks(folder: Path, values: set[str]) -> list[tuple[str, str]]:
    """Clear identifiers found in any file under ``folder`` (bytes, as written)."""
    needles = [v.encode() for v in sorted(values)]
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [(str(path), n.decode()) for n in needles if n in data]
    return found


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _kill_at(stage: str, inbox: Path, db: Path, api_url: str, tmp_path: Path) -> None:
    marker = tmp_path / f"paused-{stage}"
    env = _env(api_url, db, CLAIMWATCH_TEST_PAUSE_AT=stage, CLAIMWATCH_TEST_PAUSE_FILE=str(marker))
    proc = subprocess.Popen(
        [*CLI, "run", "--inbox", str(inbox)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if proc.poll() is not None:
                raise AssertionError(f"run ended before {stage}: {proc.stdout.read().decode()[-2000:]}")
            assert time.monotonic() < deadline, f"run never reached {stage}"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL


def _run(inbox: Path, db: Path, api_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "run", "--inbox", str(inbox), "--json"],
        env=_env(api_url, db),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("stage", ["ingest", "score", "publish"])
def test_kill_then_next_run(stage, small_inbox, api_url, tmp_path):
    db = tmp_path / "db" / "claimwatch.duckdb"
    db.parent.mkdir()
    subprocess.run([*CLI, "init"], env=_env(api_url, db), check=True, capture_output=True, timeout=60)
    expected = _expected_counts(small_inbox)
    secrets = clear_identifiers(small_inbox)

    _kill_at(stage, small_inbox, db, api_url, tmp_path)

    # no clear identifier in the database, its WAL or the spill folder left by the killed run
    assert _leaks(db.parent, secrets) == []
    committed = stage == "publish"  # publishing starts after the data transaction committed
    counts = _query(db, "select (select count(*) from claims), (select count(*) from members)")[0]
    assert counts == ((expected["claims"], expected["members"]) if committed else (0, 0))
    assert [r[0] for r in _query(db, "select status from runs")] == ["committed" if committed else "running"]
    if committed:  # the killed copy was a partial file under a temporary name, never the copy
        assert not (db.parent / "claimwatch.analytics.duckdb").exists()

    result = _run(small_inbox, db, api_url)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    statuses = [r[0] for r in _query(db, "select status from runs order by started_at")]
    assert statuses == ["publish_failed" if committed else "crashed", "completed"]
    assert _query(db, "select count(*) from claims")[0][0] == expected["claims"]
    assert _query(db, "select count(*) from members")[0][0] == expected["members"]
    assert _query(db, "select count(*) from quarantine")[0][0] == 0
    # the stale partial copy is gone, the published copy is whole and private
    assert [p.name for p in db.parent.iterdir() if "partial" in p.name] == []
    analytics = db.parent / "claimwatch.analytics.duckdb"
    assert _query(analytics, "select count(*) from claims")[0][0] == expected["claims"]
    assert stat.S_IMODE(analytics.stat().st_mode) == 0o640
    assert _leaks(db.parent, secrets) == []


def test_files_are_private_and_hold_no_clear_identifier(small_inbox, api_url, tmp_path):
    # a permissive umask must not make health data readable by others
    old = os.umask(0)
    try:
        db = tmp_path / "db" / "claimwatch.duckdb"
        db.parent.mkdir()
        subprocess.run([*CLI, "init"], env=_env(api_url, db), check=True, capture_output=True, timeout=60)
        result = _run(small_inbox, db, api_url)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    modes = {
        p.relative_to(db.parent).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in db.parent.rglob("*")
    }
    assert not (db.parent / "claimwatch.duckdb.tmp").exists()  # the spill folder is removed at close
    for name, mode in modes.items():
        allowed = 0o640 if name == "claimwatch.analytics.duckdb" else 0o700
        assert mode & ~allowed == 0, (name, oct(mode))
    assert modes["claimwatch.duckdb"] == 0o600
    # every file under the database folder and under Prefect's home (its database, logs)
    secrets = clear_identifiers(small_inbox)
    assert len(secrets) > 100
    assert _leaks(db.parent, secrets) == []
    assert _leaks(Path(os.environ["PREFECT_HOME"]), secrets) == []
    # the test server's own database (flow runs, task runs, logs, artifacts) lives elsewhere
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    url = PREFECT_API_DATABASE_CONNECTION_URL.value() or ""
    prefect_db = Path(url.split(":///", 1)[1]) if ":///" in url else None
    assert prefect_db is not None and prefect_db.exists(), url
    assert _leaks(prefect_db.parent, secrets) == []
