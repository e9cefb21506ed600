"""Between the run's DuckDB file and the review store.

- ``pull_review_state`` (start of a run, inside its transaction): the store's current statuses,
  assignments and decisions into DuckDB's ``cases`` (the run's working mirror, which scoring
  reads), cases purged from the store out of it;
- ``push_run`` (end of a run, after its commit): the run's new and updated cases into the store,
  in short transactions of ``WRITE_CHUNK`` rows, content columns only — status, assignment,
  decision and note are never overwritten, and a case closed meanwhile keeps what was decided.
  The run id is then recorded in ``case_syncs``; ``catch_up`` (start of the next run) pushes
  every run whose id is missing there, so a run that failed while pushing is completed;
- ``store_frames``: the store's tables as polars frames for analysts' queries (``claimwatch sql``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from claimwatch.review.queue import OPEN, ranked_cases
from claimwatch.review.store import WRITE_CHUNK, ReviewStore, audit_log, case_notes, case_syncs, cases
from claimwatch.store.db import Database, sql_text

# written by a run (refresh_cases.sql); updated on an open case, never on a closed one
CONTENT_COLUMNS = (
    "member_id",
    "score",
    "rule_score",
    "ensemble_score",
    "amount_at_risk",
    "claim_ids",
    "reason_codes",
    "reasons",
    "scheme_id",
    "previous_case_id",
    "opened_run_id",
    "last_run_id",
    "opened_at",
    "updated_at",
)
# written by reviewers; copied from DuckDB only when a case first reaches the store
REVIEW_COLUMNS = ("status", "assigned_to", "decision", "decided_by", "decided_at", "note")

_UTC = pl.Datetime("us", "UTC")
CASE_SCHEMA = {
    "case_id": pl.String,
    "member_id": pl.String,
    "status": pl.String,
    "score": pl.Float64,
    "rank": pl.Int64,
    "rule_score": pl.Float64,
    "ensemble_score": pl.Float64,
    "amount_at_risk": pl.Decimal(14, 2),
    "claim_ids": pl.String,
    "reason_codes": pl.String,
    "reasons": pl.String,
    "assigned_to": pl.String,
    "decision": pl.String,
    "decided_by": pl.String,
    "decided_at": _UTC,
    "note": pl.String,
    "previous_case_id": pl.String,
    "opened_run_id": pl.String,
    "last_run_id": pl.String,
    "opened_at": _UTC,
    "updated_at": _UTC,
    "scheme_id": pl.String,
    "review_updated_at": _UTC,
}
AUDIT_SCHEMA = {
    "audit_id": pl.Int64,
    "logged_at": _UTC,
    "actor": pl.String,
    "action": pl.String,
    "case_id": pl.String,
    "details": pl.String,
    "row_count": pl.Int64,
    "file_sha256": pl.String,
}
NOTE_SCHEMA = {
    "note_id": pl.Int64,
    "case_id": pl.String,
    "author": pl.String,
    "body": pl.String,
    "created_at": _UTC,
}


def _insert(store: ReviewStore):
    return (postgresql if store.dialect == "postgresql" else sqlite).insert


def write_cases(store: ReviewStore, frame: pl.DataFrame, run_id: str) -> int:
    """Upsert cases' run-written content (one transaction per WRITE_CHUNK rows), then record
    ``run_id`` as synced. A case new to the store also takes its review columns from ``frame``.
    Idempotent: writing the same frame again changes nothing."""
    present = [c for c in ("case_id", *CONTENT_COLUMNS, *REVIEW_COLUMNS) if c in frame.columns]
    records = frame.select(present).sort("case_id").to_dicts()
    insert = _insert(store)(cases)
    upsert = insert.on_conflict_do_update(
        index_elements=[cases.c.case_id],
        set_={c: insert.excluded[c] for c in CONTENT_COLUMNS if c in present},
        # a case a reviewer closed keeps what was decided
        # (constants inlined: an expanding IN cannot take part in a batched insert)
        where=sa.text("cases.status in (" + ", ".join(f"'{s}'" for s in OPEN) + ")"),
    )
    for start in range(0, len(records), WRITE_CHUNK):
        with store.write() as conn:
            conn.execute(upsert, records[start : start + WRITE_CHUNK])
    mark = _insert(store)(case_syncs).values(
        run_id=run_id, synced_at=datetime.now(UTC), cases_written=len(records)
    )
    with store.write() as conn:
        conn.execute(
            mark.on_conflict_do_update(
                index_elements=[case_syncs.c.run_id],
                set_={"synced_at": mark.excluded.synced_at, "cases_written": mark.excluded.cases_written},
            )
        )
    return len(records)


def synced_runs(store: ReviewStore) -> set[str]:
    """Run ids whose cases are in the store."""
    with store.read() as conn:
        return set(conn.execute(sa.select(case_syncs.c.run_id)).scalars())


def _duckdb_cases(db: Database, run_ids: list[str]) -> pl.DataFrame:
    return db.con.sql(
        "select * from cases where list_contains($run_ids, last_run_id) order by case_id",
        params={"run_ids": run_ids},
    ).pl()


def push_run(db: Database, store: ReviewStore, run_id: str) -> int:
    """Write the cases a run opened or updated to the store, then every open case's queue
    position (a new case moves the others); return how many cases were written."""
    written = write_cases(store, _duckdb_cases(db, [run_id]), run_id)
    write_queue_positions(store, db.con.sql(sql_text("queue/queue_positions.sql")).pl())
    return written


def write_queue_positions(store: ReviewStore, positions: pl.DataFrame) -> None:
    """Set the run's queue position of the cases in ``positions`` (case_id, queue_position) and
    clear it on every other open case, in one transaction (readers never see a half-ranked queue)."""
    update = (
        cases.update()
        .where(cases.c.case_id == sa.bindparam("b_case_id"))
        .values(queue_position=sa.bindparam("b_position"))
    )
    records = [
        {"b_case_id": c, "b_position": p}
        for c, p in positions.select("case_id", "queue_position").sort("case_id").iter_rows()
    ]
    with store.write() as conn:
        # a closed case is left as the reviewer closed it
        stale = cases.c.queue_position.is_not(None) & cases.c.status.in_(OPEN)
        conn.execute(cases.update().where(stale).values(queue_position=None))
        if records:
            conn.execute(update, records)


def catch_up(db: Database, store: ReviewStore) -> list[str]:
    """Push every run whose cases never reached the store (a run that failed while pushing, or
    an installation from before the store); return their run ids, oldest first."""
    done = synced_runs(store)
    if not done:
        _import_legacy_audit(db, store)
    runs = [r[0] for r in db.con.execute("select distinct last_run_id from cases order by 1").fetchall()]
    missing = [r for r in runs if r not in done]
    for run_id in missing:
        push_run(db, store, run_id)
    return missing


def _import_legacy_audit(db: Database, store: ReviewStore) -> int:
    """Copy an installation's audit log from DuckDB (before the store existed) into the store, once."""
    with store.read() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one():
            return 0
    legacy = db.con.sql(
        "select logged_at, actor, action, case_id, details, row_count, file_sha256 "
        "from audit_log order by audit_id"
    ).pl()
    if legacy.height:
        with store.write() as conn:
            conn.execute(audit_log.insert(), legacy.to_dicts())
    return legacy.height


