"""The parent flow ``claimwatch-run``: ingest → score → queue, then publish.

Steps 1–2 run in one database transaction: a failed run leaves the database as it was (only
the ``runs`` table records the failure). Publishing (analytics copy, report, artifacts) runs
after the commit; when it fails the run stays committed, says so, and the next run publishes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from claimwatch.errors import PublishFailed
from claimwatch.ingest.load import IngestSummary, Progress, ingest_batch
from claimwatch.pipelines.context import calling, flow_settings
from claimwatch.publish import artifacts as publish
from claimwatch.publish.analytics import remove_stale_copies
from claimwatch.review.store import ReviewStore, open_store
from claimwatch.review.sync import catch_up, pull_review_state, push_run
from claimwatch.scoring.score import (
    ScoreSteps,
    ScoreSummary,
    build_features,
    detect,
    refresh_queue,
    run_checks,
    score_and_queue,
    write_scores,
)
from claimwatch.settings import Settings
from claimwatch.store.db import Database, connect, resource_error
from claimwatch.store.privacy import redact
from claimwatch.store.runs import new_run_id, pause_point, record_run

FLOW_NAME = "claimwatch-run"


def _first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else "failed"


@dataclass
class RunSummary:
    """What one run did; ``as_dict`` is what the runs table, ``--json`` and artifacts carry."""

    run_id: str
    inbox: str
    db: str
    status: str = "running"  # running | committed | completed | failed | publish_failed
    ingest: IngestSummary = field(default_factory=IngestSummary)
    score: ScoreSummary = field(default_factory=ScoreSummary)
    checks: dict[str, int] = field(default_factory=dict)
    review_store: dict = field(default_factory=dict)  # decisions read at the start, cases written at the end
    queue: dict = field(default_factory=dict)
    published: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "inbox": self.inbox,
            "db": self.db,
            "status": self.status,
            "ingest": self.ingest.as_dict(),
            "score": self.score.as_dict(),
            "checks": self.checks,
            "review_store": self.review_store,
            "queue": self.queue,
            "published": self.published,
            "seconds": self.seconds,
            "error": self.error,
        }


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
def data_checks_task(db: Database, since: datetime | None = None) -> dict[str, int]:
    """Assert the data checks (sql/checks) before the run commits (the rows loaded ``since``)."""
    return run_checks(db, since)


PREFECT_STEPS = ScoreSteps(build_features_task, detect_task, write_scores_task, refresh_queue_task)


def run_pipeline(
    settings: Settings, inbox: Path, progress: Progress | None = None, full: bool = False
) -> RunSummary:
    """Ingest, score and refresh the queue atomically, then publish; return the summary.
    ``full`` rebuilds every feature and the portfolio aggregates instead of what the new data
    touches.

    Raises the run's error after recording it; a publishing failure after the commit raises
    ``PublishFailed`` (the data stays committed)."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    db = connect(settings)  # also marks runs a killed process left running as crashed
    try:
        store = open_store(settings)
    except BaseException:
        db.close()
        raise
    remove_stale_copies(settings)
    summary = RunSummary(run_id=new_run_id(), inbox=str(inbox), db=str(settings.db))

    def record(status: str) -> None:
        summary.status = status
        record_run(db, summary.run_id, FLOW_NAME, status, str(inbox), summary.as_dict(), started)

    try:
        record("running")
        try:
            with db.transaction():
                # reviewers' decisions made since the last run, before scoring reads them
                t1 = time.perf_counter()
                summary.review_store = pull_review_state_task(db, store)
                summary.seconds["review_pull"] = time.perf_counter() - t1
                t1 = time.perf_counter()
                summary.ingest = ingest_batch(db, inbox, summary.run_id, progress)
                summary.seconds["ingest"] = time.perf_counter() - t1
                t2 = time.perf_counter()
                summary.score = score_and_queue(db, settings, summary.run_id, PREFECT_STEPS, full=full)
                summary.seconds["score"] = time.perf_counter() - t2
                pause_point("score")
                # a full rebuild checks the whole history, a nightly run what it loaded
                t2 = time.perf_counter()
                summary.checks = data_checks_task(db, None if full else started)
                summary.seconds["checks"] = time.perf_counter() - t2
                t2 = time.perf_counter()
        except BaseException as exc:
            failure = resource_error(exc, settings)
            summary.error = redact(f"{type(failure).__name__}: {failure}")
            record("failed")
            if failure is not exc:
                raise failure from None
            raise
        summary.seconds["commit"] = time.perf_counter() - t2
        summary.queue = publish.queue_overview(db, summary.run_id)
        record("committed")
        t2 = time.perf_counter()
        try:
            summary.review_store["cases_written"] = push_cases_task(db, store, summary.run_id)
        except Exception as exc:
            # the data is committed; the next run writes these cases to the store (catch_up)
            summary.error = redact(f"review store sync failed: {type(exc).__name__}: {exc}")
            record("sync_failed")
            raise PublishFailed(
                f"run {summary.run_id} committed; writing its cases to the review store failed: "
                f"{_first_line(summary.error)}; the next run writes them"
            ) from exc
        summary.seconds["review_push"] = time.perf_counter() - t2
        # the copy is taken from a checkpointed file while this idle connection holds the lock
        t2 = time.perf_counter()
        db.con.execute("checkpoint")
        summary.seconds["checkpoint"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        try:
            summary.published = publish.publish_task(settings, summary.run_id, summary.as_dict())
        except Exception as exc:
            failure = resource_error(exc, settings)
            text = str(failure).strip()
            reason = redact(text.splitlines()[0] if text else type(failure).__name__)
            summary.error = f"publish failed: {reason}"
            remove_stale_copies(settings)  # a partial copy must not keep the disk full
            try:
                record("publish_failed")
            except Exception:  # noqa: BLE001 - the next open marks the run publish_failed anyway
                pass
            raise PublishFailed(
                f"run {summary.run_id} committed; publishing failed: {reason}; it is retried on the next run"
            ) from exc
        summary.seconds["publish"] = time.perf_counter() - t3
        summary.seconds["total"] = time.perf_counter() - t0
        record("completed")
    finally:
        store.close()
        db.close()
    return summary


@flow(name=FLOW_NAME)
def claimwatch_run(inbox: str | None = None, db: str | None = None, full: bool = False) -> RunSummary:
    """Nightly job: 1. ingest the inbox, 2. score what it touches (everything with ``full``),
    3. refresh the review queue, 4. publish the analytics copy, the report and the artifacts."""
    settings, progress = flow_settings(db)
    return run_pipeline(settings, Path(inbox) if inbox else settings.inbox, progress, full=full)


def run_with(settings: Settings, progress: Progress | None = None, *, full: bool = False) -> RunSummary:
    """Run the flow on a command's Settings (built once by the command)."""
    with calling(settings, progress):
        return claimwatch_run(inbox=str(settings.inbox), db=str(settings.db), full=full)
