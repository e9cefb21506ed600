"""The review store on SQLite and on a real PostgreSQL server: migrations, the queue API
(filters, sort, paging, ranks), decisions that never lose to a re-score, concurrent reviewers,
the append-only audit log (refused by the database itself), users and lockout, run syncs."""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
import sqlalchemy as sa

from claimwatch.review import queue as review
from claimwatch.review import users
from claimwatch.review.store import ReviewError, metadata, open_store
from claimwatch.review.sync import CASE_SCHEMA, store_frames, synced_runs, write_cases

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def run_frame(run_id: str, rows: list[tuple]) -> pl.DataFrame:
    """Cases as a run writes them: (case_id, member_id, score, amount, reason_codes, scheme_id)."""
    return pl.DataFrame(
        [
            {
                "case_id": c,
                "member_id": m,
                "status": "new",
                "score": s,
                "rule_score": s / 100,
                "ensemble_score": 0.5,
                "amount_at_risk": Decimal(a),
                "claim_ids": f"{c}-L1;{c}-L2",
                "reason_codes": codes,
                "reasons": f"reasons of {c}",
                "scheme_id": scheme,
                "previous_case_id": None,
                "opened_run_id": run_id,
                "last_run_id": run_id,
                "opened_at": T0,
                "updated_at": T0,
            }
            for c, m, s, a, codes, scheme in rows
        ],
        schema={k: CASE_SCHEMA[k] for k in CASE_SCHEMA if k not in ("rank", "review_updated_at")},
    )


# scores 90 > 80 = 80 > 50: C2 and C3 tie on score, C3 has more money at risk so ranks first
CASES = [
    ("C1", "M1", 90.0, "100.00", "ACCOUNT_TAKEOVER;BREACH_EXPOSED", "S1"),
    ("C2", "M2", 80.0, "50.00", "MULE_ACCOUNT", "S1"),
    ("C3", "M3", 80.0, "700.50", "DUPLICATE_CLAIM", None),
    ("C4", "M4", 50.0, "20.00", "MULE_ACCOUNT;ANOMALOUS_PROFILE", "S2"),
]


@pytest.fixture
def store(review_url):
    s = open_store(url=review_url)
    write_cases(s, run_frame("r1", CASES), "r1")
    yield s
    s.close()


def ids(page) -> list[str]:
    return [r["case_id"] for r in page.rows]


def test_migrations_apply_once_and_match_the_table_definitions(review_url):
    first = open_store(url=review_url)
    with first.read() as conn:
        versions = (
            conn.execute(sa.text("select version from review_migrations order by version")).scalars().all()
        )
        inspector = sa.inspect(conn)
        # the Core table definitions the queries use are exactly the migrated columns
        for table in metadata.sorted_tables:
            assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.c.keys()), table.name
    # PostgreSQL has one more step (its TRUNCATE trigger); both start at 001 and keep order
    assert versions[0] == "001" and versions == sorted(versions)
    assert ("012" in versions) == (first.dialect == "postgresql")
    first.close()
    again = open_store(url=review_url)
    from claimwatch.review.store import migrate

    assert migrate(again) == []
    again.close()


def test_sqlite_store_is_private_and_in_wal_mode(tmp_path):
    from claimwatch.settings import Settings

    settings = Settings(db=tmp_path / "claimwatch.duckdb")
    s = open_store(settings)
    path = tmp_path / "claimwatch.review.sqlite"
    assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with s.read() as conn:
        assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"
    with s.write() as conn:
        conn.exec_driver_sql("insert into case_syncs values ('r1', '2026-01-01 00:00:00', 0)")
        # the write-ahead log holds the same data: as private as the file
        wal = tmp_path / "claimwatch.review.sqlite-wal"
        assert stat.S_IMODE(os.stat(wal).st_mode) == 0o600
    s.close()


def test_list_cases_ranks_filters_sorts_and_pages(store):
    page = review.list_cases(store)
    assert ids(page) == ["C1", "C3", "C2", "C4"] and page.total == 4
    assert [r["rank"] for r in page.rows] == [1, 2, 3, 4]
    assert page.rows[1]["amount_at_risk"] == Decimal("700.50")
    assert page.rows[0]["opened_at"] == T0
    # a reason code matches whole codes only
    assert ids(review.list_cases(store, reason="MULE_ACCOUNT")) == ["C2", "C4"]
    assert ids(review.list_cases(store, reason="ACCOUNT")) == []
    # ranks are among all open cases, not within the filter
    assert [r["rank"] for r in review.list_cases(store, scheme="S1").rows] == [1, 3]
    assert ids(review.list_cases(store, min_amount=60)) == ["C1", "C3"]
    assert ids(review.list_cases(store, sort="-amount_at_risk")) == ["C3", "C1", "C2", "C4"]
    assert ids(review.list_cases(store, sort="amount_at_risk")) == ["C4", "C2", "C1", "C3"]
    second = review.list_cases(store, offset=1, limit=2)
    assert ids(second) == ["C3", "C2"] and second.total == 4
    with pytest.raises(ReviewError, match="sort"):
        review.list_cases(store, sort="member_id; drop table cases")
    with pytest.raises(ReviewError, match="reason code"):
        review.list_cases(store, reason="%")
    with pytest.raises(ReviewError, match="unknown status"):
        review.list_cases(store, status="pending")


