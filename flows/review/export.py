"""Exports of the review queue from the review store: CSV, reviewer-ready XLSX, Parquet.

The first columns are always ``rank, case_id, member_id, score, amount_at_risk, claim_ids,
reasons, status`` (rank 1 = most suspicious, claim ids separated by ``;``). No clear identifier
exists to export (members are pseudonymised at ingest); no cell is ever a formula.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from claimwatch.review.queue import FORMULA_PREFIXES, CaseFilter, _select_cases, append_audit, validate_name
from claimwatch.review.store import ReviewError, ReviewStore
from claimwatch.review.sync import CASE_SCHEMA
from claimwatch.store.db import sql_text

EXPORT_COLUMNS = ("rank", "case_id", "member_id", "score", "amount_at_risk", "claim_ids", "reasons", "status")
EXTRA_COLUMNS = (
    "scheme_id",
    "assigned_to",
    "decision",
    "decided_by",
    "decided_at",
    "note",
    "reason_codes",
    "opened_at",
    "updated_at",
    "previous_case_id",
)
FORMATS = ("csv", "xlsx", "parquet")
# reviewers read dates in French local time; the zone is named in the header
LOCAL_ZONE = "Europe/Paris"
EURO = '#,##0.00\\ "€"'
LINE_COLUMNS = (
    "case_id",
    "rank",
    "claim_id",
    "care_date",
    "received_date",
    "source",
    "care_category",
    "act_code",
    "provider_id",
    "claimed_amount",
    "reason_codes",
    "reasons",
)


LISTS = ("fraud", "recovery")  # the fraud queue, or overpayments to recover


@dataclass(frozen=True)
class ExportResult:
    rows: int
    sha256: str
    path: Path


def export_frame(store: ReviewStore, filters: CaseFilter, top: int | None = None) -> pl.DataFrame:
    """The export's rows from the store, required columns first, in rank order."""
    query, order = _select_cases(filters, "rank")
    query = query.order_by(*order)
    if top is not None:
        query = query.limit(top)
    columns = (*EXPORT_COLUMNS, *EXTRA_COLUMNS)
    with store.read() as conn:
        rows = conn.execute(query).mappings().all()
    frame = pl.DataFrame(
        [{c: r[c] for c in columns} for r in rows], schema={c: CASE_SCHEMA[c] for c in columns}, orient="row"
    )
    return frame.with_columns(pl.col("score").round(2))


def recovery_frame(store: ReviewStore, top: int | None = None) -> pl.DataFrame:
    """The latest run's recovery list (overpayments, largest first) from the published copy,
    under the export's required columns; empty before the first published run."""
    path = store.analytics_db
    columns = {c: CASE_SCHEMA[c] for c in EXPORT_COLUMNS}
    if path is None or not Path(path).exists():
        return pl.DataFrame(schema=columns)
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.sql(sql_text("queue/recovery_list.sql")).pl()
    finally:
        con.close()
    frame = frame.cast({c: t for c, t in columns.items() if c in frame.columns}).with_columns(
        pl.col("score").round(2)
    )
    return frame.head(top) if top is not None else frame


def _neutralised(column: str) -> pl.Expr:
    """Prefix a cell a spreadsheet would run as a formula with a quote (vectorised)."""
    col = pl.col(column)
    starts = pl.any_horizontal([col.str.starts_with(p) for p in FORMULA_PREFIXES])
    return pl.when(starts.fill_null(False)).then(pl.lit("'") + col).otherwise(col).alias(column)


def lines_frame(store: ReviewStore, cases: pl.DataFrame) -> pl.DataFrame:
    """Each exported case's claim lines (claim id, dates, act, provider, amount, reasons) from
    the published analytics copy; empty before the first published run."""
    pairs = (
        cases.select("case_id", "rank", claim_id=pl.col("claim_ids").str.split(";"))
        .explode("claim_id")
        .filter(pl.col("claim_id").is_not_null() & (pl.col("claim_id") != ""))
    )
    empty = pl.DataFrame(
        schema={
            "case_id": pl.String,
            "rank": pl.Int64,
            "claim_id": pl.String,
            "care_date": pl.Date,
            "received_date": pl.Date,
            "source": pl.String,
            "care_category": pl.String,
            "act_code": pl.String,
            "provider_id": pl.String,
            "claimed_amount": pl.Float64,
            "reason_codes": pl.String,
            "reasons": pl.String,
        }
    )
    path = store.analytics_db
    if path is None or not Path(path).exists() or pairs.height == 0:
        return empty
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.register("export_case_claims", pairs.to_arrow())
        return con.sql(sql_text("queue/export_lines.sql")).pl().select(LINE_COLUMNS)
    finally:
        con.close()


