"""The domain corrections of sql/features on tiny inline data in a real DuckDB file: what is a
duplicate payment, which provider numbers carry a check key, which lines a relative's takeover
reaches. Each case states why the expected value is right."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from claimwatch.scoring.score import build_features
from claimwatch.store.db import connect

MEMBERS = [
    # member, subscriber (contract), department
    ("M1", "A1", "75"),
    ("M2", "A2", "69"),
    ("M3", "A3", "13"),
    ("M4", "A4", "33"),
    ("M5", "A5", "59"),
    ("M6", "A6", "31"),
    ("M7", "A7", "44"),
    ("M8", "A7", "44"),  # M8 is a relative of M7 on the same contract
    ("M9", "A9", "67"),
]

DAY = date(2026, 3, 2)


def line(
    claim_id, member, source, act, provider, billed, ro, claimed, received, category="dental", iban=None
):
    payee = "provider" if source == "tiers_payant" else "member"
    return {
        "claim_id": claim_id,
        "member_id": member,
        "care_date": DAY,
        "received_date": received,
        "source": source,
        "care_category": category,
        "act_code": act,
        "provider_id": provider,
        "billed_amount": billed,
        "ro_amount": ro,
        "claimed_amount": claimed,
        "payee": payee,
        "payee_iban_hash": (iban or f"iban-{member}") if payee == "member" else None,
    }


D = date
CLAIMS = [
    # M1: a 0 € pair (care fully covered by the RO, complement line 0 € too): nothing paid twice
    line("Z1", "M1", "noemie", "HBLD038", "10000000001", 500, 500, 0, D(2026, 3, 5)),
    line("Z2", "M1", "member_upload", "HBLD038", "10000000001", 500, 500, 0, D(2026, 3, 9)),
    # M2: the same consultation act the same day with two doctors: two visits, not one twice
    line("G1", "M2", "noemie", "G", "10000000002", 30, 21, 9, D(2026, 3, 5), "consultation"),
    line("G2", "M2", "paper", "G", "10000000003", 30, 21, 9, D(2026, 3, 20), "consultation"),
    # M3: two crowns the same day, each with its RO line (ticket modérateur 48 €) and the
    # member's complement invoice (the 380 € above the base): per unit 48 + 380 = 428 = billed
    # 500 - RO 72, so nothing is paid twice although every amount repeats
    line("U1", "M3", "noemie", "HBLD038", "10000000004", 500, 72, 48, D(2026, 3, 5)),
    line("U2", "M3", "noemie", "HBLD038", "10000000004", 500, 72, 48, D(2026, 3, 5)),
    line("U3", "M3", "member_upload", "HBLD038", "10000000004", 500, 72, 380, D(2026, 3, 12)),
    line("U4", "M3", "member_upload", "HBLD038", "10000000004", 500, 72, 380, D(2026, 3, 13)),
    # M4: the member uploads the invoice first, the noemie line of the same care arrives later:
    # both paid -> a second payment, on the electronic line (the recovery list, not fraud)
    line("E1", "M4", "member_upload", "HBLD038", "10000000005", 500, 72, 428, D(2026, 3, 3)),
    line("E2", "M4", "noemie", "HBLD038", "10000000005", 500, 72, 428, D(2026, 3, 10)),
    # M5: the noemie line is paid, then the member sends a copy of the same care: the fraud pattern
    line("F1", "M5", "noemie", "HBLD038", "10000000006", 500, 72, 428, D(2026, 3, 5)),
    line("F2", "M5", "member_upload", "HBLD038", "10000000006", 500, 72, 428, D(2026, 3, 25)),
    # M9: two crowns (noemie 48 € each) and the member's complement invoices (380 € each): the
    # first crown's invoice came by paper and was uploaded the next day too, the second's by
    # paper. Per unit: crown 1 has 48 + 380 + 380 > 428 (the upload pays it twice), crown 2 has
    # 48 + 380 = 428 (nothing twice). The upload repeats the member's own invoice: an honest
    # double submission, not a copy of the noemie line
    line("N1", "M9", "noemie", "HBLD038", "10000000008", 500, 72, 48, D(2026, 3, 5)),
    line("N2", "M9", "noemie", "HBLD038", "10000000008", 500, 72, 48, D(2026, 3, 5)),
    line("P1", "M9", "paper", "HBLD038", "10000000008", 500, 72, 380, D(2026, 3, 12)),
    line("W1", "M9", "member_upload", "HBLD038", "10000000008", 500, 72, 380, D(2026, 3, 13)),
    line("P2", "M9", "paper", "HBLD038", "10000000008", 500, 72, 380, D(2026, 3, 20)),
    # M6: an osteopath with an ADELI number (9 digits, no key: 751234567 fails Luhn) and an
    # optician with a FINESS number whose key is wrong (750000003: Luhn fails)
    line("A1", "M6", "member_upload", "OST", "751234567", 60, 0, 60, D(2026, 3, 6), "alternative_medicine"),
    line("O1", "M6", "tiers_payant", "2210546", "750000003", 150, 0.03, 100, D(2026, 3, 6), "optical"),
    # M7 / M8: M7's IBAN is changed to X on 2026-03-01; an invoice in M8's name is paid to X
    line(
        "H1", "M8", "member_upload", "2210546", "10000000007", 300, 0.03, 250, D(2026, 3, 8), "optical", "X"
    ),
]


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    from claimwatch.settings import Settings
    from tests.helpers import TEST_KEY

    path = tmp_path_factory.mktemp("features") / "f.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLAIMWATCH_KEY", TEST_KEY)
        db = connect(Settings(db=path, inbox=path.parent), create=True)
    members = pl.DataFrame(
        [
            {
                "member_id": m,
                "subscriber_id": s,
                "birth_date": date(1970, 1, 1),
                "sex": "F",
                "postcode": dep + "000",
                "department": dep,
                "contract_start": date(2020, 1, 1),
                "iban_hash": f"iban-{m}",
                "iban_country": "FR",
                "iban_bank_code": "30004",
                "source_file": "t",
                "source_line": 1,
                "loaded_at": date(2026, 1, 1),
            }
            for m, s, dep in MEMBERS
        ]
    )
    claims = pl.DataFrame(CLAIMS).with_columns(
        source_file=pl.lit("t"), source_line=pl.lit(1), loaded_at=pl.lit(date(2026, 1, 1))
    )
    events = pl.DataFrame(
        [
            {
                "event_id": "EV1",
                "member_id": "M7",
                "event_time": "2026-03-01 10:00:00",
                "event_type": "iban_change",
                "new_value_hash": "X",
                "new_iban_country": "LT",
                "new_iban_bank_code": "32500",
                "channel": "web",
                "ip_country": "NG",
                "source_file": "t",
                "source_line": 1,
                "loaded_at": date(2026, 1, 1),
            }
        ]
    ).with_columns(pl.col("event_time").str.to_datetime())
    for name, frame in (("members", members), ("claims", claims), ("account_events", events)):
        db.con.register("rows", frame.to_arrow())
        db.con.execute(f"insert into {name} by name select * from rows")
        db.con.unregister("rows")
    build_features(db)
    signals = db.con.sql("select * from f_claim_signals order by claim_id").pl()
    providers = db.con.sql("select * from f_provider_profile order by provider_id").pl()
    db.close()
    return signals, providers


def dup(signals, claim_id):
    return signals.filter(pl.col("claim_id") == claim_id)["is_duplicate_payment"][0]


def test_zero_euro_pair_is_not_a_duplicate(features):
    signals, _ = features
    assert not dup(signals, "Z1") and not dup(signals, "Z2")


def test_same_act_same_day_at_two_providers_is_two_visits(features):
    signals, _ = features
    assert not dup(signals, "G1") and not dup(signals, "G2")


def test_several_units_are_compared_per_unit(features):
    signals, _ = features
    assert [dup(signals, c) for c in ("U1", "U2", "U3", "U4")] == [False] * 4
    # both crowns are counted as units of one care (2 noemie lines of the same act)
    assert signals.filter(pl.col("claim_id") == "U3")["care_units"][0] == 2


def test_member_invoice_before_the_noemie_line_makes_the_noemie_line_the_second_payment(features):
    signals, _ = features
    second = signals.filter(pl.col("claim_id") == "E2").row(0, named=True)
    assert not dup(signals, "E1")
    assert second["is_duplicate_payment"] and second["duplicate_of_source"] == "member_upload"
    assert not second["member_sent"]  # so detectors put it on the recovery list


def test_copy_sent_after_the_noemie_line_is_the_duplicate(features):
    signals, _ = features
    copy = signals.filter(pl.col("claim_id") == "F2").row(0, named=True)
    assert copy["is_duplicate_payment"] and copy["member_sent"] and copy["duplicate_of_source"] == "noemie"


def test_a_member_invoice_sent_twice_is_the_only_second_payment_of_its_unit(features):
    signals, _ = features
    assert [dup(signals, c) for c in ("N1", "N2", "P1", "P2")] == [False] * 4
    upload = signals.filter(pl.col("claim_id") == "W1").row(0, named=True)
    assert upload["is_duplicate_payment"] and upload["care_units"] == 2
    assert upload["resends_member_invoice"] and upload["resent_claim_id"] == "P1"
    # a copy of the noemie line does not re-send a member invoice
    copy = signals.filter(pl.col("claim_id") == "F2").row(0, named=True)
    assert not copy["resends_member_invoice"] and copy["resent_claim_id"] is None


def test_adeli_numbers_have_no_key_finess_keys_are_checked(features):
    _, providers = features
    by_id = {r["provider_id"]: r for r in providers.iter_rows(named=True)}
    assert by_id["751234567"]["registry"] == "ADELI" and by_id["751234567"]["registry_key_valid"] is None
    assert by_id["750000003"]["registry"] == "FINESS" and by_id["750000003"]["registry_key_valid"] is False
    # an RPPS number (11 digits) is checked too: 10000000001 fails Luhn
    assert by_id["10000000001"]["registry"] == "RPPS"


def test_relatives_line_paid_to_the_account_a_change_set_is_linked_to_that_change(features):
    signals, _ = features
    h1 = signals.filter(pl.col("claim_id") == "H1").row(0, named=True)
    # M8 has no change of its own: its line reaches M7's change through the contract
    assert h1["iban_change_event_id"] is None and h1["household_change_event_id"] == "EV1"
