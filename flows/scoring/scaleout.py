"""Scale-out scoring: fan the member partitions out to an existing Dask cluster.

When to use it: a portfolio whose scoring (rules + PyOD ensemble) no longer fits one machine's
nightly time window. Set ``CLAIMWATCH_DASK_ADDRESS`` (e.g. ``tcp://scheduler:8786``) and
``CLAIMWATCH_SCORE_PARTITIONS``; :func:`claimwatch.scoring.score.detect` then calls
:func:`score_on_dask` instead of scoring locally. Everything else (ingest, SQL features, the
ensemble fit, writing scores, the queue) stays on the machine that owns the DuckDB file.

How: the inputs are split by member hash (:func:`claimwatch.detectors.combine.split`), each
partition is scored by :func:`~claimwatch.detectors.combine.score_partition` as a Prefect task
on a :class:`prefect_dask.DaskTaskRunner`, inside the subflow ``claimwatch-score-partitions``,
and the results are merged. A partition holds every input of its members and the model is
fitted once beforehand, so the result is the one of local scoring (same rows, same scores).

Needs a real Prefect server (``prefect server start`` + ``PREFECT_API_URL``): without one,
every Dask worker would start its own temporary Prefect server (slow, and the task runs would
be recorded nowhere useful; see shared/STACK_NOTES.md). The Dask workers need claimwatch
installed (same version) and no access to the database or the pseudonymisation key: they only
receive pseudonymised member frames and the fitted model, and return frames.

Privacy: member frames are handed to the subflow in an opaque holder, so Prefect does not try
to store them as flow-run parameters in its database; task results are not persisted.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from claimwatch.detectors import combine
from claimwatch.detectors.combine import Partition
from claimwatch.detectors.config import DEFAULT_CONFIG, DetectionConfig
from claimwatch.detectors.feedback import FeedbackContext
from claimwatch.errors import ClaimwatchError
from claimwatch.settings import Settings

FLOW_NAME = "claimwatch-score-partitions"
# Fail fast: seconds to reach the scheduler, then to see at least one worker.
CONNECT_TIMEOUT_S = 10
WORKERS_TIMEOUT_S = 30


class ScaleOutError(ClaimwatchError):
    """The Dask path cannot run (scheduler unreachable, no worker, no Prefect server)."""


class _Opaque:
    """Holds the inputs of the subflow without exposing them to Prefect's parameter encoder
    (no ``__dict__``, not iterable): the flow run records ``<_Opaque>``, not member data."""

    __slots__ = ("value",)

    def __init__(self, value: object):
        self.value = value


@dataclass
class _Inputs:
    parts: list[Partition]
    providers: pl.DataFrame
    model: object
    chunk_size: int
    config: DetectionConfig = DEFAULT_CONFIG
    context: FeedbackContext | None = None


@task(
    name="score-partition",
    cache_policy=NO_CACHE,
    persist_result=False,
    task_run_name="score-partition-{index}",
)
def score_partition_task(
    index: int,
    part: Partition,
    providers: pl.DataFrame,
    model: object,
    chunk_size: int,
    config: DetectionConfig = DEFAULT_CONFIG,
    context: FeedbackContext | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rules and ensemble on one member-hash partition (runs on a Dask worker)."""
    # Tasks of a worker's threads may share one unpickled model (in-process clusters do not
    # copy it at all), and some PyOD detectors write to themselves while scoring (ECOD): each
    # task scores with its own copy.
    return combine.score_partition(part, providers, copy.deepcopy(model), chunk_size, config, context)


@flow(name=FLOW_NAME, validate_parameters=False, persist_result=False)
def score_partitions_flow(inputs: _Opaque) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Score every partition as a task on the flow's task runner and merge the results."""
    job: _Inputs = inputs.value
    futures = [
        score_partition_task.submit(
            i, part, job.providers, job.model, job.chunk_size, job.config, job.context
        )
        for i, part in enumerate(job.parts)
    ]
    return combine.merge([f.result() for f in futures])


def check_scheduler(
    address: str, connect_timeout: float | None = None, workers_timeout: float | None = None
) -> int:
    """Connect to the scheduler and wait for a worker; return the worker count or raise
    :class:`ScaleOutError` with a one-line message naming the address."""
    from distributed import Client

    connect_timeout = CONNECT_TIMEOUT_S if connect_timeout is None else connect_timeout
    workers_timeout = WORKERS_TIMEOUT_S if workers_timeout is None else workers_timeout

    try:
        client = Client(address, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScaleOutError(
            f"cannot reach the Dask scheduler at {address} (CLAIMWATCH_DASK_ADDRESS): {reason}"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=workers_timeout)
        except TimeoutError:
            raise ScaleOutError(
                f"the Dask scheduler at {address} has no worker after {workers_timeout:g} s"
            ) from None
        return len(client.scheduler_info(n_workers=-1)["workers"])
    finally:
        client.close()


def _check_prefect_server() -> None:
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        raise ScaleOutError(
            "scoring on Dask needs a Prefect server: run `prefect server start --host 127.0.0.1` "
            "and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )


def score_on_dask(
    whole: Partition,
    providers: pl.DataFrame,
    model: object,
    settings: Settings,
    config: DetectionConfig = DEFAULT_CONFIG,
    context: FeedbackContext | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Score ``whole`` partitioned by member hash on the Dask cluster at
    ``settings.dask_address``; same (member results, claim flags) as local scoring."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise ScaleOutError("scoring on Dask needs the dask extra: pip install 'claimwatch[dask]'") from None

    address = settings.dask_address
    if not address:
        raise ScaleOutError("no Dask scheduler configured (CLAIMWATCH_DASK_ADDRESS)")
    _check_prefect_server()
    check_scheduler(address)
    parts = combine.split(whole, max(settings.score_partitions, 1))
    job = _Inputs(parts, providers, model, settings.score_chunk_size, config, context)
    runner = DaskTaskRunner(address=address, client_kwargs={"timeout": CONNECT_TIMEOUT_S})
    return score_partitions_flow.with_options(task_runner=runner)(_Opaque(job))
