"""Whole `claimwatch run` on an empty database next to DuckDB's bare load of the same files.

Usage: python bench/pipeline.py [--members 50000] [--modes server,temporary] [--workdir DIR]
  --members 50000 ≈ 1.1M claim lines (`claimwatch sample --members 50000`);
  --members 450000 ≈ 10M lines.
The inbox carries what an insurer sends (members, account events, claims, breach list; the
generator's labels file is moved aside), and the bare load is DuckDB's
`create table as select * from read_csv(...)` of exactly those files into a database file,
measured in this same script run. Modes: `server` (a `prefect server start` on loopback, as in
production) and `temporary` (no PREFECT_API_URL: the flow starts Prefect's temporary server).
Prints the wall time, its ratio to the bare load (targets with a server: <= 6x at 1.1M lines,
<= 4x at 10M), Prefect's fixed start apart (a no-op flow run in a child process, and the run's
wall time minus its own pipeline seconds), the run's stage seconds and the peak RSS of the
run's process tree (target <= 2 GiB).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from _common import (  # bench/ is the script's folder, on sys.path
    bare_load,
    base_env,
    claimwatch_run,
    clean_db,
    generate,
    noop_flow,
    run_files,
    start_server,
    stop_server,
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=None, help="history length (default: as sample)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--modes", default="server")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="claimwatch-bench-"))
    inbox = work / "inbox"
    generate(inbox, args.members, args.seed, args.months)
    files = run_files(inbox)
    lines = sum(1 for _ in (inbox / "claims.csv").open()) - 1
    size = sum(p.stat().st_size for p in files) / 1e6
    print(f"load average            {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores")
    print(f"claim lines             {lines:>12,}  ({', '.join(p.name for p in files)}: {size:,.0f} MB)")
    env = base_env(work)
    for mode in args.modes.split(","):
        server = None
        run_env = dict(env)
        if mode == "server":
            server, url = start_server(env)
            run_env["PREFECT_API_URL"] = url
        try:
            bare = bare_load(inbox, work / "bare.duckdb", files)
            noop = noop_flow(run_env)
            db = work / f"{mode}.duckdb"
            clean_db(db, run_env)
            seconds, peak, summary = claimwatch_run(inbox, db, run_env)
        finally:
            stop_server(server)
        stages = summary.get("seconds", {})
        inner = stages.get("total", 0.0)
        print(f"[{mode}] duckdb bare load into a file   {bare:>8.2f} s")
        print(f"[{mode}] no-op Prefect flow process     {noop:>8.2f} s  (Prefect's fixed start)")
        print(
            f"[{mode}] claimwatch run                 {seconds:>8.2f} s  ratio {seconds / bare:>5.1f}x  "
            f"peak RSS {peak:,.0f} MiB  ({lines / seconds:,.0f} lines/s)"
        )
        print(
            f"[{mode}]   pipeline itself              {inner:>8.2f} s  ratio {inner / bare:>5.1f}x  "
            f"(process start + Prefect: {seconds - inner:.2f} s)"
        )
        score = summary.get("score", {}).get("seconds", {})
        print(
            f"[{mode}]   stages: "
            + ", ".join(f"{k} {v:.2f}s" for k, v in {**stages, **score}.items() if k != "total")
        )


if __name__ == "__main__":
    main()
