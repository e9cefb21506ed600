"""Database connection, migrations, the key guard and access to the packaged SQL files."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb

from claimwatch.errors import (
    ClaimwatchError,
    DatabaseBusyError,
    DatabaseExistsError,
    NoDatabaseError,
    PseudonymKeyError,
)
from claimwatch.settings import Settings
from claimwatch.store.privacy import PseudonymKey, load_key


class ResourceExhaustedError(ClaimwatchError):
    """Memory or disk ran out; the message names what to change (subclass of the expected
    errors: the CLI prints it on one line)."""


def resource_error(exc: BaseException, settings: Settings) -> BaseException:
    """Translate DuckDB's out-of-memory and disk-full failures into a message naming the fix."""
    text = str(exc)
    lowered = text.lower()
    errno_full = isinstance(exc, OSError) and exc.errno == 28
    disk = ("no space left", "disk is full", "disk full", "max_temp_directory_size", "available disk space")
    if errno_full or any(word in lowered for word in disk):
        return ResourceExhaustedError(
            f"disk full beside {settings.db} (database, its spill folder "
            f"{private_temp_dir(settings.db).name}/ or the analytics copy): free disk space and run again; "
            "the database is as it was before the run"
        )
    if isinstance(exc, duckdb.OutOfMemoryException) or "out of memory" in lowered:
        return ResourceExhaustedError(
            f"DuckDB ran out of memory at memory_limit={settings.resolved_memory_limit}: set "
            "CLAIMWATCH_MEMORY_LIMIT higher (e.g. 8GB) or CLAIMWATCH_THREADS lower; "
            "the database is as it was before the run"
        )
    return exc


def restrict_umask() -> None:
    """Make every file this process creates private to its owner (health data: 0600 / 0700)."""
    current = os.umask(0o077)
    os.umask(current | 0o077)


def private_temp_dir(path: Path) -> Path:
    """DuckDB's spill directory for a database: beside it, mode 0700, emptied at open and close."""
    return path.with_name(path.name + ".tmp")


def _empty_dir(folder: Path) -> None:
    """Remove everything inside ``folder`` (spill files a killed process left behind)."""
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _private_dir(folder: Path) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


@cache
def sql_text(relative: str) -> str:
    """Return the text of a packaged SQL file, e.g. ``staging/stg_claims.sql``."""
    return (files("claimwatch.sql") / relative).read_text(encoding="utf-8")


def sql_files(folder: str) -> list[str]:
    """List the packaged SQL files of a folder, in name order (``schema/001_core.sql``...)."""
    root = files("claimwatch.sql") / folder
    return sorted(f"{folder}/{p.name}" for p in root.iterdir() if p.name.endswith(".sql"))


def split_statements(text: str) -> list[str]:
    """Split a SQL file into statements on ';' outside quotes, dropping '--' comments."""
    statements, current, quote, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
            continue
        elif ch == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


