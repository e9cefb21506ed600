"""The retention flow ``claimwatch-purge`` (scheduled weekly by ``claimwatch serve``)."""

from __future__ import annotations

from prefect import flow

from claimwatch.pipelines.context import calling, flow_settings
from claimwatch.publish.analytics import publish_analytics_copy
from claimwatch.review.retention import purge
from claimwatch.review.store import open_store
from claimwatch.settings import Settings
from claimwatch.store.db import connect


@flow(name="claimwatch-purge")
def purge_flow(db: str | None = None) -> dict[str, int]:
    """Weekly retention purge of the review queue."""
    settings, _ = flow_settings(db)
    database = connect(settings)
    store = open_store(settings)
    try:
        counts = purge(database, store)
        database.con.execute("checkpoint")
        if settings.resolved_analytics_db.exists():
            # analysts must not keep reading what retention removed
            publish_analytics_copy(settings)
        return counts
    finally:
        store.close()
        database.close()


def purge_with(settings: Settings) -> dict[str, int]:
    """Run the purge flow on a command's Settings."""
    with calling(settings):
        return purge_flow(db=str(settings.db))
