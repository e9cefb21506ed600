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
from claimwatch.store.db import DETECTION_SHARE, Database, sql_text

# Feature families in dependency order; each is persisted as table feat_<name> and read
# through the temp view f_<name>.
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
# Portfolio aggregates: relative to the whole portfolio, stored with the run that computed
# them and refreshed by a full rebuild (--full, first run, or when stale: see
# aggregates_due), so a nightly run rescoring a few members leaves every other member as it was.
AGGREGATES = ("bank_prevalence", "peer_amounts", "portfolio_rates", "provider_standing")
# The aggregates built from a family, right after it in a full rebuild.
BUILT_AFTER = {
    "member_profile": ("peer_amounts", "portfolio_rates"),
    "provider_profile": ("provider_standing",),
}
# The key column of each per-unit family, and the scope table that selects what a run rebuilds.
SCOPED = {
    "iban_member_links": ("iban_hash", "scope_ibans"),
    "iban_links": ("iban_hash", "scope_ibans"),
    "iban_changes": ("member_id", "scope_change_members"),
    "claim_signals": ("member_id", "scope_members"),
    "provider_profile": ("provider_id", "scope_providers"),
    "member_features": ("member_id", "scope_feature_members"),
}
# Everything, for a full rebuild.
FULL_SCOPES = {
    "scope_ibans": "select iban_hash from members where iban_hash is not null union "
    "select new_value_hash from account_events where new_value_hash is not null union "
    "select payee_iban_hash from claims where payee_iban_hash is not null",
    "scope_change_members": "select member_id from members",
    "scope_members": "select member_id from members",
    "scope_providers": "select distinct provider_id from claims",
    "scope_feature_members": "select member_id from members",
}


@dataclass
class FeatureBuild:
    """What a feature build did: full or incremental, aggregates refreshed, units rebuilt."""

    full: bool
    aggregates_refreshed: bool
    touched: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _table_exists(db: Database, name: str) -> bool:
    return bool(
        db.con.execute(
            "select count(*) from information_schema.tables where table_name = ? and table_schema = 'main'",
            [name],
        ).fetchall()[0][0]
    )


def features_version() -> str:
    """Digest of every feature query: stored features built by other queries (an upgrade) are
    rebuilt, aggregates included."""
    import hashlib

    names = sorted({*FEATURES, *AGGREGATES})
    text = "\n".join(sql_text(f"features/{name}.sql") for name in names)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def aggregates_due(db: Database, settings: Settings) -> str | None:
    """Why the portfolio aggregates must be refreshed now (None: the stored ones hold)."""
    rows = db.con.execute("select refreshed_at, members from feature_aggregates").fetchall()
    if not rows or not all(_table_exists(db, f"feat_{name}") for name in AGGREGATES):
        return "none stored"
    built = db.con.execute("select features_version from feature_state").fetchall()
    if not built or built[0][0] != features_version():
        return "feature queries changed"
    refreshed_at, members = rows[0]
    age = datetime.now(UTC) - refreshed_at
    if age.total_seconds() > settings.aggregates_max_age_days * 86400:
        return f"older than {settings.aggregates_max_age_days} days"
    now = db.con.execute("select count(*) from members").fetchall()[0][0]
    if members and (now - members) / members > settings.aggregates_max_growth:
        return f"portfolio grew by more than {settings.aggregates_max_growth:.0%}"
    return None


def _incremental_possible(db: Database) -> bool:
    """Stored features exist and no stored line has been deleted since (a purge needs a rebuild)."""
    if not all(_table_exists(db, f"feat_{name}") for name in (*FEATURES, "member_keys")):
        return False
    state = db.con.execute("select claims_loaded_through, claims_count from feature_state").fetchall()
    if not state:
        return False
    through, count = state[0]
    kept = db.con.execute(
        "select count(*) from claims where loaded_at <= ? or ? is null", [through, through]
    ).fetchall()[0][0]
    superseded = db.con.execute(
        "select count(*) from claims"
        " where loaded_at > ? and claim_id in (select claim_id from feat_claim_signals)",
        [through],
    ).fetchall()[0][0]
    return kept + superseded == count


def _view(db: Database, name: str) -> None:
    db.con.execute(f"create or replace temp view f_{name} as select * from feat_{name}")


def _temp(db: Database, name: str, query: str) -> int:
    db.con.execute(f"create or replace temp table {name} as {query}")
    return db.con.execute(f"select count(*) from {name}").fetchall()[0][0]


def _write_state(db: Database, run_id: str, full: bool) -> None:
    db.con.execute("delete from feature_state")
    db.con.execute(
        "insert into feature_state select ?, ?, (select max(loaded_at) from claims),"
        " (select max(loaded_at) from account_events), (select count(*) from claims), ?, ?",
        [run_id, datetime.now(UTC), full, features_version()],
    )
    db.con.execute(
        "create or replace table feat_member_keys as"
        " select member_id, subscriber_id, postcode, department, iban_hash from members"
    )


