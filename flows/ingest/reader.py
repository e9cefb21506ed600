"""Read one inbox file away from the run's transaction, pseudonymised as it is read.

A DuckDB error inside a transaction aborts the whole transaction, so a file is never read by
the run's connection: a private in-memory connection (the *reader*) scans it, hashes its
direct identifiers inside the scan and keeps only the pseudonymised rows. Whatever a file
holds (random bytes, gzip named .csv, a 3 MB field), the failure stays in the reader and
becomes the file's rejection; the run's connection only copies finished, hashed rows.

Line numbers are physical lines (header = line 1, blank lines and line breaks inside quoted
fields counted): the file's bytes are scanned once with numpy for the newlines outside quotes.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from claimwatch.ingest.contract import FileContract
from claimwatch.store.db import split_statements, sql_text

_BLOCK = 1 << 24  # 16 MiB
_LINE_RE = re.compile(r"[Ll]ine:?\s*(\d+)")
MAX_LINE_BYTES = 2_000_000  # DuckDB's reader limit: a longer line rejects the file


class FileRejected(Exception):
    """A file that cannot be loaded at all (unreadable, not CSV, missing required column)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class FileScan:
    """What one pass over a file's bytes tells: content hash, encoding, line structure."""

    sha256: str
    size: int
    head: bytes = b""
    newlines: int = 0
    ends_with_newline: bool = True
    plain_lines: bool = True  # no quote character and no blank line: record n is line n
    bad_utf8_line: int | None = None
    unreadable: str | None = None  # why the bytes cannot even be decompressed
    warnings: list[str] = field(default_factory=list)


def _content_blocks(path: Path, compressed: bool):
    """Yield (raw block, content block): the raw bytes feed the hash, the content the scan."""
    if not compressed:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(_BLOCK), b""):
                yield block, block
        return
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(_BLOCK), b""):
            yield block, b""
    with gzip.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            yield b"", block


def scan_file(path: Path, *, compressed: bool = False, text: bool = True) -> FileScan:
    """Hash a file (the ledger key) and, for text, check UTF-8 and find its line structure."""
    digest = hashlib.sha256()
    scan = FileScan(sha256="", size=path.stat().st_size)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    last = b"\n"  # the byte before the current block (a file "starts after a newline")
    try:
        for raw, block in _content_blocks(path, compressed):
            digest.update(raw)
            if not text or not block:
                continue
            if len(scan.head) < 4096:
                scan.head += block[: 4096 - len(scan.head)]
            if scan.plain_lines and (
                b'"' in block
                or b"\n\n" in block
                or b"\n\r\n" in block
                or (last == b"\n" and block[:1] in (b"\n", b"\r"))
            ):
                scan.plain_lines = False
            if scan.bad_utf8_line is None and (not block.isascii() or decoder.getstate()[0]):
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    at = max(0, exc.start - pending)
                    scan.bad_utf8_line = scan.newlines + block.count(b"\n", 0, at) + 1
            scan.newlines += block.count(b"\n")
            last = block[-1:]
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # truncated or corrupt gzip
        scan.unreadable = f"not a readable gzip file ({type(exc).__name__})"
    if text and scan.bad_utf8_line is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            scan.bad_utf8_line = scan.newlines + 1
    scan.ends_with_newline = last == b"\n"
    scan.sha256 = digest.hexdigest()
    return scan


def text_format_problem(scan: FileScan, *, compressed: bool) -> str | None:
    """Name what makes a .csv file unreadable as contract CSV, before DuckDB sees it."""
    head = scan.head
    if scan.unreadable:
        return scan.unreadable
    if scan.size == 0 or (not head and scan.newlines == 0):
        return "empty file"
    if head[:2] == b"\x1f\x8b":
        return "gzip-compressed content in a file not named .csv.gz (rename it <name>.csv.gz)"
    if head[:4] == b"PK\x03\x04":
        return "a ZIP archive, not a CSV file"
    if head[:4] == b"PAR1":
        return "Parquet content in a file named .csv (rename it .parquet)"
    if head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "UTF-32 encoded text: the contract requires UTF-8"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) > 8 and head.count(b"\x00") > len(head) // 4):
        return "UTF-16 encoded text: the contract requires UTF-8"
    if scan.bad_utf8_line is not None:
        return (
            f"not valid UTF-8 text (first bad byte on line {scan.bad_utf8_line}; "
            "a Latin-1 / Windows-1252 export must be converted to UTF-8)"
        )
    header = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf")
    if b"," not in header:
        for delimiter, name in ((b";", "semicolon"), (b"\t", "tab"), (b"|", "pipe")):
            if delimiter in header:
                return f"{name}-delimited: the contract requires comma-separated values"
    return None


