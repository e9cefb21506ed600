"""Exports of the review queue from the review store: same rows in CSV, XLSX and Parquet, the
stable first columns, a reviewer-ready workbook (table, frozen header, euros, local dates, lines
sheet), formula injection neutralised, no clear identifier."""

from __future__ import annotations

import csv
import hashlib
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from claimwatch.review import queue as review
from claimwatch.review.export import EXPORT_COLUMNS, export
from claimwatch.review.store import ReviewError, cases
from tests.helpers import clear_identifiers, state, top_cases

# the scored database of test_review (built once per session, copied per test)

FIRST_COLUMNS = ["rank", "case_id", "member_id", "score", "amount_at_risk", "claim_ids", "reasons", "status"]


def _num(value) -> float | None:
    return None if value in (None, "") else round(float(value), 2)


def _normalised(records: list[list]) -> list[tuple]:
    """The first eight columns as comparable values (a CSV has text, XLSX numbers, Parquet types)."""
    out = []
    for rank, case_id, member_id, score, amount, claim_ids, reasons, status in records:
        out.append(
            (
                None if rank in (None, "") else int(rank),
                case_id,
                member_id,
                _num(score),
                _num(amount),
                claim_ids or None,
                reasons or None,
                status,
            )
        )
    return out


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    return table[0], table[1:]


def read_xlsx(path: Path) -> tuple[list[str], list[list], list[list[str]]]:
    """Header, values and openpyxl data types ('s' string, 'n' number, 'f' formula) of each cell."""
    sheet = openpyxl.load_workbook(path)["cases"]
    cells = list(sheet.iter_rows())
    header = [c.value for c in cells[0]]
    return (
        header,
        [[c.value for c in row] for row in cells[1:]],
        [[c.data_type for c in row] for row in cells[1:]],
    )


def export_all(q, tmp_path: Path, status: str | None = None) -> dict[str, Path]:
    paths = {}
    for fmt in ("csv", "xlsx", "parquet"):
        paths[fmt] = tmp_path / f"queue.{fmt}"
        export(q.store, fmt, paths[fmt], actor="erin", status=status)
    return paths


def set_case(q, case_id: str, **values) -> None:
    """Change a case in the store behind the product's back (a test of what exports do with it)."""
    with q.store.write() as conn:
        conn.execute(cases.update().where(cases.c.case_id == case_id).values(**values))


def test_required_columns_come_first_in_every_format(queue, tmp_path):
    paths = export_all(queue, tmp_path)
    assert list(EXPORT_COLUMNS) == FIRST_COLUMNS
    assert read_csv(paths["csv"])[0][:8] == FIRST_COLUMNS
    assert read_xlsx(paths["xlsx"])[0][:8] == FIRST_COLUMNS
    assert pl.read_parquet(paths["parquet"]).columns[:8] == FIRST_COLUMNS


def test_formats_hold_the_same_rows_in_rank_order(queue, tmp_path):
    # one closed case, so that the export of every status has an empty rank too
    closed = top_cases(queue, 3)[2]
    review.decide(queue.store, closed, "legitimate", actor="carol")
    paths = export_all(queue, tmp_path, status="all")
    from_csv = _normalised([r[:8] for r in read_csv(paths["csv"])[1]])
    from_xlsx = _normalised([r[:8] for r in read_xlsx(paths["xlsx"])[1]])
    from_parquet = _normalised([list(r[:8]) for r in pl.read_parquet(paths["parquet"]).iter_rows()])
    total = len(state(queue))
    assert len(from_csv) == total > 20
    assert from_csv == from_xlsx == from_parquet
    ranks = [r[0] for r in from_csv]
    # open cases 1..n first (1 = most suspicious), the closed case last without a rank
    assert ranks[0] == 1 and ranks[-1] is None and from_csv[-1][1] == closed
    assert ranks[:-1] == list(range(1, total))
    # claim_ids are the case's lines, ';'-separated
    stored = dict(
        queue.db.con.execute(
            "select case_id, list_sort(list(claim_id)) from case_claims group by case_id"
        ).fetchall()
    )
    for _, case_id, *_, claim_ids, _, _ in from_csv:
        if claim_ids:
            assert sorted(claim_ids.split(";")) == stored[case_id]
        else:  # a takeover without payment yet: no line
            assert case_id not in stored


