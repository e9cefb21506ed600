"""Prefect deployments: the nightly run and the weekly retention purge, with cron schedules.

Schedules need a real Prefect server (``prefect server start`` + ``PREFECT_API_URL``); the
temporary server cannot schedule. ``prefect.yaml`` at the repository root describes the same
deployments for insurers who run them through a work pool.
"""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from claimwatch.pipeline import claimwatch_run
from claimwatch.retention import purge_flow
from claimwatch.settings import Settings

NIGHTLY = "claimwatch-nightly"
PURGE = "claimwatch-weekly-purge"


def build_deployments(settings: Settings) -> list:
    """Return the runner deployments with their schedules and parameters from settings."""
    db = str(settings.db.resolve())
    inbox = str(settings.inbox.resolve())
    nightly = claimwatch_run.to_deployment(
        name=NIGHTLY,
        schedules=[Cron(settings.nightly_cron, timezone=settings.timezone)],
        parameters={"inbox": inbox, "db": db},
        description="Ingest the inbox, score, refresh the review queue, publish.",
        tags=["claimwatch"],
        concurrency_limit=1,  # one writer at a time on the DuckDB file
    )
    weekly = purge_flow.to_deployment(
        name=PURGE,
        schedules=[Cron(settings.purge_cron, timezone=settings.timezone)],
        parameters={"db": db},
        description="Retention purge of the review queue (CNIL practice).",
        tags=["claimwatch"],
        concurrency_limit=1,
    )
    return [nightly, weekly]


def serve_deployments(settings: Settings) -> None:
    """Register the deployments and run them on schedule until interrupted."""
    serve(*build_deployments(settings))
