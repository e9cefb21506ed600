"""Detection quality on fresh generated portfolios: P@50/100/200, R-precision, member AP, incident
and euro recall@k, incident recall per pattern.

Each (seed, members, months) inbox is generated with ``claimwatch.sample_data``, run into a fresh
database with ``claimwatch run`` (as a separate process, like an insurer's nightly run) and
scored with ``claimwatch evaluate --json`` (flows/scoring/evaluate.py, detectors/metrics.py).
R-precision is the precision at k = the number of defrauded members.

    python bench/detection.py --members 5000,20000,50000 --seeds 9101,9202 --months 12,22
    python bench/detection.py --claimwatch /other/venv/bin/claimwatch   # another version's detection

Seeds used while tuning the detectors: 7, 11, 101, 202, 303, 4242. Report on other seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from claimwatch.sample_data.generator import SCENARIOS, generate_inbox

KEY = "bench-key-0123456789abcdef0123456789abcdef"
END = date(2026, 10, 31)
STARTS = {12: date(2025, 11, 1), 22: date(2025, 1, 1)}


def fraud_members(inbox: Path) -> int:
    """Members with at least one fraudulent line (the R of R-precision)."""
    labels = pl.read_csv(inbox / "labels.csv", infer_schema=False).filter(pl.col("is_fraud") == "1")
    claims = pl.read_csv(inbox / "claims.csv", infer_schema=False, columns=["claim_id", "member_id"])
    return claims.join(labels, on="claim_id")["member_id"].n_unique()


def run_one(claimwatch: str, inbox: Path, db: Path, ks: list[int]) -> tuple[dict, float]:
    env = {
        **os.environ,
        "CLAIMWATCH_KEY": KEY,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    # versions that need a database created first have `claimwatch init`; older ones create it
    subprocess.run([claimwatch, "init", "--db", str(db)], env=env, capture_output=True)
    t0 = time.perf_counter()
    subprocess.run(
        [claimwatch, "run", "--inbox", str(inbox), "--db", str(db)], env=env, check=True, capture_output=True
    )
    seconds = time.perf_counter() - t0
    out = subprocess.run(
        [claimwatch, "evaluate", "--db", str(db), "--k", ",".join(map(str, ks)), "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout), seconds


def row(seed: int, members: int, months: int, result: dict, r: int, seconds: float) -> dict:
    at = {int(k): v for k, v in result["at_k"].items()}
    per = result["per_scenario"]
    return {
        "seed": seed,
        "members": members,
        "months": months,
        "defrauded": result["fraud_members"],
        "P@50": at[50]["precision"],
        "P@100": at[100]["precision"],
        "P@200": at[200]["precision"],
        "R-prec": at[r]["precision"],
        "AP": result["average_precision_members"],
        "inc@200": at[200]["incident_recall"],
        "eur@200": at[200]["fraud_euro_recall"],
        **{f"{s}@200": per.get(s, {}).get("recall@200", float("nan")) for s in SCENARIOS},
        "run_s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", default="5000,20000,50000")
    parser.add_argument("--seeds", default="9101,9202")
    parser.add_argument("--months", default="12,22")
    parser.add_argument("--claimwatch", default=shutil.which("claimwatch") or "claimwatch")
    parser.add_argument("--keep", type=Path, help="keep inboxes and databases in this folder")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="claimwatch-bench-"))
    rows = []
    for members in map(int, args.members.split(",")):
        for months in map(int, args.months.split(",")):
            for seed in map(int, args.seeds.split(",")):
                name = f"s{seed}-m{members}-{months}mo"
                inbox = work / name / "inbox"
                if not (inbox / "claims.csv").exists():
                    generate_inbox(inbox, members=members, seed=seed, start=STARTS[months], end=END)
                r = fraud_members(inbox)
                db = work / name / "claimwatch.duckdb"
                for stale in db.parent.glob("claimwatch.*"):
                    stale.unlink() if stale.is_file() else shutil.rmtree(stale)
                result, seconds = run_one(args.claimwatch, inbox, db, sorted({50, 100, 200, r}))
                rows.append(row(seed, members, months, result, r, seconds))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    table = pl.DataFrame(rows)
    numeric = [c for c, t in table.schema.items() if t == pl.Float64]
    with pl.Config(
        tbl_rows=100,
        tbl_cols=30,
        tbl_width_chars=250,
        tbl_formatting="MARKDOWN",
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        print(table.with_columns(pl.col(numeric).round(2)))
        means = table.group_by("members", maintain_order=True).agg(pl.col(numeric).mean().round(3))
        print("\nmeans by size")
        print(means)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