def _local(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Timestamps in Europe/Paris wall time (a spreadsheet has no zone), zone in the header."""
    return frame.with_columns(
        pl.col(c).dt.convert_time_zone(LOCAL_ZONE).dt.replace_time_zone(None) for c in columns
    ).rename({c: f"{c} ({LOCAL_ZONE})" for c in columns})


def _pixels(widths: dict[str, int]) -> dict[str, int]:
    """Column widths in characters → the pixels polars' write_excel takes (7 px a character)."""
    return {c: 7 * w + 5 for c, w in widths.items()}


def _row_heights(frame: pl.DataFrame, widths: dict[str, int]) -> dict[tuple[int, ...], int]:
    """Row heights (points) that show every line of the wrapped cells: spreadsheets do not grow
    a row for wrapped text written by a program. Rows are numbered from 1 (0 is the header)."""
    if frame.height == 0:
        return {}
    lines = pl.max_horizontal(
        [
            (pl.col(c).fill_null("").str.len_chars() / max(0.8 * w, 1)).ceil().clip(1, 12)
            for c, w in widths.items()
            if c in frame.columns
        ]
    )
    heights = (
        frame.select((lines * 15).cast(pl.Int64).alias("height"))
        .with_row_index("row", offset=1)
        .group_by("height", maintain_order=True)
        .agg("row")
    )
    return {tuple(r): h for h, r in heights.iter_rows() if h > 15}


# widths in characters
CASE_WIDTHS = {
    "rank": 6,
    "case_id": 14,
    "member_id": 13,
    "score": 7,
    "amount_at_risk": 14,
    "claim_ids": 24,
    "reasons": 90,
    "status": 17,
    "scheme_id": 14,
    "assigned_to": 12,
    "decision": 11,
    "decided_by": 12,
    "note": 40,
    "reason_codes": 34,
    "previous_case_id": 14,
    **{f"{c} ({LOCAL_ZONE})": 19 for c in ("decided_at", "opened_at", "updated_at")},
}
LINE_WIDTHS = {
    "case_id": 14,
    "rank": 6,
    "claim_id": 14,
    "care_date": 11,
    "received_date": 11,
    "source": 14,
    "care_category": 14,
    "act_code": 9,
    "provider_id": 13,
    "claimed_amount": 13,
    "reason_codes": 26,
    "reasons": 90,
}
WRAPPED = ("reasons", "claim_ids", "note", "reason_codes")


def write_xlsx(frame: pl.DataFrame, lines: pl.DataFrame, out: Path) -> None:
    """A reviewer-ready workbook: table ``cases`` and table ``lines``, bold frozen headers,
    wrapped reasons, amounts as numbers in euros, local dates; every text cell a string."""
    from xlsxwriter import Workbook

    stamps = ("decided_at", "opened_at", "updated_at")
    cases = _local(frame.with_columns(pl.col("amount_at_risk").cast(pl.Float64)), stamps)
    lines = lines.with_columns(pl.col("claimed_amount").cast(pl.Float64))
    top = {"valign": "top"}
    wrap = {"text_wrap": True, **top}
    euro = {"num_format": EURO, **top}
    day = {"num_format": "yyyy-mm-dd", **top}
    header = {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DCE6F1", "border": 1}
    with Workbook(
        str(out),
        {
            # strings stay strings: no formula, no URL, no number guessed (OWASP formula injection)
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    ) as book:
        cases.write_excel(
            workbook=book,
            worksheet="cases",
            table_name="cases",
            table_style="Table Style Medium 2",
            header_format=header,
            freeze_panes=(1, 0),
            column_formats={
                **{c: top for c in cases.columns},
                "rank": {"num_format": "0", **top},
                "score": {"num_format": "0.0", **top},
                "amount_at_risk": euro,
                **{c: wrap for c in WRAPPED},
                **{f"{c} ({LOCAL_ZONE})": {"num_format": "yyyy-mm-dd hh:mm", **top} for c in stamps},
            },
            column_widths=_pixels(CASE_WIDTHS),
            row_heights=_row_heights(cases, {c: CASE_WIDTHS[c] for c in WRAPPED}),
        )
        lines.write_excel(
            workbook=book,
            worksheet="lines",
            table_name="lines",
            table_style="Table Style Light 9",
            header_format=header,
            freeze_panes=(1, 0),
            column_formats={
                **{c: top for c in lines.columns},
                "claimed_amount": euro,
                "care_date": day,
                "received_date": day,
                "reasons": wrap,
                "reason_codes": wrap,
            },
            column_widths=_pixels(LINE_WIDTHS),
            row_heights=_row_heights(lines, {c: LINE_WIDTHS[c] for c in ("reasons", "reason_codes")}),
        )
        for name in ("cases", "lines"):
            # printed or turned into a PDF: landscape A4, one page wide, the header on every page
            sheet = book.get_worksheet_by_name(name)
            sheet.set_landscape()
            sheet.set_paper(9)
            sheet.fit_to_pages(1, 0)
            sheet.repeat_rows(0)


def export(
    store: ReviewStore,
    fmt: str,
    out: Path,
    *,
    actor: str,
    top: int | None = None,
    status: str | None = None,
    reason: str | None = None,
    scheme: str | None = None,
    assignee: str | None = None,
    min_amount: Decimal | float | None = None,
    list_name: str = "fraud",
) -> ExportResult:
    """Write the cases of a filter (default: the open queue) in rank order, or the recovery
    list (``list_name="recovery"``: overpayments to recover, not fraud); audited with the
    file's SHA-256 and row count."""
    if fmt not in FORMATS:
        raise ReviewError("format must be csv, xlsx or parquet")
    if list_name not in LISTS:
        raise ReviewError(f"--list must be one of {', '.join(LISTS)}")
    actor = validate_name(actor)
    filters = CaseFilter(status, reason, scheme, assignee, min_amount)
    frame = export_frame(store, filters, top) if list_name == "fraud" else recovery_frame(store, top)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        text = [c for c, t in frame.schema.items() if t == pl.String]
        frame.with_columns(_neutralised(c) for c in text).write_csv(out)
    elif fmt == "xlsx":
        write_xlsx(frame, lines_frame(store, frame), out)
    else:
        frame.write_parquet(out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    details = {
        "format": fmt,
        "file": str(out),
        "top": top,
        "list": list_name,
        **{k: v for k, v in filters.__dict__.items() if v is not None},
    }
    details.setdefault("status", "open")
    with store.write() as conn:
        append_audit(conn, actor, "export", None, details, row_count=frame.height, file_sha256=digest)
    return ExportResult(frame.height, digest, out)
