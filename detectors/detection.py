"""Detection as one pure call: feature frames in, member results, line flags and schemes out.

    result = Detection(config).fit(inputs).detect(inputs, decisions)

:class:`Detection` follows PyOD's detector habits: parameters (a
:class:`~claimwatch.detectors.config.DetectionConfig`) checked when it is built, ``fit`` learns
what needs the whole portfolio (the PyOD ensemble), fitted attributes end in ``_``, higher
scores are more suspicious. Everything else is a function of the inputs: the candidate-line
filter, IBAN-change and provider scoring, rules, the ensemble, reviewers' feedback, schemes.
No I/O, no Prefect: the orchestration (``flows/scoring``) reads the frames from SQL and stores
what comes out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from claimwatch.detectors import combine, feedback, rules, schemes
from claimwatch.detectors.combine import Partition
from claimwatch.detectors.config import DEFAULT_CONFIG, DetectionConfig
from claimwatch.detectors.ensemble import AnomalyEnsemble


@dataclass
class DetectionInputs:
    """The feature frames of one portfolio (``sql/features``), each sorted by its key.

    Attributes
    ----------
    signals : claim_signals lines (all, or already restricted with :func:`candidate_lines`)
    changes : iban_changes rows (raw; scored here)
    providers : provider_profile rows (raw; scored here)
    profile : member_id, breach_count, breach_matched_types, first_breach_date
    features : member_features rows (the ensemble's input), sorted by member_id
    ensemble : optional, :func:`claimwatch.detectors.combine.ensemble_frame` of every member of
        ``features`` already computed with the fitted ensemble (same order); None: computed
    """

    signals: pl.DataFrame
    changes: pl.DataFrame
    providers: pl.DataFrame
    profile: pl.DataFrame
    features: pl.DataFrame
    ensemble: pl.DataFrame | None = None


@dataclass
class DetectionResult:
    """What detection returns.

    Attributes
    ----------
    members : one row per member: score (0..100; higher = more suspicious), rule_score,
        ensemble_score, reasons (strongest first), claim_ids, amount_at_risk, is_candidate,
        scheme_id, scheme_members, recovery_* (the overpayment to recover, apart from fraud)
    claim_flags : one row per (claim line, reason code): weight, reason, incident
    schemes : one row per scheme: scheme_id, kind, members, member_ids, score, amount_at_risk
    model_name : the semi-supervised model used (None without decisions)
    decisions_used : reviewer decisions the run learnt from
    """

    members: pl.DataFrame
    claim_flags: pl.DataFrame
    schemes: pl.DataFrame
    model_name: str | None = None
    decisions_used: int = 0
    decisions_through: object = None  # the latest decision learnt from (set by the caller)


def scored_providers(providers: pl.DataFrame, config: DetectionConfig = DEFAULT_CONFIG) -> pl.DataFrame:
    """Provider profiles with their fake-provider score and reason."""
    return rules.score_providers(providers, config)


def candidate_lines(
    signals: pl.DataFrame, providers: pl.DataFrame, config: DetectionConfig = DEFAULT_CONFIG
) -> pl.DataFrame:
    """The claim lines that can carry a rule reason (``providers`` scored by
    :func:`scored_providers`); the others never reach the rules."""
    flagged = providers.filter(pl.col("provider_score") > 0)["provider_id"]
    return signals.filter(rules.is_candidate_line(flagged, config))


class Detection:
    """Rules, PyOD ensemble, feedback and schemes over a portfolio's features.

    Parameters
    ----------
    config : DetectionConfig
        Every threshold and weight (validated when built).
    sample_size : int
        Members the ensemble is fitted on (a uniform sample beyond).
    chunk_size : int
        Members scored by the ensemble at a time (memory bound).
    random_state : int
        Seed of the ensemble's sampling and trees.

    Attributes
    ----------
    ensemble_ : AnomalyEnsemble or None
        The fitted ensemble (None with fewer than 50 members).
    """

    def __init__(
        self,
        config: DetectionConfig = DEFAULT_CONFIG,
        sample_size: int = 200_000,
        chunk_size: int = 250_000,
        random_state: int = 42,
    ):
        if not isinstance(config, DetectionConfig):
            raise ValueError("config must be a DetectionConfig")
        if sample_size < 10 or chunk_size < 1:
            raise ValueError("sample_size must be >= 10 and chunk_size >= 1")
        self.config = config
        self.sample_size = sample_size
        self.chunk_size = chunk_size
        self.random_state = random_state

    def fit(self, inputs: DetectionInputs) -> Detection:
        """Fit the ensemble on the member features."""
        self.ensemble_ = combine.fit_ensemble(inputs.features, self.sample_size, self.random_state)
        return self

    def detect(
        self,
        inputs: DetectionInputs,
        decisions: pl.DataFrame | None = None,
        score_partitions: Callable[..., tuple[pl.DataFrame, pl.DataFrame]] | None = None,
    ) -> DetectionResult:
        """Score every member.

        Parameters
        ----------
        inputs : DetectionInputs
        decisions : DataFrame, optional
            member_id, is_fraud: reviewers' closed decisions (``sql/features/reviewer_decisions.sql``).
            None or empty: no feedback, the result is that of unsupervised detection.
        score_partitions : callable, optional
            ``(whole, providers, model, chunk_size, config, context) -> (members, flags)``, e.g.
            scoring partitions on a Dask cluster; default: one local partition.
        """
        if not hasattr(self, "ensemble_"):
            raise RuntimeError("call fit() before detect()")
        config = self.config
        changes = rules.score_iban_changes(inputs.changes, config)
        providers = scored_providers(inputs.providers, config)
        signals = candidate_lines(inputs.signals, providers, config)
        whole = Partition(inputs.features, signals, changes, inputs.profile, inputs.ensemble)
        context = feedback.FeedbackContext()
        if decisions is not None and decisions.height:
            context = feedback.context_from(
                rules.flag_claims(signals, changes, providers, config), decisions, config
            )
        if score_partitions is None:
            members, flags = combine.score_partition(
                whole, providers, self.ensemble_, self.chunk_size, config, context
            )
        else:
            members, flags = score_partitions(
                whole, providers, self.ensemble_, self.chunk_size, config, context
            )
        members, model = feedback.rerank(members, inputs.features, decisions, config)
        found, member_schemes = schemes.build_schemes(members, flags, config)
        members = (
            members.join(member_schemes, on="member_id", how="left")
            .with_columns(
                scheme_members=pl.col("scheme_members").fill_null(pl.lit([], dtype=pl.List(pl.String)))
            )
            .sort("member_id")
        )
        return DetectionResult(
            members=members,
            claim_flags=flags,
            schemes=found,
            model_name=feedback.MODEL_NAME if model is not None else None,
            decisions_used=model.decisions_used_ if model is not None else 0,
        )


def detect(
    inputs: DetectionInputs,
    config: DetectionConfig = DEFAULT_CONFIG,
    decisions: pl.DataFrame | None = None,
    *,
    sample_size: int = 200_000,
    chunk_size: int = 250_000,
    ensemble: AnomalyEnsemble | None = None,
) -> DetectionResult:
    """Fit (unless ``ensemble`` is given) and detect in one call."""
    detection = Detection(config, sample_size, chunk_size)
    if ensemble is None:
        detection.fit(inputs)
    else:
        detection.ensemble_ = ensemble
    return detection.detect(inputs, decisions)
