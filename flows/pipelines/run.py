"""The parent flow ``claimwatch-run``: ingest → score → queue, then publish.

Steps 1–2 run in one database transaction: a failed run leaves the database as it was (only
the ``runs`` table records the failure). Publishing (analytics copy, report, artifacts) runs
after the commit.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from claimwatch.ingest.load import Progress, ingest_batch
from claimwatch.publish import artifacts as publish
from claimwatch.review.store import ReviewStore, open_store
from claimwatch.review.sync import catch_up, pull_review_state, push_run
from claimwatch.scoring.score import (
    ScoreSteps,
    build_features,
    detect,
    refresh_queue,
    run_checks,
    score_and_queue,
    write_scores,
)
from claimwatch.settings import Settings
from claimwatch.store.db import Database, connect
from claimwatch.store.privacy import redact
from claimwatch.store.runs import new_run_id, record_run


@task(name="build-features", cache_policy=NO_CACHE)
def build_features_task(db: Database) -> None:
    """Compute the SQL feature families over the whole history."""
    build_features(db)


@task(name="detect", cache_policy=NO_CACHE)
def detect_task(db: Database, settings: Settings, run_id: str):
    """Run the explicit rules and the PyOD ensemble."""
    return detect(db, settings, run_id)


@task(name="write-scores", cache_policy=NO_CACHE)
def write_scores_task(db: Database, run_id: str, result, claim_flags, sample_size: int) -> int:
    """Store member and claim scores of this run."""
    return write_scores(db, run_id, result, claim_flags, sample_size)


@task(name="refresh-queue", cache_policy=NO_CACHE)
def refresh_queue_task(db: Database, run_id: str, result) -> tuple[int, int]:
    """Open or update cases; decisions and assignments are left as they are."""
    return refresh_queue(db, run_id, result)


@task(name="pull-review-state", cache_policy=NO_CACHE)
def pull_review_state_task(db: Database, store: ReviewStore) -> dict:
    """Complete an earlier run's case sync if it failed, then read reviewers' decisions into DuckDB."""
    completed = catch_up(db, store)
    return {"completed_runs": completed, "changed_cases": pull_review_state(db, store)}


@task(name="push-cases", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def push_cases_task(db: Database, store: ReviewStore, run_id: str) -> int:
    """Write this run's new and updated cases to the review store (short transactions)."""
    return push_run(db, store, run_id)


@task(name="data-checks", cache_policy=NO_CACHE)
def data_checks_task(db: Database) -> dict[str, int]:
    """Assert the data checks (sql/checks) before the run commits."""
    return run_checks(db)


PREFECT_STEPS = ScoreSteps(build_features_task, detect_task, write_scores_task, refresh_queue_task)


def run_pipeline(settings: Settings, inbox: Path, progress: Progress | None = None) -> dict:
    """Ingest, score and refresh the queue atomically, then publish; return the summary."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    db = connect(settings)
    try:
        store = open_store(settings)
    except BaseException:
        db.close()
        raise
    run_id = new_run_id()
    summary: dict = {"run_id": run_id, "inbox": str(inbox), "db": str(settings.db)}
    try:
        record_run(db, run_id, "claimwatch-run", "running", str(inbox), None, started)
        try:
            with db.transaction():
                # reviewers' decisions made since the last run, before scoring reads them
                summary["review_store"] = pull_review_state_task(db, store)
                t1 = time.perf_counter()
                ingest = ingest_batch(db, inbox, run_id, progress)
                summary["ingest"] = ingest.as_dict()
                summary["seconds"] = {"ingest": time.perf_counter() - t1}
                t2 = time.perf_counter()
                summary["score"] = score_and_queue(db, settings, run_id, PREFECT_STEPS).as_dict()
                summary["seconds"]["score"] = time.perf_counter() - t2
                summary["checks"] = data_checks_task(db)
        except BaseException as exc:
            summary["error"] = redact(f"{type(exc).__name__}: {exc}")
            record_run(db, run_id, "claimwatch-run", "failed", str(inbox), summary, started)
            raise
        summary["queue"] = publish.queue_overview(db, run_id)
        record_run(db, run_id, "claimwatch-run", "committed", str(inbox), summary, started)
        try:
            summary["review_store"]["cases_written"] = push_cases_task(db, store, run_id)
        except BaseException as exc:
            # the data is committed; the next run writes these cases to the store (catch_up)
            summary["error"] = redact(f"review store sync failed: {type(exc).__name__}: {exc}")
            record_run(db, run_id, "claimwatch-run", "sync_failed", str(inbox), summary, started)
            raise
        # the copy is taken from a checkpointed file while this idle connection holds the lock
        db.con.execute("checkpoint")
        t3 = time.perf_counter()
        try:
            summary["published"] = publish.publish_task(settings, run_id, summary)
        except BaseException as exc:
            summary["error"] = redact(f"publish failed: {type(exc).__name__}: {exc}")
            record_run(db, run_id, "claimwatch-run", "publish_failed", str(inbox), summary, started)
            raise
        summary["seconds"]["publish"] = time.perf_counter() - t3
        summary["seconds"]["total"] = time.perf_counter() - t0
        record_run(db, run_id, "claimwatch-run", "completed", str(inbox), summary, started)
    finally:
        store.close()
        db.close()
    return summary


@flow(name="claimwatch-run")
def claimwatch_run(inbox: str | None = None, db: str | None = None) -> dict:
    """Nightly job: 1. ingest the inbox, 2. score the history, 3. refresh the review queue,
    4. publish the analytics copy, the report and the Prefect artifacts."""
    settings = Settings()
    if db:
        settings.db = Path(db)
    return run_pipeline(settings, Path(inbox) if inbox else settings.inbox)
