"""Review-store fixtures: a real PostgreSQL server started by the tests, and a store per test
on SQLite or PostgreSQL (``review_url``, parametrised by ``store_backends``)."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

PG_BIN = Path(os.environ.get("CLAIMWATCH_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args: str) -> list[str]:
    # the server refuses to run as root: run its tools as the postgres OS user
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def fresh_postgres_url(server_url: str) -> str:
    """A URL on a new, empty schema of the test server (one per test: no state shared)."""
    import sqlalchemy as sa

    schema = "t_" + secrets.token_hex(6)
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"create schema {schema}")
    engine.dispose()
    return f"{server_url}?options=-csearch_path%3D{schema}"
