"""Explicit rules (detectors/rules.py) on tiny inline frames holding only the columns each rule reads.

Weights are a reviewer's prior and may be retuned: tests pin the direction (a takeover scores high, a
legitimate change low) and the noisy-OR arithmetic, with the sum worked out in a comment.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from claimwatch.detectors import rules
from claimwatch.detectors.config import DEFAULT_CONFIG

# --------------------------------------------------------------------------- IBAN changes

CHANGE_SCHEMA = {
    "change_date": pl.Date,
    "channel": pl.String,
    "security_events_14d_before": pl.Int64,
    "hours_since_security_event": pl.Int64,
    "contact_changes_30d_before": pl.Int64,
    "hours_since_contact_change": pl.Int64,
    "foreign_ip_events_14d": pl.Int64,
    "foreign_ip_country": pl.String,
    "foreign_ip_countries": pl.Int64,
    "previous_iban_foreign": pl.Boolean,
    "previous_iban_country": pl.String,
    "new_iban_foreign": pl.Boolean,
    "new_iban_country": pl.String,
    "new_bank_online": pl.Boolean,
    "new_bank_share": pl.Float64,
    "household_size": pl.Int64,
    "household_members_on_new_iban": pl.Int64,
    "new_iban_subscribers_linked": pl.Int64,
    "new_iban_postcodes_linked": pl.Int64,
    "new_iban_departments_linked": pl.Int64,
    "changed_after_breach": pl.Boolean,
    "payments_30d": pl.Int64,
    "uploaded_payments_30d": pl.Int64,
    "high_risk_payments_30d": pl.Int64,
    "days_to_first_payment": pl.Int64,
    "amount_paid_30d": pl.Float64,
    "categories_paid_30d": pl.String,
}

# A plain change: a couple moves both their reimbursements to a mainstream French bank at the
# agency; no security event, no contact change, no upload; the Assurance Maladie (noemie) pays
# a consultation to it 10 days later.
LEGIT_CHANGE = {
    "change_date": date(2026, 3, 2),
    "channel": "agency",
    "security_events_14d_before": 0,
    "hours_since_security_event": None,
    "contact_changes_30d_before": 0,
    "hours_since_contact_change": None,
    "foreign_ip_events_14d": 0,
    "foreign_ip_country": None,
    "foreign_ip_countries": 0,
    "previous_iban_foreign": False,
    "previous_iban_country": "FR",
    "new_iban_foreign": False,
    "new_iban_country": "FR",
    "new_bank_online": False,
    "new_bank_share": 0.18,
    "household_size": 2,
    "household_members_on_new_iban": 1,
    "new_iban_subscribers_linked": 1,
    "new_iban_postcodes_linked": 1,
    "new_iban_departments_linked": 1,
    "changed_after_breach": False,
    "payments_30d": 1,
    "uploaded_payments_30d": 0,
    "high_risk_payments_30d": 0,
    "days_to_first_payment": 10,
    "amount_paid_30d": 7.5,
    "categories_paid_30d": "consultation",
}


def changes(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame([{**LEGIT_CHANGE, **r} for r in rows], schema=CHANGE_SCHEMA)


def scored_change(**overrides) -> dict:
    return rules.score_iban_changes(changes(overrides)).row(0, named=True)


def test_takeover_pattern_scores_high():
    # password reset 50 h before (0.35), e-mail changed the day before (0.35), online bank (0.25),
    # rest of the household left on the old account (0.15), an optical invoice uploaded 2 days
    # later (fast upload 0.35 + high-risk upload 0.2):
    # 1 - 0.65 * 0.65 * 0.75 * 0.85 * 0.65 * 0.8 = 1 - 0.140 = 0.86
    row = scored_change(
        channel="web",
        security_events_14d_before=1,
        hours_since_security_event=50,
        contact_changes_30d_before=1,
        hours_since_contact_change=20,
        new_bank_online=True,
        new_bank_share=0.001,
        household_members_on_new_iban=0,
        payments_30d=2,
        uploaded_payments_30d=2,
        high_risk_payments_30d=2,
        days_to_first_payment=2,
        amount_paid_30d=449.6,
        categories_paid_30d="optical",
    )
    assert row["takeover_score"] >= 0.8


def test_takeover_reason_names_the_security_event_and_the_payment():
    row = scored_change(
        channel="web",
        security_events_14d_before=1,
        hours_since_security_event=50,
        payments_30d=2,
        uploaded_payments_30d=2,
        high_risk_payments_30d=2,
        days_to_first_payment=2,
        amount_paid_30d=449.6,
        categories_paid_30d="optical",
    )
    reason = row["takeover_reason"]
    assert reason.startswith("IBAN changed on 2026-03-02 via web")
    # 50 hours // 24 = 2 whole days
    assert "password reset / new device 2 day(s) before" in reason
    # 449.6 € rounds to 450 €
    assert "then 2 payment(s) (optical, 450 €) to it within 30 days, first after 2 day(s)" in reason


def test_legitimate_change_then_noemie_payment_scores_low():
    # nothing but the payment the change was made for: no component fires at all (< 0.3)
    assert scored_change()["takeover_score"] == 0.0
    # even with the member breach-exposed (0.15 today), one weak signal alone stays below 0.3
    exposed = scored_change(changed_after_breach=True)
    assert 0 < exposed["takeover_score"] < 0.3
    # the payment came via noemie, not uploaded by the member: the payment speed adds nothing
    # (the same payment uploaded would: fast upload)
    uploaded = scored_change(changed_after_breach=True, uploaded_payments_30d=1, days_to_first_payment=3)
    assert uploaded["takeover_score"] > exposed["takeover_score"]


def test_legitimate_reason_has_no_empty_parentheses():
    # no piece fires: the " ()" must be removed, the payment is still told
    reason = scored_change()["takeover_reason"]
    assert "()" not in reason
    assert reason.endswith(
        "then 1 payment(s) (consultation, 8 €) to it within 30 days, first after 10 day(s)"
    )


def test_border_worker_keeping_a_foreign_account_gets_no_foreign_component():
    # a frontalier's account in Switzerland moves to another Swiss bank, sessions from
    # Switzerland: neither "new bank abroad" nor "foreign IP" applies, and nothing else fires
    border = scored_change(
        previous_iban_foreign=True,
        previous_iban_country="CH",
        new_iban_foreign=True,
        new_iban_country="CH",
        foreign_ip_events_14d=2,
        foreign_ip_countries=1,
        foreign_ip_country="CH",
        new_bank_share=0.05,
    )
    assert border["takeover_score"] == 0.0
    assert "new bank abroad" not in border["takeover_reason"]
    assert "foreign IP" not in border["takeover_reason"]


def test_border_workers_account_moved_to_a_third_country_is_scored_in_full():
    # the same frontalier's Swiss account moved to Lithuania from a Lithuanian IP: no border
    # habit, and not a move abroad either (the account was already foreign): foreign IP (0.35)
    # and new bank abroad (0.3) both count: 1 - 0.65 * 0.7 = 0.545
    third = scored_change(
        previous_iban_foreign=True,
        previous_iban_country="CH",
        new_iban_foreign=True,
        new_iban_country="LT",
        foreign_ip_events_14d=2,
        foreign_ip_countries=1,
        foreign_ip_country="LT",
        new_bank_share=0.05,
    )
    assert third["takeover_score"] == pytest.approx(0.545)
    assert not third["moved_abroad"]
    assert "foreign account moved from CH to a third country (LT)" in third["takeover_reason"]
    assert "from a foreign IP (LT)" in third["takeover_reason"]


def test_a_move_abroad_keeps_a_quarter_of_its_takeover_score():
    # sessions from Spain (new device 5 days before), then an account at a Spanish bank set from
    # Spain, e-mail and phone unchanged: a member moving abroad. Raw score: security event 0.2,
    # foreign IP 0.35, new bank abroad 0.3 -> 1 - 0.8 * 0.65 * 0.7 = 0.636; a move keeps
    # moved_abroad_factor (0.25) of it: 0.159, below the 0.3 that flags lines
    moved = dict(
        security_events_14d_before=1,
        hours_since_security_event=120,
        new_iban_foreign=True,
        new_iban_country="ES",
        foreign_ip_events_14d=2,
        foreign_ip_countries=1,
        foreign_ip_country="ES",
        new_bank_share=0.05,
    )
    row = scored_change(**moved)
    assert row["moved_abroad"]
    assert row["takeover_score"] == pytest.approx(0.636 * 0.25)
    assert "consistent with a move abroad" in row["takeover_reason"]
    # with the e-mail changed first (the victim gets no notice) it is no move: scored in full
    hijacked = scored_change(**moved, contact_changes_30d_before=1, hours_since_contact_change=30)
    assert not hijacked["moved_abroad"] and hijacked["takeover_score"] > 0.7
    # sessions from Nigeria, account in Spain: the countries do not match, no move
    mismatch = scored_change(**{**moved, "foreign_ip_country": "NG"})
    assert not mismatch["moved_abroad"] and mismatch["takeover_score"] == pytest.approx(0.636)


def test_security_event_counts_less_after_three_days():
    # <= 72 h before (0.35 today) weighs more than within 14 days but older (0.2 today)
    recent = scored_change(security_events_14d_before=1, hours_since_security_event=72)
    older = scored_change(security_events_14d_before=1, hours_since_security_event=200)
    assert recent["takeover_score"] > older["takeover_score"] > 0


def test_account_shared_with_other_contracts_adds_to_the_takeover():
    # 3 contracts, 3 addresses, 2 departments on the new account (0.5 today): enough on its own
    # for a takeover line (>= 0.3); one department is a household or a guardianship, not a ring
    row = scored_change(
        new_iban_subscribers_linked=3, new_iban_postcodes_linked=3, new_iban_departments_linked=2
    )
    local = scored_change(
        new_iban_subscribers_linked=3, new_iban_postcodes_linked=3, new_iban_departments_linked=1
    )
    assert row["takeover_score"] >= 0.3
    assert local["takeover_score"] == 0.0
    assert "account also used by 2 other contract(s)" in row["takeover_reason"]


def test_much_money_paid_right_after_the_change_adds_to_the_takeover():
    # a password reset 50 h before (0.35) alone; then large_payout grows with the log of what
    # was paid to the new account within 30 days, from 150 € (nothing) to 1500 € (0.3 in full):
    # 474 € (the geometric middle, sqrt(150 x 1500)) adds half of it, 0.15
    base = dict(security_events_14d_before=1, hours_since_security_event=50, payments_30d=3)
    small = scored_change(**base, amount_paid_30d=150.0)
    middle = scored_change(**base, amount_paid_30d=474.34)
    large = scored_change(**base, amount_paid_30d=6000.0)
    assert small["takeover_score"] == pytest.approx(0.35)
    assert middle["takeover_score"] == pytest.approx(1 - 0.65 * 0.85, abs=1e-4)
    # capped: 1 - 0.65 x 0.7
    assert large["takeover_score"] == pytest.approx(0.545)
    assert "6000 € paid to it within 30 days (over 150 €)" in large["takeover_reason"]
    assert "paid to it within 30 days (over" not in small["takeover_reason"]


# --------------------------------------------------------------------------- providers

PROVIDER_SCHEMA = {
    "provider_id": pl.String,
    "first_seen": pl.Date,
    "patients": pl.Int64,
    "exposed_share": pl.Float64,
    "portfolio_exposure_rate": pl.Float64,
    "exposure_z": pl.Float64,
    "new_to_portfolio": pl.Boolean,
    "first_visit_span_days": pl.Int64,
    "outside_department_share": pl.Float64,
    "registry_key_valid": pl.Boolean,
}

# A large optician known for years, patients as exposed as the portfolio (31% vs 30%):
# exposure_z = (124 - 400 * 0.3) / sqrt(400 * 0.3 * 0.7) = 4 / 9.17 = 0.44
OLD_PROVIDER = {
    "provider_id": "750000001",
    "first_seen": date(2025, 1, 3),
    "patients": 400,
    "exposed_share": 0.31,
    "portfolio_exposure_rate": 0.3,
    "exposure_z": 0.44,
    "new_to_portfolio": False,
    "first_visit_span_days": 600,
    "outside_department_share": 0.1,
    "registry_key_valid": True,
}

# New provider, 20 patients, 17 of them breach-exposed (85%) against 30% overall:
# exposure_z = (17 - 20 * 0.3) / sqrt(20 * 0.3 * 0.7) = 11 / 2.05 = 5.37
EXPOSED = {"patients": 20, "exposed_share": 0.85, "exposure_z": 5.37}


def provider_score(**overrides) -> float:
    frame = pl.DataFrame([{**OLD_PROVIDER, **overrides}], schema=PROVIDER_SCHEMA)
    return rules.score_providers(frame).row(0, named=True)["provider_score"]


def test_fake_provider_scores_high():
    # exposure z >= 5 (0.7), new and all first visits within 60 days (0.3), 90% of patients
    # outside its department (0.3), bad registry key (0.35):
    # 1 - 0.3 * 0.7 * 0.7 * 0.65 = 1 - 0.096 = 0.90
    score = provider_score(
        **EXPOSED,
        first_seen=date(2026, 5, 1),
        new_to_portfolio=True,
        first_visit_span_days=60,
        outside_department_share=0.9,
        registry_key_valid=False,
    )
    assert score > 0.8


def test_fake_provider_reason_tells_the_exposure():
    frame = pl.DataFrame(
        [
            {
                **OLD_PROVIDER,
                **EXPOSED,
                "provider_id": "123456789",
                "new_to_portfolio": True,
                "first_seen": date(2026, 5, 1),
                "first_visit_span_days": 60,
                "registry_key_valid": False,
            }
        ],
        schema=PROVIDER_SCHEMA,
    )
    reason = rules.score_providers(frame)["provider_reason"][0]
    assert reason == (
        "billed by provider 123456789 (first seen 2026-05-01, 20 members, 85% breach-exposed vs 30% overall, "
        "invalid registry check key)"
    )


def test_large_old_provider_with_normal_exposure_scores_zero():
    assert provider_score() == 0.0


def test_exposure_alone_is_not_enough():
    # over-exposed but old, local, valid key: exposure is one component, two are needed
    assert provider_score(**EXPOSED) == 0.0
    # an unknown registry (no Luhn key, null) is not a bad key: still one component
    assert provider_score(**EXPOSED, registry_key_valid=None) == 0.0
    # add a second component (invalid key) and it fires (today 1 - 0.3 * 0.65 = 0.805)
    assert provider_score(**EXPOSED, registry_key_valid=False) > 0.5


def test_no_exposure_no_fake_provider_flag():
    # new, sudden, far and a bad key, but patients not over-exposed: exposure ties the provider
    # to the breach, without it nothing fires
    assert (
        provider_score(
            new_to_portfolio=True,
            first_visit_span_days=30,
            outside_department_share=0.9,
            registry_key_valid=False,
        )
        == 0.0
    )


def test_too_few_patients_is_not_over_exposed():
    # 4 patients all exposed: under the 5-patient minimum, no exposure component
    assert provider_score(patients=4, exposed_share=1.0, exposure_z=3.0, registry_key_valid=False) == 0.0


# --------------------------------------------------------------------------- claim lines

SIGNAL_SCHEMA = {
    "claim_id": pl.String,
    "member_id": pl.String,
    "claimed_amount": pl.Float64,
    "care_date": pl.Date,
    "source": pl.String,
    "care_category": pl.String,
    "act_code": pl.String,
    "provider_id": pl.String,
    "billed_amount": pl.Float64,
    "is_duplicate_payment": pl.Boolean,
    "duplicate_of_source": pl.String,
    "duplicate_of_claim_id": pl.String,
    "resends_member_invoice": pl.Boolean,
    "resent_claim_id": pl.String,
    "iban_change_event_id": pl.String,
    "household_change_event_id": pl.String,
    "care_units": pl.Int64,
    "payee_iban_hash": pl.String,  # names the account of a mule scheme
    "payee_iban_members_linked": pl.Int64,
    "payee_iban_subscribers_linked": pl.Int64,
    "payee_iban_postcodes_linked": pl.Int64,
    "payee_iban_departments_linked": pl.Int64,
    "payee_iban_members_switched": pl.Int64,
    "payee_iban_switch_span_days": pl.Int64,
    "member_sent": pl.Boolean,
    "high_risk_category": pl.Boolean,
    "after_breach": pl.Boolean,
    "first_use_of_category": pl.Boolean,
    "amount_peer_z": pl.Float64,
    "days_since_previous_care": pl.Int64,
}

# A plain line: a GP consultation sent by the Assurance Maladie, paid to the member's own account.
PLAIN_LINE = {
    "claim_id": "C0",
    "member_id": "M0",
    "claimed_amount": 7.5,
    "care_date": date(2026, 4, 1),
    "source": "noemie",
    "care_category": "consultation",
    "act_code": "G",
    "provider_id": "OK",
    "billed_amount": 30.0,
    "is_duplicate_payment": False,
    "duplicate_of_source": None,
    "duplicate_of_claim_id": None,
    "resends_member_invoice": False,
    "resent_claim_id": None,
    "iban_change_event_id": None,
    "household_change_event_id": None,
    "care_units": 1,
    "payee_iban_hash": "a1" * 32,
    "payee_iban_members_linked": 1,
    "payee_iban_subscribers_linked": 1,
    "payee_iban_postcodes_linked": 1,
    "payee_iban_departments_linked": 1,
    "payee_iban_members_switched": 0,
    "payee_iban_switch_span_days": None,
    "member_sent": False,
    "high_risk_category": False,
    "after_breach": False,
    "first_use_of_category": False,
    "amount_peer_z": 0.1,
    "days_since_previous_care": 30,
}

# A member's first optical invoice, uploaded after the breach: the base of the two behaviour rules.
UPLOADED_OPTICAL = {
    "source": "member_upload",
    "member_sent": True,
    "care_category": "optical",
    "high_risk_category": True,
    "after_breach": True,
    "claimed_amount": 420.0,
    "billed_amount": 480.0,
    "act_code": "2200393",
}

# a second payment of line C0 (same care, another channel)
DUPLICATE = {"is_duplicate_payment": True, "duplicate_of_source": "noemie", "duplicate_of_claim_id": "C0"}

LINES = {
    "plain": {},
    # noemie line paid to an account set by change E1, scored 0.8 as a takeover
    "takeover": {"iban_change_event_id": "E1"},
    # invoice uploaded by the member, paid to the same account
    "takeover_uploaded": {"iban_change_event_id": "E1", "source": "member_upload", "member_sent": True},
    # paid to an account set by change E2, scored 0.2: below the 0.3 threshold
    "weak_change": {"iban_change_event_id": "E2"},
    # account of 2 contracts at 2 addresses in one department, not switched in a burst: weak mule
    "shared_two": {
        "payee_iban_subscribers_linked": 2,
        "payee_iban_postcodes_linked": 2,
        "payee_iban_members_linked": 2,
    },
    # a couple with two contracts at one address: one postcode, not a mule
    "couple": {
        "payee_iban_subscribers_linked": 2,
        "payee_iban_postcodes_linked": 1,
        "payee_iban_members_linked": 2,
    },
    # a family that moved: one contract, several postcodes, not a mule
    "one_contract": {
        "payee_iban_subscribers_linked": 1,
        "payee_iban_postcodes_linked": 3,
        "payee_iban_members_linked": 4,
    },
    # 3 contracts in 3 departments: a ring
    "ring_three": {
        "payee_iban_subscribers_linked": 3,
        "payee_iban_postcodes_linked": 3,
        "payee_iban_departments_linked": 3,
        "payee_iban_members_linked": 3,
    },
    # 2 contracts in 2 departments, both switched to the account within 20 days: a ring
    "ring_switched": {
        "payee_iban_subscribers_linked": 2,
        "payee_iban_postcodes_linked": 2,
        "payee_iban_departments_linked": 2,
        "payee_iban_members_linked": 2,
        "payee_iban_members_switched": 2,
        "payee_iban_switch_span_days": 20,
    },
    # a guardianship association: 6 protected adults of one department, set over years
    "guardianship": {
        "payee_iban_subscribers_linked": 6,
        "payee_iban_postcodes_linked": 6,
        "payee_iban_departments_linked": 1,
        "payee_iban_members_linked": 6,
        "payee_iban_members_switched": 6,
        "payee_iban_switch_span_days": 900,
    },
    "bad_provider": {"provider_id": "FAKE"},
    "dup_uploaded": {**DUPLICATE, "source": "member_upload", "member_sent": True, "claimed_amount": 500.0},
    "dup_tiers_payant": {**DUPLICATE, "source": "tiers_payant", "claimed_amount": 500.0},
    "dup_uploaded_small": {**DUPLICATE, "source": "paper", "member_sent": True, "claimed_amount": 1.0},
    # complement invoice of a noemie line: a second line for the same care, not a second payment
    "complement": {
        "is_duplicate_payment": False,
        "source": "member_upload",
        "member_sent": True,
        "duplicate_of_source": "noemie",
        "duplicate_of_claim_id": "C0",
    },
    "new_category": {**UPLOADED_OPTICAL, "first_use_of_category": True, "amount_peer_z": 2.0},
    "dormant": {**UPLOADED_OPTICAL, "days_since_previous_care": 200},
}

EXPECTED_CODES = {
    "plain": set(),
    "takeover": {"ACCOUNT_TAKEOVER"},
    "takeover_uploaded": {"ACCOUNT_TAKEOVER"},
    "weak_change": set(),
    "shared_two": {"MULE_ACCOUNT"},
    "couple": set(),
    "one_contract": set(),
    "ring_three": {"MULE_ACCOUNT"},
    "ring_switched": {"MULE_ACCOUNT"},
    "guardianship": {"MULE_ACCOUNT"},
    "bad_provider": {"SUSPICIOUS_PROVIDER"},
    "dup_uploaded": {"DUPLICATE_CLAIM"},
    # two electronic lines for one care: a double transmission to recover, not a forged copy
    "dup_tiers_payant": {"RECOVERABLE_OVERPAYMENT"},
    "dup_uploaded_small": {"DUPLICATE_CLAIM"},
    "complement": set(),
    "new_category": {"NEW_CATEGORY_HIGH_AMOUNT"},
    "dormant": {"DORMANT_THEN_INVOICE"},
}

SCORED_CHANGES = pl.DataFrame(
    {
        "event_id": ["E1", "E2"],
        "member_id": ["M_takeover", "M_weak_change"],
        "takeover_score": [0.8, 0.2],
        "takeover_reason": ["IBAN changed on 2026-03-30 via web (online bank)", "IBAN changed"],
    }
)
SCORED_PROVIDERS = pl.DataFrame(
    {
        "provider_id": ["OK", "FAKE"],
        "provider_score": [0.0, 0.9],
        "provider_reason": ["billed by provider OK", "billed by provider FAKE (invalid registry check key)"],
    }
)


def signals(lines: dict[str, dict]) -> pl.DataFrame:
    rows = [
        {**PLAIN_LINE, **fields, "claim_id": name, "member_id": f"M_{name}"} for name, fields in lines.items()
    ]
    return pl.DataFrame(rows, schema=SIGNAL_SCHEMA)


@pytest.fixture(scope="module")
def flags() -> pl.DataFrame:
    return rules.flag_claims(signals(LINES), SCORED_CHANGES, SCORED_PROVIDERS)


def weight_of(flags: pl.DataFrame, claim_id: str, code: str) -> float:
    rows = flags.filter((pl.col("claim_id") == claim_id) & (pl.col("reason_code") == code))
    assert rows.height == 1, f"{claim_id}/{code}: {rows.height} rows"
    return rows["weight"][0]


def test_each_reason_code_comes_from_its_own_signal(flags):
    got = {name: set() for name in LINES}
    for claim_id, code in flags.select("claim_id", "reason_code").iter_rows():
        got[claim_id].add(code)
    assert got == EXPECTED_CODES
    assert set(FLAG_SCHEMA) <= set(flags.columns)


def test_takeover_weight_depends_on_who_sent_the_line(flags):
    # an invoice the member sent can be forged: it keeps the change's full score (0.8); a noemie
    # line is real care whose payment was diverted: it keeps DIVERTED_LINE_FACTOR of it
    assert weight_of(flags, "takeover_uploaded", "ACCOUNT_TAKEOVER") == pytest.approx(0.8)
    assert weight_of(flags, "takeover", "ACCOUNT_TAKEOVER") == pytest.approx(
        0.8 * DEFAULT_CONFIG.takeover.diverted_line_factor
    )
    assert DEFAULT_CONFIG.takeover.diverted_line_factor < 1
    row = flags.filter(pl.col("claim_id") == "takeover").row(0, named=True)
    assert row["reason"] == "IBAN changed on 2026-03-30 via web (online bank)"


def test_mule_weights_tell_rings_from_shared_accounts(flags):
    # a ring of 3 contracts across departments (0.85 today) > a fast switch of 2 contracts across
    # departments (0.7) > anything else (0.35). A guardianship association (one department,
    # over years) is no ring: it gets the weak weight, like 2 contracts in one department.
    w = {
        name: weight_of(flags, name, "MULE_ACCOUNT")
        for name in ("ring_three", "ring_switched", "shared_two", "guardianship")
    }
    assert w["ring_three"] > w["ring_switched"] > w["shared_two"] == w["guardianship"] > 0
    reason = flags.filter(pl.col("claim_id") == "ring_switched")["reason"][0]
    assert reason == (
        "paid to an account shared by 2 members of 2 different contracts at 2 addresses "
        "in 2 department(s), set on 2 of them within 20 days"
    )


def test_mule_weight_on_a_diverted_line_is_discounted(flags):
    # the noemie line keeps DIVERTED_LINE_FACTOR of the weight of the same line sent by the member
    line = {**LINES["ring_three"], "source": "member_upload", "member_sent": True}
    out = rules.flag_claims(signals({"x": line}), SCORED_CHANGES, SCORED_PROVIDERS)
    assert out["reason_code"].to_list() == ["MULE_ACCOUNT"]
    assert weight_of(flags, "ring_three", "MULE_ACCOUNT") == pytest.approx(
        out["weight"][0] * DEFAULT_CONFIG.takeover.diverted_line_factor
    )
    assert out["weight"][0] >= 0.8  # a ring on a member-sent invoice is strong evidence


def test_mule_needs_two_contracts_and_two_addresses():
    # 2 contracts at 1 address, or 1 contract at 2 addresses: no flag; 2 and 2: flag
    base = {"payee_iban_members_linked": 2, "payee_iban_departments_linked": 2}
    cases = {
        "s2p1": {**base, "payee_iban_subscribers_linked": 2, "payee_iban_postcodes_linked": 1},
        "s1p2": {**base, "payee_iban_subscribers_linked": 1, "payee_iban_postcodes_linked": 2},
        "s2p2": {**base, "payee_iban_subscribers_linked": 2, "payee_iban_postcodes_linked": 2},
    }
    out = rules.flag_claims(signals(cases), SCORED_CHANGES, SCORED_PROVIDERS)
    assert out.filter(pl.col("reason_code") == "MULE_ACCOUNT")["claim_id"].to_list() == ["s2p2"]


def test_duplicate_weight_and_reason(flags):
    # one care event copied by the member after it was paid: a suspicious line (>= 0.3); a
    # single cheap coincidence (1 €, below cheap_euros 30 €) stays at single_event 0.35, a
    # single 500 € copy gets the whole amount bonus: 0.35 + 0.35 = 0.7
    uploaded = weight_of(flags, "dup_uploaded", "DUPLICATE_CLAIM")
    small = weight_of(flags, "dup_uploaded_small", "DUPLICATE_CLAIM")
    assert uploaded == pytest.approx(0.7)
    assert small == pytest.approx(0.35)
    reason = flags.filter(pl.col("claim_id") == "dup_uploaded")["reason"][0]
    assert reason == (
        "same care (act G on 2026-04-01, 30 €) already paid via noemie (line C0), "
        "claimed again via member_upload; 1 duplicated care event(s) for this member"
    )


def test_several_duplicated_care_events_are_strong_evidence():
    # the same member copies three care events (three days): the pattern, not a coincidence:
    # many_events 0.9 + the amount bonus (0.35 at 500 €), capped at 1.0 on every copy
    lines = {
        f"d{day}": {**LINES["dup_uploaded"], "care_date": date(2026, 4, day), "member_id": "M_many"}
        for day in (1, 8, 15)
    }
    out = rules.flag_claims(
        pl.DataFrame([{**PLAIN_LINE, **v, "claim_id": k} for k, v in lines.items()], schema=SIGNAL_SCHEMA),
        SCORED_CHANGES,
        SCORED_PROVIDERS,
    )
    assert out["weight"].to_list() == pytest.approx([1.0, 1.0, 1.0])
    assert "3 duplicated care event(s)" in out["reason"][0]


def test_member_invoice_before_the_ro_line_is_an_overpayment_to_recover():
    # the member uploaded the invoice (first received), then the noemie line of the same care
    # arrived and was paid too: an honest double submission. It goes to the recovery list with
    # duplicate.recovery (0.5) and is no fraud reason at all
    line = {**DUPLICATE, "duplicate_of_source": "member_upload", "source": "noemie", "claimed_amount": 80.0}
    out = rules.flag_claims(signals({"early": line}), SCORED_CHANGES, SCORED_PROVIDERS)
    assert out["reason_code"].to_list() == ["RECOVERABLE_OVERPAYMENT"]
    assert out["weight"][0] == DEFAULT_CONFIG.duplicate.recovery
    assert "honest double submission, 80 € to recover" in out["reason"][0]
    members = rules.combine_member_reasons(out, pl.DataFrame(schema=MEMBER_REASON_SCHEMA))
    assert members["rule_score"].to_list() == [0.0]
    assert members["recovery_amount"].to_list() == [80.0]


def test_member_invoice_sent_twice_is_an_overpayment_to_recover_not_a_copy():
    # two crowns: the member's complement invoice of the first crown (380 €, line P1) came by
    # paper and was uploaded too (this line): it pays that unit's complement twice, an honest
    # double submission (no fraudster sends its own forged invoice twice), not a copy of the
    # noemie line: the recovery list, no fraud reason
    line = {
        **DUPLICATE,
        "source": "member_upload",
        "member_sent": True,
        "claimed_amount": 380.0,
        "billed_amount": 500.0,
        "care_units": 2,
        "resends_member_invoice": True,
        "resent_claim_id": "P1",
    }
    out = rules.flag_claims(signals({"resent": line}), SCORED_CHANGES, SCORED_PROVIDERS)
    assert out["reason_code"].to_list() == ["RECOVERABLE_OVERPAYMENT"]
    assert out["reason"][0].startswith(
        "paid twice: the member's own invoice (line P1) sent again via member_upload for the same care"
    )
    assert "honest double submission, 380 € to recover" in out["reason"][0]
    # the same line copying the noemie line (not a re-sent member invoice) is the fraud pattern
    copy = rules.flag_claims(
        signals({"copy": {**line, "resends_member_invoice": False, "resent_claim_id": None}}),
        SCORED_CHANGES,
        SCORED_PROVIDERS,
    )
    assert copy["reason_code"].to_list() == ["DUPLICATE_CLAIM"]


def test_duplicate_weight_is_capped_for_large_amounts():
    # the amount effect stops at 500 €: 2 000 € weighs what 500 € does, never above 1
    lines = {"x500": LINES["dup_uploaded"], "x2000": {**LINES["dup_uploaded"], "claimed_amount": 2000.0}}
    out = rules.flag_claims(signals(lines), SCORED_CHANGES, SCORED_PROVIDERS).sort("claim_id")
    assert out["claim_id"].to_list() == ["x2000", "x500"]
    assert out["weight"][0] == pytest.approx(out["weight"][1])
    assert out["weight"][0] <= 1


def test_provider_line_carries_the_provider_score(flags):
    assert weight_of(flags, "bad_provider", "SUSPICIOUS_PROVIDER") == pytest.approx(0.9)


@pytest.mark.parametrize(
    "missing",
    [
        {"member_sent": False, "source": "noemie"},  # sent by the Assurance Maladie, not the member
        {"high_risk_category": False, "care_category": "pharmacy"},  # not a high-risk category
        {"after_breach": False},  # before the member's identifiers leaked
        {"first_use_of_category": False},  # the member already used optical care
        {"amount_peer_z": 1.4},  # amount within 1.5 sd of peers
    ],
)
def test_new_category_needs_every_condition(missing):
    line = {**UPLOADED_OPTICAL, "first_use_of_category": True, "amount_peer_z": 2.0}
    fires = rules.flag_claims(signals({"x": line}), SCORED_CHANGES, SCORED_PROVIDERS)
    assert fires["reason_code"].to_list() == ["NEW_CATEGORY_HIGH_AMOUNT"]
    silent = rules.flag_claims(signals({"x": {**line, **missing}}), SCORED_CHANGES, SCORED_PROVIDERS)
    assert silent.height == 0


def test_dormancy_starts_at_180_days():
    lines = {
        "d179": {**UPLOADED_OPTICAL, "days_since_previous_care": 179},
        "d180": {**UPLOADED_OPTICAL, "days_since_previous_care": 180},
    }
    out = rules.flag_claims(signals(lines), SCORED_CHANGES, SCORED_PROVIDERS)
    assert out.select("claim_id", "reason_code").rows() == [("d180", "DORMANT_THEN_INVOICE")]
    assert out["reason"][0] == "no care for 180 days, then a optical invoice (420 €) sent via member_upload"


# --------------------------------------------------------------------------- members

FLAG_SCHEMA = {
    "claim_id": pl.String,
    "member_id": pl.String,
    "claimed_amount": pl.Float64,
    "reason_code": pl.String,
    "weight": pl.Float64,
    "reason": pl.String,
}
MEMBER_REASON_SCHEMA = {
    "member_id": pl.String,
    "reason_code": pl.String,
    "weight": pl.Float64,
    "reason": pl.String,
}


def combine(flag_rows: list[tuple], member_rows: list[tuple] = ()) -> dict[str, dict]:
    out = rules.combine_member_reasons(
        pl.DataFrame(flag_rows, schema=FLAG_SCHEMA, orient="row"),
        pl.DataFrame(list(member_rows), schema=MEMBER_REASON_SCHEMA, orient="row"),
    )
    return {r["member_id"]: r for r in out.iter_rows(named=True)}


def test_two_reasons_combine_by_damped_noisy_or():
    # the strongest reason counts in full, the others with SECONDARY_REASON_SHARE (s) of their
    # weight: 1 - (1 - 0.5) * (1 - s * 0.5); s = 0.5 gives 0.625, s = 1 would be the plain
    # noisy-OR 0.75. Either way more than one reason alone (0.5), less than certainty.
    s = DEFAULT_CONFIG.combine.secondary_share
    out = combine(
        [("C1", "M1", 100.0, "MULE_ACCOUNT", 0.5, "mule"), ("C2", "M1", 50.0, "DUPLICATE_CLAIM", 0.5, "dup")]
    )
    assert out["M1"]["rule_score"] == pytest.approx(1 - 0.5 * (1 - s * 0.5))
    assert 0.5 < out["M1"]["rule_score"] <= 0.75


def test_the_strongest_reason_counts_in_full_whatever_the_input_order():
    # weak reason first in the input: the 0.8 must still be the one counted in full:
    # 1 - (1 - 0.8) * (1 - s * 0.3) = 1 - 0.2 * 0.85 = 0.83 with s = 0.5
    s = DEFAULT_CONFIG.combine.secondary_share
    out = combine(
        [("C1", "M1", 10.0, "MULE_ACCOUNT", 0.3, "mule"), ("C2", "M1", 10.0, "ACCOUNT_TAKEOVER", 0.8, "ato")]
    )
    assert out["M1"]["rule_score"] == pytest.approx(1 - 0.2 * (1 - s * 0.3))
    assert out["M1"]["weights"] == [0.8, 0.3]


def test_same_code_on_several_lines_counts_once_at_its_strongest():
    # three duplicate lines 0.5, 0.5, 0.85: the code weighs max = 0.85, not 1 - 0.5 * 0.5 * 0.15
    out = combine(
        [
            ("C1", "M1", 10.0, "DUPLICATE_CLAIM", 0.5, "weak"),
            ("C2", "M1", 10.0, "DUPLICATE_CLAIM", 0.5, "weak"),
            ("C3", "M1", 10.0, "DUPLICATE_CLAIM", 0.85, "strong"),
        ]
    )
    assert out["M1"]["rule_score"] == pytest.approx(0.85)
    assert out["M1"]["reasons"] == ["strong"]  # the reason of the strongest line


def test_amount_at_risk_counts_a_line_once():
    # C1 (100 €) has two reasons, C2 (40 €) one: 100 + 40 = 140, not 240
    out = combine(
        [
            ("C1", "M1", 100.0, "MULE_ACCOUNT", 0.7, "mule"),
            ("C1", "M1", 100.0, "ACCOUNT_TAKEOVER", 0.8, "ato"),
            ("C2", "M1", 40.0, "ACCOUNT_TAKEOVER", 0.6, "ato"),
        ]
    )
    assert out["M1"]["amount_at_risk"] == pytest.approx(140.0)
    assert out["M1"]["claim_ids"] == ["C1", "C2"]
    # strongest first: takeover (0.8) before mule (0.7)
    assert out["M1"]["reason_codes"] == ["ACCOUNT_TAKEOVER", "MULE_ACCOUNT"]


def test_weak_line_flags_do_not_make_lines_suspicious():
    # NEW_CATEGORY (0.2) raises the score but is under the 0.3 line threshold
    out = combine([("C1", "M1", 300.0, "NEW_CATEGORY_HIGH_AMOUNT", 0.2, "new")])
    assert out["M1"]["rule_score"] == pytest.approx(0.2)
    assert (out["M1"]["claim_ids"], out["M1"]["amount_at_risk"]) == ([], 0.0)


def test_breach_exposure_alone_never_adds_claim_lines():
    out = combine(
        [("C9", "M2", 80.0, "MULE_ACCOUNT", 0.7, "mule")],
        [
            ("M1", "BREACH_EXPOSED", 0.05, "identifiers (email) in 1 breach list(s)"),
            ("M2", "BREACH_EXPOSED", 0.05, "identifiers (nir) in 1 breach list(s)"),
        ],
    )
    assert out["M1"]["rule_score"] == pytest.approx(0.05)
    assert (out["M1"]["claim_ids"], out["M1"]["amount_at_risk"]) == ([], 0.0)
    # with a suspicious line, only that line is at risk; the exposure adds as a secondary
    # reason: 1 - (1 - 0.7) * (1 - s * 0.05) = 0.7075 with s = 0.5
    s = DEFAULT_CONFIG.combine.secondary_share
    assert out["M2"]["rule_score"] == pytest.approx(1 - 0.3 * (1 - s * 0.05))
    assert (out["M2"]["claim_ids"], out["M2"]["amount_at_risk"]) == (["C9"], 80.0)


def test_member_only_reasons_hold_pending_takeovers_and_exposure():
    scored = pl.DataFrame(
        {
            "member_id": ["M1", "M2", "M3"],
            "payments_30d": [0, 0, 3],
            "takeover_score": [0.8, 0.4, 0.9],
            "takeover_reason": ["IBAN changed (online bank)", "IBAN changed", "IBAN changed"],
        }
    )
    profile = pl.DataFrame(
        {
            "member_id": ["M1", "M4"],
            "breach_count": [0, 2],
            "breach_matched_types": [None, "email,nir"],
            "first_breach_date": [None, date(2025, 12, 1)],
        },
        schema={
            "member_id": pl.String,
            "breach_count": pl.Int64,
            "breach_matched_types": pl.String,
            "first_breach_date": pl.Date,
        },
    )
    out = rules.member_only_reasons(scored, profile).sort("member_id")
    # M1: takeover >= 0.5 with no payment yet, discounted as no money moved (0.8 * 0.5 today);
    # M2 under 0.5; M3 paid (its lines carry ACCOUNT_TAKEOVER instead); M4 in 2 breaches
    assert out.select("member_id", "reason_code").rows() == [
        ("M1", "TAKEOVER_NO_PAYMENT_YET"),
        ("M4", "BREACH_EXPOSED"),
    ]
    assert 0 < out["weight"][0] < 0.8
    assert out["weight"][1] == DEFAULT_CONFIG.behaviour.breach_exposed
    assert out["reason"].to_list() == [
        "IBAN changed (online bank), no payment to it yet",
        "identifiers (email,nir) in 2 breach list(s) since 2025-12-01",
    ]


# --------------------------------------------------------------------------- noisy-OR


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([], 0.0),  # no evidence
        ([0.5], 0.5),
        ([0.5, 0.5], 0.75),  # 1 - 0.5 * 0.5
        ([0.35, 0.3, 0.25], 1 - 0.65 * 0.7 * 0.75),  # = 0.65875
        ([None, 0.4], 0.4),  # a rule that does not fire (null) adds nothing
        ([1.5, 0.2], 1.0),  # clipped to 1: certainty
        ([-0.3, 0.2], 0.2),  # clipped to 0
    ],
)
def test_noisy_or(weights, expected):
    frame = pl.DataFrame(
        {f"w{i}": [w] for i, w in enumerate(weights)},
        schema={f"w{i}": pl.Float64 for i in range(len(weights))},
    )
    value = (
        frame.select(rules.noisy_or([pl.col(n) for n in frame.columns]).alias("p"))
        if weights
        else pl.select(rules.noisy_or([]).alias("p"))
    )
    assert value["p"][0] == pytest.approx(expected)


def test_readme_config_table_matches_the_configuration():
    # the README's table is the configuration's own description: every parameter with its value
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for row in DEFAULT_CONFIG.describe():
        assert f"| `{row['group']}.{row['name']}` | {row['value']:g} | {row['unit']} |" in readme, row["name"]
    for code in rules.RULES:
        assert f"`{code}`" in readme, code


@pytest.mark.parametrize(
    "change",
    [
        {"duplicate": {"single_event": 1.5}},  # a weight above 1
        {"mule": {"min_contracts": 0}},  # a count below 1
        {"takeover": {"no_payment_min_score": 0.1}},  # below min_score: would flag before it
    ],
)
def test_configuration_is_checked_when_built(change):
    with pytest.raises(ValueError):
        DEFAULT_CONFIG.with_(**change)
