"""Hand a command's Settings to the flow it runs, without making them flow parameters.

Prefect stores a flow run's parameters in its database, and Settings carry the key: so flows
take only plain parameters (paths), and a command that has built its Settings once passes them
(and its progress display) through this context. A deployment's run has no context and reads
the environment of its worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from claimwatch.ingest.load import Progress
from claimwatch.settings import Settings


@dataclass(frozen=True)
class FlowCall:
    settings: Settings
    progress: Progress | None = None


_CALL: ContextVar[FlowCall | None] = ContextVar("claimwatch_flow_call", default=None)


@contextmanager
def calling(settings: Settings, progress: Progress | None = None) -> Iterator[None]:
    """Make ``settings`` (and ``progress``) those of the flows called inside the block."""
    token = _CALL.set(FlowCall(settings, progress))
    try:
        yield
    finally:
        _CALL.reset(token)


def flow_settings(db: str | None = None) -> tuple[Settings, Progress | None]:
    """The caller's Settings (else the environment's), on ``db`` when the parameter names one."""
    call = _CALL.get()
    settings = call.settings if call else Settings()
    if db and Path(db) != settings.db:
        settings = settings.model_copy(update={"db": Path(db)})
    return settings, call.progress if call else None
