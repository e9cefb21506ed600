"""Database connection, migrations, the key guard and access to the packaged SQL files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb

from claimwatch.settings import Settings
from claimwatch.store.privacy import PseudonymKey, PseudonymKeyError, load_key


class DatabaseBusyError(RuntimeError):
    """Another process holds the database file."""


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

    def close(self) -> None:
        self.con.close()

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


def temp_directory_for(db_path: Path) -> Path:
    """DuckDB's spill directory for a database: ``<db>.tmp`` beside it, private (mode 0700),
    emptied of what a killed process left behind (spill files hold the raw rows being
    processed). Only the process holding the write lock calls it."""
    directory = db_path.with_name(db_path.name + ".tmp")
    directory.mkdir(mode=0o700, exist_ok=True)
    directory.chmod(0o700)
    for leftover in directory.iterdir():
        if leftover.is_file():
            leftover.unlink()
    return directory


def _open(path: Path, *, read_only: bool, settings: Settings) -> duckdb.DuckDBPyConnection:
    config: dict[str, Any] = {"memory_limit": settings.resolved_memory_limit}
    if not read_only:
        config["temp_directory"] = str(temp_directory_for(path))
    if settings.threads:
        config["threads"] = settings.threads
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusyError(
                f"database {path} is in use by another claimwatch process (a run in progress?); "
                "analysts: query the published analytics copy with `claimwatch sql`"
            ) from None
        raise


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


def connect(settings: Settings, *, read_only: bool = False, with_key: bool = True) -> Database:
    """Open the database read-write (migrated, key checked) or read-only (no key needed)."""
    path = settings.db
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"no claimwatch database at {path}: run `claimwatch run` first")
        return Database(_open(path, read_only=True, settings=settings), path, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = load_key(settings) if with_key else None
    con = _open(path, read_only=False, settings=settings)
    try:
        con.execute("set TimeZone = 'UTC'")
        migrate(con)
        if key is not None:
            _guard_key(con, key, path)
        apply_views(con)
        _iban_formats(con)
    except BaseException:
        con.close()
        raise
    return Database(con, path, key)
