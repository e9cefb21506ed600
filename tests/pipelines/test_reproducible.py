"""The same inbox gives the same queue: two fresh databases and a rerun export identical bytes."""

from __future__ import annotations

import polars as pl
import pytest

from claimwatch.ingest.load import ingest_batch
from claimwatch.review.export import export
from claimwatch.review.store import open_store
from claimwatch.review.sync import catch_up
from claimwatch.sample_data.generator import generate_inbox
from claimwatch.scoring.score import score_and_queue
from claimwatch.settings import Settings
from tests.helpers import loaded_database

# written at the time of each run: the only columns that may differ between databases
TIME_COLUMNS = ("opened_at", "updated_at", "decided_at")


def _export_bytes(db, out) -> bytes:
    """Write the run's cases to a fresh review store beside the database, as a run's end does,
    and export the whole queue from it."""
    settings = Settings(db=db.path, review_db=f"sqlite:///{out.with_suffix('.review.sqlite')}")
    store = open_store(settings)
    try:
        catch_up(db, store)
        export(store, "csv", out, actor="test", status="all")
    finally:
        store.close()
    frame = pl.read_csv(out, infer_schema=False).drop(TIME_COLUMNS, strict=False)
    stripped = out.with_suffix(".stripped.csv")
    frame.write_csv(stripped)
    return stripped.read_bytes()


@pytest.mark.slow
def test_two_fresh_databases_and_a_rerun_export_identical_bytes(tmp_path):
    inbox = tmp_path / "inbox"
    generate_inbox(inbox, members=3000, seed=4242)
    first = loaded_database(tmp_path / "a.duckdb", inbox)
    second = loaded_database(tmp_path / "b.duckdb", inbox)
    try:
        a = _export_bytes(first, tmp_path / "a.csv")
        b = _export_bytes(second, tmp_path / "b.csv")
        # the rerun: the same files again (skipped) and a new scoring run on the first database
        with first.transaction():
            ingest_batch(first, inbox, "ingest-2", tasks=False)
        with first.transaction():
            score_and_queue(first, Settings(db=tmp_path / "a.duckdb", inbox=inbox), "score-2")
        rerun = _export_bytes(first, tmp_path / "a2.csv")
        rows = pl.read_csv(tmp_path / "a.csv", infer_schema=False)
    finally:
        first.close()
        second.close()
    # a queue worth comparing: many cases, with reasons and claim ids
    assert rows.height >= 50 and rows["reasons"].null_count() == 0
    assert a == b
    assert a == rerun
