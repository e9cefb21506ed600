"""Ingest throughput at ~1M claim lines next to DuckDB's bare load of the same files.

Usage: python bench/ingest.py [--members 45000] [--seed 1] [--workdir DIR]
Prints: lines, bare-load seconds, claimwatch ingest seconds, ratio (target <= 3x), peak RSS.
Both are measured in this one run on the same files.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from _common import bare_load  # bench/ is the script's folder, on sys.path

os.environ.setdefault("CLAIMWATCH_KEY", "bench-key-0123456789abcdef0123456789abcdef")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=45_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    from claimwatch.ingest.load import ingest_batch
    from claimwatch.sample_data.generator import generate_inbox
    from claimwatch.settings import Settings
    from claimwatch.store.db import connect

    work = args.workdir or Path(tempfile.mkdtemp(prefix="claimwatch-bench-"))
    inbox = work / "inbox"
    if not (inbox / "claims.csv").exists():
        t0 = time.perf_counter()
        generate_inbox(inbox, members=args.members, seed=args.seed)
        print(f"generated inbox in {time.perf_counter() - t0:.1f} s")
    for stale in work.glob("*.duckdb*"):
        stale.unlink()
    lines = sum(1 for _ in (inbox / "claims.csv").open()) - 1
    size = sum(p.stat().st_size for p in inbox.glob("*.csv")) / 1e6

    bare = bare_load(inbox, work / "bare.duckdb")

    settings = Settings(db=work / "claimwatch.duckdb", inbox=inbox)
    db = connect(settings)
    t0 = time.perf_counter()
    with db.transaction():
        summary = ingest_batch(db, inbox, "bench", tasks=False)
    ingest_seconds = time.perf_counter() - t0
    db.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"claim lines           {lines:>12,}")
    print(f"inbox size            {size:>12,.0f} MB")
    print(f"duckdb bare load      {bare:>12.2f} s")
    print(f"claimwatch ingest     {ingest_seconds:>12.2f} s  (validate + pseudonymise + load + link)")
    print(f"ratio                 {ingest_seconds / bare:>12.2f} x  (target <= 3x)")
    print(f"throughput            {lines / ingest_seconds:>12,.0f} claim lines/s")
    print(f"peak RSS              {peak:>12,.0f} MB")
    for f in summary.files:
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in f.seconds.items())
        print(f"  {f.file_name:<22} {f.rows_read:>10,} read {f.rows_quarantined:>6,} quarantined  {stages}")
    print(f"  release + breach link {summary.seconds.get('link', 0):.2f}s")


if __name__ == "__main__":
    main()