def test_filters_of_the_queue_apply_to_the_export(queue, tmp_path):
    a, b = top_cases(queue, 2)
    review.decide(queue.store, b, "fraud", actor="carol")
    result = export(queue.store, "csv", tmp_path / "top.csv", actor="erin", top=5)
    assert result.rows == 5
    assert [r[1] for r in read_csv(tmp_path / "top.csv")[1]][:1] == [a]
    result = export(queue.store, "csv", tmp_path / "fraud.csv", actor="erin", status="closed_fraud")
    assert result.rows == 1 and read_csv(tmp_path / "fraud.csv")[1][0][1] == b
    mule = review.list_cases(queue.store, reason="MULE_ACCOUNT")
    result = export(queue.store, "csv", tmp_path / "mule.csv", actor="erin", reason="MULE_ACCOUNT")
    assert mule.total > 0 and [r[1] for r in read_csv(tmp_path / "mule.csv")[1]] == [
        r["case_id"] for r in mule.rows
    ]
    with pytest.raises(ReviewError):
        export(queue.store, "pdf", tmp_path / "queue.pdf", actor="erin")
    with pytest.raises(ReviewError):
        export(queue.store, "csv", tmp_path / "q.csv", actor="=evil")
    assert not (tmp_path / "queue.pdf").exists() and not (tmp_path / "q.csv").exists()


def test_export_is_audited_with_the_file_digest(queue, tmp_path):
    paths = export_all(queue, tmp_path)
    got = [
        (r["actor"], r["action"], r["case_id"], r["row_count"], r["file_sha256"])
        for r in review.audit(queue.store)
    ]
    open_cases = review.list_cases(queue.store).total
    assert got == [
        ("erin", "export", None, open_cases, hashlib.sha256(paths[f].read_bytes()).hexdigest())
        for f in ("csv", "xlsx", "parquet")
    ]


def test_xlsx_is_ready_for_reviewers(queue, tmp_path):
    top = top_cases(queue, 2)
    set_case(queue, top[1], scheme_id="SCHEME-7")
    review.decide(queue.store, top[0], "fraud", actor="carol", note="member confirmed")
    path = tmp_path / "queue.xlsx"
    export(queue.store, "xlsx", path, actor="erin", status="all")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["cases", "lines"]
    sheet = book["cases"]
    # one table named cases over the whole sheet, the header frozen and bold
    assert list(sheet.tables) == ["cases"] and sheet.tables["cases"].ref == sheet.dimensions
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert all(c.font.bold for c in sheet[1])
    col = {name: i for i, name in enumerate(header)}
    assert "scheme_id" in col and "decided_at (Europe/Paris)" in col and "decided_at" not in col
    body = list(sheet.iter_rows(min_row=2))
    by_case = {r[col["case_id"]].value: r for r in body}
    # amounts are numbers in euros (not text), dates real dates in Paris time
    amount = by_case[top[1]][col["amount_at_risk"]]
    assert amount.data_type == "n" and "€" in amount.number_format
    assert amount.value == pytest.approx(float(state(queue)[top[1]]["amount_at_risk"]))
    decided = by_case[top[0]][col["decided_at (Europe/Paris)"]]
    stored = state(queue)[top[0]]["decided_at"]
    assert decided.is_date and decided.number_format == "yyyy-mm-dd hh:mm"
    from zoneinfo import ZoneInfo

    local = stored.astimezone(ZoneInfo("Europe/Paris")).replace(tzinfo=None)
    assert abs((decided.value - local).total_seconds()) < 1
    assert by_case[top[1]][col["scheme_id"]].value == "SCHEME-7"
    # wide enough not to show ### (19 characters for 'yyyy-mm-dd hh:mm'), reasons wrapped
    letter = openpyxl.utils.get_column_letter
    assert sheet.column_dimensions[letter(col["decided_at (Europe/Paris)"] + 1)].width >= 16
    assert sheet.column_dimensions[letter(col["reasons"] + 1)].width >= 60
    assert by_case[top[1]][col["reasons"]].alignment.wrap_text
    # the lines sheet: each exported case's claim lines with their reasons
    lines = book["lines"]
    assert list(lines.tables) == ["lines"] and lines.freeze_panes == "A2"
    lheader = [c.value for c in lines[1]]
    assert lheader[:3] == ["case_id", "rank", "claim_id"] and "claimed_amount" in lheader
    got = {(r[0].value, r[2].value) for r in lines.iter_rows(min_row=2)}
    expected = {
        (c, claim) for c, r in state(queue).items() for claim in (r["claim_ids"] or "").split(";") if claim
    }
    assert got == expected
    first_line = next(lines.iter_rows(min_row=2))
    assert first_line[lheader.index("claimed_amount")].data_type == "n"
    assert first_line[lheader.index("care_date")].is_date
    assert first_line[lheader.index("reason_codes")].value


