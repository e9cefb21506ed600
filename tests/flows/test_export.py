"""Exports of the review queue: same rows in CSV, XLSX and Parquet, the stable first columns,
formula injection neutralised, no clear identifier."""

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
from claimwatch.review.queue import EXPORT_COLUMNS
from tests.conftest import clear_identifiers
from tests.flows import test_review
from tests.flows.test_review import rows, top_cases

# the scored database of test_review (built once per session, copied per test)
queue_template = test_review.queue_template
queue_db = test_review.queue_db

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
    sheet = openpyxl.load_workbook(path).active
    cells = list(sheet.iter_rows())
    header = [c.value for c in cells[0]]
    return (
        header,
        [[c.value for c in row] for row in cells[1:]],
        [[c.data_type for c in row] for row in cells[1:]],
    )


def export_all(db, tmp_path: Path, status: str | None = None) -> dict[str, Path]:
    paths = {}
    for fmt in ("csv", "xlsx", "parquet"):
        paths[fmt] = tmp_path / f"queue.{fmt}"
        review.export(db, fmt, paths[fmt], "erin", status)
    return paths


def test_required_columns_come_first_in_every_format(queue_db, tmp_path):
    paths = export_all(queue_db, tmp_path)
    assert list(EXPORT_COLUMNS) == FIRST_COLUMNS
    assert read_csv(paths["csv"])[0][:8] == FIRST_COLUMNS
    assert read_xlsx(paths["xlsx"])[0][:8] == FIRST_COLUMNS
    assert pl.read_parquet(paths["parquet"]).columns[:8] == FIRST_COLUMNS


def test_formats_hold_the_same_rows_in_rank_order(queue_db, tmp_path):
    # one closed case, so that the export of every status has an empty rank too
    closed = top_cases(queue_db, 3)[2]
    review.decide(queue_db, closed, "legitimate", "carol")
    paths = export_all(queue_db, tmp_path, status="all")
    from_csv = _normalised([r[:8] for r in read_csv(paths["csv"])[1]])
    from_xlsx = _normalised([r[:8] for r in read_xlsx(paths["xlsx"])[1]])
    from_parquet = _normalised([list(r[:8]) for r in pl.read_parquet(paths["parquet"]).iter_rows()])
    total = rows(queue_db, "select count(*) from cases")[0][0]
    assert len(from_csv) == total > 20
    assert from_csv == from_xlsx == from_parquet
    ranks = [r[0] for r in from_csv]
    # open cases 1..n first (1 = most suspicious), the closed case last without a rank
    assert ranks[0] == 1 and ranks[-1] is None and from_csv[-1][1] == closed
    assert ranks[:-1] == sorted(ranks[:-1])
    # claim_ids are the case's lines, ';'-separated
    stored = dict(
        rows(queue_db, "select case_id, list_sort(list(claim_id)) from case_claims group by case_id")
    )
    for _, case_id, *_, claim_ids, _, _ in from_csv:
        if claim_ids:
            assert sorted(claim_ids.split(";")) == stored[case_id]
        else:  # a takeover without payment yet: no line
            assert case_id not in stored


def test_top_and_status_filters(queue_db, tmp_path):
    a, b = top_cases(queue_db, 2)
    review.decide(queue_db, b, "fraud", "carol")
    n, _ = review.export(queue_db, "csv", tmp_path / "top.csv", "erin", top=5)
    assert n == 5
    assert [r[1] for r in read_csv(tmp_path / "top.csv")[1]][:1] == [a]
    n, _ = review.export(queue_db, "csv", tmp_path / "fraud.csv", "erin", status="closed_fraud")
    assert n == 1 and read_csv(tmp_path / "fraud.csv")[1][0][1] == b
    with pytest.raises(review.ReviewError):
        review.export(queue_db, "pdf", tmp_path / "queue.pdf", "erin")


def test_export_is_audited_with_the_file_digest(queue_db, tmp_path):
    paths = export_all(queue_db, tmp_path)
    got = rows(
        queue_db, "select actor, action, case_id, row_count, file_sha256 from audit_log order by audit_id"
    )
    open_cases = rows(queue_db, "select count(*) from cases where rank is not null")[0][0]
    assert got == [
        ("erin", "export", None, open_cases, hashlib.sha256(paths[f].read_bytes()).hexdigest())
        for f in ("csv", "xlsx", "parquet")
    ]


INJECTIONS = ["+1+1", "@SUM(A1)", "-2"]
MEMBER_FORMULA = "=CMD|' /C calc'!A0"


def test_formula_injection_is_neutralised(queue_db, tmp_path):
    first, *others = top_cases(queue_db, 4)
    queue_db.con.execute("update cases set member_id = ? where case_id = ?", [MEMBER_FORMULA, first])
    for case_id, text in zip(others, INJECTIONS, strict=True):
        queue_db.con.execute("update cases set reasons = ? where case_id = ?", [text, case_id])
    paths = export_all(queue_db, tmp_path)

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
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in book.read(n) for n in sheets)

    # Parquet is data, not a spreadsheet: values as stored
    frame = pl.read_parquet(paths["parquet"])
    assert frame.filter(pl.col("case_id") == first)["member_id"].to_list() == [MEMBER_FORMULA]


def test_no_clear_identifier_in_any_export(queue_db, tmp_path, generated_inbox):
    identifiers = {v.lower() for v in clear_identifiers(generated_inbox)}
    assert len(identifiers) > 3000
    paths = export_all(queue_db, tmp_path, status="all")
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


def test_amount_at_risk_is_exact_in_parquet(queue_db, tmp_path):
    # money stays decimal in Parquet (no float rounding in the insurer's tools)
    path = tmp_path / "queue.parquet"
    review.export(queue_db, "parquet", path, "erin")
    frame = pl.read_parquet(path)
    assert isinstance(frame.schema["amount_at_risk"], pl.Decimal)
    stored = dict(rows(queue_db, "select case_id, amount_at_risk from cases"))
    assert all(stored[c] == Decimal(str(a)) for c, a in frame.select("case_id", "amount_at_risk").iter_rows())
