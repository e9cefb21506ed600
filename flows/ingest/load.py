"""Ingest: discover the inbox, validate every line against the contract, pseudonymise, load.

All row work happens in DuckDB SQL (``sql/staging``, ``sql/load``); Python only orders files,
keeps the ledger and reports. The caller owns the transaction: a failed run leaves nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from prefect import task
from prefect.cache_policies import NO_CACHE

from claimwatch.errors import InputError
from claimwatch.ingest.contract import CONTRACTS, FORMATS, KINDS, FileContract, kind_of
from claimwatch.store.db import Database, sql_text

log = logging.getLogger("claimwatch.ingest.load")

Progress = Callable[[str, str], None]  # (file name, stage) -> None


class FileRejected(Exception):
    """A file that cannot be loaded at all (unreadable, not CSV, missing required column)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class InboxFile:
    path: Path
    kind: str
    file_format: str

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class FileResult:
    file_name: str
    kind: str
    status: str  # loaded | rejected | skipped
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class IngestSummary:
    files: list[FileResult] = field(default_factory=list)
    released_lines: int = 0  # held-back lines loaded because their member arrived
    exposed_members: int = 0
    quarantine_sample: list[dict] = field(default_factory=list)  # first rejected lines
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        return {
            "files_loaded": sum(f.status == "loaded" for f in self.files),
            "files_rejected": sum(f.status == "rejected" for f in self.files),
            "files_skipped": sum(f.status == "skipped" for f in self.files),
            "rows_read": sum(f.rows_read for f in self.files),
            "rows_loaded": sum(f.rows_loaded for f in self.files),
            "rows_quarantined": sum(f.rows_quarantined for f in self.files),
        }

    def as_dict(self) -> dict:
        return {
            "files": [f.as_dict() for f in self.files],
            "released_lines": self.released_lines,
            "exposed_members": self.exposed_members,
            "quarantine_sample": self.quarantine_sample,
            "seconds": self.seconds,
            "totals": self.totals,
        }


# --------------------------------------------------------------------------- discovery


def discover(inbox: Path) -> tuple[list[InboxFile], list[str]]:
    """List the inbox files the contract recognises, members first; warn about the others."""
    if not inbox.is_dir():
        raise InputError(f"inbox {inbox} is not a directory")
    found: list[InboxFile] = []
    warnings: list[str] = []
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")):
        file_format = FORMATS.get(path.suffix.lower())
        kind = kind_of(path.stem)
        if file_format is None or kind is None:
            warnings.append(f"{path.name}: not a contract file (expected <kind>*.csv|.parquet), ignored")
            continue
        found.append(InboxFile(path, kind, file_format))
    found.sort(key=lambda f: (KINDS.index(f.kind), f.name))
    return found, warnings


