"""Schemes (detectors/schemes.py), the queue order that shows them, and the feedback step
(detectors/feedback.py) on tiny inline frames."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from claimwatch.detectors import feedback, rules, schemes
from claimwatch.detectors.config import DEFAULT_CONFIG

FLAG_SCHEMA = {
    "claim_id": pl.String,
    "member_id": pl.String,
    "claimed_amount": pl.Float64,
    "reason_code": pl.String,
    "weight": pl.Float64,
    "reason": pl.String,
    "incident": pl.String,
}


def flags(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FLAG_SCHEMA, orient="row")


# three members paid to one mule account (strong links), one of them also billed by a fake
# provider with two other members; a fourth member's line merely diverted to the account (0.35)
FLAGS = flags(
    [
        ("c1", "A", 100.0, "MULE_ACCOUNT", 0.85, "mule", "account:abc123def4567890"),
        ("c2", "B", 200.0, "MULE_ACCOUNT", 0.85, "mule", "account:abc123def4567890"),
        ("c3", "C", 300.0, "MULE_ACCOUNT", 0.85, "mule", "account:abc123def4567890"),
        ("c4", "W", 10.0, "MULE_ACCOUNT", 0.35, "weak", "account:abc123def4567890"),
        ("c5", "C", 50.0, "SUSPICIOUS_PROVIDER", 0.9, "prov", "provider:123456789"),
        ("c6", "D", 60.0, "SUSPICIOUS_PROVIDER", 0.9, "prov", "provider:123456789"),
        ("c7", "E", 70.0, "SUSPICIOUS_PROVIDER", 0.9, "prov", "provider:123456789"),
        ("c8", "S", 80.0, "ACCOUNT_TAKEOVER", 0.9, "ato", "account:lonely"),
    ]
)
MEMBERS = pl.DataFrame(
    {
        "member_id": ["A", "B", "C", "D", "E", "S", "W"],
        "score": [90.0, 88.0, 92.0, 80.0, 79.0, 85.0, 30.0],
        "amount_at_risk": [100.0, 200.0, 350.0, 60.0, 70.0, 80.0, 0.0],
    }
)


def test_members_linked_by_one_account_or_provider_form_schemes():
    found, member_schemes = schemes.build_schemes(MEMBERS, FLAGS)
    by_id = {r["scheme_id"]: r for r in found.iter_rows(named=True)}
    # C links to both: its strongest link is the provider (0.9 > 0.85), so the mule scheme keeps
    # A and B (2 members), the provider scheme C, D, E; W's weak link (0.35 < 0.5) and S's
    # one-member account make no scheme
    assert set(by_id) == {"ACC-ABC123DEF456", "PRV-123456789"}
    assert by_id["ACC-ABC123DEF456"]["member_ids"] == "A;B"
    assert by_id["PRV-123456789"]["member_ids"] == "C;D;E"
    # score: the strongest member (92) + 5 points per doubling of 3 members (log2 3 = 1.585)
    assert by_id["PRV-123456789"]["score"] == pytest.approx(92 + 5 * np.log2(3), abs=1e-3)
    assert by_id["PRV-123456789"]["amount_at_risk"] == pytest.approx(480.0)
    assert member_schemes.filter(pl.col("member_id") == "D")["scheme_members"].to_list() == [["C", "E"]]


def test_queue_shows_distinct_schemes_without_pushing_members_below_weaker_own_cases():
    cases = pl.DataFrame(
        {
            "case_id": ["a1", "a2", "a3", "b1", "b2", "u1", "u2"],
            "score": [95.0, 94.0, 93.0, 92.0, 91.0, 93.5, 50.0],
            "amount_at_risk": [1.0] * 7,
            "scheme_id": ["A", "A", "A", "B", "B", None, None],
        }
    )
    order = schemes.queue_order(cases).sort("rank")["case_id"].to_list()
    # a1 (95) and a2 (94) are above u1 (93.5): nothing may push them below it, so they come
    # first (A's strongest, then its second); a3, b1, b2 are stronger than u2 (50) only: in that
    # gap the schemes alternate round by round (round 1: a3 93, b1 92; round 2: b2), and none of
    # them falls below u2
    assert order == ["a1", "a2", "u1", "a3", "b1", "b2", "u2"]


def test_no_decision_changes_nothing():
    kept, lifted = feedback.apply_to_flags(FLAGS, feedback.context_from(FLAGS, None))
    assert kept.equals(FLAGS) and lifted.is_empty()
    members = MEMBERS.with_columns(
        rule_score=pl.lit(0.5),
        ensemble_score=pl.lit(0.5),
        reason_codes=pl.lit(["MULE_ACCOUNT"]),
        weights=pl.lit([0.85]),
    )
    reranked, model = feedback.rerank(members, pl.DataFrame({"member_id": ["A"]}), None)
    assert model is None and reranked.equals(members)


def test_confirmed_account_lifts_its_strongly_linked_members_only():
    decisions = pl.DataFrame({"member_id": ["A"], "is_fraud": [True]})
    context = feedback.context_from(FLAGS, decisions)
    assert context.confirmed == {"account:abc123def4567890"} and not context.cleared
    _, lifted = feedback.apply_to_flags(FLAGS, context)
    # B and C sent lines paid to the account (0.85 >= 0.6): lifted; W's line was merely diverted
    # there (0.35): a relative paid to a family account is no member of the ring
    assert sorted(lifted["member_id"].to_list()) == ["A", "B", "C"]
    assert set(lifted["weight"]) == {DEFAULT_CONFIG.feedback.confirmed_scheme}


def test_provider_cleared_as_legitimate_stops_lifting_its_patients():
    decisions = pl.DataFrame({"member_id": ["D"], "is_fraud": [False]})
    context = feedback.context_from(FLAGS, decisions)
    assert context.cleared == {"provider:123456789"}
    kept, _ = feedback.apply_to_flags(FLAGS, context)
    assert kept.filter(pl.col("reason_code") == "SUSPICIOUS_PROVIDER").is_empty()
    # the mule account is untouched
    assert kept.filter(pl.col("reason_code") == "MULE_ACCOUNT").height == 4


def test_household_takeover_links_a_relatives_invoice_to_the_takeover():
    from tests.detectors.test_rules import PLAIN_LINE, SCORED_CHANGES, SCORED_PROVIDERS, SIGNAL_SCHEMA

    # M_rel's uploaded invoice is paid to the account that change E1 (M_takeover's, scored 0.8)
    # set on the contract: HOUSEHOLD_TAKEOVER at 0.8 x household_factor 0.9 = 0.72
    line = {
        **PLAIN_LINE,
        "claim_id": "h1",
        "member_id": "M_rel",
        "household_change_event_id": "E1",
        "source": "member_upload",
        "member_sent": True,
    }
    out = rules.flag_claims(pl.DataFrame([line], schema=SIGNAL_SCHEMA), SCORED_CHANGES, SCORED_PROVIDERS)
    assert out["reason_code"].to_list() == ["HOUSEHOLD_TAKEOVER"]
    assert out["weight"][0] == pytest.approx(0.72)
    assert "takeover of member M_takeover's account" in out["reason"][0]


def test_sql_queue_order_matches_the_reference(tmp_path):
    # sql/queue/rank_open_cases.sql writes the order of schemes.queue_order
    import duckdb

    from claimwatch.store.db import split_statements, sql_text

    rng = np.random.default_rng(3)
    n = 300
    cases = pl.DataFrame(
        {
            "case_id": [f"CASE-{i:07d}" for i in range(n)],
            "score": np.round(rng.uniform(30, 100, n), 1),
            "amount_at_risk": np.round(rng.uniform(0, 500, n), 2),
            "scheme_id": rng.choice(["S1", "S2", "S3", None, None, None], n).tolist(),
        }
    )
    con = duckdb.connect(str(tmp_path / "q.duckdb"))
    con.register("cases_frame", cases.to_arrow())
    con.execute(
        "create table cases as select *, 'new' as status, cast(null as integer) as rank from cases_frame"
    )
    for statement in split_statements(sql_text("queue/rank_open_cases.sql")):
        con.execute(statement)
    got = con.sql("select case_id from cases order by rank").pl()["case_id"].to_list()
    expected = schemes.queue_order(cases).sort("rank")["case_id"].to_list()
    assert got == expected


def test_sql_queue_constants_are_the_configuration():
    from claimwatch.store.db import sql_text

    s = DEFAULT_CONFIG.schemes
    text = sql_text("queue/rank_open_cases.sql")
    assert f"place_in_scheme > {s.lead_members} then" in text
    assert f"greatest(score - {s.follower_step_back:.1f}, least(score, {s.strong_case_score:.1f}))" in text


def test_further_members_of_a_scheme_step_back_among_strong_cases_only():
    cases = pl.DataFrame(
        {
            "case_id": ["a1", "a2", "a3", "a4", "u1", "u2"],
            "score": [97.0, 96.0, 95.0, 85.0, 88.0, 70.0],
            "amount_at_risk": [1.0] * 6,
            "scheme_id": ["A", "A", "A", "A", None, None],
        }
    )
    order = schemes.queue_order(cases).sort("rank")["case_id"].to_list()
    # a1, a2 lead (97, 96); a3 (95) ranks as 85 so the unrelated u1 (88) comes first; a4 (85)
    # ranks as max(75, min(85, 80)) = 80: still before u2 (70), which is weaker than 80
    assert order == ["a1", "a2", "u1", "a3", "a4", "u2"]