@dataclass
class Database:
    """An open claimwatch database: a DuckDB connection plus the installation's key."""

    con: duckdb.DuckDBPyConnection
    path: Path
    key: PseudonymKey | None
    config: dict[str, Any] | None = None  # the DuckDB settings it was opened with
    temp_dir: Path | None = None  # its private spill directory (emptied at close)

    @property
    def pads(self) -> dict[str, bytes]:
        if self.key is None:
            raise PseudonymKeyError("this connection was opened without the pseudonymisation key")
        return self.key.pads()

    def run_script(self, relative: str, params: dict[str, Any] | None = None) -> None:
        """Execute each statement of a packaged SQL file with the named parameters it uses."""
        params = params or {}
        for statement in split_statements(sql_text(relative)):
            names = set(re.findall(r"\$(\w+)", statement))
            self.con.execute(statement, {k: v for k, v in params.items() if k in names})

    def reader_config(self) -> dict[str, Any]:
        """Settings for a private in-memory connection of this process (same limits, same
        private spill directory, in a subfolder)."""
        config = dict(self.config or {})
        # the reader holds one file while the run's connection stages it: the limit is shared
        # between the two (make_room_for_reader), so the process stays within the one limit
        if "memory_limit" in config:
            config["memory_limit"] = _share(config["memory_limit"], READER_SHARE)
        if self.temp_dir is not None:
            config["temp_directory"] = str(_private_dir(self.temp_dir / f"reader-{os.getpid()}"))
        return config

    def lend_memory(self, share: float) -> Callable[[], None]:
        """Lower this connection's memory limit by ``share`` of it, for memory used outside
        DuckDB meanwhile (the ingest's reader connection, detection's frames in Python): DuckDB
        evicts cached blocks to fit. Returns the function that gives the whole limit back. When
        DuckDB cannot shrink (blocks it cannot evict), the limit stays as it was."""
        limit = (self.config or {}).get("memory_limit")
        if limit is None:
            return lambda: None
        try:
            self.con.execute(f"set memory_limit = '{_share(limit, 1 - share)}'")
        except duckdb.Error:
            return lambda: None

        def restore() -> None:
            try:
                self.con.execute(f"set memory_limit = '{limit}'")
            except duckdb.Error:  # an aborted transaction: the run fails with its own error
                pass

        return restore

    def make_room_for_reader(self) -> Callable[[], None]:
        """Lend the reader connection its share of the limit while it is open."""
        return self.lend_memory(READER_SHARE)

    def close(self) -> None:
        self.con.close()
        if self.temp_dir is not None:  # nothing spilled outlives the connection
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run a block atomically: everything or, on any error, nothing."""
        self.con.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.con.execute("rollback")
            raise
        self.con.execute("commit")


# Share of the memory limit the ingest's reader connection gets while a file is read; the
# run's connection keeps the rest meanwhile.
READER_SHARE = 0.4
# Share lent to detection's frames (features, candidate lines, scores of every member in
# polars and NumPy) while it runs: DuckDB's cached blocks make room for them.
DETECTION_SHARE = 0.5


def _share(limit: str, share: float) -> str:
    """``share`` of a DuckDB memory limit text ('1024MiB', '4GB', '1.5 GiB'), in MiB; kept as it
    is when it cannot be read (DuckDB then says what is wrong with it)."""
    import re

    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?i?B)\s*", limit, re.IGNORECASE)
    if not match:
        return limit
    value, unit = float(match.group(1)), match.group(2).upper()
    factor = {
        "B": 1,
        "KB": 1e3,
        "KIB": 2**10,
        "MB": 1e6,
        "MIB": 2**20,
        "GB": 1e9,
        "GIB": 2**30,
        "TB": 1e12,
        "TIB": 2**40,
    }.get(unit)
    if factor is None:
        return limit
    return f"{max(int(value * factor * share / 2**20), 64)}MiB"


def duckdb_config(settings: Settings, temp_dir: Path) -> dict[str, Any]:
    """DuckDB settings of every claimwatch connection: bounded memory, private spill folder."""
    config: dict[str, Any] = {
        "memory_limit": settings.resolved_memory_limit,
        "temp_directory": str(temp_dir),
    }
    if settings.threads:
        config["threads"] = settings.threads
    return config


def _open(path: Path, *, read_only: bool, settings: Settings) -> tuple[duckdb.DuckDBPyConnection, dict, Path]:
    restrict_umask()
    base = private_temp_dir(path)
    # a reader gets its own folder (readers run side by side); the writer owns the whole base
    temp_dir = base / f"ro-{os.getpid()}" if read_only else base
    config = duckdb_config(settings, temp_dir)
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusyError(
                f"database {path} is in use by another claimwatch process (a run in progress?); "
                "analysts: query the published analytics copy with `claimwatch sql`"
            ) from None
        raise NoDatabaseError(f"cannot open {path} as a claimwatch database: {_first_line(exc)}") from None
    except duckdb.Error as exc:  # not a DuckDB file, or one of an unknown version
        raise NoDatabaseError(f"{path} is not a claimwatch database: {_first_line(exc)}") from None
    if read_only:
        config["access_mode"] = "READ_ONLY"
        try:
            _private_dir(temp_dir)
        except OSError:  # a read-only copy in a folder this user cannot write: no spill folder
            pass
    else:
        # the lock is ours: whatever a killed process spilled is removed before any work
        _private_dir(base)
        _empty_dir(base)
        for name in (path, path.with_name(path.name + ".wal")):
            if name.exists():
                os.chmod(name, 0o600)
    return con, config, temp_dir


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the schema migrations not applied yet, in order, each in its own transaction."""
    con.execute(
        "create table if not exists schema_migrations "
        "(version varchar primary key, applied_at timestamptz default current_timestamp)"
    )
    done = {r[0] for r in con.execute("select version from schema_migrations").fetchall()}
    applied = []
    for relative in sql_files("schema"):
        version = Path(relative).stem
        if version in done:
            continue
        con.execute("begin transaction")
        try:
            for statement in split_statements(sql_text(relative)):
                con.execute(statement)
            con.execute("insert into schema_migrations (version) values (?)", [version])
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")
        applied.append(version)
    return applied


