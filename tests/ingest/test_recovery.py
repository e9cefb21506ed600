"""Startup recovery of killed runs, the atomic analytics copy on a full disk, and resource
errors that name their fix (real DuckDB failures)."""

from __future__ import annotations

import errno
import os
import stat
from datetime import UTC, datetime

import duckdb
import pytest

from claimwatch.publish import analytics
from claimwatch.settings import Settings
from claimwatch.store.db import ResourceExhaustedError, connect, private_temp_dir, resource_error
from claimwatch.store.runs import record_run


def test_open_marks_runs_of_dead_processes(settings: Settings):
    db = connect(settings, create=True)
    now = datetime.now(UTC)
    record_run(db, "r-running", "claimwatch-run", "running", None, None, now)
    record_run(db, "r-committed", "claimwatch-run", "committed", None, {"run_id": "r-committed"}, now)
    record_run(db, "r-done", "claimwatch-run", "completed", None, {}, now)
    db.close()
    # the next writer holds the lock alone: whatever was running died
    db = connect(settings, create=True)
    try:
        rows = db.con.execute(
            "select run_id, status, finished_at is not null from runs order by run_id"
        ).fetchall()
    finally:
        db.close()
    assert rows == [
        ("r-committed", "publish_failed", True),
        ("r-done", "completed", True),
        ("r-running", "crashed", True),
    ]


def test_spill_folder_is_private_emptied_at_open_and_removed_at_close(settings: Settings):
    folder = private_temp_dir(settings.db)
    folder.mkdir(mode=0o755)
    (folder / "duckdb_temp_storage-0.tmp").write_bytes(b"jean.dupont@gmail.com")  # a killed run's spill
    db = connect(settings, create=True)
    try:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert list(folder.iterdir()) == []
        assert db.con.execute("select current_setting('temp_directory')").fetchall()[0][0] == str(folder)
        assert stat.S_IMODE(settings.db.stat().st_mode) == 0o600
    finally:
        db.close()
    assert not folder.exists()


def test_failed_copy_removes_its_partial_file(settings: Settings, monkeypatch):
    connect(settings, create=True).close()
    real = os.copy_file_range
    written = []

    def disk_full(src, dst, count, *args):
        if not written:  # part of the copy reaches the disk, then the disk is full
            written.append(real(src, dst, 4096))
            return written[0]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", disk_full)
    with pytest.raises(OSError) as failure:
        analytics.publish_analytics_copy(settings)
    folder = settings.db.parent
    assert [p.name for p in folder.iterdir() if "partial" in p.name] == []
    assert not settings.resolved_analytics_db.exists()
    message = str(resource_error(failure.value, settings))
    assert message.startswith("disk full")
    monkeypatch.setattr(os, "copy_file_range", real)
    # a stale partial copy of a killed process is removed by the next run's start
    stale = folder / f".{settings.resolved_analytics_db.name}.partial-99999"
    stale.write_bytes(b"x")
    assert analytics.remove_stale_copies(settings) == [stale]
    target = analytics.publish_analytics_copy(settings)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_out_of_memory_names_the_setting_and_a_full_spill_disk_says_disk(tmp_path, settings: Settings):
    spill = tmp_path / "spill"
    spill.mkdir()
    con = duckdb.connect(config={"memory_limit": "30MB", "temp_directory": str(spill), "threads": 1})
    with pytest.raises(duckdb.OutOfMemoryException) as oom:
        con.execute(
            "select string_agg(range::varchar || repeat('x', 50), ',') from range(3000000)"
        ).fetchall()
    con.close()
    translated = resource_error(oom.value, settings)
    assert isinstance(translated, ResourceExhaustedError)
    assert "CLAIMWATCH_MEMORY_LIMIT" in str(translated)
    # spilling into a folder whose disk is full: DuckDB says "Out of Memory", we say disk full
    con = duckdb.connect(
        config={
            "memory_limit": "30MB",
            "temp_directory": str(spill),
            "max_temp_directory_size": "2MB",
            "threads": 1,
        }
    )
    with pytest.raises(duckdb.OutOfMemoryException) as full:
        con.execute(
            "create table t as select range::varchar || repeat('x', 50) as s "
            "from range(3000000) order by s desc"
        )
    con.close()
    assert str(resource_error(full.value, settings)).startswith("disk full")


def test_the_reader_and_the_run_share_one_memory_limit(settings: Settings):
    from claimwatch.ingest.load import open_reader
    from claimwatch.store.db import READER_SHARE

    settings = settings.model_copy(update={"memory_limit": "1000MiB"})
    db = connect(settings, create=True)

    def limit(con) -> int:  # bytes
        return con.execute(
            "select value from duckdb_settings() where name = 'memory_limit'"
        ).fetchall()[0][0]

    def mib(con) -> float:
        text = limit(con)
        value, unit = text.split()
        return float(value) * {"MiB": 1, "GiB": 1024, "KiB": 1 / 1024}[unit]

    try:
        assert mib(db.con) == pytest.approx(1000, rel=0.01)
        reader = open_reader(db)
        # while a file is read, the two connections together stay within the one limit
        assert mib(reader.con) == pytest.approx(1000 * READER_SHARE, rel=0.01)
        assert mib(db.con) == pytest.approx(1000 * (1 - READER_SHARE), rel=0.01)
        reader.close()
        reader.close()  # a second close gives nothing back twice
        assert mib(db.con) == pytest.approx(1000, rel=0.01)
    finally:
        db.close()


def test_lent_memory_comes_back(settings: Settings):
    settings = settings.model_copy(update={"memory_limit": "1000MiB"})
    db = connect(settings, create=True)

    def limit() -> str:
        return db.con.execute("select current_setting('memory_limit')").fetchall()[0][0]

    try:
        whole = limit()
        restore = db.lend_memory(0.5)
        assert limit() != whole and limit().startswith("500")
        restore()
        assert limit() == whole
    finally:
        db.close()
    # the default limit (derived from the machine) is lent and given back the same way
    unlimited = settings.model_copy(update={"memory_limit": None})
    db = connect(unlimited, create=True)
    try:
        before = limit()
        db.lend_memory(0.5)()
        assert limit() == before
    finally:
        db.close()
