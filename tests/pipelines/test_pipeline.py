"""The parent flow ``claimwatch-run`` under a real Prefect server: completion, artifacts, the
published copy and report, an idempotent second run, and a failed run that changes no data."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import StateType

from claimwatch.pipelines.run import RunSummary, claimwatch_run
from claimwatch.settings import Settings
from claimwatch.store.db import init_database
from tests.helpers import TEST_KEY, write_duplicate_line

pytestmark = pytest.mark.slow

CASE_COLUMNS = (
    "case_id, member_id, status, score, rank, amount_at_risk, claim_ids, reason_codes, reasons, "
    "assigned_to, decision, previous_case_id, opened_run_id"
)


@dataclass
class Run:
    db: Path
    inbox: Path
    state: object
    summary: dict


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def fingerprints(db: Path) -> dict[str, tuple]:
    """Row count and an order-free hash of every data table (the runs table aside)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' and not temporary "
                "and table_name <> 'runs' order by 1"
            ).fetchall()
        ]
        return {
            t: con.execute(f'select count(*), coalesce(sum(hash(t)), 0) from "{t}" as t').fetchall()[0]
            for t in tables
        }
    finally:
        con.close()


def flow_run(state):
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        flow = client.read_flow(run.flow_id)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
    return run, flow, artifacts


@pytest.fixture(scope="module")
def small_inbox(tmp_path_factory) -> Path:
    """400 members: every pattern has an incident, a run takes a few seconds."""
    from claimwatch.sample_data.generator import generate_inbox

    out = tmp_path_factory.mktemp("pipeline") / "inbox"
    generate_inbox(out, members=400, seed=5)
    return out


@pytest.fixture(scope="module")
def first_run(prefect_harness, small_inbox, tmp_path_factory) -> Run:
    db = tmp_path_factory.mktemp("first_run") / "claimwatch.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLAIMWATCH_KEY", TEST_KEY)
        init_database(Settings(db=db))
        state = claimwatch_run(inbox=str(small_inbox), db=str(db), return_state=True)
    result = state.result(raise_on_failure=False)
    return Run(db, small_inbox, state, result.as_dict() if isinstance(result, RunSummary) else result)


def copy_of(run: Run, settings: Settings) -> Path:
    """The first run's database in a fresh directory (no analytics copy, no report yet)."""
    shutil.copyfile(run.db, settings.db)
    return settings.db


def test_run_completes_and_publishes(first_run):
    assert first_run.state.is_completed(), first_run.state
    summary = first_run.summary
    run_id = summary["run_id"]
    run, flow, artifacts = flow_run(first_run.state)
    assert flow.name == "claimwatch-run" and run.state_type == StateType.COMPLETED
    # one table (files) and one markdown (queue) artifact, keyed by the run id
    artifacts = [a for a in artifacts if a.key]
    assert sorted(a.type for a in artifacts) == ["markdown", "table"]
    assert all(run_id.lower() in a.key for a in artifacts)
    markdown = next(a for a in artifacts if a.type == "markdown")
    assert f"claimwatch run {run_id}" in markdown.data and "Top cases" in markdown.data

    cases = query(first_run.db, "select count(*) from cases where rank is not null")[0][0]
    assert cases > 5 and summary["queue"]["open_cases"] == cases == summary["queue"]["opened_this_run"]
    assert all(n == 0 for n in summary["checks"].values())
    assert {f["status"] for f in summary["ingest"]["files"]} == {"loaded"}
    assert query(first_run.db, "select run_id, flow, status, finished_at is not null from runs") == [
        (run_id, "claimwatch-run", "completed", True)
    ]
    # the run wrote its cases to the review store, where reviewers work
    from claimwatch.review.queue import list_cases
    from claimwatch.review.store import open_store
    from claimwatch.review.sync import synced_runs

    store = open_store(Settings(db=first_run.db), create=False)
    try:
        page = list_cases(store)
        assert page.total == cases == summary["review_store"]["cases_written"]
        assert synced_runs(store) == {run_id}
        assert [r["case_id"] for r in page.rows] == [
            r[0]
            for r in query(first_run.db, "select case_id from cases where rank is not null order by rank")
        ]
    finally:
        store.close()
    # the analysts' copy holds the committed queue
    analytics = Path(summary["published"]["analytics_db"])
    assert analytics == Settings(db=first_run.db).resolved_analytics_db
    assert query(analytics, "select count(*) from v_cases where rank is not null") == [(cases,)]
    report = Path(summary["published"]["report"])
    assert report.name == f"report_{run_id}.html" and (report.parent / "latest.html").exists()
    page = report.read_text(encoding="utf-8")
    assert f"claimwatch run {run_id}" in page and page.count("<img") >= 4


def test_second_run_of_the_same_inbox_changes_nothing(first_run, settings):
    assert first_run.state.is_completed()
    db = copy_of(first_run, settings)
    cases_before = query(db, f"select {CASE_COLUMNS} from cases order by case_id")

    state = claimwatch_run(inbox=str(first_run.inbox), db=str(db), return_state=True)

    assert state.is_completed(), state
    summary = state.result().as_dict()
    files = summary["ingest"]["files"]
    assert len(files) == len(list(first_run.inbox.iterdir())) and {f["status"] for f in files} == {"skipped"}
    assert summary["ingest"]["totals"]["rows_loaded"] == 0
    assert summary["queue"]["opened_this_run"] == 0
    assert query(db, f"select {CASE_COLUMNS} from cases order by case_id") == cases_before
    assert [r[0] for r in query(db, "select status from runs order by started_at")] == ["completed"] * 2


def test_failed_run_changes_no_data_and_is_recorded(first_run, settings, tmp_path, monkeypatch):
    assert first_run.state.is_completed()
    db = copy_of(first_run, settings)
    # a new file, so that the failed run has loaded rows to take back
    inbox = tmp_path / "inbox2"
    shutil.copytree(first_run.inbox, inbox)
    member = query(db, "select member_id from cases where rank = 1")[0][0]
    write_duplicate_line(first_run.inbox, member, inbox, "CDUP0000001")
    before = fingerprints(db)

    def exploding_detector(*args, **kwargs):
        raise RuntimeError("detector exploded")

    monkeypatch.setattr("claimwatch.detectors.combine.score_partition", exploding_detector)
    state = claimwatch_run(inbox=str(inbox), db=str(db), return_state=True)

    assert state.is_failed(), state
    run, _, artifacts = flow_run(state)
    # Prefect keeps an unnamed record of the failed state; none of the run's own artifacts exist
    assert run.state_type == StateType.FAILED and [a.key for a in artifacts if a.key] == []
    assert fingerprints(db) == before
    runs = query(db, "select run_id, status, summary_json from runs order by started_at")
    assert [r[1] for r in runs] == ["completed", "failed"]
    failed_id, _, summary_json = runs[1]
    assert "detector exploded" in json.loads(summary_json)["error"]
    # nothing published for the failed run
    assert not Settings(db=db).resolved_analytics_db.exists()
    assert not (Settings(db=db).resolved_report_dir / f"report_{failed_id}.html").exists()
