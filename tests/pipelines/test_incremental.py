"""Incremental runs: a history loaded in batches, each run rebuilding only what its batch
touches, gives the same features and the same queue as a full rebuild of the same data (with
the same stored portfolio aggregates)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from claimwatch.ingest.load import ingest_batch
from claimwatch.scoring.score import FEATURES, score_and_queue
from claimwatch.settings import Settings
from claimwatch.store.db import connect

from ..conftest import TEST_KEY

QUEUE = (
    "select member_id, status, score, rank, rule_score, ensemble_score, amount_at_risk, claim_ids,"
    " reason_codes, reasons from cases order by member_id"
)
KEYS = {
    "member_profile": "member_id",
    "iban_member_links": "iban_hash, member_id",
    "iban_links": "iban_hash",
    "iban_changes": "event_id",
    "provider_profile": "provider_id",
    "claim_signals": "claim_id",
    "member_features": "member_id",
    "bank_prevalence": "country, bank_code",
}


def split_inbox(inbox: Path, out: Path, cutoffs: list[str]) -> list[Path]:
    """Batches of an inbox by received date (claims) and event time (account events): the
    first batch carries the members file and the breach list."""
    con = duckdb.connect()
    bounds = ["0001-01-01", *cutoffs, "9999-12-31"]
    batches = []
    for i, (low, high) in enumerate(zip(bounds, bounds[1:], strict=False)):
        batch = out / f"batch{i}"
        batch.mkdir(parents=True)
        for name, column in (("claims", "received_date"), ("account_events", "event_time")):
            con.execute(
                f"copy (select * from read_csv('{inbox / name}.csv', header = true, all_varchar = true)"
                f" where cast({column} as date) > date '{low}' and cast({column} as date) <= date '{high}')"
                f" to '{batch / name}.csv' (header)"
            )
        if i == 0:
            for name in ("members", "breach_list"):
                (batch / f"{name}.csv").write_bytes((inbox / f"{name}.csv").read_bytes())
        batches.append(batch)
    con.close()
    return batches


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> list[Path]:
    from claimwatch.sample_data.generator import generate_inbox

    root = tmp_path_factory.mktemp("incremental")
    inbox = root / "inbox"
    generate_inbox(inbox, members=1200, seed=5)
    # the last weeks in two nightly batches, then a last day
    return split_inbox(inbox, root, ["2026-10-10", "2026-10-29"])


def features_of(db) -> dict[str, pl.DataFrame]:
    return {
        name: db.con.sql(f"select * from feat_{name} order by {KEYS[name]}").pl()
        for name in FEATURES
        if name in KEYS
    }


def test_incremental_runs_equal_a_full_rebuild(batches, tmp_path, monkeypatch):
    from claimwatch.scoring import score

    monkeypatch.setenv("CLAIMWATCH_KEY", TEST_KEY)
    # claim signals in several member chunks, as on a large history
    monkeypatch.setattr(score, "SIGNAL_CHUNK_LINES", 7_000)
    settings = Settings(db=tmp_path / "claimwatch.duckdb")
    db = connect(settings, create=True)
    try:
        summaries = []
        for i, batch in enumerate(batches):
            with db.transaction():
                ingest_batch(db, batch, f"run-{i}", tasks=False)
                summaries.append(score_and_queue(db, settings, f"run-{i}"))
        first, *nightly = summaries
        assert first.features["full"] and first.features["aggregates_refreshed"]
        assert all(not s.features["full"] and not s.features["aggregates_refreshed"] for s in nightly)
        # the nightly runs rebuilt the lines of a part of the portfolio only
        members = db.con.execute("select count(*) from members").fetchall()[0][0]
        assert all(0 < s.features["touched"]["line_members"] < members for s in nightly)
        incremental = features_of(db)
        queue = db.con.sql(QUEUE).pl()
        assert queue.filter(pl.col("status") == "new").height > 10

        with db.transaction():
            rebuild = score_and_queue(db, settings, "rebuild", full=True, refresh_aggregates=False)
        assert rebuild.features["full"] and not rebuild.features["aggregates_refreshed"]
        for name, frame in features_of(db).items():
            try:
                assert_frame_equal(incremental[name], frame, check_exact=False, rel_tol=1e-12, abs_tol=1e-12)
            except AssertionError as exc:
                raise AssertionError(f"feat_{name} differs from the full rebuild: {exc}") from None
        assert_frame_equal(queue, db.con.sql(QUEUE).pl())
    finally:
        db.close()


def test_full_run_refreshes_the_aggregates_and_a_stale_state_rebuilds(batches, tmp_path, monkeypatch):
    monkeypatch.setenv("CLAIMWATCH_KEY", TEST_KEY)
    settings = Settings(db=tmp_path / "claimwatch.duckdb")
    db = connect(settings, create=True)
    try:
        with db.transaction():
            ingest_batch(db, batches[0], "run-0", tasks=False)
            score_and_queue(db, settings, "run-0")
        with db.transaction():
            ingest_batch(db, batches[1], "run-1", tasks=False)
            full = score_and_queue(db, settings, "run-1", full=True)
        assert full.features["full"] and full.features["aggregates_refreshed"]
        # lines deleted since the last build (a retention purge): the next run rebuilds all
        with db.transaction():
            db.con.execute("delete from claims where claim_id in (select claim_id from claims limit 5)")
            ingest_batch(db, batches[2], "run-2", tasks=False)
            after_purge = score_and_queue(db, settings, "run-2")
        assert after_purge.features["full"] and not after_purge.features["aggregates_refreshed"]
        # features built by other feature queries (an upgrade) are rebuilt with their aggregates
        db.con.execute("update feature_state set features_version = 'older-queries'")
        with db.transaction():
            upgraded = score_and_queue(db, settings, "run-upgrade")
        assert upgraded.features["full"] and upgraded.features["aggregates_refreshed"]
        # aggregates older than the refresh period are refreshed (with a full rebuild)
        db.con.execute("update feature_aggregates set refreshed_at = refreshed_at - interval 30 day")
        with db.transaction():
            stale = score_and_queue(db, settings, "run-3")
        assert stale.features["full"] and stale.features["aggregates_refreshed"]
    finally:
        db.close()
