"""What the benchmarks share: DuckDB's bare load (the reference every figure is divided by),
generated inboxes as an insurer sends them (no labels file), a loopback Prefect server, and
timed `claimwatch run` child processes with the peak RSS of their process tree."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import duckdb

KEY = "bench-key-0123456789abcdef0123456789abcdef"


def run_files(inbox: Path) -> list[Path]:
    """The files a run loads from an inbox: its contract CSV files."""
    return sorted(inbox.glob("*.csv"))


def bare_load(inbox: Path, db_path: Path, files: list[Path] | None = None) -> float:
    """Load exactly the files a run loads (``create table as select * from read_csv``) into a
    database FILE, no checks; return seconds (connect, load and close)."""
    for stale in (db_path, db_path.with_name(db_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(db_path))
    for path in files if files is not None else run_files(inbox):
        con.execute(f"create table {path.stem} as select * from read_csv('{path}')")
    con.close()
    return time.perf_counter() - t0


def generate(inbox: Path, members: int, seed: int, months: int | None = None) -> None:
    """Generate an inbox (the `claimwatch sample` dates unless ``months``) and move its labels
    file aside (an insurer's inbox carries none): the run and the bare load see the same files."""
    from datetime import date

    from claimwatch.sample_data.generator import generate_inbox

    if (inbox / "claims.csv").exists():
        return
    kwargs = {}
    if months:
        end = date(2026, 10, 31)
        start_month = end.year * 12 + end.month - months
        kwargs = {"start": date(start_month // 12, start_month % 12 + 1, 1), "end": end}
    t0 = time.perf_counter()
    generate_inbox(inbox, members=members, seed=seed, **kwargs)
    labels = inbox / "labels.csv"
    if labels.exists():
        labels.replace(inbox.parent / "labels.csv")
    print(f"generated inbox in {time.perf_counter() - t0:.1f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(work: Path) -> dict:
    env = dict(
        os.environ,
        CLAIMWATCH_KEY=KEY,
        PREFECT_HOME=str(work / "prefect-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    env.pop("PREFECT_API_URL", None)
    return env


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
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(1)
    os.killpg(proc.pid, 15)
    raise RuntimeError("prefect server did not become healthy within 180 s")


def stop_server(proc: subprocess.Popen | None) -> None:
    if proc is not None:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def timed(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak RSS MiB of its process tree, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd, out)
    return seconds, peak / 2**20, out


def claimwatch_run(inbox: Path, db: Path, env: dict, *extra: str) -> tuple[float, float, dict]:
    """`claimwatch run --json` in a child process: (seconds, peak RSS MiB, run summary)."""
    exe = shutil.which("claimwatch") or "claimwatch"
    seconds, peak, out = timed([exe, "run", "--inbox", str(inbox), "--db", str(db), "--json", *extra], env)
    return seconds, peak, json.loads(out[out.index("{") :])


def noop_flow(env: dict) -> float:
    """Seconds of a child process that imports Prefect and runs one empty flow: the fixed start
    every `claimwatch run` pays before any work."""
    code = "from prefect import flow\n@flow(name='bench-noop')\ndef noop():\n    return 1\nnoop()\n"
    seconds, _, _ = timed([sys.executable, "-c", code], env)
    return seconds


def clean_db(db: Path, env: dict | None = None) -> None:
    """Remove a database and everything beside it; with ``env``, create it anew
    (`claimwatch init`, as an insurer does once)."""
    for stale in db.parent.glob(db.name + "*"):
        if stale.is_file():
            stale.unlink()
        elif stale.is_dir():
            shutil.rmtree(stale)
    for stale in db.parent.glob(db.stem + ".*"):
        if stale.is_file():
            stale.unlink()
        elif stale.is_dir():
            shutil.rmtree(stale)
    if env is not None:
        exe = shutil.which("claimwatch") or "claimwatch"
        subprocess.run([exe, "init", "--db", str(db)], env=env, check=True, capture_output=True)
