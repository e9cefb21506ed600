"""Deployments: what ``claimwatch serve`` registers and runs, and prefect.yaml's counterpart.

Against the session's Prefect test server (a real API server, which can hold schedules).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import yaml

from claimwatch.pipelines import deployments
from claimwatch.pipelines.deployments import (
    NIGHTLY,
    PURGE,
    build_deployments,
    make_runner,
    register_deployments,
)
from claimwatch.pipelines.purge import purge_flow
from claimwatch.pipelines.run import claimwatch_run
from claimwatch.settings import Settings
from claimwatch.store.db import init_database

REPO = Path(__file__).resolve().parents[2]
FLOWS = {NIGHTLY: claimwatch_run, PURGE: purge_flow}

IBAN_A = "FR7630006000011234567890189"
MEMBER_HEADER = (
    "member_id,subscriber_id,birth_date,sex,postcode,contract_start,nir,email,phone,iban,last_name,first_name"
)
CLAIM_HEADER = (
    "claim_id,member_id,care_date,received_date,source,care_category,act_code,provider_id,"
    "provider_postcode,billed_amount,ro_amount,claimed_amount,payee,payee_iban"
)
MEMBERS = f"""{MEMBER_HEADER}
M1,S1,1980-05-04,M,75011,2020-01-01,,,,{IBAN_A},Dupont,Jean
M2,S1,1982-07-01,F,75011,2020-01-01,,,,{IBAN_A},Dupont,Marie
"""
CLAIMS = f"""{CLAIM_HEADER}
C1,M1,2025-03-01,2025-03-04,noemie,consultation,G,10001234567,75011,30.00,19.00,9.00,member,{IBAN_A}
C2,M2,2025-03-02,2025-03-05,noemie,pharmacy,PH4,10001234567,75011,20.00,13.00,7.00,member,{IBAN_A}
"""


def child_pids() -> set[int]:
    """Direct child processes of this process (Linux /proc; empty elsewhere)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid():
            pids.add(int(stat.parent.name))
    return pids


def read_deployment(client, deployment_id):
    deployment = client.read_deployment(deployment_id)
    schedules = [(s.schedule.cron, s.schedule.timezone, s.active) for s in deployment.schedules]
    return deployment, schedules


def test_serve_registers_both_deployments_and_runs_the_nightly_one(prefect_harness, settings: Settings):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    (settings.inbox / "members.csv").write_text(MEMBERS, encoding="utf-8")
    (settings.inbox / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    init_database(settings)
    children_before = child_pids()
    threads_before = set(threading.enumerate())

    ids = register_deployments(settings)

    db, inbox = str(settings.db.resolve()), str(settings.inbox.resolve())
    with get_client(sync_client=True) as client:
        nightly, nightly_schedules = read_deployment(client, ids[0])
        purge, purge_schedules = read_deployment(client, ids[1])
    assert (nightly.name, purge.name) == (NIGHTLY, PURGE)
    assert nightly_schedules == [("0 2 * * *", "Europe/Paris", True)]
    assert purge_schedules == [("0 3 * * 0", "Europe/Paris", True)]
    assert nightly.parameters == {"inbox": inbox, "db": db}
    assert purge.parameters == {"db": db}
    # the installed modules, wherever the operator starts `claimwatch serve`
    assert nightly.entrypoint == deployments.ENTRYPOINTS[NIGHTLY] == "claimwatch.pipelines.run.claimwatch_run"
    assert purge.entrypoint == deployments.ENTRYPOINTS[PURGE] == "claimwatch.pipelines.purge.purge_flow"

    # what `claimwatch serve` runs, for one polling round instead of forever
    runner = make_runner(settings, limit=1, pause_on_shutdown=False)
    flow_run = run_deployment(f"{claimwatch_run.name}/{NIGHTLY}", timeout=0)
    assert flow_run.state.is_scheduled()
    sigterm = signal.getsignal(signal.SIGTERM)  # the runner installs its own handler
    try:
        asyncio.run(asyncio.wait_for(runner.start(run_once=True), timeout=120))
    finally:
        signal.signal(signal.SIGTERM, sigterm)

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run.id).state
    assert state.is_completed(), f"{state.type}: {state.message}"
    con = duckdb.connect(db, read_only=True)
    try:
        assert con.execute("select count(*) from claims").fetchall() == [(2,)]
        assert con.execute("select status from runs").fetchall() == [("completed",)]
    finally:
        con.close()
    # the flow-run subprocess is gone and nothing of ours keeps running
    assert child_pids() <= children_before
    assert not [t for t in set(threading.enumerate()) - threads_before if not t.daemon]


def load_prefect_yaml() -> dict:
    return yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))


def test_prefect_yaml_declares_the_same_deployments_as_serve():
    from prefect.flows import load_flow_from_entrypoint

    config = load_prefect_yaml()
    served = {d.name: d for d in build_deployments(Settings(_env_file=None))}
    declared = {d["name"]: d for d in config["deployments"]}
    assert declared.keys() == served.keys() == {NIGHTLY, PURGE}
    assert config["pull"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $CLAIMWATCH_HOME }}"}}
    ]
    for name, spec in declared.items():
        assert spec["entrypoint"] == deployments.ENTRYPOINTS[name]
        schedule = served[name].schedules[0].schedule
        assert spec["schedules"] == [{"cron": schedule.cron, "timezone": schedule.timezone, "active": True}]
        assert spec["parameters"] == {}  # inbox, db and key come from the worker's environment
        assert spec["work_pool"]["name"] == "claimwatch"
        assert spec["concurrency_limit"] == 1
        # the entrypoint is a real flow function of the installed package
        loaded = load_flow_from_entrypoint(spec["entrypoint"])
        assert loaded.name == FLOWS[name].name
    assert "prefect work-pool create claimwatch --type process" in (REPO / "prefect.yaml").read_text()


def test_prefect_deploy_accepts_prefect_yaml(prefect_harness):
    """`prefect deploy --all` registers both deployments on a `process` work pool."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.settings import get_current_settings

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name="claimwatch", type="process"))
        except ObjectAlreadyExists:
            pass
    env = {**os.environ, "PREFECT_API_URL": get_current_settings().api.url}
    done = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    config = load_prefect_yaml()
    with get_client(sync_client=True) as client:
        assert client.read_work_pool("claimwatch").type == "process"
        for spec in config["deployments"]:
            flow_name = FLOWS[spec["name"]].name
            deployment = client.read_deployment_by_name(f"{flow_name}/{spec['name']}")
            assert deployment.work_pool_name == "claimwatch"
            assert deployment.entrypoint == spec["entrypoint"]
            assert deployment.pull_steps == config["pull"]
            assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == [
                (spec["schedules"][0]["cron"], spec["schedules"][0]["timezone"])
            ]
