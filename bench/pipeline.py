"""Whole `claimwatch run` on an empty database next to DuckDB's bare load of the same files.

Usage: python bench/pipeline.py [--members 45000] [--months 12] [--modes temporary,server]
  --members 45000 --months 12   ~1M claim lines;  --members 450000 --months 12  ~10M lines.
Modes: `temporary` (no PREFECT_API_URL: the flow starts Prefect's temporary server) and
`server` (a `prefect server start` on loopback started by this script, as in production).
Prints wall time, ratio to the bare load (targets: <= 8x with a server at 1M lines, <= 5x at
10M) and the peak RSS of the `claimwatch run` process (target <= 2 GiB).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

from _common import bare_load  # bench/ is the script's folder, on sys.path

KEY = "bench-key-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict) -> tuple[subprocess.Popen, str]:
    """Start `prefect server start` on loopback and wait until it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(1)
    proc.kill()
    raise RuntimeError("prefect server did not become healthy within 120 s")


def timed_run(inbox: Path, db: Path, env: dict) -> tuple[float, float]:
    """Run the CLI in a child process; return (seconds, peak RSS MB of the children)."""
    for stale in db.parent.glob(db.name + "*"):
        if stale.is_file():
            stale.unlink()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(
        [shutil.which("claimwatch") or "claimwatch", "run", "--inbox", str(inbox), "--db", str(db)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - t0
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=45_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--modes", default="temporary,server")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    from claimwatch.sample_data.generator import generate_inbox

    work = args.workdir or Path(tempfile.mkdtemp(prefix="claimwatch-bench-"))
    inbox = work / "inbox"
    if not (inbox / "claims.csv").exists():
        end = date(2026, 10, 31)
        start_month = end.year * 12 + end.month - args.months
        start = date(start_month // 12, start_month % 12 + 1, 1)
        t0 = time.perf_counter()
        generate_inbox(inbox, members=args.members, seed=args.seed, start=start, end=end)
        print(f"generated inbox in {time.perf_counter() - t0:.1f} s")
    lines = sum(1 for _ in (inbox / "claims.csv").open()) - 1
    size = sum(p.stat().st_size for p in inbox.glob("*.csv")) / 1e6
    bare = bare_load(inbox, work / "bare.duckdb")
    print(f"claim lines             {lines:>12,}  (inbox {size:,.0f} MB, every file loaded)")
    print(f"duckdb bare load        {bare:>12.2f} s")

    env = dict(
        os.environ,
        CLAIMWATCH_KEY=KEY,
        PREFECT_HOME=str(work / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    env.pop("PREFECT_API_URL", None)
    for mode in args.modes.split(","):
        server = None
        run_env = dict(env)
        if mode == "server":
            server, url = start_server(env)
            run_env["PREFECT_API_URL"] = url
        try:
            seconds, peak = timed_run(inbox, work / f"{mode}.duckdb", run_env)
        finally:
            if server is not None:
                os.killpg(server.pid, 15)
                server.wait(timeout=30)
        print(
            f"claimwatch run [{mode:<9}] {seconds:>8.2f} s  ratio {seconds / bare:>5.1f}x  "
            f"peak RSS {peak:,.0f} MB  ({lines / seconds:,.0f} lines/s)"
        )


if __name__ == "__main__":
    main()
