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

from claimwatch.settings import Settings
from claimwatch.store.db import DatabaseBusyError


def run_query(
    settings: Settings, query: str, *, live: bool = False, tables: dict[str, pl.DataFrame] | None = None
) -> pl.DataFrame:
    """Run one read-only query; fail fast with a clear message if the file is busy.

    ``tables`` (e.g. the review store's current cases and audit log) are registered under their
    names and shadow the file's tables of that name, in the views too."""
    path = settings.db if live else settings.resolved_analytics_db
    if not path.exists():
        if live:
            raise FileNotFoundError(f"no claimwatch database at {path}")
        raise FileNotFoundError(
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
        raise
    try:
        for name, frame in (tables or {}).items():
            con.register(name, frame.to_arrow())
        relation = con.sql(query)
        return relation.pl() if relation is not None else pl.DataFrame()
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
