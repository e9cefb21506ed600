"""Analysts' read-only access: queries run on the copy published after each run.

A writing process locks a DuckDB file against every reader, so analysts never read the live
file: each committed run publishes a copy (``<db>.analytics.duckdb``) that answers while the
next run writes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import polars as pl

from claimwatch.errors import DatabaseBusyError, InputError, NoDatabaseError
from claimwatch.settings import Settings


def run_query(settings: Settings, query: str, *, live: bool = False) -> pl.DataFrame:
    """Run one read-only query; fail fast with a clear message if the file is busy."""
    if not settings.db.exists():
        raise NoDatabaseError(
            f"no claimwatch database at {settings.db}: create one with `claimwatch init --db {settings.db}`"
        )
    path = settings.db if live else settings.resolved_analytics_db
    if not path.exists():
        raise NoDatabaseError(
            f"no published analytics copy at {path}: it appears after the first completed "
            "`claimwatch run` (or use --live when no run is in progress)"
        )
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusyError(
                f"{path} is being written by a run; query the published copy (without --live)"
            ) from None
        raise NoDatabaseError(f"cannot open {path}: {str(exc).strip().splitlines()[0]}") from None
    try:
        relation = con.sql(query)
        return relation.pl() if relation is not None else pl.DataFrame()
    except duckdb.Error as exc:  # a bad query: DuckDB's first line names the problem
        raise InputError(f"query failed: {str(exc).strip().splitlines()[0]}") from None
    finally:
        con.close()


def publish_analytics_copy(settings: Settings) -> Path:
    """Copy the committed database to the analysts' read-only file, atomically.

    Readers of the previous copy keep their open file; new readers get the new one."""
    target = settings.resolved_analytics_db
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(settings.db, tmp)
    os.chmod(tmp, 0o640)
    os.replace(tmp, target)
    return target
