"""The parent flow ``claimwatch-run``: ingest → score → queue, then publish.

Steps 1–2 run in one database transaction: a failed run leaves the database as it was (only
the ``runs`` table records the failure). Publishing (analytics copy, report, artifacts) runs
after the commit.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from claimwatch.ingest.load import Progress, ingest_batch
from claimwatch.publish import artifacts as publish
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
def build_features_task(db: Database, full: bool, refresh_aggregates, settings: Settings, run_id: str):
    """Bring the persisted SQL feature families up to date (what the new data touches, or all)."""
    return build_features(db, full, refresh_aggregates, settings, run_id)


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


@task(name="data-checks", cache_policy=NO_CACHE)
def data_checks_task(db: Database) -> dict[str, int]:
    """Assert the data checks (sql/checks) before the run commits."""
    return run_checks(db)


PREFECT_STEPS = ScoreSteps(build_features_task, detect_task, write_scores_task, refresh_queue_task)


def run_pipeline(
    settings: Settings, inbox: Path, progress: Progress | None = None, full: bool = False
) -> dict:
    """Ingest, score and refresh the queue atomically, then publish; return the summary."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    db = connect(settings)
    run_id = new_run_id()
    summary: dict = {"run_id": run_id, "inbox": str(inbox), "db": str(settings.db)}
    try:
        record_run(db, run_id, "claimwatch-run", "running", str(inbox), None, started)
        try:
            with db.transaction():
                t1 = time.perf_counter()
                ingest = ingest_batch(db, inbox, run_id, progress)
                summary["ingest"] = ingest.as_dict()
                summary["seconds"] = {"ingest": time.perf_counter() - t1}
                t2 = time.perf_counter()
                summary["score"] = score_and_queue(db, settings, run_id, PREFECT_STEPS, full=full).as_dict()
                summary["seconds"]["score"] = time.perf_counter() - t2
                summary["checks"] = data_checks_task(db)
        except BaseException as exc:
            summary["error"] = redact(f"{type(exc).__name__}: {exc}")
            record_run(db, run_id, "claimwatch-run", "failed", str(inbox), summary, started)
            if isinstance(exc, duckdb.OutOfMemoryException):
                raise MemoryError(
                    f"DuckDB ran out of memory at its limit of {settings.resolved_memory_limit} "
                    "(it spills to <db>.tmp beyond it, but some steps cannot): raise "
                    "CLAIMWATCH_MEMORY_LIMIT (e.g. CLAIMWATCH_MEMORY_LIMIT=4GB) or lower CLAIMWATCH_THREADS"
                ) from None
            raise
        summary["queue"] = publish.queue_overview(db, run_id)
        record_run(db, run_id, "claimwatch-run", "committed", str(inbox), summary, started)
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
        db.close()
    return summary


@flow(name="claimwatch-run")
def claimwatch_run(inbox: str | None = None, db: str | None = None, full: bool = False) -> dict:
    """Nightly job: 1. ingest the inbox, 2. score what it touches (everything with ``full``),
    3. refresh the review queue, 4. publish the analytics copy, the report and the artifacts."""
    settings = Settings()
    if db:
        settings.db = Path(db)
    return run_pipeline(settings, Path(inbox) if inbox else settings.inbox, full=full)
