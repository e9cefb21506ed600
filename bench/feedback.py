"""Do reviewers' decisions teach the next run? Simulated reviewers decide the top of the queue
with the labels, the portfolio is scored again, and the cases still open are compared.

For each fresh inbox: ``claimwatch run``; the top ``--decide`` open cases are decided (fraud when
the member has a fraudulent line, legitimate otherwise); ``claimwatch run`` again (same files:
nothing new is loaded, the run re-scores with the decisions); the average precision of the
cases still open (the decided ones left out of both rankings, their frauds out of the
positives) is printed before and after.

    python bench/feedback.py --members 20000 --seeds 9303,9404
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from claimwatch.detectors.metrics import average_precision, precision_at_k
from claimwatch.review.queue import decide
from claimwatch.review.store import open_store
from claimwatch.sample_data.generator import generate_inbox
from claimwatch.settings import Settings
from claimwatch.store.db import connect

KEY = "bench-key-0123456789abcdef0123456789abcdef"


def _run(inbox: Path, db: Path) -> None:
    env = {
        **os.environ,
        "CLAIMWATCH_KEY": KEY,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    subprocess.run(["claimwatch", "init", "--db", str(db)], env=env, capture_output=True)
    subprocess.run(
        ["claimwatch", "run", "--inbox", str(inbox), "--db", str(db)],
        env=env,
        check=True,
        capture_output=True,
    )


def _queue(db_path: Path) -> pl.DataFrame:
    os.environ["CLAIMWATCH_KEY"] = KEY
    db = connect(Settings(db=db_path, inbox=db_path.parent))
    try:
        return db.con.sql(
            "select case_id, member_id, rank from cases where rank is not null order by rank"
        ).pl()
    finally:
        db.close()


def _fraud_members(inbox: Path) -> set[str]:
    labels = pl.read_csv(inbox / "labels.csv", infer_schema=False).filter(pl.col("is_fraud") == "1")
    claims = pl.read_csv(inbox / "claims.csv", infer_schema=False, columns=["claim_id", "member_id"])
    return set(claims.join(labels, on="claim_id")["member_id"].to_list())


def _open_ap(queue: pl.DataFrame, decided: set[str], fraud: set[str]) -> tuple[float, float]:
    still_open = queue.filter(~pl.col("member_id").is_in(sorted(decided)))
    hits = still_open["member_id"].is_in(sorted(fraud)).to_numpy()
    positives = len(fraud - decided)
    return average_precision(hits, positives), precision_at_k(hits, 100)


def one(seed: int, members: int, top: int, work: Path) -> dict:
    inbox = work / f"s{seed}-m{members}" / "inbox"
    if not (inbox / "claims.csv").exists():
        generate_inbox(inbox, members=members, seed=seed)
    db_path = inbox.parent / "claimwatch.duckdb"
    for stale in inbox.parent.glob("claimwatch.*"):
        if stale.is_file():
            stale.unlink()
    fraud = _fraud_members(inbox)
    _run(inbox, db_path)
    before = _queue(db_path)
    reviewed = before.head(top)
    decided = set(reviewed["member_id"].to_list())
    # reviewers decide in the review store, as the CLI and the web app do; the next run reads it
    store = open_store(Settings(db=db_path, inbox=inbox), create=False)
    try:
        for case_id, member_id in reviewed.select("case_id", "member_id").iter_rows():
            verdict = "fraud" if member_id in fraud else "legitimate"
            decide(store, case_id, verdict, actor="bench-reviewer")
    finally:
        store.close()
    _run(inbox, db_path)
    after = _queue(db_path)
    ap_before, p100_before = _open_ap(before, decided, fraud)
    ap_after, p100_after = _open_ap(after, decided, fraud)
    confirmed = len(decided & fraud)
    return {
        "seed": seed,
        "members": members,
        "decided": len(decided),
        "confirmed_fraud": confirmed,
        "open_positives": len(fraud - decided),
        "AP_open_before": round(ap_before, 4),
        "AP_open_after": round(ap_after, 4),
        "AP_gain": round(ap_after - ap_before, 4),
        "P@100_open_before": round(p100_before, 3),
        "P@100_open_after": round(p100_after, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=20000)
    parser.add_argument("--seeds", default="9303,9404")
    parser.add_argument("--decide", type=int, default=50, help="cases the reviewers decide")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="claimwatch-feedback-"))
    rows = [one(int(s), args.members, args.decide, work) for s in args.seeds.split(",")]
    table = pl.DataFrame(rows)
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_width_chars=250,
        tbl_cols=20,
    ):
        print(table)
    print(f"mean AP gain of the still-open cases: {np.mean(table['AP_gain'].to_numpy()):+.4f}")


if __name__ == "__main__":
    main()
