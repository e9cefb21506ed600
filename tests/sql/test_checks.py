"""Data checks (sql/checks): none fires on a clean ingested and scored portfolio, and each one
fires, alone, on the breakage it is written for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from claimwatch.scoring.score import DataCheckFailed, run_checks
from claimwatch.store.db import Database, sql_files, sql_text
from tests.helpers import loaded_database

CHECKS = sql_files("checks")
CHECK_NAMES = [Path(f).stem for f in CHECKS]


@pytest.fixture(scope="module")
def db(generated_inbox, tmp_path_factory) -> Iterator[Database]:
    """A real database file holding the generated inbox (1 500 members), scored and queued."""
    database = loaded_database(tmp_path_factory.mktemp("checks") / "x.duckdb", generated_inbox)
    try:
        yield database
    finally:
        database.close()


@contextmanager
def broken(db: Database, *statements: str) -> Iterator[None]:
    """Apply statements inside a transaction that is always rolled back."""
    db.con.execute("begin transaction")
    try:
        for statement in statements:
            db.con.execute(statement)
        yield
    finally:
        db.con.execute("rollback")


def offending_rows(db: Database, check: str, since=None) -> list[tuple]:
    text = sql_text(f"checks/{check}.sql")
    return db.con.execute(text, {"since": since} if "$since" in text else {}).fetchall()


def count(db: Database, sql: str) -> int:
    return db.con.execute(sql).fetchall()[0][0]


def test_the_portfolio_is_worth_checking(db):
    # guard: zero rows on empty tables would prove nothing
    for table, floor in [
        ("members", 1000),
        ("claims", 10_000),
        ("account_events", 100),
        ("cases", 20),
        ("case_claims", 20),
        ("breach_exposure", 10),
    ]:
        assert count(db, f"select count(*) from {table}") >= floor, table
    assert count(db, "select count(*) from cases where rank is not null") >= 20


def test_run_checks_runs_every_file_and_finds_nothing(db):
    assert run_checks(db) == dict.fromkeys(CHECK_NAMES, 0)


@pytest.mark.parametrize("check", CHECK_NAMES)
def test_each_check_returns_no_rows(db, check):
    assert offending_rows(db, check) == []


IBAN_IN_CLEAR = "FR7630006000011234567890189"
ONE_CLAIM = "(select min(claim_id) from claims where payee_iban_hash is not null)"
FIRST_CASE = "(select case_id from cases where rank = 1)"

# check -> statements that break exactly what the check guards
BREAKAGES = {
    "assert_unique_claim_id": [
        # a correction loaded as a second line instead of replacing the first
        "insert into claims select * from claims where claim_id = " + ONE_CLAIM,
    ],
    "assert_unique_event_id": [
        "insert into account_events select * from account_events "
        "where event_id = (select min(event_id) from account_events)",
    ],
    "assert_unique_member_id": [
        "insert into members select * from members where member_id = (select min(member_id) from members)",
    ],
    "assert_hashes_are_digests": [
        # an IBAN stored in clear instead of its HMAC digest
        f"update claims set payee_iban_hash = '{IBAN_IN_CLEAR}' where claim_id = " + ONE_CLAIM,
    ],
    "assert_claims_have_members": [
        # a line of an unknown member that skipped the pending table
        "insert into claims select * replace ('GHOST-LINE' as claim_id, 'GHOST' as member_id) "
        "from claims where claim_id = " + ONE_CLAIM,
    ],
    "assert_one_open_case_per_member": [
        # a second open case for the member of case rank 1, ranked last so ranks stay contiguous
        "insert into cases select * replace ('CASE-DUPLICATE' as case_id, "
        "(select max(rank) + 1 from cases) as rank) from cases where case_id = " + FIRST_CASE,
    ],
    "assert_ranks_are_contiguous": [
        # the last open case jumps from rank n to n + 1: a gap
        "update cases set rank = rank + 1 where rank = (select max(rank) from cases)",
    ],
    "assert_case_claims_exist": [
        # a line attached to case rank 1 that belongs to no loaded claim
        "insert into case_claims select case_id, 'NO-SUCH-LINE', 'score-1', now() from cases "
        "where case_id = " + FIRST_CASE,
    ],
    "assert_quarantine_one_row_per_line": [
        # the same rejected input line recorded twice
        "insert into quarantine (run_id, file_name, file_sha256, kind, line, columns, reasons) "
        "values ('ingest-1', 'claims.csv', repeat('a', 64), 'claims', 7, 'source', 'unknown value'), "
        "('ingest-1', 'claims.csv', repeat('a', 64), 'claims', 7, 'source', 'unknown value')",
    ],
}


def test_every_check_has_a_breakage():
    assert set(BREAKAGES) == set(CHECK_NAMES)


@pytest.mark.parametrize("check", sorted(BREAKAGES))
def test_breaking_the_data_fires_exactly_the_matching_check(db, check):
    with broken(db, *BREAKAGES[check]):
        fired = {name for name in CHECK_NAMES if offending_rows(db, name)}
        assert fired == {check}
        with pytest.raises(DataCheckFailed, match=check):
            run_checks(db)
    # rolled back: the data is clean again for the next test
    assert offending_rows(db, check) == []


def test_wrong_member_on_a_case_line_is_caught(db):
    # a loaded line of another member attached to case rank 1
    statement = (
        "insert into case_claims select c.case_id, cl.claim_id, 'score-1', now() "
        f"from cases as c, claims as cl where c.case_id = {FIRST_CASE} "
        "and cl.member_id <> c.member_id limit 1"
    )
    with broken(db, statement):
        rows = offending_rows(db, "assert_case_claims_exist")
        assert len(rows) == 1


def test_closed_case_keeping_a_rank_is_caught(db):
    # close the last-ranked case without clearing its rank: the open ranks stay contiguous,
    # the closed case must still be reported
    statement = "update cases set status = 'closed_legitimate' where rank = (select max(rank) from cases)"
    with broken(db, statement):
        rows = offending_rows(db, "assert_ranks_are_contiguous")
        assert len(rows) == 1 and rows[0][2] is None


def test_clear_email_in_members_is_caught(db):
    statement = (
        "update members set email_hash = 'jean.dupont@example.org' "
        "where member_id = (select min(member_id) from members where email_hash is not null)"
    )
    with broken(db, statement):
        assert offending_rows(db, "assert_hashes_are_digests") == [
            ("members.email_hash", "jean.dupont@example.org")
        ]


def test_a_nightly_run_checks_the_lines_it_loaded_and_a_full_run_all(db):
    # a run's checks of the big tables read the rows loaded since the run started: a duplicate
    # loaded by an earlier run (its loaded_at is the history's) is out of a later run's scope,
    # a duplicate loaded by this run (loaded_at now) is in it; without `since`, everything is
    loaded = db.con.execute("select max(loaded_at) from claims").fetchall()[0][0]
    run_started = loaded + timedelta(seconds=1)
    old_copy = "insert into claims select * from claims where claim_id = " + ONE_CLAIM
    with broken(db, old_copy):
        assert run_checks(db, since=run_started)["assert_unique_claim_id"] == 0
        with pytest.raises(DataCheckFailed, match="assert_unique_claim_id"):
            run_checks(db)
    new_copy = (
        "insert into claims select * replace (now() as loaded_at) from claims where claim_id = " + ONE_CLAIM
    )
    with broken(db, new_copy):
        with pytest.raises(DataCheckFailed, match="assert_unique_claim_id"):
            run_checks(db, since=run_started)
    clear = (
        f"update claims set payee_iban_hash = '{IBAN_IN_CLEAR}', loaded_at = now() where claim_id = "
        + ONE_CLAIM
    )
    with broken(db, clear):
        assert offending_rows(db, "assert_hashes_are_digests", since=run_started) != []