def _sanitised(exc: Exception) -> str:
    """Describe a reader error without echoing file content (it may hold identifiers)."""
    text = str(exc)
    if "maximum line size" in text.lower():
        return f"a line longer than {MAX_LINE_BYTES:,} bytes (a field this long is not contract data)"
    line = _LINE_RE.search(text)
    first = text.splitlines()[0] if text else type(exc).__name__
    first = re.sub(r"\".*?\"|'.*?'", "…", first)[:160]
    return f"{first} (line {line.group(1)})" if line and "line" not in first.lower() else first


def _raise_if_resource(exc: duckdb.Error) -> None:
    """Memory or disk running out is the machine's failure, not the file's: never a rejection
    (a rejected file is skipped for good), the run fails and says what to change."""
    text = str(exc).lower()
    if isinstance(exc, duckdb.OutOfMemoryException) or "no space left" in text or "disk full" in text:
        raise exc


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def physical_lines(path: Path, scan: FileScan, compressed: bool) -> np.ndarray:
    """Physical line of each DuckDB record line number L (index L - 1), or -1 for a blank.

    DuckDB numbers a record by the newlines outside quotes before it (blank lines included,
    line breaks inside quotes not): the newline scan below reproduces that count and maps it
    to the file's own line numbers."""
    if scan.plain_lines:
        n = scan.newlines + (0 if scan.ends_with_newline else 1)
        return np.arange(1, n + 1, dtype=np.int64)
    terminators: list[np.ndarray] = []  # global index (among all newlines) of each terminator
    blanks: list[np.ndarray] = []
    quotes = 0
    newlines = 0
    previous_term_pos = -1  # position of the previous terminator (the header starts after -1)
    offset = 0
    last_byte = 10
    for _raw, block in _content_blocks(path, compressed):
        if not block:
            continue
        a = np.frombuffer(block, np.uint8)
        nl = np.flatnonzero(a == 10)
        q = np.flatnonzero(a == 34)
        parity = (quotes + np.searchsorted(q, nl)) & 1
        term_local = nl[parity == 0]
        term_pos = term_local + offset
        index = newlines + np.flatnonzero(parity == 0)
        before = np.concatenate(([previous_term_pos], term_pos[:-1])) if term_pos.size else term_pos
        gap = term_pos - before
        prev_byte = np.where(term_local > 0, a[np.maximum(term_local - 1, 0)], last_byte)
        blank = (gap == 1) | ((gap == 2) & (prev_byte == 13))
        terminators.append(index)
        blanks.append(blank)
        if term_pos.size:
            previous_term_pos = int(term_pos[-1])
        quotes += q.size
        newlines += nl.size
        offset += a.size
        last_byte = int(a[-1])
    index = np.concatenate(terminators) if terminators else np.empty(0, np.int64)
    blank = np.concatenate(blanks) if blanks else np.empty(0, bool)
    # segment k (0 = header) ends at terminator k; it starts on the line after terminator k-1
    start_line = np.concatenate(([1], index[:-1] + 2)) if index.size else np.array([1], np.int64)
    if offset - 1 > previous_term_pos:  # a last record without a final newline
        start_line = np.concatenate((start_line, [index[-1] + 2 if index.size else 1]))
        blank = np.concatenate((blank, [False]))
    return np.where(blank, -1, start_line).astype(np.int64)


def _copy_table(
    source: duckdb.DuckDBPyConnection, target: duckdb.DuckDBPyConnection, query: str, name: str
) -> None:
    """Create temp table ``name`` in ``target`` from ``query`` on ``source``, streamed through
    Arrow batches (never a whole table in Python)."""
    target.register("cw_copy_stream", source.sql(query).arrow())
    try:
        target.execute(f"create or replace temp table {name} as select * from cw_copy_stream")
    finally:
        try:
            target.unregister("cw_copy_stream")
        except duckdb.Error:  # an aborted transaction: the failure above is the one to report
            pass


