"""Helpers shared by the test modules (fixtures live in conftest.py; helpers live here)."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from claimwatch.cli import main as cli
from claimwatch.ingest.load import ingest_batch
from claimwatch.publish.analytics import publish_analytics_copy
from claimwatch.review import queue as review
from claimwatch.review.store import ReviewStore, open_store
from claimwatch.review.sync import catch_up, pull_review_state, push_run
from claimwatch.scoring.score import score_and_queue
from claimwatch.settings import Settings
from claimwatch.store.db import Database, connect

TEST_KEY = "test-key-0123456789abcdef0123456789abcdef"
REVIEW_STATE = (
    "case_id",
    "member_id",
    "status",
    "assigned_to",
    "decision",
    "decided_by",
    "decided_at",
    "note",
)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str) -> CliResult:
    """Run the real ``claimwatch`` entry point in-process, as a shell would call it."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            cli.main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return CliResult(code, out.getvalue(), err.getvalue())


def assert_fails(result: CliResult, *fragments: str) -> None:
    """Exit code 1 and exactly one line on stderr, ``error: …``, naming the problem."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- review queue

_TEMPLATES: dict[Path, Path] = {}


def build_queue_db(db_path: Path, inbox: Path, run_id: str = "r1") -> None:
    """Ingest an inbox and score it into a new database (the test key, no Prefect)."""
    settings = Settings(db=db_path, inbox=inbox, key=TEST_KEY)
    db = connect(settings, create=True)
    try:
        with db.transaction():
            ingest_batch(db, inbox, run_id, tasks=False)
            score_and_queue(db, settings, run_id)
    finally:
        db.close()


@dataclass
class Queue:
    """A scored DuckDB file (the run's), its published copy and its review store."""

    db: Database
    store: ReviewStore
    settings: Settings


def open_queue(settings: Settings, template: Path, url: str | None = None) -> Queue:
    shutil.copyfile(template, settings.db)
    publish_analytics_copy(settings)
    if url:
        settings.review_db = url
    db = connect(settings, create=True)
    store = open_store(settings)
    catch_up(db, store)  # the template's run reaches the store as a run's end would write it
    return Queue(db, store, settings)


def rows(db: Database, sql: str, params=None) -> list[tuple]:
    return db.con.execute(sql, params or []).fetchall()


def rescore(q: Queue, run_id: str, inbox: Path | None = None, *, during=None) -> None:
    """A later run as run.py does it: complete earlier syncs and read decisions into DuckDB,
    load the new files of an inbox (if any), score the whole history, commit, write the cases
    to the store. ``during`` runs after the decisions were read (a reviewer acting mid-run)."""
    with q.db.transaction():
        catch_up(q.db, q.store)
        pull_review_state(q.db, q.store)
        if during:
            during()
        if inbox is not None:
            ingest_batch(q.db, inbox, run_id, tasks=False)
        score_and_queue(q.db, q.settings, run_id)
    push_run(q.db, q.store, run_id)


def state(q: Queue, status: str = "all") -> dict[str, dict]:
    return {r["case_id"]: r for r in review.list_cases(q.store, status=status).rows}


def review_state(q: Queue) -> dict[str, tuple]:
    return {c: tuple(r[k] for k in REVIEW_STATE) for c, r in state(q).items()}


def top_cases(q: Queue, n: int) -> list[str]:
    return [r["case_id"] for r in review.list_cases(q.store, limit=n).rows]


def write_duplicate_line(inbox_in: Path, member_id: str, out_dir: Path, claim_id: str) -> Path:
    """Write claims_extra.csv: a member_upload copy of one of the member's noemie lines.

    Same member, care date, act, billed and claimed amount, received 3 days later: the
    second payment of the same care (DUPLICATE_CLAIM, weight 0.85 as the member sent it)."""
    claims = pl.read_csv(inbox_in / "claims.csv", infer_schema=False)
    original = claims.filter((pl.col("member_id") == member_id) & (pl.col("source") == "noemie")).head(1)
    assert original.height == 1
    duplicate = original.with_columns(
        claim_id=pl.lit(claim_id),
        source=pl.lit("member_upload"),
        received_date=(pl.col("received_date").str.to_date() + pl.duration(days=3)).cast(pl.String),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "claims_extra.csv"
    duplicate.write_csv(path)
    return path


# --------------------------------------------------------------------------- databases


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


def set_opened_at(store, when: datetime, case_ids: list[str] | None = None) -> None:
    """Make cases look opened at ``when`` (tests control the clock of retention)."""
    from claimwatch.review.store import cases

    query = cases.update().values(opened_at=when)
    if case_ids is not None:
        query = query.where(cases.c.case_id.in_(case_ids))
    with store.write() as conn:
        conn.execute(query)