def build_features(
    db: Database,
    full: bool = False,
    refresh_aggregates: bool | None = None,
    settings: Settings | None = None,
    run_id: str = "",
) -> FeatureBuild:
    """Bring the persisted feature tables (feat_<family>) up to date and expose them as f_<family>.

    Incremental (default, when stored features exist): only what this run's new data touches
    is recomputed (sql/features/touched_*.sql) and upserted. ``full`` rebuilds every family.
    ``refresh_aggregates`` (default: --full, first run, or :func:`aggregates_due`) recomputes
    the portfolio aggregates first; a refresh implies a full rebuild."""
    settings = settings or Settings()
    if refresh_aggregates is None:
        refresh_aggregates = full or aggregates_due(db, settings) is not None
    elif not refresh_aggregates and aggregates_due(db, settings) in (
        "none stored",
        "feature queries changed",
    ):
        refresh_aggregates = True
    full = full or refresh_aggregates or not _incremental_possible(db)
    build = FeatureBuild(full=full, aggregates_refreshed=refresh_aggregates)
    t0 = time.perf_counter()
    # no feature relies on insertion order (every read sorts by a key): without it DuckDB
    # streams and spills large inserts and windows instead of holding them (ingest does rely
    # on it for line numbers, so it is turned off here only)
    db.con.execute("set preserve_insertion_order = false")
    try:
        _build(db, build, refresh_aggregates)
        _write_state(db, run_id, build.full)
    finally:
        db.con.execute("set preserve_insertion_order = true")
    build.seconds["total"] = time.perf_counter() - t0
    return build


def _build(db: Database, build: FeatureBuild, refresh_aggregates: bool) -> None:
    if build.full:
        for scope, query in FULL_SCOPES.items():
            _temp(db, scope, query)
        for name in FEATURES:
            t = time.perf_counter()
            if name in AGGREGATES:
                if refresh_aggregates:
                    db.con.execute(
                        f"create or replace table feat_{name} as " + sql_text(f"features/{name}.sql")
                    )
                _view(db, name)
            elif name == "claim_signals":
                _claim_signals_in_chunks(db, create=True)
                _view(db, name)
            else:
                db.con.execute(f"create or replace table feat_{name} as " + sql_text(f"features/{name}.sql"))
                _view(db, name)
            for aggregate in BUILT_AFTER.get(name, ()):
                if refresh_aggregates:
                    db.con.execute(
                        f"create or replace table feat_{aggregate} as "
                        + sql_text(f"features/{aggregate}.sql")
                    )
                _view(db, aggregate)
            build.seconds[name] = time.perf_counter() - t
        build.touched["members"] = db.con.execute("select count(*) from feat_member_features").fetchall()[0][
            0
        ]
    else:
        _build_incremental(db, build)


# Claim lines whose signals are computed in one statement: the per-member windows and joins of
# claim_signals.sql are computed for members in chunks of about this many lines, so the
# memory they need stays bounded whatever the history (a member's lines stay in one chunk).
SIGNAL_CHUNK_LINES = 400_000


