"""Analysts' read-only access: queries run on the copy published after each run.

A writing process locks a DuckDB file against every reader, so analysts never read the live
file: each committed run publishes a copy (``<db>.analytics.duckdb``) that answers while the
next run writes.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl

from claimwatch.errors import DatabaseBusyError, InputError, NoDatabaseError
from claimwatch.settings import Settings
from claimwatch.store.runs import pause_point


def run_query(
    settings: Settings, query: str, *, live: bool = False, tables: dict[str, pl.DataFrame] | None = None
) -> pl.DataFrame:
    """Run one read-only query; fail fast with a clear message if the file is busy.

    ``tables`` (e.g. the review store's current cases and audit log) are registered under their
    names and shadow the file's tables of that name, in the views too."""
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
        for name, frame in (tables or {}).items():
            con.register(name, frame.to_arrow())
        relation = con.sql(query)
        return relation.pl() if relation is not None else pl.DataFrame()
    except duckdb.Error as exc:  # a bad query: DuckDB's first line names the problem
        raise InputError(f"query failed: {str(exc).strip().splitlines()[0]}") from None
    finally:
        con.close()


def _partial_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial-{os.getpid()}")


def remove_stale_copies(settings: Settings) -> list[Path]:
    """Remove partial copies a killed or failed publishing left beside the analytics copy."""
    target = settings.resolved_analytics_db
    stale = sorted(target.parent.glob(f".{target.name}.partial-*")) if target.parent.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _copy(src, out) -> None:
    """Copy a file's bytes inside the kernel (copy_file_range: no round trip through this
    process's memory), or through a buffer where the file system cannot."""
    size = os.fstat(src.fileno()).st_size
    copied = 0
    try:
        while copied < size:
            n = os.copy_file_range(src.fileno(), out.fileno(), min(1 << 27, size - copied))
            if n == 0:
                break
            copied += n
    except OSError as exc:
        # only a file system that cannot copy in the kernel falls back; a full disk is a failure
        if copied or exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            raise
        shutil.copyfileobj(src, out, 1 << 24)


def publish_analytics_copy(settings: Settings) -> Path:
    """Copy the committed database to the analysts' read-only file, atomically.

    The copy is written under a temporary name in the same folder, flushed to disk and renamed
    over the previous copy: readers never see a partial file (readers of the previous copy
    keep their open file). On any failure (a full disk) the partial file is removed at once."""
    target = settings.resolved_analytics_db
    tmp = _partial_name(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "wb") as out, open(settings.db, "rb") as src:
            _copy(src, out)
            pause_point("publish")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o640)  # owner and the analysts' group, whatever the umask
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)
    return target
