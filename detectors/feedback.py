"""Reviewers' decisions teach the next run.

Four effects, all off when there is no decision (the result is then unchanged):

* a scheme (account, provider) with a member confirmed as fraud marks its other members
  (reason ``CONFIRMED_SCHEME``, weight ``feedback.confirmed_scheme``) and the queue ranks its
  open members on their own scores, without step-back (sql/queue/rank_open_cases.sql);
* a provider or an account cleared as legitimate (a member linked to it was decided
  legitimate, none fraud) stops lifting its patients: its MULE_ACCOUNT / SUSPICIOUS_PROVIDER
  flags are dropped;
* a reason reviewers mostly found legitimate weighs less for every member carrying it: its
  precision among the decided members (a Beta prior of ``feedback.reason_prior_decisions``
  decisions at ``feedback.reason_prior_precision``) scales its weight down, never up;
* a semi-supervised model (:class:`DecisionModel`, in the spirit of PyOD's XGBOD: the member
  features augmented with the unsupervised scores and the reason weights) learns from the
  decided members, with unreviewed low-score members as weakly weighted likely-legitimate
  examples, and its probability is blended into every member's score; it needs decisions of
  both outcomes (``feedback.min_fraud``, ``feedback.min_legitimate``).

Pure: frames in, frames out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from claimwatch.detectors.config import DEFAULT_CONFIG, DetectionConfig
from claimwatch.detectors.ensemble import feature_matrix
from claimwatch.detectors.rules import RULES

# v2: fitted on reason weights scaled by their precision among the decisions (reason_factors)
MODEL_NAME = "logistic-xgbod-v2"
LINK_CODES = ("MULE_ACCOUNT", "SUSPICIOUS_PROVIDER")


@dataclass(frozen=True)
class FeedbackContext:
    """What the decisions say about links: incidents (``account:…``, ``provider:…``) confirmed
    as fraud and cleared as legitimate."""

    confirmed: frozenset[str] = field(default_factory=frozenset)
    cleared: frozenset[str] = field(default_factory=frozenset)
    # (reason code, weight factor < 1, decided members carrying it confirmed, cleared)
    reason_factors: tuple[tuple[str, float, int, int], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.confirmed and not self.cleared and not self.reason_factors


def reason_factors(
    claim_flags: pl.DataFrame, decisions: pl.DataFrame, config: DetectionConfig = DEFAULT_CONFIG
) -> pl.DataFrame:
    """What the decisions say of each fraud reason: reason_code, confirmed, cleared (decided
    members whose lines carry it at least ``combine.suspicious_line_weight``) and the factor its
    weights are scaled by, ``min(1, posterior precision / prior precision)`` (at least
    ``feedback.reason_min_factor``); only reasons with a factor below 1."""
    f = config.feedback
    c = pl.col
    fraud_codes = [code for code, rule in RULES.items() if rule.queue == "fraud"]
    carried = (
        claim_flags.filter(
            c("reason_code").is_in(fraud_codes) & (c("weight") >= config.combine.suspicious_line_weight)
        )
        .select("member_id", "reason_code")
        .unique()
        .join(decisions.select("member_id", "is_fraud"), on="member_id", how="inner")
    )
    prior = f.reason_prior_decisions
    return (
        carried.group_by("reason_code")
        .agg(confirmed=c("is_fraud").sum().cast(pl.Int64), cleared=(~c("is_fraud")).sum().cast(pl.Int64))
        .with_columns(
            factor=(
                (c("confirmed") + prior * f.reason_prior_precision)
                / (c("confirmed") + c("cleared") + prior)
                / f.reason_prior_precision
            )
            .clip(f.reason_min_factor, 1.0)
            .round(4)
        )
        .filter(c("factor") < 1.0)
        .sort("reason_code")
    )


def context_from(
    claim_flags: pl.DataFrame, decisions: pl.DataFrame | None, config: DetectionConfig = DEFAULT_CONFIG
) -> FeedbackContext:
    """Accounts and providers (MULE_ACCOUNT / SUSPICIOUS_PROVIDER incidents) linked to decided
    members: confirmed when one is fraud, cleared when every decided member linked to it is
    legitimate; and the reasons the decisions scale down (:func:`reason_factors`)."""
    if decisions is None or decisions.is_empty():
        return FeedbackContext()
    c = pl.col
    linked = (
        claim_flags.filter(c("incident").is_not_null() & c("reason_code").is_in(list(LINK_CODES)))
        .select("member_id", "incident")
        .unique()
        .join(decisions.select("member_id", "is_fraud"), on="member_id", how="inner")
        .group_by("incident")
        .agg(fraud=c("is_fraud").any())
    )
    factors = reason_factors(claim_flags, decisions, config)
    return FeedbackContext(
        confirmed=frozenset(linked.filter(c("fraud"))["incident"].to_list()),
        cleared=frozenset(linked.filter(~c("fraud"))["incident"].to_list()),
        reason_factors=tuple(factors.select("reason_code", "factor", "confirmed", "cleared").iter_rows()),
    )


def scale_reasons(reasons: pl.DataFrame, context: FeedbackContext) -> pl.DataFrame:
    """Scale the weights of the reasons the decisions scale down (claim flags or member
    reasons: reason_code, weight, reason) and say so in the reason."""
    if not context.reason_factors:
        return reasons
    c = pl.col
    factors = pl.DataFrame(
        list(context.reason_factors),
        schema={"reason_code": pl.String, "factor": pl.Float64, "confirmed": pl.Int64, "cleared": pl.Int64},
        orient="row",
    )
    return (
        reasons.join(factors, on="reason_code", how="left", maintain_order="left")
        .with_columns(
            weight=pl.when(c("factor").is_not_null()).then(c("weight") * c("factor")).otherwise(c("weight")),
            reason=pl.when(c("factor").is_not_null())
            .then(
                c("reason")
                + pl.lit(" [weight x ")
                + c("factor").round(2).cast(pl.String)
                + pl.lit(": reviewers cleared ")
                + c("cleared").cast(pl.String)
                + pl.lit(" of ")
                + (c("confirmed") + c("cleared")).cast(pl.String)
                + pl.lit(" decided members with this reason]")
            )
            .otherwise(c("reason")),
        )
        .drop("factor", "confirmed", "cleared")
    )


def apply_to_flags(
    claim_flags: pl.DataFrame, context: FeedbackContext, config: DetectionConfig = DEFAULT_CONFIG
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Drop the link flags of cleared incidents, scale the reasons the decisions scale down;
    return (flags, member reasons for members of confirmed schemes)."""
    c = pl.col
    empty = pl.DataFrame(
        schema={"member_id": pl.String, "reason_code": pl.String, "weight": pl.Float64, "reason": pl.String}
    )
    if context.empty:
        return claim_flags, empty
    claim_flags = scale_reasons(claim_flags, context)
    cleared = pl.Series(sorted(context.cleared), dtype=pl.String).implode()
    confirmed = pl.Series(sorted(context.confirmed), dtype=pl.String).implode()
    kept = claim_flags.filter(~(c("reason_code").is_in(list(LINK_CODES)) & c("incident").is_in(cleared)))
    # a confirmed account or provider lifts the members it links strongly (a relative merely
    # paid to the same family account is no member of the scheme)
    lifted = (
        kept.filter(
            c("incident").is_in(confirmed)
            & c("reason_code").is_in(list(LINK_CODES))
            & (c("weight") >= config.feedback.confirmed_link_weight)
        )
        .sort("member_id", "incident")
        .group_by("member_id", maintain_order=True)
        .agg(incident=c("incident").first())
        .select(
            "member_id",
            reason_code=pl.lit("CONFIRMED_SCHEME"),
            weight=pl.lit(config.feedback.confirmed_scheme),
            reason=pl.lit("linked by ")
            + c("incident").str.replace(":", " ").str.slice(0, 24)
            + pl.lit(" to a member a reviewer confirmed as fraud"),
        )
    )
    return kept, lifted


