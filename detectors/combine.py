"""Combine rules and the PyOD ensemble into member scores, one partition of members at a time.

Pure: frames and a fitted model in, frames out. A partition is a set of members (by hash);
every input is restricted to those members, so partitions can run anywhere (locally or on
Dask workers) and give the same result as one big partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from claimwatch.detectors import feedback, rules
from claimwatch.detectors.config import DEFAULT_CONFIG, DetectionConfig
from claimwatch.detectors.ensemble import DEFAULT_DETECTORS, AnomalyEnsemble, feature_matrix
from claimwatch.detectors.feedback import FeedbackContext

ENSEMBLE_DETECTORS = DEFAULT_DETECTORS

FEATURE_LABELS = {
    "claim_lines": "many claim lines",
    "claimed_total": "high total claimed",
    "duplicate_lines": "duplicate lines",
    "lines_paid_to_new_iban_30d": "payments to a new IBAN",
    "max_payee_iban_subscribers": "account shared across contracts",
    "new_categories_after_breach": "new kinds of care after the breach",
    "longest_gap_days": "long dormancy",
    "providers": "many providers",
    "iban_changes": "IBAN changes",
    "security_events": "password resets / new devices",
    "contact_changes": "e-mail/phone changes",
    "foreign_ip_events": "foreign IP sessions",
    "max_amount_vs_own_history": "amount far above own history",
    "member_sent_share": "mostly invoices sent by the member",
    "high_risk_amount_share": "optical/dental/hearing/osteopathy-heavy",
    "max_amount_peer_z": "amount far above peers",
    "max_provider_exposure_z": "breach-exposed provider",
    "max_provider_outside_share": "provider far from home",
    "billed_by_bad_key_provider": "provider with invalid registry key",
    "billed_by_new_provider": "provider new to the portfolio",
    "max_security_events_before_change": "security events before IBAN change",
    "changed_to_foreign_iban": "IBAN moved abroad",
    "breach_count": "breach exposure",
    "age": "age",
    "min_days_change_to_payment": "payment right after IBAN change",
    "min_new_bank_share": "rare bank",
}


@dataclass
class Partition:
    """The inputs of one partition of members (every frame holds only these members)."""

    features: pl.DataFrame  # sql/features/member_features.sql, sorted by member_id
    signals: pl.DataFrame  # candidate lines of sql/features/claim_signals.sql
    changes: pl.DataFrame  # rules.score_iban_changes output
    profile: pl.DataFrame  # member_id, breach_count, breach_matched_types, first_breach_date
    # ensemble_frame output of these members when already computed (a nightly run keeps the
    # stored scores of members whose features did not change); None: computed here
    ensemble: pl.DataFrame | None = None


def fit_ensemble(features: pl.DataFrame, sample_size: int, random_state: int = 42) -> AnomalyEnsemble | None:
    """Fit the ensemble on (a sample of) every member; None when too few members."""
    if features.height < 50:  # too few members to say what is unusual
        return None
    X, _ = feature_matrix(features)
    return AnomalyEnsemble(sample_size=sample_size, random_state=random_state).fit(X)


def ensemble_frame(features: pl.DataFrame, model: AnomalyEnsemble | None, chunk_size: int) -> pl.DataFrame:
    """Ensemble score, each detector's rank and the standing-out features, per member."""
    n = features.height
    if model is None or n == 0:
        return features.select("member_id").with_columns(
            ensemble_score=pl.lit(0.0),
            detector_scores=pl.lit(None, dtype=pl.String),
            top_features=pl.lit([], dtype=pl.List(pl.String)),
        )
    X, names = feature_matrix(features)
    scores = np.empty(n)
    per_detector = {name: np.empty(n) for name in model.detectors}
    top = 3
    standing = np.empty((n, min(top, len(names))), dtype=np.int64)
    for start in range(0, n, max(chunk_size, 1)):
        part = X[start : start + chunk_size]
        ranks = model.detector_scores(part)
        for name, values in ranks.items():
            per_detector[name][start : start + chunk_size] = values
        scores[start : start + chunk_size] = np.mean(np.vstack(list(ranks.values())), axis=0)
        standing[start : start + chunk_size] = model.standing_out(part, top)
    detector_json = pl.DataFrame({k: np.round(v, 4) for k, v in per_detector.items()}).select(
        pl.struct(pl.all()).struct.json_encode().alias("detector_scores")
    )
    # feature names by column index, gathered per place (no Python list per member)
    labels = pl.Series(names, dtype=pl.String)
    top_features = pl.DataFrame({f"t{i}": labels.gather(standing[:, i]) for i in range(standing.shape[1])}).select(
        pl.concat_list(pl.all()).alias("top_features")
    )
    return features.select("member_id").with_columns(
        ensemble_score=pl.Series(scores, dtype=pl.Float64),
        detector_scores=detector_json["detector_scores"],
        top_features=top_features["top_features"],
    )


