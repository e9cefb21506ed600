"""Score: SQL features over the whole history → detectors → member/claim scores → queue."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from claimwatch.detectors import combine, rules
from claimwatch.detectors.combine import Partition
from claimwatch.detectors.config import DEFAULT_CONFIG, DetectionConfig
from claimwatch.detectors.detection import (
    Detection,
    DetectionInputs,
    DetectionResult,
    candidate_lines,
    scored_providers,
)
from claimwatch.settings import Settings
from claimwatch.store.db import Database, sql_text

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

# Scores at least this high are kept per run in member_scores (the ensemble alone gives at
# most 20: below that a member has no rule reason and is not unusual).
SCORE_FLOOR = 20.0
# Per-run scores of this many latest runs are kept (cases keep their own history).
SCORE_RUNS_KEPT = 30


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


# the columns of sql/features/claim_signals.sql that detectors' candidate-line filter reads
CANDIDATE_FILTER_COLUMNS = (
    "claim_id",
    "iban_change_event_id",
    "household_change_event_id",
    "payee_iban_subscribers_linked",
    "is_duplicate_payment",
    "member_sent",
    "care_category",
    "after_breach",
    "provider_id",
)


def read_inputs(db: Database, config: DetectionConfig = DEFAULT_CONFIG) -> DetectionInputs:
    """Read the feature frames detection needs; the claim signals restricted to candidate lines
    (:func:`claimwatch.detectors.detection.candidate_lines`) batch by batch."""
    changes = _frame(db, "select * from f_iban_changes order by event_id")
    providers = _frame(db, "select * from f_provider_profile order by provider_id")
    scored = scored_providers(providers, config)
    # the filter reads a few narrow columns of every line; only the candidates' full rows are
    # then read (a wide read of every line would hold them all in DuckDB's memory)
    narrow = _frame(db, "select " + ", ".join(CANDIDATE_FILTER_COLUMNS) + " from f_claim_signals")
    candidates = candidate_lines(narrow, scored, config).select("claim_id")
    db.con.register("candidate_claims", candidates.to_arrow())
    signals = _frame(
        db,
        "select s.* from f_claim_signals as s join candidate_claims as k on k.claim_id = s.claim_id"
        " order by s.claim_id",
    )
    db.con.unregister("candidate_claims")
    profile = _frame(
        db,
        "select member_id, breach_count, breach_matched_types, first_breach_date from f_member_profile"
        " order by member_id",
    )
    features = _frame(db, "select * from f_member_features order by member_id")
    return DetectionInputs(signals, changes, providers, profile, features)


def read_decisions(db: Database) -> pl.DataFrame:
    """Reviewers' closed decisions (sql/features/reviewer_decisions.sql)."""
    return _frame(db, sql_text("features/reviewer_decisions.sql"))


def prepare(db: Database, settings: Settings) -> tuple[Partition, pl.DataFrame, object]:
    """Global step: the whole portfolio as one partition (candidate lines, scored IBAN changes),
    the scored providers and the fitted ensemble."""
    inputs = read_inputs(db)
    changes = rules.score_iban_changes(inputs.changes)
    providers = scored_providers(inputs.providers)
    model = combine.fit_ensemble(inputs.features, settings.score_sample_size)
    return Partition(inputs.features, inputs.signals, changes, inputs.profile), providers, model


def detect(db: Database, settings: Settings, run_id: str) -> tuple[DetectionResult, pl.DataFrame]:
    """Run detection (locally, or its partitions on Dask); return (result, claim flags)."""
    inputs = read_inputs(db)
    decisions = read_decisions(db)
    detection = Detection(sample_size=settings.score_sample_size, chunk_size=settings.score_chunk_size)
    detection.fit(inputs)
    partitions = None
    if settings.dask_address:
        from claimwatch.scoring.scaleout import score_on_dask

        def partitions(whole, providers, model, chunk_size, config, context):
            return score_on_dask(whole, providers, model, settings, config, context)

    result = detection.detect(inputs, decisions, partitions)
    result.decisions_through = decisions["decided_at"].max() if decisions.height else None
    return result, result.claim_flags


