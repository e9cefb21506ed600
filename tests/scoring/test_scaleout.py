"""Scoring on a Dask cluster through Prefect's Dask task runner equals local scoring.

The cluster is a ``distributed.LocalCluster`` with two single-threaded workers in this process
(``processes=False``) over TCP on loopback, so every input and result is serialised as on a
real cluster. Worker processes (``processes=True``) reach the test server as well (Prefect
sends its settings with every task) but cost ~10 s to start on two cores.
"""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from claimwatch.detectors import combine
from claimwatch.ingest.load import ingest_batch
from claimwatch.scoring import scaleout
from claimwatch.scoring.score import build_features, prepare, score_and_queue
from claimwatch.settings import Settings
from claimwatch.store.db import connect
from tests.helpers import TEST_KEY

pytest.importorskip("prefect_dask", reason="needs the dask extra: pip install -e '.[dask]'")

PARTITIONS = 4

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def ingested(generated_inbox: Path, tmp_path_factory) -> Path:
    """A database holding the generated inbox (ingested once, copied by the tests)."""
    db_path = tmp_path_factory.mktemp("scaleout") / "ingested.duckdb"
    settings = Settings(db=db_path, inbox=generated_inbox, key=TEST_KEY)
    db = connect(settings, create=True)
    try:
        with db.transaction():
            ingest_batch(db, settings.inbox, "ingest-1", tasks=False)
        db.con.execute("checkpoint")
    finally:
        db.close()
    return db_path


def copy_db(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


def settings_for(db: Path, inbox: Path, address: str | None = None) -> Settings:
    return Settings(db=db, inbox=inbox, key=TEST_KEY, dask_address=address, score_partitions=PARTITIONS)


def test_dask_scores_equal_local_scores(ingested, generated_inbox, cluster, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, TaskRunFilter
    from prefect.client.schemas.sorting import FlowRunSort

    settings = settings_for(
        copy_db(ingested, tmp_path / "x.duckdb"), generated_inbox, cluster.scheduler_address
    )
    db = connect(settings, create=True)
    try:
        build_features(db)
        whole, providers, model = prepare(db, settings)
    finally:
        db.close()
    local_members, local_flags = combine.score_partition(whole, providers, model, settings.score_chunk_size)

    members, flags = scaleout.score_on_dask(whole, providers, model, settings)

    # worth something only if there is something to find
    assert model is not None and local_members.filter(pl.col("is_candidate")).height > 10
    assert local_flags.height > 10
    assert_frame_equal(members, local_members.sort("member_id"), check_exact=False, rel_tol=0, abs_tol=1e-9)
    assert_frame_equal(
        flags,
        local_flags.sort("member_id", "claim_id", "reason_code"),
        check_exact=False,
        rel_tol=0,
        abs_tol=1e-9,
    )

    # the partitions ran as tasks reported by the Dask workers to the test server, and the
    # subflow's parameters there hold no member data
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[scaleout.FLOW_NAME])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
        assert runs and runs[0].state.is_completed()
        assert runs[0].parameters == {"inputs": "<_Opaque>"}
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id={"any_": [runs[0].id]}), task_run_filter=TaskRunFilter()
        )
    assert sorted(t.name for t in tasks) == [f"score-partition-{i}" for i in range(PARTITIONS)]
    assert all(t.state.is_completed() for t in tasks)


QUEUE = """
    select member_id, status, score, rule_score, ensemble_score, amount_at_risk, claim_ids,
        reason_codes, reasons, opened_run_id, last_run_id
    from cases order by member_id
"""
SCORES = "select * from member_scores order by member_id"
FLAGS = "select * from claim_scores order by member_id, claim_id, reason_code"
CASE_LINES = """
    select c.member_id, cc.claim_id from case_claims cc join cases c using (case_id)
    order by 1, 2
"""


def run_and_read(settings: Settings) -> tuple[object, dict[str, pl.DataFrame]]:
    db = connect(settings, create=True)
    try:
        with db.transaction():
            summary = score_and_queue(db, settings, "score-1")
        tables = {
            name: db.con.sql(sql).pl()
            for name, sql in {
                "queue": QUEUE,
                "scores": SCORES,
                "flags": FLAGS,
                "case_lines": CASE_LINES,
            }.items()
        }
    finally:
        db.close()
    return summary, tables


def test_queue_after_dask_scoring_equals_queue_after_local_scoring(
    ingested, generated_inbox, cluster, tmp_path
):
    local_summary, local = run_and_read(
        settings_for(copy_db(ingested, tmp_path / "local.duckdb"), generated_inbox)
    )
    dask_summary, dask = run_and_read(
        settings_for(copy_db(ingested, tmp_path / "dask.duckdb"), generated_inbox, cluster.scheduler_address)
    )

    assert local["queue"].height > 10
    assert (
        dask_summary.members_scored,
        dask_summary.members_flagged,
        dask_summary.claim_flags,
        dask_summary.cases_opened,
    ) == (
        local_summary.members_scored,
        local_summary.members_flagged,
        local_summary.claim_flags,
        local_summary.cases_opened,
    )
    for name, frame in local.items():
        try:
            assert_frame_equal(dask[name], frame, check_exact=False, rel_tol=0, abs_tol=1e-9)
        except AssertionError as exc:
            raise AssertionError(f"table {name} differs: {exc}") from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_fails_fast_naming_the_address(monkeypatch):
    address = f"tcp://127.0.0.1:{free_port()}"
    monkeypatch.setattr(scaleout, "CONNECT_TIMEOUT_S", 1)
    empty = combine.Partition(
        *(pl.DataFrame({"member_id": []}, schema={"member_id": pl.String}) for _ in range(4))
    )
    settings = Settings(dask_address=address)
    t0 = time.perf_counter()
    with pytest.raises(scaleout.ScaleOutError) as error:
        scaleout.score_on_dask(empty, pl.DataFrame(), None, settings)
    assert time.perf_counter() - t0 < 10
    message = str(error.value)
    assert address in message and "\n" not in message
    assert message.startswith("cannot reach the Dask scheduler")


def test_dask_path_needs_a_prefect_server():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    empty = combine.Partition(*(pl.DataFrame() for _ in range(4)))
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with pytest.raises(scaleout.ScaleOutError, match="PREFECT_API_URL"):
            scaleout.score_on_dask(empty, pl.DataFrame(), None, Settings(dask_address="tcp://127.0.0.1:1"))
