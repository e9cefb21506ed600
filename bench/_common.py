"""What the benchmarks share: DuckDB's bare load, the reference every figure is divided by."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb


def bare_load(inbox: Path, db_path: Path) -> float:
    """Load every inbox CSV into a table with DuckDB's own reader, no checks; return seconds."""
    for stale in (db_path, db_path.with_name(db_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(db_path))
    t0 = time.perf_counter()
    for path in sorted(inbox.glob("*.csv")):
        con.execute(f"create table {path.stem} as select * from read_csv('{path}')")
    con.close()
    return time.perf_counter() - t0