class FileReader:
    """A private in-memory DuckDB connection that reads and pseudonymises inbox files."""

    def __init__(self, config: dict, pads: dict[str, bytes], on_close: Callable[[], None] | None = None):
        self.on_close = on_close
        try:
            self.con = duckdb.connect(":memory:", config=config)
        except BaseException:
            if on_close is not None:
                on_close()
            raise
        self.pads = pads
        self.con.execute("set TimeZone = 'UTC'")
        self.con.execute("set preserve_insertion_order = true")  # row order gives the line
        for statement in split_statements(sql_text("staging/identifier_macros.sql")):
            self.con.execute(statement)

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            if self.on_close is not None:
                self.on_close()
                self.on_close = None

    def read(
        self, path: Path, file_format: str, contract: FileContract, scan: FileScan, compressed: bool
    ) -> tuple[int, list[str]]:
        """Read a file into reader tables ``raw_read`` (hashed, with ``_line``) and ``raw_rejects``."""
        con = self.con
        for name in ("raw_read", "raw_rejects", "line_breaks", "cw_rejects", "cw_rejects_scan"):
            con.execute(f"drop table if exists {name}")
        if file_format == "csv":
            problem = text_format_problem(scan, compressed=compressed)
            if problem:
                raise FileRejected(problem)
            source = (
                f"read_csv({_quote(path)}, header = true, all_varchar = true, delim = ',', "
                "quote = '\"', escape = '\"', encoding = 'utf-8', store_rejects = true, "
                "rejects_scan = 'cw_rejects_scan', rejects_table = 'cw_rejects', null_padding = false, "
                f"compression = '{'gzip' if compressed else 'none'}', max_line_size = {MAX_LINE_BYTES})"
            )
            try:
                columns = [c[0] for c in con.execute(f"describe select * from {source}").fetchall()]
            except duckdb.Error as exc:
                _raise_if_resource(exc)
                raise FileRejected(f"not a readable CSV file: {_sanitised(exc)}") from None
        else:
            source = f"read_parquet({_quote(path)})"
            try:
                columns = [c[0] for c in con.execute(f"describe select * from {source}").fetchall()]
            except duckdb.Error as exc:
                _raise_if_resource(exc)
                raise FileRejected(f"not a readable Parquet file: {_sanitised(exc)}") from None
        normalised = {c: c.strip().lower().lstrip("\ufeff") for c in columns}
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
                select.append('"' + original.replace('"', '""') + f'"::varchar as {name}')
        try:
            con.execute(f"create or replace temp view raw_source as select {', '.join(select)} from {source}")
            statement = sql_text(f"staging/read_{contract.kind}.sql")
            names = set(re.findall(r"\$(\w+)", statement))
            con.execute(
                "create temp table raw_read as " + statement,
                {k: v for k, v in self.pads.items() if k in names},
            )
            if file_format == "csv":
                con.execute(
                    "create temp table raw_rejects as select line, column_name, error_type from cw_rejects"
                )
            else:
                con.execute(
                    "create temp table raw_rejects (line bigint, column_name varchar, error_type varchar)"
                )
        except duckdb.Error as exc:
            _raise_if_resource(exc)
            raise FileRejected(f"not a readable {file_format.upper()} file: {_sanitised(exc)}") from None
        finally:
            con.execute("drop view if exists raw_source")
            con.execute("drop table if exists cw_rejects")
            con.execute("drop table if exists cw_rejects_scan")
        if file_format == "csv":
            encoding = con.execute(
                "select min(line) from raw_rejects where error_type = 'INVALID ENCODING'"
            ).fetchall()[0][0]
            if encoding is not None:
                raise FileRejected(f"not valid UTF-8 text (record on line {encoding})")
        good = con.execute("select count(*) from raw_read").fetchall()[0][0]
        warnings += self._number_lines(path, file_format, scan, compressed, good)
        rejected = con.execute("select count(distinct line) from raw_rejects").fetchall()[0][0]
        return good + rejected, warnings

    def _number_lines(
        self, path: Path, file_format: str, scan: FileScan, compressed: bool, good: int
    ) -> list[str]:
        """Give every row of ``raw_read`` its physical line (``_line``), rejects too."""
        con = self.con
        if file_format != "csv":
            con.execute("create temp table line_breaks as select 0::bigint as pos, 1::bigint as line")
            return []
        by_record = physical_lines(path, scan, compressed)  # index L - 1 -> line (-1: blank)
        rejected = np.array(
            sorted({r[0] for r in con.execute("select distinct line from raw_rejects").fetchall()}), np.int64
        )
        records = np.flatnonzero(by_record[1:] >= 0) + 2  # DuckDB line numbers of data records
        good_records = np.setdiff1d(records, rejected, assume_unique=True)
        warnings: list[str] = []
        if good_records.size != good:
            # the file's structure is beyond the newline scan (a stray quote): record numbers
            warnings.append("line numbers are record numbers (unbalanced quotes in the file)")
            good_lines = np.arange(2, good + 2, dtype=np.int64)
            reject_lines = rejected
        else:
            good_lines = by_record[good_records - 1]
            inside = (rejected >= 1) & (rejected <= by_record.size)
            reject_lines = np.where(
                inside, by_record[np.clip(rejected, 1, max(by_record.size, 1)) - 1], rejected
            )
        if good_lines.size:
            jumps = np.flatnonzero(np.diff(good_lines) != 1) + 1
            pos = np.concatenate(([0], jumps)).astype(np.int64)
            breaks = pa.table({"pos": pos, "line": good_lines[pos]})
        else:
            breaks = pa.table({"pos": pa.array([], pa.int64()), "line": pa.array([], pa.int64())})
        con.register("cw_breaks", breaks)
        con.execute("create temp table line_breaks as select * from cw_breaks")
        con.unregister("cw_breaks")
        if rejected.size:
            mapping = pa.table({"duck_line": rejected, "line": reject_lines.astype(np.int64)})
            con.register("cw_reject_lines", mapping)
            con.execute(
                "create or replace temp table raw_rejects as select m.line, r.column_name, r.error_type "
                "from raw_rejects as r join cw_reject_lines as m on m.duck_line = r.line"
            )
            con.unregister("cw_reject_lines")
        return warnings

    def rows(self) -> int:
        """Rows of the file read (``raw_read``), the good ones."""
        return self.con.execute("select count(*) from raw_read").fetchall()[0][0]

    def transfer_rejects(self, main: duckdb.DuckDBPyConnection) -> None:
        """Hand the malformed lines (``raw_rejects``: line, column, error) to the run's connection."""
        _copy_table(self.con, main, "select * from raw_rejects", "raw_rejects")

    def use_reference(self, main: duckdb.DuckDBPyConnection) -> None:
        """Copy the reference tables staging checks against (IBAN formats and bank codes) from
        the run's connection."""
        for name in ("iban_formats", "iban_bank_codes"):
            _copy_table(main, self.con, f"select * from {name}", name)

    def use_members(self, main: duckdb.DuckDBPyConnection) -> None:
        """Copy the ids of the members the run's connection knows (those loaded earlier in this
        run included): the member check of claims and account events reads them."""
        _copy_table(main, self.con, "select distinct member_id from members", "members")

    def _positioned(self, start: int, stop: int | None) -> str:
        """Rows at positions [start, stop) of ``raw_read``, each with its physical line: the line
        of the last break at or before its position, plus the rows since."""
        breaks = self.con.execute("select count(*), min(line) from line_breaks").fetchall()[0]
        window = f"pos >= {int(start)}" + (f" and pos < {int(stop)}" if stop is not None else "")
        positioned = (
            "select * from (select rowid - (select min(rowid) from raw_read) as pos, * from raw_read)"
            f" where {window}"
        )
        if breaks[0] <= 1:  # the usual file: no blank line, no line break inside quotes
            first = breaks[1] if breaks[1] is not None else 2
            return f"select pos + {int(first)} as _line, * exclude (pos) from ({positioned})"
        return (
            f"select b.line + (p.pos - b.pos) as _line, p.* exclude (pos) from ({positioned}) as p "
            "asof join line_breaks as b on p.pos >= b.pos"
        )

    def stage(self, main: duckdb.DuckDBPyConnection, contract: FileContract, start: int, stop: int) -> None:
        """Validate, normalise and check rows [start, stop) of the file here (``sql/staging``,
        ``sql/load/checked*.sql``), then hand them to the run's connection as temp table
        ``stg_checked``. A big file is handed over slice by slice: the run's transaction keeps
        one copy of each slice's checked rows, nothing else of the file."""
        con = self.con
        con.execute(f"create or replace temp view raw_input as {self._positioned(start, stop)}")
        con.execute("create or replace temp view stg as " + sql_text(f"staging/stg_{contract.kind}.sql"))
        checked = "load/checked_with_member.sql" if contract.names_member else "load/checked.sql"
        # every staged row carries its line: the order of the rows need not be kept
        con.execute("set preserve_insertion_order = false")
        try:
            con.execute("create or replace temp table stg_checked as " + sql_text(checked))
        finally:
            con.execute("set preserve_insertion_order = true")
            con.execute("drop view if exists stg")
            con.execute("drop view if exists raw_input")
        try:
            _copy_table(con, main, "select * from stg_checked", "stg_checked")
        finally:
            con.execute("drop table if exists stg_checked")

    def release(self) -> None:
        """Drop what the last file left in the reader."""
        for name in ("raw_read", "raw_rejects", "line_breaks", "members"):
            self.con.execute(f"drop table if exists {name}")