class DecisionModel:
    """Semi-supervised re-ranking from reviewers' decisions.

    Parameters
    ----------
    config : DetectionConfig
        ``config.feedback`` sets the minimum decisions, the unlabelled sample and its weight.
    random_state : int
        Seed of the unlabelled sample.

    Attributes
    ----------
    classifier_ : sklearn.linear_model.LogisticRegression
        Fitted on standardised features (class-balanced).
    mean_, scale_ : ndarray
        Standardisation of the training matrix.
    decisions_used_ : int
        Reviewer decisions the model learnt from.
    """

    def __init__(self, config: DetectionConfig = DEFAULT_CONFIG, random_state: int = 0):
        self.config = config
        self.random_state = random_state

    @staticmethod
    def matrix(members: pl.DataFrame, features: pl.DataFrame) -> np.ndarray:
        """Member features (as the ensemble sees them) + rule, ensemble and per-reason weights."""
        c = pl.col
        codes = [code for code, rule in RULES.items() if rule.queue != "recovery"]
        pairs = (
            members.select("member_id", "reason_codes", "weights")
            .explode(["reason_codes", "weights"])
            .drop_nulls()
            .filter(c("reason_codes").is_in(codes))
        )
        per_code = (
            pairs.group_by("member_id", "reason_codes")
            .agg(c("weights").max())
            .pivot(on="reason_codes", index="member_id", values="weights", on_columns=codes)
            if pairs.height
            else pl.DataFrame(schema={"member_id": pl.String, **dict.fromkeys(codes, pl.Float64)})
        )
        for code in codes:
            if code not in per_code.columns:
                per_code = per_code.with_columns(pl.lit(0.0).alias(code))
        base = (
            features.select("member_id")
            .join(members.select("member_id", "rule_score", "ensemble_score"), on="member_id", how="left")
            .join(per_code.select("member_id", *codes), on="member_id", how="left")
            .fill_null(0.0)
        )
        per_code = base.select(codes)
        X, _ = feature_matrix(features)
        scores = base.select(c("rule_score").fill_null(0.0), c("ensemble_score").fill_null(0.0)).to_numpy()
        return np.hstack([X, scores, per_code.to_numpy()])

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray) -> DecisionModel:
        from sklearn.linear_model import LogisticRegression

        self.mean_ = X.mean(axis=0)
        spread = X.std(axis=0)
        self.scale_ = np.where(spread > 0, spread, 1.0)
        self.classifier_ = LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000).fit(
            (X - self.mean_) / self.scale_, y, sample_weight=sample_weight
        )
        self.decisions_used_ = int((sample_weight >= 1).sum())
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability of fraud per row (higher = more suspicious)."""
        return self.classifier_.predict_proba((X - self.mean_) / self.scale_)[:, 1]


def rerank(
    members: pl.DataFrame,
    features: pl.DataFrame,
    decisions: pl.DataFrame | None,
    config: DetectionConfig = DEFAULT_CONFIG,
) -> tuple[pl.DataFrame, DecisionModel | None]:
    """Blend the decision model's probability into ``score``; unchanged (and no model) with too
    few decisions. ``members`` needs member_id, score, rule_score, ensemble_score, reason_codes,
    weights; ``features`` the member features (sorted by member_id)."""
    f = config.feedback
    c = pl.col
    if decisions is None or features.is_empty():
        return members, None
    decided = decisions.join(features.select("member_id"), on="member_id", how="semi")
    fraud = int(decided["is_fraud"].sum())
    if decided.height < f.min_decisions or fraud < f.min_fraud or decided.height - fraud < f.min_legitimate:
        return members, None
    X = DecisionModel.matrix(members, features)
    ids = features.select("member_id").with_row_index("row")
    labelled = ids.join(decided, on="member_id", how="inner")
    # unreviewed members the detectors rank low: likely legitimate (weakly weighted)
    scored = ids.join(members.select("member_id", "score"), on="member_id", how="left").with_columns(
        c("score").fill_null(0.0)
    )
    pool = scored.join(decided, on="member_id", how="anti").filter(c("score") <= c("score").median())
    rng = np.random.default_rng(0)
    take = min(f.unlabelled_negatives, pool.height)
    negatives = (
        np.sort(rng.choice(pool["row"].to_numpy(), take, replace=False)) if take else np.array([], int)
    )
    rows = np.concatenate([labelled["row"].to_numpy(), negatives])
    y = np.concatenate([labelled["is_fraud"].cast(pl.Int8).to_numpy(), np.zeros(len(negatives), np.int8)])
    if len(np.unique(y)) < 2:
        return members, None
    w = np.concatenate([np.ones(labelled.height), np.full(len(negatives), f.unlabelled_weight)])
    model = DecisionModel(config).fit(X[rows], y, w)
    probability = pl.DataFrame(
        {"member_id": features["member_id"], "decision_probability": np.round(model.predict_proba(X), 6)}
    )
    blended = (
        members.join(probability, on="member_id", how="left")
        .with_columns(c("decision_probability").fill_null(0.0))
        .with_columns(
            score=((1 - f.model_share) * c("score") + f.model_share * 100 * c("decision_probability")).round(
                4
            )
        )
    )
    return blended, model