def review_state(store: ReviewStore) -> pl.DataFrame:
    """Every case's review state (case id, status, assignment, decision) as in the store now,
    with the lines and amount the reviewers saw."""
    columns = ("case_id", *REVIEW_COLUMNS, "claim_ids", "amount_at_risk")
    with store.read() as conn:
        rows = conn.execute(sa.select(*[cases.c[c] for c in columns]).order_by(cases.c.case_id)).all()
    return pl.DataFrame(rows, schema={c: CASE_SCHEMA[c] for c in columns}, orient="row")


def pull_review_state(db: Database, store: ReviewStore) -> int:
    """Copy the store's review state into DuckDB's cases (caller's transaction), drop cases the
    store no longer has (retention), re-rank; return the cases whose state changed."""
    state = review_state(store)
    db.con.register("store_review_state_frame", state.to_arrow())
    try:
        db.con.execute(
            "create or replace temp table store_review_state as select * from store_review_state_frame"
        )
    finally:
        db.con.unregister("store_review_state_frame")
    changed = db.con.execute(
        """
        select count(*) from cases as c join store_review_state as s on s.case_id = c.case_id
        where (c.status, c.assigned_to, c.decision, c.decided_by, c.decided_at, c.note)
            is distinct from (s.status, s.assigned_to, s.decision, s.decided_by, s.decided_at, s.note)
        """
    ).fetchall()[0][0]
    db.run_script("queue/pull_review_state.sql")
    db.run_script("queue/rank_open_cases.sql")
    return changed


def store_frames(store: ReviewStore, names: set[str]) -> dict[str, pl.DataFrame]:
    """The store's current ``cases`` (with ranks), ``audit_log`` and ``case_notes`` as frames
    shaped like DuckDB's tables, for the names asked (analysts' queries register them)."""
    frames: dict[str, pl.DataFrame] = {}
    with store.read() as conn:
        if "cases" in names:
            ranked = ranked_cases()
            query = sa.select(*[ranked.c[c] for c in CASE_SCHEMA]).order_by(ranked.c.case_id)
            frames["cases"] = pl.DataFrame(conn.execute(query).all(), schema=CASE_SCHEMA, orient="row")
        if "audit_log" in names:
            rows = conn.execute(
                sa.select(*[audit_log.c[c] for c in AUDIT_SCHEMA]).order_by(audit_log.c.audit_id)
            )
            frames["audit_log"] = pl.DataFrame(rows.all(), schema=AUDIT_SCHEMA, orient="row")
        if "case_notes" in names:
            rows = conn.execute(
                sa.select(*[case_notes.c[c] for c in NOTE_SCHEMA]).order_by(case_notes.c.note_id)
            )
            frames["case_notes"] = pl.DataFrame(rows.all(), schema=NOTE_SCHEMA, orient="row")
    return frames
