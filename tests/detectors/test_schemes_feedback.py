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


# a queue where reviewers see fewer cases than there are distinct strong incidents (a large
# portfolio): no further member of a ring keeps its score on that account
CROWDED = DEFAULT_CONFIG.with_(schemes={"queue_capacity": 1})


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
            # A and B link members of different contracts: rings
            "subscriber_id": ["s1", "s2", "s3", "s4", "s5", "s6", "s7"],
        }
    )
    order = schemes.queue_order(cases, CROWDED).sort("rank")["case_id"].to_list()
    # a1 (95) leads ring A, above u1 (93.5); A's further members rank as max(score - 20 x k,
    # min(score, 80)) = 80, b1 (92) leads B: all of them are stronger than u2 (50) only, so they
    # share the gap above u2, round by round (round 1: a2 94, b1 92; round 2: a3 93, b2 91), and
    # none of them falls below u2
    assert order == ["a1", "u1", "a2", "b1", "a3", "b2", "u2"]


def test_a_rings_further_members_come_after_every_strong_case_of_its_own():
    cases = pl.DataFrame(
        {
            "case_id": ["r1", "r2", "r3", "d1", "t1", "u1", "u2"],
            "score": [97.0, 96.0, 95.0, 86.0, 84.0, 79.0, 60.0],
            "amount_at_risk": [1.0] * 7,
            "scheme_id": ["R", "R", "R", None, None, None, None],
            "subscriber_id": ["s1", "s2", "s3", "s4", "s5", "s6", "s7"],
        }
    )
    order = schemes.queue_order(cases, CROWDED).sort("rank")["case_id"].to_list()
    # the ring is on screen with r1; r2 ranks as max(96 - 20, min(96, 80)) = 80 and r3 as
    # max(95 - 40, 80) = 80: the duplicate d1 (86) and the takeover t1 (84), distinct incidents,
    # come before them, but a case weaker than 80 (u1, 79) never does
    assert order == ["r1", "d1", "t1", "r2", "r3", "u1", "u2"]


def test_members_of_one_contract_rank_as_cases_of_their_own():
    cases = pl.DataFrame(
        {
            "case_id": ["h1", "h2", "r1", "r2", "u1"],
            "score": [92.0, 88.0, 95.0, 90.0, 85.0],
            "amount_at_risk": [1.0] * 5,
            "scheme_id": ["H", "H", "R", "R", None],
            # H: a household takeover (victim and relative on one contract); R: a ring
            "subscriber_id": ["s1", "s1", "s2", "s3", "s4"],
        }
    )
    order = schemes.queue_order(cases, CROWDED).sort("rank")["case_id"].to_list()
    # the relative h2 (88), whose identity the takeover used, keeps its own score and comes
    # before u1 (85); the ring's second member r2 (90) steps back to 80, after u1
    assert order == ["r1", "h1", "h2", "u1", "r2"]


def test_further_members_keep_their_scores_while_the_distinct_strong_incidents_fit():
    cases = pl.DataFrame(
        {
            "case_id": ["r1", "r2", "r3", "d1", "t1", "u1"],
            "score": [97.0, 96.0, 95.0, 86.0, 84.0, 60.0],
            "amount_at_risk": [1.0] * 6,
            "scheme_id": ["R", "R", "R", None, None, None],
            "subscriber_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
        }
    )

    def order(capacity):
        config = DEFAULT_CONFIG.with_(schemes={"queue_capacity": capacity})
        return schemes.queue_order(cases, config).sort("rank")["case_id"].to_list()

    # three distinct strong incidents (r1, d1, t1; u1 is weaker than 80): reviewers working
    # through 4 cases see them all and r2 besides, on its score; through 3, the distinct
    # incidents first; through 200, the whole ring on its scores (nothing is crowded out)
    assert order(3) == ["r1", "d1", "t1", "r2", "r3", "u1"]
    assert order(4) == ["r1", "r2", "d1", "t1", "r3", "u1"]
    assert order(200) == ["r1", "r2", "r3", "d1", "t1", "u1"]


def test_open_members_of_a_confirmed_scheme_rank_on_their_own_scores():
    cases = pl.DataFrame(
        {
            "case_id": ["r2", "r3", "u1", "u2"],
            "score": [96.0, 94.0, 90.0, 60.0],
            "amount_at_risk": [1.0] * 4,
            "scheme_id": ["R", "R", None, None],
            "subscriber_id": ["s2", "s3", "s4", "s5"],
        }
    )
    # unconfirmed, r3 (94) steps back to 80 and comes after u1 (90)
    assert schemes.queue_order(cases, CROWDED).sort("rank")["case_id"].to_list() == ["r2", "u1", "r3", "u2"]
    # once a reviewer closed r1 as fraud, the ring is no hypothesis: r2 and r3 are victims or
    # payments to stop, ranked on their scores (94 > 90)
    confirmed = cases.with_columns(scheme_confirmed=pl.col("scheme_id") == "R")
    assert schemes.queue_order(confirmed, CROWDED).sort("rank")["case_id"].to_list() == [
        "r2",
        "r3",
        "u1",
        "u2",
    ]


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