def file_sha256(path: Path) -> str:
    """Hash a file's content (the ledger key: the same content is never loaded twice)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- reading

_LINE_RE = re.compile(r"[Ll]ine:?\s*(\d+)")


def _sanitised(exc: Exception) -> str:
    """Describe a reader error without echoing file content (it may hold identifiers)."""
    text = str(exc)
    line = _LINE_RE.search(text)
    first = text.splitlines()[0] if text else type(exc).__name__
    first = re.sub(r"\".*?\"|'.*?'", "…", first)[:160]
    return f"{first} (line {line.group(1)})" if line and "line" not in first.lower() else first


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def read_raw(db: Database, f: InboxFile, contract: FileContract) -> tuple[int, list[str]]:
    """Read a file into temp view ``raw_input`` (all text, ``_line``); return rows, warnings.

    Malformed CSV lines (too many or too few fields, bad quoting) go to temp table
    ``raw_rejects`` to be quarantined; an unreadable file raises FileRejected.
    """
    con = db.con
    con.execute("drop view if exists raw_input")
    con.execute("drop table if exists raw_read")
    con.execute("drop table if exists raw_fixed")
    con.execute("drop table if exists raw_rejects")
    if f.path.stat().st_size == 0:
        raise FileRejected("empty file")
    if f.file_format == "csv":
        source = (
            f"read_csv({_quote(f.path)}, header = true, all_varchar = true, delim = ',', "
            "quote = '\"', escape = '\"', encoding = 'utf-8', store_rejects = true, "
            "rejects_scan = 'cw_rejects_scan', rejects_table = 'cw_rejects', null_padding = false)"
        )
        first_line = 2  # the header is line 1
    else:
        source = f"read_parquet({_quote(f.path)})"
        first_line = 1  # Parquet: row number
    try:
        columns = [c[0] for c in con.execute(f"describe select * from {source}").fetchall()]
    except duckdb.Error as exc:
        raise FileRejected(f"not a readable {f.file_format.upper()} file: {_sanitised(exc)}") from None
    normalised = {c: c.strip().lower() for c in columns}
    present = set(normalised.values())
    missing = [c for c in contract.required if c not in present]
    if missing:
        raise FileRejected(
            "missing required column"
            + ("s " if len(missing) > 1 else " ")
            + ", ".join(f"'{c}'" for c in missing)
        )
    warnings = []
    unknown = sorted(present - set(contract.columns) - set(contract.dropped))
    if unknown:
        warnings.append(f"unknown column(s) ignored: {', '.join(unknown)}")
    select = []
    for name in contract.columns:
        original = next((c for c, n in normalised.items() if n == name), None)
        if original is None:
            select.append(f"null::varchar as {name}")
        else:
            quoted = '"' + original.replace('"', '""') + '"'
            select.append(f"{quoted}::varchar as {name}")
    try:
        # the reader keeps the file's order (preserve_insertion_order) and rows get contiguous
        # row ids in that order (offset inside a transaction): the position gives the line
        con.execute(f"create temp table raw_read as select {', '.join(select)} from {source}")
        con.execute(
            "create temp view raw_input as select "
            f"rowid - (select min(rowid) from raw_read) + {first_line} as _line, * from raw_read"
        )
        if f.file_format == "csv":
            con.execute(
                "create temp table raw_rejects as select line, column_name, error_type from cw_rejects"
            )
            _fix_lines_after_rejects(con)
    except duckdb.Error as exc:
        raise FileRejected(f"not a readable {f.file_format.upper()} file: {_sanitised(exc)}") from None
    finally:
        if f.file_format == "csv":
            con.execute("drop table if exists cw_rejects")
            con.execute("drop table if exists cw_rejects_scan")
    if f.file_format == "csv":
        bad_encoding = con.execute(
            "select min(line) from raw_rejects where error_type = 'INVALID ENCODING'"
        ).fetchall()[0][0]
        if bad_encoding is not None:
            raise FileRejected(f"not valid UTF-8 text (first bad line {bad_encoding})")
    else:
        con.execute("create temp table raw_rejects (line bigint, column_name varchar, error_type varchar)")
    rows = con.execute("select count(*) from raw_input").fetchall()[0][0]
    rows += con.execute("select count(distinct line) from raw_rejects").fetchall()[0][0]
    return rows, warnings


def _fix_lines_after_rejects(con: duckdb.DuckDBPyConnection) -> None:
    """Shift line numbers of good rows past the malformed lines the reader skipped."""
    if con.execute("select count(*) from raw_rejects").fetchall()[0][0] == 0:
        return
    # g = good rows before the j-th rejected line; a good row numbered rn > g comes after it
    con.execute(
        """
        create temp table raw_fixed as
        with rejected as (
            select line, row_number() over (order by line) as j
            from (select distinct line from raw_rejects)
        ),
        gaps as (select line - 1 - j as g, j from rejected)
        select r.* replace (r._line + coalesce(g.j, 0) as _line)
        from raw_input as r
        asof left join gaps as g on r._line - 1 > g.g
        """
    )
    con.execute("create or replace temp view raw_input as select * from raw_fixed")


# --------------------------------------------------------------------------- staging + load


def stage(db: Database, contract: FileContract) -> None:
    """Validate, normalise and pseudonymise ``raw_input`` into temp table ``stg_checked``."""
    con = db.con
    con.execute(
        "create or replace temp table identifier_input as "
        + sql_text(f"staging/identifiers_of_{contract.kind}.sql")
    )
    con.execute(
        "create or replace temp table batch_identifiers as " + sql_text("staging/stg_identifiers.sql"),
        db.pads,
    )
    # a view: typing, checks and the member check materialise once, in stg_checked
    con.execute("create or replace temp view stg as " + sql_text(f"staging/stg_{contract.kind}.sql"))
    checked = "load/checked_with_member.sql" if contract.names_member else "load/checked.sql"
    con.execute("create or replace temp table stg_checked as " + sql_text(checked))


def _quarantine_structural(db: Database, f: InboxFile, sha: str, run_id: str) -> None:
    """Quarantine malformed CSV lines (no raw copy: their fields cannot be told apart)."""
    db.con.execute(
        """
        insert into quarantine (run_id, file_name, file_sha256, kind, line, columns, reasons,
                                raw_json, retryable)
        select ?, ?, ?, ?, line, coalesce(string_agg(distinct column_name, ','), '*'),
            'malformed CSV line: ' || string_agg(distinct lower(error_type::varchar), ', '),
            null, false
        from raw_rejects group by line
        """,
        [run_id, f.name, sha, f.kind],
    )


def load_one_file(db: Database, f: InboxFile, run_id: str, progress: Progress | None = None) -> FileResult:
    """Ledger check, read, validate, quarantine and load one file (in the caller's transaction)."""
    result = FileResult(file_name=f.name, kind=f.kind, status="loaded")
    t0 = time.perf_counter()
    sha = file_sha256(f.path)
    ledger = db.con.execute(
        "select status, file_name from file_ledger where file_sha256 = ?", [sha]
    ).fetchall()
    seen = ledger[0] if ledger else None
    if seen:
        result.status = "skipped"
        result.reason = f"same content already {seen[0]} as {seen[1]}"
        return result
    contract = CONTRACTS[f.kind]
    now = datetime.now(UTC)
    params = {"run_id": run_id, "file_name": f.name, "file_sha256": sha, "kind": f.kind, "loaded_at": now}
    try:
        if progress:
            progress(f.name, "read")
        result.rows_read, result.warnings = read_raw(db, f, contract)
        result.seconds["read"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        if progress:
            progress(f.name, "validate")
        stage(db, contract)
        result.seconds["validate"] = time.perf_counter() - t1
    except FileRejected as exc:
        result.status, result.reason = "rejected", exc.reason
        db.con.execute(
            "insert into file_ledger (file_sha256, file_name, kind, file_format, status, reason, "
            "bytes, run_id) values (?, ?, ?, ?, 'rejected', ?, ?, ?)",
            [sha, f.name, f.kind, f.file_format, exc.reason, f.path.stat().st_size, run_id],
        )
        log.error("%s rejected: %s", f.name, exc.reason)
        return result
    t2 = time.perf_counter()
    if progress:
        progress(f.name, "load")
    _quarantine_structural(db, f, sha, run_id)
    db.run_script("load/quarantine_rows.sql", params)
    db.run_script(f"load/upsert_{f.kind}.sql", params)
    quarantined = db.con.execute("select count(*) from quarantine where file_sha256 = ?", [sha]).fetchall()[
        0
    ][0]
    result.rows_quarantined = quarantined
    result.rows_loaded = result.rows_read - quarantined
    db.con.execute(
        "insert into file_ledger (file_sha256, file_name, kind, file_format, status, rows_read, "
        "rows_loaded, rows_quarantined, bytes, run_id) values (?, ?, ?, ?, 'loaded', ?, ?, ?, ?, ?)",
        [
            sha,
            f.name,
            f.kind,
            f.file_format,
            result.rows_read,
            result.rows_loaded,
            result.rows_quarantined,
            f.path.stat().st_size,
            run_id,
        ],
    )
    result.seconds["load"] = time.perf_counter() - t2
    for w in result.warnings:
        log.warning("%s: %s", f.name, w)
    log.info(
        "%s: %d read, %d loaded, %d quarantined",
        f.name,
        result.rows_read,
        result.rows_loaded,
        result.rows_quarantined,
    )
    return result


def release_pending(db: Database) -> int:
    """Load held-back lines whose member is now known; return how many were released."""
    before = db.con.execute(
        "select (select count(*) from pending_claims) + (select count(*) from pending_account_events)"
    ).fetchall()[0][0]
    db.run_script("load/retry_pending.sql", {"loaded_at": datetime.now(UTC)})
    after = db.con.execute(
        "select (select count(*) from pending_claims) + (select count(*) from pending_account_events)"
    ).fetchall()[0][0]
    return before - after


def link_breaches(db: Database) -> int:
    """Record identifier history from events and rebuild breach exposure; return members exposed."""
    db.run_script("load/record_event_identifiers.sql", {})
    db.run_script("load/rebuild_breach_exposure.sql", {})
    return db.con.execute("select count(distinct member_id) from breach_exposure").fetchall()[0][0]


def ingest_batch(
    db: Database, inbox: Path, run_id: str, progress: Progress | None = None, *, tasks: bool = True
) -> IngestSummary:
    """Load every contract file of the inbox, release held-back lines, relink breaches."""
    summary = IngestSummary()
    t0 = time.perf_counter()
    files, warnings = discover(inbox)
    for w in warnings:
        log.warning(w)
    loader = load_file_task if tasks else load_one_file
    for f in files:
        summary.files.append(loader(db, f, run_id, progress))
    summary.seconds["files"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    summary.released_lines = (release_pending_task if tasks else release_pending)(db)
    summary.exposed_members = (link_breaches_task if tasks else link_breaches)(db)
    summary.seconds["link"] = time.perf_counter() - t1
    summary.quarantine_sample = [
        {"file_name": r[0], "line": r[1], "columns": r[2], "reasons": r[3]}
        for r in db.con.execute(
            "select file_name, line, columns, reasons from quarantine where run_id = ? "
            "order by file_name, line limit 10",
            [run_id],
        ).fetchall()
    ]
    return summary


# --------------------------------------------------------------------------- Prefect


@task(name="load-file", cache_policy=NO_CACHE, task_run_name="load {f.name}")
def load_file_task(db: Database, f: InboxFile, run_id: str, progress: Progress | None = None) -> FileResult:
    """Validate, quarantine and load one inbox file."""
    return load_one_file(db, f, run_id, progress)


@task(name="release-pending-lines", cache_policy=NO_CACHE)
def release_pending_task(db: Database) -> int:
    """Load held-back lines whose member has arrived."""
    return release_pending(db)


@task(name="link-breaches", cache_policy=NO_CACHE)
def link_breaches_task(db: Database) -> int:
    """Match every identifier members ever had against the breach lists."""
    return link_breaches(db)