def apply_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the documented analyst views (sql/views), so the copy carries them."""
    con.execute("begin transaction")
    try:
        for relative in sql_files("views"):
            con.execute(sql_text(relative))
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def _guard_key(con: duckdb.DuckDBPyConnection, key: PseudonymKey, path: Path) -> None:
    rows = con.execute("select key_fingerprint from installation limit 1").fetchall()
    row = rows[0] if rows else None
    if row is None:
        con.execute("insert into installation (key_fingerprint) values (?)", [key.fingerprint])
    elif row[0] != key.fingerprint:
        raise PseudonymKeyError(
            f"database {path} was created with another pseudonymisation key "
            f"(fingerprint {row[0][:12]}…, this key {key.fingerprint[:12]}…): identifiers would "
            "no longer join. Use the original key (CLAIMWATCH_KEY or its key file)."
        )


def _iban_formats(con: duckdb.DuckDBPyConnection) -> None:
    """Create temp table ``iban_formats`` (country, IBAN length) from python-stdnum's registry."""
    from stdnum import iban

    rows = []
    for _length, country, _, props, _children in iban._ibandb.prefixes:
        structure = props.get("bban")
        if structure and len(country) == 2:
            # a BBAN structure such as '5!n5!n11!c2!n': the lengths add up
            bban_length = sum(int(n) for n in re.findall(r"(\d+)!?[nac]", structure))
            rows.append((country, 4 + bban_length))
    con.execute("create or replace temp table iban_formats (country varchar, iban_length integer)")
    con.executemany("insert into iban_formats values (?, ?)", rows)


def connect(
    settings: Settings, *, read_only: bool = False, with_key: bool = True, create: bool = False
) -> Database:
    """Open the database read-write (migrated, key checked) or read-only (no key needed).

    A path that holds no database is an error (a typo must not start a new database with a
    new key) unless ``create`` is set, as by ``claimwatch init`` and ``claimwatch demo``."""
    path = settings.db
    if path.is_dir():
        raise NoDatabaseError(f"{path} is a folder, not a claimwatch database file")
    if not path.exists():
        if not create or read_only:
            raise NoDatabaseError(
                f"no claimwatch database at {path}: create one with `claimwatch init --db {path}`"
            )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if read_only:
        con, config, temp_dir = _open(path, read_only=True, settings=settings)
        return Database(con, path, None, config, temp_dir)
    # the key is checked before anything is written: a refused command leaves no file behind
    key = load_key(settings, create=create and not path.exists()) if with_key else None
    con, config, temp_dir = _open(path, read_only=False, settings=settings)
    try:
        con.execute("set TimeZone = 'UTC'")
        migrate(con)
        if key is not None:
            _guard_key(con, key, path)
        apply_views(con)
        _iban_formats(con)
        # the write lock is ours, so a run still marked running or committed was killed
        for statement in split_statements(sql_text("load/recover_crashed_runs.sql")):
            con.execute(statement)
    except BaseException:
        con.close()
        _empty_dir(temp_dir)
        raise
    return Database(con, path, key, config, temp_dir)


def init_database(settings: Settings) -> str:
    """Create a new database and its key (or record CLAIMWATCH_KEY's fingerprint); return it."""
    if settings.db.exists():
        raise DatabaseExistsError(f"{settings.db} already exists: nothing to initialise")
    db = connect(settings, create=True)
    try:
        return db.key.fingerprint
    finally:
        db.close()