def test_the_decision_model_needs_members_cleared_as_legitimate():
    rng = np.random.default_rng(0)
    n = 200
    from claimwatch.detectors.ensemble import LOG_FEATURES, PLAIN_FEATURES

    columns = [*LOG_FEATURES, *PLAIN_FEATURES, "min_days_change_to_payment", "min_new_bank_share"]
    features = pl.DataFrame(
        {"member_id": [f"M{i:03d}" for i in range(n)], **{k: rng.uniform(0, 5, n) for k in columns}}
    )
    members = features.select("member_id").with_columns(
        score=pl.Series(rng.uniform(0, 100, n)),
        rule_score=pl.lit(0.5),
        ensemble_score=pl.lit(0.5),
        reason_codes=pl.lit(["MULE_ACCOUNT"]),
        weights=pl.lit([0.85]),
    )
    # 12 decisions (>= min_decisions 10), 10 confirmed: with 2 cleared (< min_legitimate 3) the
    # only negatives would be unreviewed low scores, so no model and the scores stay as they were
    two = pl.DataFrame({"member_id": [f"M{i:03d}" for i in range(12)], "is_fraud": [True] * 10 + [False] * 2})
    unchanged, model = feedback.rerank(members, features, two)
    assert model is None and unchanged.equals(members)
    # with 3 cleared it learns
    three = two.with_columns(is_fraud=pl.Series([True] * 9 + [False] * 3))
    _, model = feedback.rerank(members, features, three)
    assert model is not None and model.decisions_used_ == 12


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


def test_a_reason_reviewers_mostly_cleared_weighs_less_for_every_open_member():
    rows = [(f"d{i}", f"L{i}", 40.0, "DUPLICATE_CLAIM", 0.8, "dup", None) for i in range(3)]
    rows += [(f"t{i}", f"F{i}", 90.0, "ACCOUNT_TAKEOVER", 0.85, "ato", f"account:a{i}") for i in range(5)]
    rows += [("t9", "L9", 90.0, "ACCOUNT_TAKEOVER", 0.85, "ato", "account:a9")]
    rows += [("o1", "OPEN", 40.0, "DUPLICATE_CLAIM", 0.8, "same care (act G...)", None)]
    decided = flags(rows)
    decisions = pl.DataFrame(
        {
            "member_id": ["L0", "L1", "L2", "L9", *(f"F{i}" for i in range(5))],
            "is_fraud": [False] * 4 + [True] * 5,
        }
    )
    context = feedback.context_from(decided, decisions)
    # DUPLICATE_CLAIM: 0 of 3 decided members confirmed; with the prior (4 decisions at 0.8) its
    # precision is (0 + 3.2) / (3 + 4) = 0.457, i.e. 0.571 of the expected 0.8.
    # ACCOUNT_TAKEOVER: 5 of 6 confirmed, (5 + 3.2) / 10 = 0.82 >= 0.8: its weight is kept
    assert [(code, round(f, 3), ok, no) for code, f, ok, no in context.reason_factors] == [
        ("DUPLICATE_CLAIM", 0.571, 0, 3)
    ]
    kept, _ = feedback.apply_to_flags(decided, context)
    still_open = kept.filter(pl.col("member_id") == "OPEN").row(0, named=True)
    assert still_open["weight"] == pytest.approx(0.8 * 0.5714, abs=1e-4)
    assert "reviewers cleared 3 of 3 decided members with this reason" in still_open["reason"]
    assert kept.filter(pl.col("reason_code") == "ACCOUNT_TAKEOVER")["weight"].to_list() == [0.85] * 6


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
    # 600 cases: about 100 distinct strong incidents, so about 100 of the rings' 250 further members
    # keep their scores (queue_capacity 200) and the others step back: both paths are compared
    n = 600
    scheme = rng.choice(["S1", "S2", "S3", "H1", None, None, None], n)
    # H1's members share one contract (a household), the others are spread over many
    subscriber = np.where(scheme == "H1", "SUB-H", np.char.add("SUB-", rng.integers(0, 200, n).astype(str)))
    cases = pl.DataFrame(
        {
            "case_id": [f"CASE-{i:07d}" for i in range(n)],
            "member_id": [f"M{i:04d}" for i in range(n)],
            "score": np.round(rng.uniform(30, 100, n), 1),
            "amount_at_risk": np.round(rng.uniform(0, 500, n), 2),
            "scheme_id": scheme.tolist(),
            "subscriber_id": subscriber.tolist(),
        }
    )
    # a reviewer closed one member of S2 as fraud (S2 is confirmed) and one of S3 as legitimate
    status = np.full(n, "new", dtype=object)
    status[np.flatnonzero(scheme == "S2")[0]] = "closed_fraud"
    status[np.flatnonzero(scheme == "S3")[0]] = "closed_legitimate"
    cases = cases.with_columns(status=pl.Series(status.tolist()))
    con = duckdb.connect(str(tmp_path / "q.duckdb"))
    con.register("cases_frame", cases.to_arrow())
    con.execute(
        "create table cases as select case_id, member_id, score, amount_at_risk, scheme_id, status,"
        " cast(null as integer) as rank from cases_frame"
    )
    con.execute("create table members as select member_id, subscriber_id from cases_frame")
    for statement in split_statements(sql_text("queue/rank_open_cases.sql")):
        con.execute(statement)
    got = con.sql("select case_id from cases where rank is not null order by rank").pl()["case_id"].to_list()
    still_open = cases.filter(pl.col("status") == "new").with_columns(
        scheme_confirmed=pl.col("scheme_id") == "S2"
    )
    expected = schemes.queue_order(still_open).sort("rank")["case_id"].to_list()
    assert got == expected


def test_sql_queue_constants_are_the_configuration():
    from claimwatch.store.db import sql_text

    s = DEFAULT_CONFIG.schemes
    text = sql_text("queue/rank_open_cases.sql")
    assert (
        f"place_in_scheme > {s.lead_members} and follower_place > {s.queue_capacity} - distinct_strong"
        in text
    )
    assert f"score >= {s.strong_case_score:.1f}" in text
    assert (
        f"greatest(score - {s.follower_step_back:.1f} * (place_in_scheme - {s.lead_members}), "
        f"least(score, {s.strong_case_score:.1f}))" in text
    )
