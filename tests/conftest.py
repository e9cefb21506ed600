"""Shared fixtures: a private Prefect home, the Prefect test harness, settings on a temp db."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

# Before anything imports Prefect: a throw-away home, no telemetry.
_PREFECT_HOME = tempfile.mkdtemp(prefix="claimwatch-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
os.environ.pop("PREFECT_API_URL", None)
for name in [n for n in os.environ if n.startswith("CLAIMWATCH_")]:
    os.environ.pop(name)

from claimwatch.settings import Settings  # noqa: E402
from tests import helpers  # noqa: E402
from tests.helpers import TEST_KEY, Queue, build_queue_db, open_queue  # noqa: E402
from tests.review.postgres import PG_BIN, _as_postgres, _free_port, fresh_postgres_url  # noqa: E402


@pytest.fixture(scope="session")
def prefect_harness():
    """A Prefect test server for the session (real flow runs, fresh database)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings on a fresh database file in a temp dir, with a fixed test key."""
    monkeypatch.setenv("CLAIMWATCH_KEY", TEST_KEY)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return Settings(db=tmp_path / "claimwatch.duckdb", inbox=inbox)


@pytest.fixture(scope="session")
def generated_inbox(tmp_path_factory) -> Path:
    """A small generated inbox (all five fraud patterns), shared by the session."""
    from claimwatch.sample_data.generator import generate_inbox

    out = tmp_path_factory.mktemp("generated") / "inbox"
    generate_inbox(out, members=1500, seed=11)
    return out


# --------------------------------------------------------------------------- review store


@pytest.fixture(scope="session")
def queue_template(tmp_path_factory, generated_inbox) -> Path:
    """The generated inbox ingested and scored once per session (copied by each test)."""
    # a module-level cache: test modules that import this fixture share one build
    if generated_inbox not in helpers._TEMPLATES:
        path = tmp_path_factory.mktemp("queue_template") / "claimwatch.duckdb"
        build_queue_db(path, generated_inbox)
        helpers._TEMPLATES[generated_inbox] = path
    return helpers._TEMPLATES[generated_inbox]


@pytest.fixture
def queue(settings: Settings, queue_template: Path) -> Queue:
    """A private copy of the scored database with its SQLite review store."""
    q = open_queue(settings, queue_template)
    yield q
    q.store.close()
    q.db.close()


@pytest.fixture
def any_queue(settings: Settings, queue_template: Path, review_url: str) -> Queue:
    """The same on SQLite and on the test PostgreSQL server."""
    q = open_queue(settings, queue_template, review_url)
    yield q
    q.store.close()
    q.db.close()


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL cluster on a free loopback port; yields its base URL."""
    if not (PG_BIN / "pg_ctl").exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL binaries missing in CI ({PG_BIN}): .ci/run installs `postgresql`")
        pytest.skip(f"PostgreSQL binaries not installed ({PG_BIN}); apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="claimwatch-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"),
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {sock} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        _as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"
        ),
        check=True,
        capture_output=True,
    )
    base = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + 30
        while True:
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("create database claimwatch_test")
                break
            except sa.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        engine.dispose()
        yield f"{base}/claimwatch_test"
    finally:
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def review_url(request, tmp_path: Path) -> str:
    """A review store URL on SQLite (a file in tmp) or on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'claimwatch.review.sqlite'}"
    return fresh_postgres_url(request.getfixturevalue("postgres_server"))
