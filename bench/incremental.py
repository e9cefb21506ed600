"""A nightly run on a history: first load of the history, then a batch of its last days.

Usage: python bench/incremental.py [--members 50000] [--days 3] [--workdir DIR] [--no-server]
A generated inbox (labels moved aside) is split by received date (claims) and event time
(account events): everything up to the cutoff is the history inbox (with the members file and
the breach list), the last ``--days`` days are the nightly batch. Side by side in this one run,
with a `prefect server start` on loopback: the bare load of the whole inbox into a database
file, `claimwatch run` of the history from an empty database, then `claimwatch run` of the batch
(incremental), and a `claimwatch run --full` of the same batch on a copy of the history database.
Prints the nightly time as % of the full run (target <= 15% for a ~1% batch), peak RSS, and
checks that the nightly queue equals a full rebuild of the same data that reuses the same stored
portfolio aggregates (scored in this process).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
from _common import (  # bench/ is the script's folder, on sys.path
    KEY,
    bare_load,
    base_env,
    claimwatch_run,
    clean_db,
    generate,
    run_files,
    start_server,
    stop_server,
)

QUEUE = (
    "select member_id, status, score, rank, reason_codes, reasons, amount_at_risk, claim_ids"
    " from cases where status in ('new', 'in_review', 'needs_info') order by rank, member_id"
)


def split(inbox: Path, history: Path, batch: Path, days: int) -> tuple[int, int]:
    """Write the history and batch inboxes; return (history lines, batch lines)."""
    con = duckdb.connect()
    history.mkdir(parents=True, exist_ok=True)
    batch.mkdir(parents=True, exist_ok=True)

    def read(name: str) -> str:
        return f"read_csv('{inbox / name}', header = true, all_varchar = true)"

    cutoff = con.execute(
        f"select max(cast(received_date as date)) - {days} from {read('claims.csv')}"
    ).fetchall()[0][0]
    for name, column in (
        ("claims.csv", "cast(received_date as date)"),
        ("account_events.csv", "cast(event_time as date)"),
    ):
        for target, op in ((history, "<="), (batch, ">")):
            con.execute(
                f"copy (select * from {read(name)} where {column} {op} date '{cutoff}') "
                f"to '{target / name}' (header, quote '\"')"
            )
    for name in ("members.csv", "breach_list.csv"):
        shutil.copyfile(inbox / name, history / name)
    counts = [
        con.execute(f"select count(*) from read_csv('{d / 'claims.csv'}', all_varchar = true)").fetchall()[0][
            0
        ]
        for d in (history, batch)
    ]
    con.close()
    return counts[0], counts[1]


def queue_of(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(QUEUE).fetchall()
    finally:
        con.close()


def rebuild_queue(db: Path) -> list[tuple]:
    """Rescore every member of ``db`` from scratch, reusing its stored portfolio aggregates, in
    a transaction that is rolled back; return the queue it gives."""
    os.environ.setdefault("CLAIMWATCH_KEY", KEY)
    from claimwatch.scoring.score import score_and_queue
    from claimwatch.settings import Settings
    from claimwatch.store.db import connect

    settings = Settings(db=db)
    database = connect(settings)
    try:
        database.con.execute("begin transaction")
        try:
            score_and_queue(database, settings, "bench-rebuild", full=True, refresh_aggregates=False)
            return database.con.execute(QUEUE).fetchall()
        finally:
            database.con.execute("rollback")
    finally:
        database.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=None)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-server", action="store_true")
    parser.add_argument("--legacy", action="store_true", help="code before incremental runs (no --full)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="claimwatch-bench-"))
    generate(work / "inbox", args.members, args.seed, args.months)
    history, batch = work / f"history-{args.days}d", work / f"batch-{args.days}d"
    if not (batch / "claims.csv").exists():
        history_lines, batch_lines = split(work / "inbox", history, batch, args.days)
    else:
        history_lines = sum(1 for _ in (history / "claims.csv").open()) - 1
        batch_lines = sum(1 for _ in (batch / "claims.csv").open()) - 1
    total = history_lines + batch_lines
    print(f"load average            {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} cores")
    print(
        f"history {history_lines:,} lines; batch of the last {args.days} days {batch_lines:,} lines "
        f"({100 * batch_lines / total:.2f}%)"
    )
    env = base_env(work)
    server = None
    if not args.no_server:
        server, url = start_server(env)
        env["PREFECT_API_URL"] = url
    try:
        bare = bare_load(history, work / "bare.duckdb", run_files(history))
        db, full_db = work / "nightly.duckdb", work / "full.duckdb"
        clean_db(db, env)
        first, first_rss, first_summary = claimwatch_run(history, db, env)
        clean_db(full_db)
        shutil.copyfile(db, full_db)
        nightly, nightly_rss, nightly_summary = claimwatch_run(batch, db, env)
        if args.legacy:  # code without --full: every run rebuilds everything
            full, full_rss, full_summary = claimwatch_run(batch, full_db, env)
        else:
            full, full_rss, full_summary = claimwatch_run(batch, full_db, env, "--full")
    finally:
        stop_server(server)
    print(f"duckdb bare load of the history inbox into a file  {bare:>8.2f} s")
    print(
        f"first run (history, empty db)   {first:>8.2f} s  ratio {first / bare:>5.1f}x"
        f"  peak RSS {first_rss:,.0f} MiB"
    )
    for label, seconds, rss, summary in (
        ("nightly run (batch, incremental)", nightly, nightly_rss, nightly_summary),
        ("same batch with --full          ", full, full_rss, full_summary),
    ):
        inner = summary.get("seconds", {}).get("total", 0.0)
        full_inner = full_summary.get("seconds", {}).get("total", 0.0)
        print(
            f"{label} {seconds:>8.2f} s  = {100 * seconds / full:5.1f}% of the --full run"
            f" (pipeline {inner:.2f} s = {100 * inner / max(full_inner, 1e-9):.1f}%)  peak RSS {rss:,.0f} MiB"
        )
        score = summary.get("score", {})
        print(
            "    stages: "
            + ", ".join(
                f"{k} {v:.2f}s"
                for k, v in {**summary.get("seconds", {}), **score.get("seconds", {})}.items()
                if k != "total"
            )
            + f"; feature rows rebuilt for {score.get('features', {}).get('touched', {}).get('members', 0):,}"
            f" of {score.get('members_scored', 0):,} members (detection scores them all)"
        )
    nightly_queue = queue_of(db)
    if args.legacy:
        return
    rebuilt = rebuild_queue(db)
    same = nightly_queue == rebuilt
    print(
        f"queue after the nightly run: {len(nightly_queue):,} open cases; a full rebuild with the same "
        f"stored aggregates gives {'the SAME queue' if same else 'a DIFFERENT queue'}"
    )
    full_queue = queue_of(full_db)
    members = {r[0] for r in nightly_queue}
    overlap = len(members & {r[0] for r in full_queue})
    print(f"the --full run (aggregates refreshed): {len(full_queue):,} open cases, {overlap:,} in common")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
