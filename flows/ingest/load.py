"""Ingest: discover the inbox, validate every line against the contract, pseudonymise, load.

All row work happens in DuckDB SQL (``sql/staging``, ``sql/load``); Python only orders files,
keeps the ledger and reports. The caller owns the transaction: a failed run leaves nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from claimwatch.errors import InputError
from claimwatch.ingest.contract import CONTRACTS, KINDS, format_of, kind_of
from claimwatch.ingest.reader import FileReader, FileRejected, scan_file
from claimwatch.store.db import Database
from claimwatch.store.runs import pause_point

log = logging.getLogger("claimwatch.ingest.load")

Progress = Callable[[str, str], None]  # (file name, stage) -> None


@dataclass(frozen=True)
class InboxFile:
    path: Path
    kind: str
    file_format: str
    compressed: bool = False  # gzip (.csv.gz)

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class FileResult:
    file_name: str
    kind: str
    status: str  # loaded | rejected | skipped (same content seen) | ignored (not a contract file)
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
            "files_ignored": sum(f.status == "ignored" for f in self.files),
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


def discover(inbox: Path) -> tuple[list[InboxFile], list[FileResult]]:
    """List the inbox files the contract recognises, members first, and every other entry
    with the reason it is not loaded (nothing in the inbox is passed over without a word)."""
    if not inbox.is_dir():
        raise InputError(f"inbox {inbox} is not a directory")
    root = inbox.resolve()
    found: list[InboxFile] = []
    ignored: list[FileResult] = []

    def ignore(path: Path, reason: str) -> None:
        ignored.append(FileResult(file_name=path.name, kind="-", status="ignored", reason=reason))

    for path in sorted(inbox.iterdir(), key=lambda p: p.name):
        if path.name.startswith("."):
            ignore(path, "hidden file, ignored")
            continue
        if path.is_symlink():
            target = path.resolve()
            if not target.exists():
                ignore(path, "dangling symbolic link, ignored")
                continue
            if not target.is_relative_to(root):
                ignore(path, "symbolic link to a file outside the inbox, not followed")
                continue
        if path.is_dir():
            ignore(path, "a directory, not a file: ignored (files are read from the inbox itself)")
            continue
        if not path.is_file():
            ignore(path, "not a regular file, ignored")
            continue
        file_format, compressed, stem = format_of(path.name)
        if file_format is None:
            ignore(path, "not a contract file (expected <kind>*.csv, .csv.gz or .parquet), ignored")
            continue
        kind = kind_of(stem)
        if kind is None:
            ignore(path, f"unknown file kind (the name must start with one of {', '.join(KINDS)}), ignored")
            continue
        found.append(InboxFile(path, kind, file_format, compressed))
    found.sort(key=lambda f: (KINDS.index(f.kind), f.name))
    return found, ignored


# --------------------------------------------------------------------------- staging + load

# Rows of a file staged and loaded at a time: the run's connection holds one slice's staging
# tables (typed rows, every check, the member check) whatever the file's size, so a 10M-line
# claims file loads within the default memory limit.
STAGE_SLICE_ROWS = 1_000_000


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


def load_one_file(
    db: Database,
    f: InboxFile,
    run_id: str,
    progress: Progress | None = None,
    reader: FileReader | None = None,
) -> FileResult:
    """Ledger check, read, validate, quarantine and load one file (in the caller's transaction).

    The file is read by ``reader`` (its own connection), so an unreadable file is rejected
    without touching the caller's transaction; only hashed, finished rows are copied in."""
    own_reader = reader is None
    if own_reader:
        reader = open_reader(db)
    try:
        return _load_one_file(db, f, run_id, progress, reader)
    finally:
        if own_reader:
            reader.close()


def open_reader(db: Database) -> FileReader:
    """Open the private reading connection (its share of the memory limit, taken from the run's
    connection until it closes; its own spill folder), with the reference tables staging checks
    against."""
    reader = FileReader(db.reader_config(), db.pads, on_close=db.make_room_for_reader())
    try:
        reader.use_reference(db.con)
    except BaseException:
        reader.close()
        raise
    return reader


def _load_one_file(
    db: Database, f: InboxFile, run_id: str, progress: Progress | None, reader: FileReader
) -> FileResult:
    result = FileResult(file_name=f.name, kind=f.kind, status="loaded")
    t0 = time.perf_counter()
    text = f.file_format == "csv"
    try:
        scan = scan_file(f.path, compressed=f.compressed, text=text)
    except OSError as exc:  # unreadable by this process: nothing to hash, nothing to record
        result.status, result.reason = "rejected", f"cannot be read: {exc.strerror or type(exc).__name__}"
        log.error("%s rejected: %s", f.name, result.reason)
        return result
    except FileRejected as exc:
        result.status, result.reason = "rejected", exc.reason
        log.error("%s rejected: %s", f.name, exc.reason)
        return result
    sha = scan.sha256
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
        result.rows_read, result.warnings = reader.read(f.path, f.file_format, contract, scan, f.compressed)
        result.seconds["read"] = time.perf_counter() - t0
    except FileRejected as exc:
        result.status, result.reason = "rejected", exc.reason
        db.con.execute(
            "insert into file_ledger (file_sha256, file_name, kind, file_format, status, reason, "
            "bytes, run_id) values (?, ?, ?, ?, 'rejected', ?, ?, ?)",
            [sha, f.name, f.kind, f.file_format, exc.reason, scan.size, run_id],
        )
        log.error("%s rejected: %s", f.name, exc.reason)
        return result
    if progress:
        progress(f.name, "validate")
    try:
        reader.transfer_rejects(db.con)
        _quarantine_structural(db, f, sha, run_id)
        # slice by slice in file order (a later line of the same id replaces an earlier one, as
        # within a slice): the run's connection holds one slice's staging at a time
        if contract.names_member:
            reader.use_members(db.con)
        good = reader.rows()
        for start in range(0, max(good, 1), STAGE_SLICE_ROWS):
            t1 = time.perf_counter()
            reader.stage(db.con, contract, start, start + STAGE_SLICE_ROWS)
            result.seconds["validate"] = result.seconds.get("validate", 0.0) + time.perf_counter() - t1
            t2 = time.perf_counter()
            if progress:
                progress(f.name, "load")
            db.run_script("load/quarantine_rows.sql", params)
            db.run_script(f"load/upsert_{f.kind}.sql", params)
            result.seconds["load"] = result.seconds.get("load", 0.0) + time.perf_counter() - t2
    finally:
        reader.release()
    t2 = time.perf_counter()
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
            scan.size,
            run_id,
        ],
    )
    result.seconds["load"] += time.perf_counter() - t2
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
    files, ignored = discover(inbox)
    for entry in ignored:
        log.warning("%s: %s", entry.file_name, entry.reason)
    summary.files.extend(ignored)
    db.run_script("staging/identifier_macros.sql")
    loader = load_file_task if tasks else load_one_file
    reader = open_reader(db)
    try:
        for f in files:
            summary.files.append(loader(db, f, run_id, progress, reader=reader))
    finally:
        reader.close()
    for name in ("raw_rejects", "stg_checked"):
        db.con.execute(f"drop table if exists {name}")
    pause_point("ingest")
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
def load_file_task(
    db: Database,
    f: InboxFile,
    run_id: str,
    progress: Progress | None = None,
    reader: FileReader | None = None,
) -> FileResult:
    """Validate, quarantine and load one inbox file."""
    return load_one_file(db, f, run_id, progress, reader=reader)


@task(name="release-pending-lines", cache_policy=NO_CACHE)
def release_pending_task(db: Database) -> int:
    """Load held-back lines whose member has arrived."""
    return release_pending(db)


@task(name="link-breaches", cache_policy=NO_CACHE)
def link_breaches_task(db: Database) -> int:
    """Match every identifier members ever had against the breach lists."""
    return link_breaches(db)
