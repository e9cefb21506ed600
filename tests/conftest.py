"""Shared fixtures: a private Prefect home, the Prefect test harness, settings on a temp db."""

from __future__ import annotations

import os
import tempfile
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

TEST_KEY = "test-key-0123456789abcdef0123456789abcdef"


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


def loaded_database(db_path: Path, inbox: Path, *, score: bool = True):
    """Open a real database with the test key, ingest ``inbox`` and (by default) score it.

    Ingest and scoring commit separately, as runs ids ``ingest-1`` and ``score-1``; the
    caller closes the returned Database."""
    from claimwatch.ingest.load import ingest_batch
    from claimwatch.scoring.score import score_and_queue
    from claimwatch.store.db import connect

    with pytest.MonkeyPatch.context() as mp:  # the key is read once, at connect
        mp.setenv("CLAIMWATCH_KEY", TEST_KEY)
        settings = Settings(db=db_path, inbox=inbox)
        db = connect(settings, create=True)
    try:
        with db.transaction():
            ingest_batch(db, inbox, "ingest-1", tasks=False)
        if score:
            with db.transaction():
                score_and_queue(db, settings, "score-1")
    except BaseException:
        db.close()
        raise
    return db


def clear_identifiers(inbox: Path) -> set[str]:
    """Every direct identifier of an inbox (NIR, e-mail, phone, IBAN) as written, compacted
    and lower-cased: what must never be found in the database, an export or a message."""
    import polars as pl

    raw: list[pl.Series] = []
    members = pl.read_csv(inbox / "members.csv", infer_schema=False)
    raw += [members[column].drop_nulls() for column in ("nir", "email", "phone", "iban")]
    raw.append(pl.read_csv(inbox / "claims.csv", infer_schema=False)["payee_iban"].drop_nulls())
    events = pl.read_csv(inbox / "account_events.csv", infer_schema=False)
    raw.append(events.filter(pl.col("event_type") != "address_change")["new_value"].drop_nulls())
    raw.append(pl.read_csv(inbox / "breach_list.csv", infer_schema=False)["identifier"])
    values: set[str] = set()
    for series in raw:
        values |= set(series.to_list())
        values |= set(series.str.replace_all(r"[\s.\-]", "").to_list())
        values |= set(series.str.to_lowercase().to_list())
    return {v for v in values if v and len(v) >= 8}
