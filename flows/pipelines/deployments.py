"""Prefect deployments: the nightly run and the weekly retention purge, with cron schedules.

Schedules need a real Prefect server (``prefect server start --host 127.0.0.1`` +
``PREFECT_API_URL``); the temporary server cannot schedule. ``claimwatch serve`` registers
both deployments and runs their flow runs in subprocesses of this process until interrupted.
``prefect.yaml`` at the repository root describes the same deployments for insurers who run
them through a ``process`` work pool and ``prefect worker start`` instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from uuid import UUID

from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from claimwatch.errors import ServerUnreachable
from claimwatch.pipelines.purge import purge_flow
from claimwatch.pipelines.run import claimwatch_run
from claimwatch.settings import Settings

NIGHTLY = "claimwatch-nightly"
PURGE = "claimwatch-weekly-purge"
TAGS = ["claimwatch"]
# One entrypoint name per flow: the installed module path, used by `claimwatch serve` and by
# prefect.yaml alike, so a worker finds the flow wherever claimwatch is installed.
ENTRYPOINTS = {
    NIGHTLY: "claimwatch.pipelines.run.claimwatch_run",
    PURGE: "claimwatch.pipelines.purge.purge_flow",
}


def build_deployments(settings: Settings) -> list[RunnerDeployment]:
    """Return the runner deployments with their schedules and parameters from settings."""
    db = str(settings.db.resolve())
    inbox = str(settings.inbox.resolve())
    nightly = claimwatch_run.to_deployment(
        name=NIGHTLY,
        schedules=[Cron(settings.nightly_cron, timezone=settings.timezone)],
        parameters={"inbox": inbox, "db": db},
        description="Ingest the inbox, score, refresh the review queue, publish.",
        tags=TAGS,
        concurrency_limit=1,  # one writer at a time on the DuckDB file
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    weekly = purge_flow.to_deployment(
        name=PURGE,
        schedules=[Cron(settings.purge_cron, timezone=settings.timezone)],
        parameters={"db": db},
        description="Retention purge of the review queue (CNIL practice).",
        tags=TAGS,
        concurrency_limit=1,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return [nightly, weekly]


def check_server(timeout_s: float = 5.0) -> str:
    """Return the Prefect API URL once its server answers; else one ServerUnreachable line."""
    import httpx
    from prefect.settings import get_current_settings

    # the environment first: it is what the runner started next will use
    url = os.environ.get("PREFECT_API_URL") or get_current_settings().api.url
    if not url:
        raise ServerUnreachable(
            "schedules need a Prefect server: start `prefect server start --host 127.0.0.1` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=timeout_s)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ServerUnreachable(
            f"the Prefect server at {url} does not answer ({type(exc).__name__}): start it with "
            "`prefect server start --host 127.0.0.1` or fix PREFECT_API_URL"
        ) from None
    return url


def register_deployments(settings: Settings) -> list[UUID]:
    """Create or update both deployments on the Prefect server; return their ids."""
    return [deployment.apply() for deployment in build_deployments(settings)]


def make_runner(settings: Settings, *, limit: int | None = None, pause_on_shutdown: bool = True):
    """A Prefect runner with both deployments added (registered on the server)."""
    from prefect.runner import Runner

    runner = Runner(name="claimwatch", limit=limit, pause_on_shutdown=pause_on_shutdown)
    for deployment in build_deployments(settings):
        runner.add_deployment(deployment)
    return runner


def describe(settings: Settings) -> list[str]:
    """One line per served deployment: full name, schedule and timezone."""
    return [
        f"claimwatch-run/{NIGHTLY}: cron '{settings.nightly_cron}' ({settings.timezone})",
        f"claimwatch-purge/{PURGE}: cron '{settings.purge_cron}' ({settings.timezone})",
    ]


def serve_deployments(settings: Settings, announce: Callable[[str], object] = print) -> None:
    """Register the deployments and run them on schedule until interrupted (Ctrl+C, SIGTERM);
    schedules are paused on shutdown and active again at the next start."""
    from prefect.exceptions import TerminationSignal
    from prefect.settings import get_current_settings

    runner = make_runner(settings)
    for line in describe(settings):
        announce(f"serving {line}")
    ui = get_current_settings().ui_url
    if ui:
        announce(f"Prefect UI: {ui}")
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        announce("stopped")
