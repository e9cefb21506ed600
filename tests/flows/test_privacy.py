"""Messages and logs never carry a clear identifier; the key's pads never reach the database."""

from __future__ import annotations

import pytest

from claimwatch.store.privacy import PseudonymKey, redact


@pytest.mark.parametrize(
    "identifier",
    [
        "FR7630006000011234567890189",
        "FR76 3000 6000 0112 3456 7890 189",
        "jean.dupont@gmail.com",
        "06 12 34 56 78",
        "0612345678",
        "+33612345678",
        "0033612345678",
        "180057511234580",
        "1 80 05 75 112 345 80",
    ],
)
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