def test_assign_decide_and_notes(store):
    review.assign(store, "C3", "alice", actor="lead")
    assert ids(review.list_cases(store, assignee="alice")) == ["C3"]
    assert ids(review.list_cases(store, assignee=review.UNASSIGNED)) == ["C1", "C2", "C4"]
    assert review.list_cases(store, assignee="alice").rows[0]["status"] == "in_review"
    assert review.decide(store, "C1", "fraud", actor="carol", note="member confirmed") == "closed_fraud"
    # closing C1 moves everybody up: ranks have no gaps
    page = review.list_cases(store)
    assert ids(page) == ["C3", "C2", "C4"] and [r["rank"] for r in page.rows] == [1, 2, 3]
    everything = review.list_cases(store, status="all")
    assert ids(everything)[-1] == "C1" and everything.rows[-1]["rank"] is None
    review.add_note(store, "C1", "refund asked", actor="carol")
    detail = review.get_case(store, "C1", actor="dave")
    assert [n["body"] for n in detail["notes"]] == ["member confirmed", "refund asked"]
    assert detail["case"]["decided_by"] == "carol" and detail["case"]["note"] == "member confirmed"
    assert [a["action"] for a in detail["audit"]] == ["decide", "note", "view"]
    assert detail["audit"][-1]["actor"] == "dave"
    with pytest.raises(ReviewError, match="already closed"):
        review.decide(store, "C1", "legitimate", actor="carol")
    with pytest.raises(ReviewError, match="already closed"):
        review.assign(store, "C1", "alice", actor="lead")
    with pytest.raises(ReviewError, match="no case"):
        review.get_case(store, "C9", actor="dave")
    assert review.workload(store)[0] == {
        "assigned_to": None,
        "open_cases": 2,
        "amount_at_risk": Decimal("70.00"),
    }


def test_assign_many_is_all_or_nothing(store):
    review.decide(store, "C4", "legitimate", actor="carol")
    with pytest.raises(ReviewError, match="C4"):
        review.assign_many(store, ["C1", "C2", "C4"], "bob", actor="lead", reason="holiday cover")
    assert review.list_cases(store, assignee="bob").total == 0
    assert review.assign_many(store, ["C1", "C2"], "bob", actor="lead", reason="holiday cover") == 2
    trail = review.audit(store, action="assign")
    assert [(a["case_id"], a["details"]["reason"]) for a in trail] == [
        ("C1", "holiday cover"),
        ("C2", "holiday cover"),
    ]


def test_decide_scheme_closes_its_open_cases(store):
    review.decide(store, "C2", "needs_info", actor="carol")
    assert review.decide_scheme(store, "S1", "fraud", actor="carol", note="one ring") == {
        "C1": "closed_fraud",
        "C2": "closed_fraud",
    }
    assert ids(review.list_cases(store)) == ["C3", "C4"]
    assert {a["details"].get("scheme_id") for a in review.audit(store, action="decide")} == {None, "S1"}
    with pytest.raises(ReviewError, match="no open case in scheme S1"):
        review.decide_scheme(store, "S1", "legitimate", actor="carol")


@pytest.mark.parametrize(
    "bad", ["=HYPERLINK(1)", "+1", "-x", "@SUM", "a\x1bb", "a\nb", "", "x" * 65, "\u202eevil"]
)
def test_actor_names_are_validated(store, bad):
    with pytest.raises(ReviewError):
        review.decide(store, "C1", "fraud", actor=bad)
    with pytest.raises(ReviewError):
        review.assign(store, "C1", bad, actor="lead")
    # nothing half-done: the case is untouched and no audit row was written
    assert review.list_cases(store).rows[0]["status"] == "new"
    assert review.audit(store) == []


