"""Messages and logs never carry a clear identifier; the key's pads never reach the database."""

from __future__ import annotations

import duckdb
import pytest

from claimwatch.store.db import split_statements, sql_text
from claimwatch.store.privacy import PseudonymKey, redact

IDENTIFIER_FORMS = [
    "FR7630006000011234567890189",
    "FR76 3000 6000 0112 3456 7890 189",
    "FR76-3000-6000-0112-3456-7890-189",
    "fr7630006000011234567890189",
    "jean.dupont@gmail.com",
    "JEAN.DUPONT@GMAIL.COM",
    "06 12 34 56 78",
    "06-12-34-56-78",
    "06.12.34.56.78",
    "0612345678",
    "+33612345678",
    "+33 6 12 34 56 78",
    "0033612345678",
    "0033 6 12 34 56 78",
    "33612345678",
    "180057511234580",
    "1 80 05 75 112 345 80",
    "1-80-05-75-112-345-80",
    "1.80.05.75.112.345.80",
    "2 84 12 2A 115 422 14",
]
# claim ids, amounts, dates, RPPS (11 digits) / FINESS (9 characters) provider numbers, CIP
# (13 digits from 34009) and LPP codes, postcodes are not identifiers
ORDINARY = [
    "C1000123",
    "C1000000001",
    "30.00",
    "2026-03-04",
    "10001234567",
    "750012345",
    "3400901436293",
    "1234567",
    "75011",
    "M94999161",
    "teleconsultation-2025-12",
]


@pytest.fixture(scope="module")
def macros():
    con = duckdb.connect()
    for statement in split_statements(sql_text("staging/identifier_macros.sql")):
        con.execute(statement)
    yield con
    con.close()


@pytest.mark.parametrize("identifier", IDENTIFIER_FORMS)
def test_sql_and_python_redaction_mask_the_same_forms(macros, identifier):
    # one redaction: the SQL masks of every copy of a line and the Python one of messages agree
    text = f"see {identifier} here"
    assert macros.execute(
        "select cw_looks_like_identifier(?), cw_redact(?)", [text, identifier]
    ).fetchall() == [(True, "[redacted]")]
    assert identifier not in redact(text)


@pytest.mark.parametrize("value", ORDINARY)
def test_sql_and_python_redaction_keep_ordinary_values(macros, value):
    assert macros.execute(
        "select cw_looks_like_identifier(?), cw_redact_code(?)", [value, value]
    ).fetchall() == [(False, value)]
    assert redact(value) == value


def test_bare_nine_digits_are_masked_in_quarantine_copies_only(macros):
    # a phone whose leading 0 a spreadsheet dropped: masked in a quarantined line's copy, but a
    # 9-digit FINESS provider number is kept in provider_id (cw_redact_code)
    assert macros.execute("select cw_redact('612345678'), cw_redact_code('612345678')").fetchall() == [
        ("[redacted]", "612345678")
    ]


@pytest.mark.parametrize(
    ("kind", "value", "normalised"),
    [
        ("phone", "n/a", None),
        ("phone", "-", None),
        ("phone", "inconnu", None),
        ("phone", "0", None),
        ("phone", "00 00 00 00 00", None),
        ("phone", "+33 0 00 00 00 00", None),
        ("email", "N/A", None),
        ("email", "none", None),
        ("email", "xx@xx", None),
        ("nir", "000000000000000", None),
        ("iban", "NULL", None),
        ("iban", "", None),
        ("phone", "06 12 34 56 78", "+33612345678"),
        ("phone", "612345678", "+33612345678"),
        ("phone", "0033 6 12 34 56 78", "+33612345678"),
        ("email", " Jean.Dupont@Gmail.com ", "jean.dupont@gmail.com"),
        ("iban", "fr76 3000-6000 0112 3456 7890 189", "FR7630006000011234567890189"),
    ],
)
def test_placeholders_normalise_to_null(macros, kind, value, normalised):
    assert macros.execute("select cw_identifier_normalised(?, ?)", [kind, value]).fetchall() == [
        (normalised,)
    ]


@pytest.mark.parametrize("identifier", IDENTIFIER_FORMS[:9])
def test_redact_masks_every_identifier_form(identifier):
    message = f"line 3 of claims.csv: value {identifier} rejected"
    masked = redact(message)
    assert identifier not in masked
    assert masked.startswith("line 3 of claims.csv: value [redacted]")


def test_redact_keeps_ordinary_values():
    # claim ids, amounts, dates, RPPS/FINESS provider numbers and postcodes are not identifiers
    text = "claim C1000123 on 2026-03-04, 30.00 €, provider 10001234567, FINESS 750012345, 75011"
    assert redact(text) == text


def test_key_repr_and_pads_do_not_reveal_the_secret():
    key = PseudonymKey(b"s" * 40)
    assert "s" * 10 not in repr(key)
    pads = key.pads()
    assert len(pads["ipad"]) == len(pads["opad"]) == 64
    assert pads["ipad"] != pads["opad"]