def write_scores(
    db: Database, run_id: str, result: DetectionResult, claim_flags: pl.DataFrame, sample_size: int
) -> int:
    """Store this run's member, claim, scheme and recovery scores; return members flagged."""
    c = pl.col
    members = result.members
    as_of = db.con.execute("select max(as_of_date) from f_member_profile").fetchall()[0][0]
    kept = members.filter(c("score") >= SCORE_FLOOR).select(
        pl.lit(run_id).alias("run_id"),
        "member_id",
        "score",
        "rule_score",
        "ensemble_score",
        "detector_scores",
        reason_codes=c("reason_codes").list.join(";"),
        reasons=c("reasons").list.join(" | "),
        amount_at_risk=c("amount_at_risk"),
        claim_ids=c("claim_ids").list.join(";"),
        scheme_id=c("scheme_id"),
    )
    _insert(db, "member_scores", kept)
    flags = claim_flags.select(
        pl.lit(run_id).alias("run_id"), "claim_id", "member_id", "reason_code", "weight", "reason"
    )
    _insert(db, "claim_scores", flags)
    _insert(
        db,
        "scheme_scores",
        result.schemes.select(
            pl.lit(run_id).alias("run_id"),
            "scheme_id",
            "kind",
            "members",
            "member_ids",
            "score",
            "amount_at_risk",
            "reason",
        ),
    )
    recoveries = members.filter(c("recovery_amount") > 0).select(
        pl.lit(run_id).alias("run_id"),
        "member_id",
        score=(100 * c("recovery_score")).round(4),
        amount=c("recovery_amount"),
        claim_ids=c("recovery_claim_ids").list.join(";"),
        reasons=c("recovery_reasons").list.join(" | "),
    )
    _insert(db, "recovery_scores", recoveries)
    flagged = int(members.filter(c("is_candidate")).height)
    for table in ("member_scores", "claim_scores", "scheme_scores", "recovery_scores"):
        db.con.execute(
            f"delete from {table} where run_id not in "
            f"(select run_id from score_runs order by run_id desc limit {SCORE_RUNS_KEPT - 1})"
            f" and run_id <> ?",
            [run_id],
        )
    db.con.execute(
        "insert into score_runs (run_id, scored_at, as_of_date, members_scored, members_flagged, detectors,"
        " fit_sample_size, config_version, feedback_model, decisions_used, decisions_through)"
        " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            datetime.now(UTC),
            as_of,
            members.height,
            flagged,
            "rules+" + "+".join(combine.ENSEMBLE_DETECTORS),
            sample_size,
            DEFAULT_CONFIG.version(),
            result.model_name,
            result.decisions_used,
            getattr(result, "decisions_through", None),
        ],
    )
    return flagged


def _insert(db: Database, table: str, frame: pl.DataFrame) -> None:
    db.con.register("rows_to_insert", frame.to_arrow())
    db.con.execute(f"insert into {table} by name select * from rows_to_insert")
    db.con.unregister("rows_to_insert")


def refresh_queue(db: Database, run_id: str, result: DetectionResult) -> tuple[int, int]:
    """Attach this run's candidates to the queue; return (open cases, cases opened)."""
    c = pl.col
    candidates = result.members.filter(c("is_candidate")).select(
        "member_id",
        "score",
        "rule_score",
        "ensemble_score",
        "claim_ids",
        "scheme_id",
        reason_codes=c("reason_codes").list.join(";"),
        reasons=c("reasons").list.join(" | "),
    )
    before = db.con.execute("select count(*) from cases").fetchall()[0][0]
    db.con.register("run_candidates_frame", candidates.to_arrow())
    db.con.execute("create or replace temp table run_candidates as select * from run_candidates_frame")
    db.con.unregister("run_candidates_frame")
    db.run_script("queue/refresh_cases.sql", {"run_id": run_id, "now": datetime.now(UTC)})
    db.run_script("queue/rank_open_cases.sql", {})
    after = db.con.execute("select count(*) from cases").fetchall()[0][0]
    open_cases = db.con.execute(
        "select count(*) from cases where status in ('new', 'in_review', 'needs_info')"
    ).fetchall()[0][0]
    return open_cases, after - before


@dataclass(frozen=True)
class ScoreSteps:
    """The four steps of scoring; the pipeline passes their Prefect task versions."""

    build: Callable = build_features
    detect: Callable = detect
    write: Callable = write_scores
    refresh: Callable = refresh_queue


LOCAL_STEPS = ScoreSteps()


def score_and_queue(
    db: Database, settings: Settings, run_id: str, steps: ScoreSteps = LOCAL_STEPS
) -> ScoreSummary:
    """Build features, detect, store scores and refresh the queue (caller's transaction)."""
    summary = ScoreSummary()
    t0 = time.perf_counter()
    steps.build(db)
    summary.seconds["features"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    result, claim_flags = steps.detect(db, settings, run_id)
    summary.seconds["detect"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    summary.members_scored = result.members.height
    summary.claim_flags = claim_flags.height
    summary.members_flagged = steps.write(db, run_id, result, claim_flags, settings.score_sample_size)
    summary.cases_open, summary.cases_opened = steps.refresh(db, run_id, result)
    summary.seconds["queue"] = time.perf_counter() - t2
    return summary


class DataCheckFailed(RuntimeError):
    """A data check (sql/checks) found offending rows: the run is rolled back."""


def run_checks(db: Database) -> dict[str, int]:
    """Run every data check; raise DataCheckFailed naming those that return rows."""
    from claimwatch.store.db import sql_files

    counts = {}
    for relative in sql_files("checks"):
        name = relative.split("/")[-1].removesuffix(".sql")
        counts[name] = db.con.execute(f"select count(*) from ({sql_text(relative)})").fetchall()[0][0]
    failed = {k: v for k, v in counts.items() if v}
    if failed:
        raise DataCheckFailed(
            "data checks failed: " + ", ".join(f"{k} ({v} rows)" for k, v in failed.items())
        )
    return counts
