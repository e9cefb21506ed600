"""The review store: cases' review state, notes, the audit log and users, in their own database.

DuckDB holds the data and the analytics and has one writing process (the nightly run); the
review state is multi-user transactional data, so it lives here: an embedded SQLite file in WAL
mode beside the DuckDB file by default (``<db stem>.review.sqlite``, mode 0600), or PostgreSQL
for a team (``CLAIMWATCH_REVIEW_DB``, a SQLAlchemy URL such as
``postgresql+psycopg://claimwatch@db.internal/claimwatch``).

Migrations are the files of ``sql/review/`` named ``NNN_what[.dialect].sql``, one statement a
file, applied in number order, each with its record in ``review_migrations`` in one
transaction. A file without a dialect suffix is portable DDL; a step whose SQL differs (identity
columns, triggers) has one file per dialect (``.sqlite.sql``, ``.postgresql.sql``). Plain SQL
files rather than SQLAlchemy metadata DDL because the append-only triggers are dialect-specific
SQL anyway and a DBA applying them to a team's PostgreSQL reads exactly what runs. The Table
objects below describe the same tables for the queries (SQLAlchemy Core, portable);
``tests/review/test_store.py`` checks that they match the migrated database.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from claimwatch.errors import ReviewError
from claimwatch.settings import Settings

# A writer waits at most this long for another writer (SQLite busy timeout, PostgreSQL lock
# timeout): reviewers never wait for a run more than a few seconds.
BUSY_TIMEOUT_SECONDS = 5
# Short transactions: a run writes its cases in chunks of this many rows.
WRITE_CHUNK = 500


class ReviewStoreBusy(ReviewError):
    """The review store stayed locked by another writer beyond the busy timeout."""


class ReviewStoreUnavailable(ReviewError):
    """The review store cannot be opened (PostgreSQL down, unreadable file...)."""


class UTCDateTime(sa.types.TypeDecorator):
    """Timestamps stored in UTC and read back timezone-aware on both dialects."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the review store")
        value = value.astimezone(UTC)
        # SQLite keeps no zone: store UTC wall time
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite rows written by another client
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(sa.types.TypeDecorator):
    """Euros with cents: numeric(14, 2) in the database, Decimal in Python."""

    impl = sa.Numeric(14, 2, asdecimal=False)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
        return float(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


metadata = sa.MetaData()

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("case_id", sa.String(32), primary_key=True),
    sa.Column("member_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("assigned_to", sa.String(64)),
    sa.Column("decision", sa.String(20)),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", UTCDateTime()),
    sa.Column("note", sa.Text),
    sa.Column("review_updated_at", UTCDateTime()),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("rule_score", sa.Float),
    sa.Column("ensemble_score", sa.Float),
    sa.Column("amount_at_risk", Money(), nullable=False),
    sa.Column("claim_ids", sa.Text),
    sa.Column("reason_codes", sa.Text),
    sa.Column("reasons", sa.Text),
    sa.Column("scheme_id", sa.String(64)),
    sa.Column("previous_case_id", sa.String(32)),
    sa.Column("opened_run_id", sa.String(64), nullable=False),
    sa.Column("last_run_id", sa.String(64), nullable=False),
    sa.Column("opened_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # the run's queue position of an open case (schemes as investigations); the store's rank
    # follows it, then the score
    sa.Column("queue_position", sa.Integer),
)

case_notes = sa.Table(
    "case_notes",
    metadata,
    sa.Column("note_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("case_id", sa.String(32), nullable=False),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("audit_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("logged_at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("case_id", sa.String(32)),
    sa.Column("details", sa.Text),
    sa.Column("row_count", sa.BigInteger),
    sa.Column("file_sha256", sa.String(64)),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False),
    sa.Column("locked_until", UTCDateTime()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

case_syncs = sa.Table(
    "case_syncs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("synced_at", UTCDateTime(), nullable=False),
    sa.Column("cases_written", sa.Integer, nullable=False),
)

review_migrations = sa.Table(
    "review_migrations",
    metadata,
    sa.Column("version", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("applied_at", UTCDateTime(), nullable=False),
)

_MIGRATION = re.compile(r"^(\d{3})_(\w+?)(?:\.(sqlite|postgresql))?\.sql$")
# PostgreSQL: one migrating process at a time (two CLI commands on a fresh database)
_MIGRATION_LOCK = 4_200_042


def migrations(dialect: str) -> list[tuple[str, str, str]]:
    """Return (version, file name, SQL) of every migration step for a dialect, in order."""
    steps: dict[str, dict[str | None, str]] = {}
    for entry in (files("claimwatch.sql") / "review").iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            steps.setdefault(match.group(1), {})[match.group(3)] = entry.name
    out = []
    for version in sorted(steps):
        variants = steps[version]
        name = variants.get(dialect) or variants.get(None)
        if name is None:
            continue  # a step of another dialect only (e.g. PostgreSQL's TRUNCATE trigger)
        text = (files("claimwatch.sql") / "review" / name).read_text(encoding="utf-8")
        out.append((version, name, text))
    return out


@dataclass
class ReviewStore:
    """An open review store: a SQLAlchemy engine, plus where to read case lines from.

    ``analytics_db`` is the read-only published DuckDB copy that holds claim lines, account
    events and member attributes for a case's detail and the XLSX lines sheet."""

    engine: Engine
    analytics_db: Path | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        """The store's URL without its password (safe to print)."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading (one consistent snapshot on both dialects)."""
        with _translated(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A short write transaction (SQLite: BEGIN IMMEDIATE, so it waits at most the busy timeout)."""
        with _translated(), self._writer.connect() as conn, conn.begin():
            yield conn

    @property
    def _writer(self) -> Engine:
        return self.engine.execution_options(claimwatch_write=True)

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def _translated() -> Iterator[None]:
    """Turn lock timeouts and connection failures into one-line review errors."""
    try:
        yield
    except OperationalError as exc:
        text = str(exc.orig).lower()
        if "locked" in text or "busy" in text or "lock timeout" in text:
            raise ReviewStoreBusy(
                f"the review store stayed locked for more than {BUSY_TIMEOUT_SECONDS} s by another writer; "
                "try again"
            ) from None
        raise ReviewStoreUnavailable(f"review store unavailable: {str(exc.orig).splitlines()[0]}") from None


def default_url(settings: Settings) -> str:
    """The review store's URL: CLAIMWATCH_REVIEW_DB, else a SQLite file beside the DuckDB file."""
    if settings.review_db:
        return settings.review_db
    return f"sqlite:///{settings.resolved_review_sqlite}"


def _sqlite_engine(url: sa.URL, create: bool) -> Engine:
    path = Path(url.database or "")
    if url.database and url.database != ":memory:":
        if not create and not path.exists():
            raise ReviewStoreUnavailable(
                f"no review store at {path}: it is created by the first `claimwatch run` on this database"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        # created private before SQLite opens it (its -wal and -shm files take the same mode)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_con, _record):
        dbapi_con.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_con.cursor()
        cursor.execute("pragma journal_mode = wal")
        cursor.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("pragma synchronous = normal")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        # a writer takes the write lock at BEGIN, so it never fails half-way on a busy snapshot
        immediate = conn.get_execution_options().get("claimwatch_write")
        conn.exec_driver_sql("begin immediate" if immediate else "begin")

    return engine


def _postgresql_engine(url: sa.URL) -> Engine:
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    # the URL's own libpq options (e.g. a search_path) are kept alongside ours
    own = url.query.get("options", "")
    own = " ".join(own) if isinstance(own, tuple) else own
    return sa.create_engine(
        url.difference_update_query(["options"]),
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": BUSY_TIMEOUT_SECONDS,
            "options": f"{own} -c lock_timeout={BUSY_TIMEOUT_SECONDS * 1000} -c timezone=UTC".strip(),
        },
    )


def open_store(
    settings: Settings | None = None,
    *,
    url: str | None = None,
    migrate_schema: bool = True,
    create: bool = True,
) -> ReviewStore:
    """Open (and migrate) the review store of an installation, or the one at ``url``.

    ``create=False`` refuses to create a missing SQLite file (reviewers' commands on a database
    no run has written yet)."""
    settings = settings or Settings()
    try:
        parsed = sa.make_url(url or default_url(settings))
    except sa.exc.ArgumentError:
        raise ReviewStoreUnavailable("CLAIMWATCH_REVIEW_DB is not a SQLAlchemy URL") from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, create)
    elif parsed.get_backend_name() == "postgresql":
        engine = _postgresql_engine(parsed)
    else:
        raise ReviewStoreUnavailable(
            f"review store backend {parsed.get_backend_name()!r} is not supported: use sqlite or postgresql"
        )
    store = ReviewStore(engine, settings.resolved_analytics_db)
    if migrate_schema:
        try:
            migrate(store)
        except BaseException:
            store.close()
            raise
    return store


def migrate(store: ReviewStore) -> list[str]:
    """Apply the review store's migrations not applied yet, in order; return their file names."""
    steps = [s for s in migrations(store.dialect) if s[0] != "000"]
    with store.read() as conn:
        done = _applied(conn)
    if all(version in done for version, _, _ in steps):
        return []
    bootstrap = migrations(store.dialect)[0]
    applied = []
    for version, name, text in steps:
        with store.write() as conn:
            if store.dialect == "postgresql":
                conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            _execute_file(conn, bootstrap[2])
            if version in _applied(conn):  # another process was first
                continue
            _execute_file(conn, text)
            conn.execute(
                review_migrations.insert().values(version=version, name=name, applied_at=datetime.now(UTC))
            )
            applied.append(name)
    return applied


def _execute_file(conn: Connection, text: str) -> None:
    """Run one migration file as it is (no parameter parsing: PL/pgSQL uses '%')."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(text)
    finally:
        cursor.close()


def _applied(conn: Connection) -> set[str]:
    if not sa.inspect(conn).has_table("review_migrations"):
        return set()
    return set(conn.execute(sa.select(review_migrations.c.version)).scalars())
