"""Review-store fixtures: a real PostgreSQL server started by the tests, and a store per test
on SQLite or PostgreSQL (``review_url``, parametrised by ``store_backends``)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("CLAIMWATCH_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args: str) -> list[str]:
    # the server refuses to run as root: run its tools as the postgres OS user
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


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


def fresh_postgres_url(server_url: str) -> str:
    """A URL on a new, empty schema of the test server (one per test: no state shared)."""
    import sqlalchemy as sa

    schema = "t_" + secrets.token_hex(6)
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"create schema {schema}")
    engine.dispose()
    return f"{server_url}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def review_url(request, tmp_path: Path) -> str:
    """A review store URL on SQLite (a file in tmp) or on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'claimwatch.review.sqlite'}"
    return fresh_postgres_url(request.getfixturevalue("postgres_server"))
