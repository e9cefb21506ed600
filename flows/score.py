"""Score: SQL features over the whole history → detectors → member/claim scores → queue."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import polars as pl

from claimwatch.db import Database, sql_text
from claimwatch.detectors import rules
from claimwatch.detectors.ensemble import AnomalyEnsemble, feature_matrix
from claimwatch.settings import Settings

log = logging.getLogger("claimwatch.score")

# Feature families in dependency order; each becomes temp table f_<name>.
FEATURES = (
    "member_profile",
    "iban_member_links",
    "iban_links",
    "bank_prevalence",
    "iban_changes",
    "provider_profile",
    "claim_signals",
    "member_features",
)

# How the final 0..100 score mixes explicit rules and the unsupervised ensemble.
RULE_SHARE = 0.8
# A member becomes a case with this much rule evidence, or when the ensemble puts it in the
# top 0.5% of the portfolio.
CASE_RULE_SCORE = 0.3
CASE_ENSEMBLE_SCORE = 0.995
ANOMALY_REASON_SCORE = 0.99
# Scores at least this high are kept per run in member_scores.
SCORE_FLOOR = 10.0

FEATURE_LABELS = {
    "claim_lines": "many claim lines", "claimed_total": "high total claimed",
    "duplicate_lines": "duplicate lines", "lines_paid_to_new_iban_30d": "payments to a new IBAN",
    "max_payee_iban_subscribers": "account shared across contracts",
    "new_categories_after_breach": "new kinds of care after the breach",
    "longest_gap_days": "long dormancy", "providers": "many providers",
    "iban_changes": "IBAN changes", "security_events": "password resets / new devices",
    "contact_changes": "e-mail/phone changes", "foreign_ip_events": "foreign IP sessions",
    "max_amount_vs_own_history": "amount far above own history",
    "member_sent_share": "mostly invoices sent by the member",
    "high_risk_amount_share": "optical/dental/hearing/osteopathy-heavy",
    "max_amount_peer_z": "amount far above peers", "max_provider_exposure_z": "breach-exposed provider",
    "max_provider_outside_share": "provider far from home",
    "billed_by_bad_key_provider": "provider with invalid registry key",
    "billed_by_new_provider": "provider new to the portfolio",
    "max_security_events_before_change": "security events before IBAN change",
    "changed_to_foreign_iban": "IBAN moved abroad", "breach_count": "breach exposure", "age": "age",
    "min_days_change_to_payment": "payment right after IBAN change",
    "min_new_bank_share": "rare bank",
}


@dataclass
class ScoreSummary:
    members_scored: int = 0
    members_flagged: int = 0
    claim_flags: int = 0
    cases_open: int = 0
    cases_opened: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def build_features(db: Database) -> None:
    """Materialise every feature family as a temp table (f_member_profile, ...)."""
    for name in FEATURES:
        db.con.execute(f"create or replace temp table f_{name} as " + sql_text(f"features/{name}.sql"))


def _frame(db: Database, query: str) -> pl.DataFrame:
    return db.con.sql(query).pl()


def run_ensemble(
    features: pl.DataFrame, settings: Settings
) -> tuple[np.ndarray, dict[str, np.ndarray], list[list[str]], AnomalyEnsemble | None]:
    """Fit the PyOD ensemble on a sample of members and score all of them in chunks."""
    n = features.height
    if n < 50:  # too few members to say what is unusual
        return np.zeros(n), {}, [[] for _ in range(n)], None
    X, names = feature_matrix(features)
    model = AnomalyEnsemble(sample_size=settings.score_sample_size).fit(X)
    scores = np.empty(n)
    per_detector = {name: np.empty(n) for name in model.detectors}
    explanations: list[list[str]] = []
    chunk = max(settings.score_chunk_size, 1)
    for start in range(0, n, chunk):
        part = X[start:start + chunk]
        ranks = model.detector_scores(part)
        for name, values in ranks.items():
            per_detector[name][start:start + chunk] = values
        scores[start:start + chunk] = np.mean(np.vstack(list(ranks.values())), axis=0)
        explanations.extend(model.explain(part, names))
    return scores, per_detector, explanations, model


def detect(db: Database, settings: Settings, run_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run rules and the ensemble; return (member results, claim flags)."""
    c = pl.col
    changes = rules.score_iban_changes(_frame(db, "select * from f_iban_changes"))
    providers = rules.score_providers(_frame(db, "select * from f_provider_profile"))
    flagged_providers = providers.filter(c("provider_score") > 0).select("provider_id")
    db.con.register("flagged_providers", flagged_providers.to_arrow())
    # only lines that can carry a rule reach Python: memory stays bounded by suspicion
    signals = _frame(
        db,
        """
        select * from f_claim_signals
        where iban_change_event_id is not null
            or payee_iban_subscribers_linked >= 2
            or is_duplicate_payment
            or (member_sent and high_risk_category and after_breach)
            or provider_id in (select provider_id from flagged_providers)
        """,
    )
    db.con.unregister("flagged_providers")
    profile = _frame(
        db, "select member_id, breach_count, breach_matched_types, first_breach_date from f_member_profile"
    )
    claim_flags = rules.flag_claims(signals, changes, providers)
    member_reasons = rules.member_only_reasons(changes, profile)

    features = _frame(db, "select * from f_member_features order by member_id")
    ensemble, per_detector, explanations, model = run_ensemble(features, settings)
    ens = features.select("member_id").with_columns(
        ensemble_score=pl.Series(ensemble, dtype=pl.Float64),
        detector_scores=pl.Series(
            [json.dumps({k: round(float(v[i]), 4) for k, v in per_detector.items()})
             for i in range(features.height)] if per_detector else [None] * features.height,
            dtype=pl.String,
        ),
        top_features=pl.Series(explanations, dtype=pl.List(pl.String)),
    )
    anomalies = ens.filter(c("ensemble_score") >= ANOMALY_REASON_SCORE).select(
        "member_id",
        reason_code=pl.lit("ANOMALOUS_PROFILE"),
        weight=pl.lit(0.0),
        reason=pl.lit("profile unlike the portfolio (top ")
        + ((1 - c("ensemble_score")) * 100).round(1).clip(0.1, 100).cast(pl.String)
        + pl.lit("% of the ensemble score): ")
        + c("top_features").list.eval(pl.element().replace_strict(FEATURE_LABELS, default=pl.element()))
        .list.join(", "),
    )
    member_reasons = pl.concat([member_reasons, anomalies], how="vertical_relaxed")
    members = rules.combine_member_reasons(claim_flags, member_reasons)
    result = (
        ens.join(members, on="member_id", how="full", coalesce=True)
        .with_columns(
            rule_score=c("rule_score").fill_null(0.0),
            ensemble_score=c("ensemble_score").fill_null(0.0),
            amount_at_risk=c("amount_at_risk").fill_null(0.0),
            claim_ids=c("claim_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            reason_codes=c("reason_codes").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            reasons=c("reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .with_columns(
            score=(100 * (RULE_SHARE * c("rule_score") + (1 - RULE_SHARE) * c("ensemble_score"))).round(2),
            is_candidate=(c("rule_score") >= CASE_RULE_SCORE) | (c("ensemble_score") >= CASE_ENSEMBLE_SCORE),
        )
    )
    return result, claim_flags


def write_scores(db: Database, run_id: str, result: pl.DataFrame, claim_flags: pl.DataFrame,
                 as_of: object, sample_size: int) -> int:
    """Store this run's member and claim scores; return members flagged."""
    c = pl.col
    kept = result.filter(c("score") >= SCORE_FLOOR).select(
        pl.lit(run_id).alias("run_id"),
        "member_id", "score", "rule_score", "ensemble_score", "detector_scores",
        reason_codes=c("reason_codes").list.join(";"),
        reasons=c("reasons").list.join(" | "),
        amount_at_risk=c("amount_at_risk"),
        claim_ids=c("claim_ids").list.join(";"),
    )
    db.con.register("kept_scores", kept.to_arrow())
    db.con.execute("insert into member_scores by name select * from kept_scores")
    db.con.unregister("kept_scores")
    flags = claim_flags.select(pl.lit(run_id).alias("run_id"), "claim_id", "member_id",
                               "reason_code", "weight", "reason")
    db.con.register("claim_flags", flags.to_arrow())
    db.con.execute("insert into claim_scores by name select * from claim_flags")
    db.con.unregister("claim_flags")
    flagged = int(result.filter(c("is_candidate")).height)
    db.con.execute(
        "insert into score_runs values (?, ?, ?, ?, ?, ?, ?)",
        [run_id, datetime.now(UTC), as_of, result.height, flagged, "rules+iforest+hbos+ecod",
         sample_size],
    )
    return flagged


def refresh_queue(db: Database, run_id: str, result: pl.DataFrame) -> tuple[int, int]:
    """Attach this run's candidates to the queue; return (open cases, cases opened)."""
    from claimwatch.ingest import _run_file

    c = pl.col
    candidates = result.filter(c("is_candidate")).select(
        "member_id", "score", "rule_score", "ensemble_score", "claim_ids",
        reason_codes=c("reason_codes").list.join(";"),
        reasons=c("reasons").list.join(" | "),
    )
    before = db.con.execute("select count(*) from cases").fetchall()[0][0]
    db.con.register("run_candidates_frame", candidates.to_arrow())
    db.con.execute("create or replace temp table run_candidates as select * from run_candidates_frame")
    db.con.unregister("run_candidates_frame")
    _run_file(db, "queue/refresh_cases.sql", {"run_id": run_id, "now": datetime.now(UTC)})
    after = db.con.execute("select count(*) from cases").fetchall()[0][0]
    open_cases = db.con.execute(
        "select count(*) from cases where status in ('new', 'in_review', 'needs_info')"
    ).fetchall()[0][0]
    return open_cases, after - before


def score_and_queue(db: Database, settings: Settings, run_id: str) -> ScoreSummary:
    """Build features, detect, store scores and refresh the queue (caller's transaction)."""
    summary = ScoreSummary()
    t0 = time.perf_counter()
    build_features(db)
    summary.seconds["features"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    result, claim_flags = detect(db, settings, run_id)
    summary.seconds["detect"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    as_of = db.con.execute("select max(as_of_date) from f_member_profile").fetchall()[0][0]
    summary.members_scored = result.height
    summary.claim_flags = claim_flags.height
    summary.members_flagged = write_scores(
        db, run_id, result, claim_flags, as_of, settings.score_sample_size
    )
    summary.cases_open, summary.cases_opened = refresh_queue(db, run_id, result)
    summary.seconds["queue"] = time.perf_counter() - t2
    return summary