def _claim_signals_in_chunks(db: Database, create: bool) -> None:
    """Insert claim_signals of the members in scope_members into feat_claim_signals (created
    by the first chunk when ``create``), chunk by chunk."""
    lines = db.con.execute(
        "select count(*) from claims where member_id in (select member_id from scope_members)"
    ).fetchall()[0][0]
    chunks = max(1, -(-lines // SIGNAL_CHUNK_LINES))
    db.con.execute("create or replace temp table scope_members_all as select member_id from scope_members")
    for chunk in range(chunks):
        db.con.execute(
            "create or replace temp table scope_members as select member_id from scope_members_all"
            " where hash(member_id) % ? = ?",
            [chunks, chunk],
        )
        # the chunk's lines, read once from the history (the query passes over them 8 times)
        db.con.execute(
            "create or replace temp table scope_claims as select * from claims"
            " where member_id in (select member_id from scope_members)"
        )
        into = (
            "create or replace table feat_claim_signals as "
            if create and chunk == 0
            else "insert into feat_claim_signals by name "
        )
        db.con.execute(into + sql_text("features/claim_signals.sql"))
    db.con.execute("drop table if exists scope_claims")
    db.con.execute("create or replace temp table scope_members as select member_id from scope_members_all")


def _delete_scope(db: Database, name: str) -> None:
    key, scope = SCOPED[name]
    db.con.execute(f"delete from feat_{name} where {key} in (select {key} from {scope})")
    if name == "claim_signals":  # a superseded line may have moved to another member
        db.con.execute(f"delete from feat_{name} where claim_id in (select claim_id from touched_claims)")


def _upsert(db: Database, name: str) -> None:
    _delete_scope(db, name)
    db.con.execute(f"insert into feat_{name} by name select * from new_{name}")


def _build_incremental(db: Database, build: FeatureBuild) -> None:
    """Recompute the families over the scope this run's new data touches; upsert them."""
    touched = build.touched
    for name in AGGREGATES:
        _view(db, name)

    def step(label: str, fn) -> None:
        t = time.perf_counter()
        fn()
        build.seconds[label] = time.perf_counter() - t

    def profile() -> None:
        _temp(db, "new_member_profile", sql_text("features/member_profile.sql"))
        touched["members_changed"] = _temp(
            db, "touched_members_changed", sql_text("features/touched_members_changed.sql")
        )
        db.con.execute("create or replace table feat_member_profile as select * from new_member_profile")
        _view(db, "member_profile")
        touched["claim_lines"] = _temp(db, "touched_claims", sql_text("features/touched_claims.sql"))
        touched["events"] = _temp(db, "touched_events", sql_text("features/touched_events.sql"))
        touched["ibans"] = _temp(db, "scope_ibans", sql_text("features/touched_ibans.sql"))

    def links() -> None:
        for name in ("iban_member_links", "iban_links"):
            _view(db, name)
        _temp(db, "new_iban_member_links", sql_text("features/iban_member_links.sql"))
        _temp(db, "touched_link_changes", sql_text("features/touched_link_changes.sql"))
        _upsert(db, "iban_member_links")
        _temp(db, "new_iban_links", sql_text("features/iban_links.sql"))
        touched["ibans_changed"] = _temp(
            db, "touched_changed_ibans", sql_text("features/touched_changed_ibans.sql")
        )
        _upsert(db, "iban_links")

    def changes() -> None:
        _view(db, "iban_changes")
        touched["change_members"] = _temp(
            db, "scope_change_members", sql_text("features/touched_change_members.sql")
        )
        _temp(db, "new_iban_changes", sql_text("features/iban_changes.sql"))
        touched["line_members"] = _temp(db, "scope_members", sql_text("features/touched_line_members.sql"))
        _upsert(db, "iban_changes")

    def signals() -> None:
        _view(db, "claim_signals")
        # the stored lines of the members in scope go, then their lines are inserted anew
        _delete_scope(db, "claim_signals")
        _claim_signals_in_chunks(db, create=False)

    def providers() -> None:
        _view(db, "provider_profile")
        touched["providers"] = _temp(db, "scope_providers", sql_text("features/touched_providers.sql"))
        _temp(db, "new_provider_profile", sql_text("features/provider_profile.sql"))
        touched["providers_changed"] = _temp(
            db, "touched_provider_changes", sql_text("features/touched_provider_changes.sql")
        )
        _upsert(db, "provider_profile")

    def members() -> None:
        _view(db, "member_features")
        touched["members"] = _temp(
            db, "scope_feature_members", sql_text("features/touched_feature_members.sql")
        )
        _temp(db, "new_member_features", sql_text("features/member_features.sql"))
        _upsert(db, "member_features")

    for label, fn in (
        ("member_profile", profile),
        ("links", links),
        ("iban_changes", changes),
        ("claim_signals", signals),
        ("provider_profile", providers),
        ("member_features", members),
    ):
        step(label, fn)


def store_ensemble(db: Database, settings: Settings, run_id: str) -> object:
    """Fit the ensemble on the member features and store it with the aggregates."""
    import pickle

    features = _frame(db, "select * from f_member_features order by member_id")
    model = combine.fit_ensemble(features, settings.score_sample_size)
    db.con.execute("delete from feature_aggregates")
    db.con.execute(
        "insert into feature_aggregates values (?, ?, (select count(*) from members), ?)",
        [run_id, datetime.now(UTC), pickle.dumps(model) if model is not None else None],
    )
    return model


def refresh_member_ensemble(db: Database, model: object, settings: Settings, everyone: bool) -> int:
    """Bring ``feat_member_ensemble`` (each member's ensemble score, detector ranks and
    standing-out features under the stored model) up to date: every member after a full
    rebuild or a refit, else the members whose features this run rebuilt
    (``scope_feature_members``). A member's ensemble output is a function of its own features
    and the stored model only, so the others keep theirs. Returns the members scored."""
    everyone = everyone or not _table_exists(db, "feat_member_ensemble")
    where = "" if everyone else " where member_id in (select member_id from scope_feature_members)"
    features = _frame(db, f"select * from f_member_features{where} order by member_id")
    frame = combine.ensemble_frame(features, model, settings.score_chunk_size)
    db.con.register("member_ensemble_rows", frame.to_arrow())
    try:
        if everyone:
            db.con.execute(
                "create or replace table feat_member_ensemble as select * from member_ensemble_rows"
            )
        else:
            db.con.execute(
                "delete from feat_member_ensemble"
                " where member_id in (select member_id from scope_feature_members)"
            )
            db.con.execute("insert into feat_member_ensemble by name select * from member_ensemble_rows")
    finally:
        db.con.unregister("member_ensemble_rows")
    return frame.height


def stored_ensemble(db: Database) -> object:
    """The ensemble fitted at the last refresh of the aggregates (None if too few members)."""
    import pickle

    rows = db.con.execute("select ensemble from feature_aggregates").fetchall()
    return pickle.loads(rows[0][0]) if rows and rows[0][0] is not None else None


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
    features: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _frame(db: Database, query: str) -> pl.DataFrame:
    return db.con.sql(query).pl()


# lines of the candidate filter's narrow read handed to polars at a time
CANDIDATE_BATCH_LINES = 500_000
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
    # the filter reads a few narrow columns of every line, batch by batch (a 10M-line history
    # never sits in Python at once); only the candidates' full rows are then read
    batches = db.con.sql(
        "select " + ", ".join(CANDIDATE_FILTER_COLUMNS) + " from f_claim_signals"
    ).to_arrow_reader(CANDIDATE_BATCH_LINES)
    kept = [candidate_lines(pl.from_arrow(batch), scored, config).select("claim_id") for batch in batches]
    candidates = pl.concat(kept) if kept else pl.DataFrame({"claim_id": []}, schema={"claim_id": pl.String})
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
    ensemble = None
    if _table_exists(db, "feat_member_ensemble"):
        ensemble = _frame(
            db,
            "select e.* from feat_member_ensemble as e semi join f_member_features as f"
            " on f.member_id = e.member_id order by e.member_id",
        )
        if ensemble.height != features.height:  # not built for these features: computed anew
            ensemble = None
    return DetectionInputs(signals, changes, providers, profile, features, ensemble)


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
    restore = db.lend_memory(DETECTION_SHARE)  # the frames below live outside DuckDB
    try:
        return _detect(db, settings)
    finally:
        restore()


def _detect(db: Database, settings: Settings) -> tuple[DetectionResult, pl.DataFrame]:
    inputs = read_inputs(db)
    decisions = read_decisions(db)
    detection = Detection(sample_size=settings.score_sample_size, chunk_size=settings.score_chunk_size)
    # the ensemble fitted when the portfolio aggregates were last refreshed: a member's score
    # does not move because other members changed
    detection.ensemble_ = stored_ensemble(db) if inputs.ensemble is None else None
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
    db: Database,
    settings: Settings,
    run_id: str,
    steps: ScoreSteps = LOCAL_STEPS,
    *,
    full: bool = False,
    refresh_aggregates: bool | None = None,
) -> ScoreSummary:
    """Build features (incremental unless ``full``), detect, store scores and refresh the queue
    (caller's transaction)."""
    summary = ScoreSummary()
    t0 = time.perf_counter()
    build = steps.build(db, full, refresh_aggregates, settings, run_id)
    t_ensemble = time.perf_counter()
    restore = db.lend_memory(DETECTION_SHARE)  # member features and scores in NumPy meanwhile
    try:
        model = store_ensemble(db, settings, run_id) if build.aggregates_refreshed else stored_ensemble(db)
        build.touched["ensemble_members"] = refresh_member_ensemble(db, model, settings, everyone=build.full)
    finally:
        restore()
    build.seconds["ensemble"] = time.perf_counter() - t_ensemble
    summary.features = {
        "full": build.full,
        "aggregates_refreshed": build.aggregates_refreshed,
        "touched": build.touched,
        "seconds": {k: round(v, 3) for k, v in build.seconds.items()},
    }
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


def run_checks(db: Database, since: datetime | None = None) -> dict[str, int]:
    """Run every data check; raise DataCheckFailed naming those that return rows. With
    ``since`` (the run's start), the checks of big tables look at the rows loaded since only
    (a nightly run does not re-read the whole history: older rows passed when they were loaded)."""
    import re

    from claimwatch.store.db import sql_files

    counts = {}
    for relative in sql_files("checks"):
        name = relative.split("/")[-1].removesuffix(".sql")
        text = sql_text(relative)
        params = {"since": since} if re.search(r"\$since\b", text) else {}
        counts[name] = db.con.execute(f"select count(*) from ({text})", params).fetchall()[0][0]
    failed = {k: v for k, v in counts.items() if v}
    if failed:
        raise DataCheckFailed(
            "data checks failed: " + ", ".join(f"{k} ({v} rows)" for k, v in failed.items())
        )
    return counts
