"""A claim moved to another member keeps later runs' data checks green; data holding rich
markup prints as text in the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from claimwatch.cli import main as cli
from claimwatch.ingest.load import ingest_batch
from claimwatch.publish.analytics import publish_analytics_copy
from claimwatch.review.store import open_store
from claimwatch.review.sync import catch_up
from claimwatch.scoring.score import run_checks, score_and_queue
from claimwatch.settings import Settings
from claimwatch.store.db import connect
from tests.helpers import run_cli


def test_claim_moved_to_another_member_leaves_its_case(settings: Settings, queue_template: Path, tmp_path):
    shutil.copyfile(queue_template, settings.db)
    db = connect(settings, create=True)
    try:
        claim_id, old_member, new_member = db.con.execute(
            """
            select cc.claim_id, c.member_id,
                (select min(member_id) from members where member_id <> c.member_id)
            from case_claims as cc join cases as c using (case_id)
            order by cc.claim_id limit 1
            """
        ).fetchall()[0]
        # the same line again, now for another member: an update the contract allows
        line = pl.from_arrow(
            db.con.sql(
                "select claim_id, ? as member_id, care_date::varchar as care_date, "
                "received_date::varchar as received_date, source, care_category, act_code, provider_id, "
                "provider_postcode, billed_amount::varchar as billed_amount, "
                "ro_amount::varchar as ro_amount, claimed_amount::varchar as claimed_amount, "
                "'provider' as payee, null::varchar as payee_iban "
                "from claims where claim_id = ?",
                params=[new_member, claim_id],
            ).to_arrow_table()
        )
        inbox = tmp_path / "later"
        inbox.mkdir()
        line.write_csv(inbox / "claims_move.csv")
        with db.transaction():
            ingest_batch(db, inbox, "r2", tasks=False)
            score_and_queue(db, settings, "r2")
            checks = run_checks(db)
        assert set(checks.values()) == {0}
        assert db.con.execute("select member_id from claims where claim_id = ?", [claim_id]).fetchall() == [
            (new_member,)
        ]
        # the line left every case of its former member
        assert (
            db.con.execute(
                "select count(*) from case_claims join cases using (case_id) "
                "where claim_id = ? and member_id = ?",
                [claim_id, old_member],
            ).fetchall()[0][0]
            == 0
        )
    finally:
        db.close()


def test_markup_in_data_prints_as_text(settings: Settings, queue_template: Path, monkeypatch):
    shutil.copyfile(queue_template, settings.db)
    db = connect(settings, create=True)
    try:
        case_id, member_id = db.con.execute(
            "select case_id, member_id from cases order by rank limit 1"
        ).fetchall()[0]
        for table in ("cases", "members", "claims"):
            db.con.execute(f"update {table} set member_id = '[/]M51417016' where member_id = ?", [member_id])
        db.con.execute("checkpoint")
        publish_analytics_copy(settings)
        store = open_store(settings)
        try:
            catch_up(db, store)  # the cases reach the review store as a run's end writes them
        finally:
            store.close()
    finally:
        db.close()
    monkeypatch.setenv("CLAIMWATCH_DB", str(settings.db))
    monkeypatch.setattr(cli.console, "width", 250)  # the product's console, only wider
    listed = run_cli("queue", "list", "--top", "5")
    assert listed.exit_code == 0, listed.output
    assert "[/]M51417016" in listed.output
    shown = run_cli("queue", "show", case_id)
    assert shown.exit_code == 0, shown.output
    assert "member [/]M51417016" in shown.output