def final_score(rule: pl.Expr, ensemble: pl.Expr, config: DetectionConfig = DEFAULT_CONFIG) -> pl.Expr:
    """A member's score (0..100) from its rule score and ensemble score (both 0..1).

    The ensemble fills ``combine.ensemble_share`` of what the rules leave unexplained (noisy-OR):
    an unusual profile adds to rule evidence, an ordinary one never takes from it (a relative
    whose identity a takeover used has an ordinary profile; the lines claimed in its name are
    the evidence). Without a rule reason the ensemble alone gives at most
    ``100 x ensemble_share``."""
    return 100 * (1 - (1 - rule) * (1 - config.combine.ensemble_share * ensemble))


def score_partition(
    part: Partition,
    providers: pl.DataFrame,
    model: AnomalyEnsemble | None,
    chunk_size: int = 250_000,
    config: DetectionConfig = DEFAULT_CONFIG,
    context: FeedbackContext | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Score one partition: (member results, claim flags).

    ``context`` carries what reviewers' decisions say about accounts and providers (confirmed,
    cleared); None or empty changes nothing."""
    c = pl.col
    k = config.combine
    claim_flags = rules.flag_claims(part.signals, part.changes, providers, config)
    claim_flags, lifted = feedback.apply_to_flags(claim_flags, context or FeedbackContext(), config)
    member_reasons = feedback.scale_reasons(
        rules.member_only_reasons(part.changes, part.profile, config), context or FeedbackContext()
    )
    ens = part.ensemble if part.ensemble is not None else ensemble_frame(part.features, model, chunk_size)
    anomalies = ens.filter(c("ensemble_score") >= k.anomaly_reason_score).select(
        "member_id",
        reason_code=pl.lit("ANOMALOUS_PROFILE"),
        weight=pl.lit(0.0),
        reason=pl.lit("profile unlike the portfolio (top ")
        + ((1 - c("ensemble_score")) * 100).round(1).clip(0.1, 100).cast(pl.String)
        + pl.lit("% of the ensemble score): ")
        + c("top_features")
        .list.eval(pl.element().replace_strict(FEATURE_LABELS, default=pl.element()))
        .list.join(", "),
    )
    member_reasons = pl.concat([member_reasons, anomalies, lifted], how="vertical_relaxed")
    members = rules.combine_member_reasons(claim_flags, member_reasons, config)
    result = (
        ens.join(members, on="member_id", how="full", coalesce=True)
        .with_columns(
            rule_score=c("rule_score").fill_null(0.0),
            ensemble_score=c("ensemble_score").fill_null(0.0),
            amount_at_risk=c("amount_at_risk").fill_null(0.0),
            claim_ids=c("claim_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            reason_codes=c("reason_codes").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            reasons=c("reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            weights=c("weights").fill_null(pl.lit([], dtype=pl.List(pl.Float64))),
            recovery_score=c("recovery_score").fill_null(0.0),
            recovery_amount=c("recovery_amount").fill_null(0.0),
            recovery_claim_ids=c("recovery_claim_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            recovery_reasons=c("recovery_reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .with_columns(
            score=final_score(c("rule_score"), c("ensemble_score"), config).round(4),
            is_candidate=(c("rule_score") >= k.case_rule_score)
            | (c("ensemble_score") >= k.case_ensemble_score),
        )
        .sort("member_id")
    )
    return result, claim_flags


def partition_of(member_ids: pl.Expr, partitions: int) -> pl.Expr:
    """Stable partition number of a member (the same on every machine and run)."""
    return member_ids.hash(seed=0) % partitions


def split(part: Partition, partitions: int) -> list[Partition]:
    """Split one partition's frames into ``partitions`` by member hash."""
    if partitions <= 1:
        return [part]
    names = ("features", "signals", "changes", "profile") + (
        ("ensemble",) if part.ensemble is not None else ()
    )
    tagged = {
        name: getattr(part, name).with_columns(_p=partition_of(pl.col("member_id"), partitions))
        for name in names
    }
    return [
        Partition(**{name: frame.filter(pl.col("_p") == i).drop("_p") for name, frame in tagged.items()})
        for i in range(partitions)
    ]


def merge(results: list[tuple[pl.DataFrame, pl.DataFrame]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Concatenate partition results in a deterministic order."""
    members = pl.concat([r[0] for r in results], how="vertical_relaxed").sort("member_id")
    flags = pl.concat([r[1] for r in results], how="vertical_relaxed").sort(
        "member_id", "claim_id", "reason_code"
    )
    return members, flags