INJECTIONS = ["+1+1", "@SUM(A1)", "-2"]
MEMBER_FORMULA = "=CMD|' /C calc'!A0"


def test_formula_injection_is_neutralised(queue, tmp_path):
    first, *others = top_cases(queue, 4)
    set_case(queue, first, member_id=MEMBER_FORMULA)
    for case_id, text in zip(others, INJECTIONS, strict=True):
        set_case(queue, case_id, reasons=text)
    paths = export_all(queue, tmp_path)

    # CSV: a leading quote makes the spreadsheet show the text instead of running it
    header, body = read_csv(paths["csv"])
    by_case = {r[1]: dict(zip(header, r, strict=True)) for r in body}
    assert by_case[first]["member_id"] == "'" + MEMBER_FORMULA
    assert [by_case[c]["reasons"] for c in others] == ["'" + t for t in INJECTIONS]
    # ordinary cells are left alone
    plain = next(r for c, r in by_case.items() if c not in (first, *others))
    assert not plain["member_id"].startswith("'") and not plain["reasons"].startswith("'")

    # XLSX: the same text stored as a string cell, never as a formula
    header, values, types = read_xlsx(paths["xlsx"])
    cells = {
        v[1]: (dict(zip(header, v, strict=True)), dict(zip(header, t, strict=True)))
        for v, t in zip(values, types, strict=True)
    }
    assert cells[first][0]["member_id"] == MEMBER_FORMULA and cells[first][1]["member_id"] == "s"
    for case_id, text in zip(others, INJECTIONS, strict=True):
        assert cells[case_id][0]["reasons"] == text and cells[case_id][1]["reasons"] == "s"
    assert not any("f" in t for t in types)
    with zipfile.ZipFile(paths["xlsx"]) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 2 and not any(b"<f>" in book.read(n) for n in sheets)

    # Parquet is data, not a spreadsheet: values as stored
    frame = pl.read_parquet(paths["parquet"])
    assert frame.filter(pl.col("case_id") == first)["member_id"].to_list() == [MEMBER_FORMULA]


def test_no_clear_identifier_in_any_export(queue, tmp_path, generated_inbox):
    identifiers = {v.lower() for v in clear_identifiers(generated_inbox)}
    assert len(identifiers) > 3000
    paths = export_all(queue, tmp_path, status="all")
    texts = {"csv": paths["csv"].read_text(encoding="utf-8")}
    with zipfile.ZipFile(paths["xlsx"]) as book:
        texts["xlsx"] = "\n".join(book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml"))
    texts["parquet"] = pl.read_parquet(paths["parquet"]).cast(pl.String).write_csv()
    for fmt, text in texts.items():
        text = text.lower()
        # the export is not empty: member ids and reasons are there
        assert "case-" in text and "iban changed" in text, fmt
        leaks = sorted(v for v in identifiers if v in text)
        assert leaks == [], fmt


def test_amount_at_risk_is_exact_in_parquet(queue, tmp_path):
    # money stays decimal in Parquet (no float rounding in the insurer's tools)
    path = tmp_path / "queue.parquet"
    export(queue.store, "parquet", path, actor="erin")
    frame = pl.read_parquet(path)
    assert isinstance(frame.schema["amount_at_risk"], pl.Decimal)
    stored = {c: r["amount_at_risk"] for c, r in state(queue).items()}
    duck = dict(queue.db.con.execute("select case_id, amount_at_risk from cases").fetchall())
    assert all(
        stored[c] == duck[c] == Decimal(str(a))
        for c, a in frame.select("case_id", "amount_at_risk").iter_rows()
    )