def test_a_rescore_never_overwrites_the_review_state(store):
    review.assign(store, "C2", "alice", actor="lead")
    review.decide(store, "C3", "fraud", actor="carol", note="checked")
    review.decide(store, "C4", "needs_info", actor="carol")
    # the next run saw all four as 'new' (it ran before the decisions) and rescored them
    later = run_frame(
        "r2", [(c, m, s - 10, "999.00", "DUPLICATE_CLAIM", sch) for c, m, s, _, _, sch in CASES]
    )
    write_cases(store, later, "r2")
    rows = {r["case_id"]: r for r in review.list_cases(store, status="all").rows}
    assert {c: (r["status"], r["assigned_to"], r["decision"]) for c, r in rows.items()} == {
        "C1": ("new", None, None),
        "C2": ("in_review", "alice", None),
        "C3": ("closed_fraud", None, "fraud"),
        "C4": ("needs_info", None, "needs_info"),
    }
    # open cases take the new content; the closed case keeps what the reviewer decided on
    assert rows["C2"]["amount_at_risk"] == Decimal("999.00") and rows["C2"]["last_run_id"] == "r2"
    assert rows["C3"]["amount_at_risk"] == Decimal("700.50") and rows["C3"]["last_run_id"] == "r1"
    assert rows["C3"]["note"] == "checked"
    # writing the same run again is a no-op (a run completing a failed sync)
    write_cases(store, later, "r2")
    assert review.list_cases(store, status="all").rows == list(rows.values())
    assert synced_runs(store) == {"r1", "r2"}


def test_two_reviewers_deciding_one_case_at_once(review_url):
    # separate stores = separate connections, as two reviewers' processes would have
    stores = [open_store(url=review_url) for _ in range(4)]
    write_cases(stores[0], run_frame("r1", CASES), "r1")
    barrier = threading.Barrier(len(stores))
    outcomes: list[str] = []

    def reviewer(i: int) -> None:
        barrier.wait()
        try:
            outcomes.append(review.decide(stores[i], "C1", ["fraud", "legitimate"][i % 2], actor=f"r{i}"))
        except ReviewError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=reviewer, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [o for o in outcomes if o.startswith("closed_")]
    assert len(wins) == 1 and sum("already closed" in o for o in outcomes) == 3
    decisions = review.audit(stores[0], action="decide")
    assert len(decisions) == 1 and decisions[0]["details"]["status"] == wins[0]
    for s in stores:
        s.close()


def test_the_database_refuses_to_change_the_audit_log(store):
    review.decide(store, "C1", "fraud", actor="carol")
    before = review.audit(store)
    statements = ["update audit_log set actor = 'mallory'", "delete from audit_log"]
    if store.dialect == "postgresql":
        statements.append("truncate audit_log")
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert review.audit(store) == before


def test_users_hash_passwords_and_lock_after_failed_logins(store):
    user = users.add_user(store, "alice", "reviewer", "correct horse battery")
    assert user["role"] == "reviewer" and "password_hash" not in user
    with store.read() as conn:
        stored = conn.execute(sa.text("select password_hash from users")).scalar_one()
    assert stored.startswith("$argon2") and "correct horse" not in stored
    assert users.verify_user(store, "alice", "correct horse battery")["name"] == "alice"
    assert users.verify_user(store, "bob", "correct horse battery") is None
    with pytest.raises(ReviewError, match="exists"):
        users.add_user(store, "alice", "lead", "another long password")
    with pytest.raises(ReviewError, match="role"):
        users.add_user(store, "eve", "admin", "another long password")
    with pytest.raises(ReviewError, match="at least"):
        users.add_user(store, "eve", "lead", "short")
    for _ in range(users.MAX_FAILED_LOGINS):
        assert users.verify_user(store, "alice", "wrong password!") is None
    # locked: even the right password is refused until the lock expires
    assert users.verify_user(store, "alice", "correct horse battery") is None
    later = datetime.now(UTC) + timedelta(minutes=users.LOCK_MINUTES + 1)
    assert users.verify_user(store, "alice", "correct horse battery", now=later)["failed_logins"] == 0
    actions = [a["action"] for a in review.audit(store, actor="alice")]
    assert actions == ["login"] + ["login_failed"] * users.MAX_FAILED_LOGINS + ["login_refused", "login"]


def test_store_frames_for_analysts(store):
    review.decide(store, "C1", "fraud", actor="carol", note="n")
    frames = store_frames(store, {"cases", "audit_log", "case_notes"})
    cases = frames["cases"].sort("case_id")
    assert cases["status"].to_list() == ["closed_fraud", "new", "new", "new"]
    assert cases["rank"].to_list() == [None, 2, 1, 3]
    assert frames["audit_log"]["action"].to_list() == ["decide"]
    assert frames["case_notes"]["body"].to_list() == ["n"]
