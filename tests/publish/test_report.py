"""The run report a fraud manager reads: the headline counts each case once and the amounts by
primary reason add up to it; context reasons apart from evidence; header with run date, data
as-of date and database; decisions over time once reviewers have decided."""

from __future__ import annotations

import duckdb
import pytest

from claimwatch.publish.analytics import publish_analytics_copy
from claimwatch.publish.report import CONTEXT_REASONS, _rows, write_report
from claimwatch.review import queue as review
from claimwatch.review.sync import pull_review_state
from tests.helpers import top_cases


def test_amounts_by_primary_reason_add_up_to_the_headline(queue):
    con = duckdb.connect(str(queue.settings.resolved_analytics_db), read_only=True)
    try:
        open_cases, headline = _rows(con, "headline")[0]
        primary = _rows(con, "amount_by_primary_reason", context=list(CONTEXT_REASONS))
        per_reason = _rows(con, "open_cases_by_reason")
    finally:
        con.close()
    assert open_cases == review.list_cases(queue.store).total > 20
    # each case under exactly one primary reason: cases and euros add up to the headline
    assert sum(r[1] for r in primary) == open_cases
    assert sum(r[2] for r in primary) == headline
    # a primary reason is evidence, never context; counts per reason overlap (a case has several)
    assert not {r[0] for r in primary} & set(CONTEXT_REASONS)
    assert sum(r[1] for r in per_reason) > open_cases


def test_report_header_and_decisions_over_time(queue, tmp_path):
    summary = {"db": str(queue.settings.db), "queue": {"opened_this_run": 3}}
    page = write_report(queue.settings.resolved_analytics_db, tmp_path, "r1", summary).read_text("utf-8")
    assert "data as of 20" in page and f"database {queue.settings.db}</p>" in page and "Run 20" in page
    assert "Decisions over time" not in page and "case threshold" in page.lower()
    assert "each case counted" in page and "Context, not evidence: " in page and "BREACH_EXPOSED on" in page
    # reviewers decide; the next run reads the decisions and publishes them
    a, b, c = top_cases(queue, 3)
    for case, decision in ((a, "fraud"), (b, "fraud"), (c, "legitimate")):
        review.decide(queue.store, case, decision, actor="carol")
    with queue.db.transaction():
        pull_review_state(queue.db, queue.store)
    queue.db.con.execute("checkpoint")
    publish_analytics_copy(queue.settings)
    con = duckdb.connect(str(queue.settings.resolved_analytics_db), read_only=True)
    try:
        weeks = _rows(con, "decisions_by_week")
    finally:
        con.close()
    # all three decided this week: two confirmed frauds out of three closed
    assert [(w[1], w[2], pytest.approx(w[3])) for w in weeks] == [(2, 1, 2 / 3)]
    page = write_report(queue.settings.resolved_analytics_db, tmp_path, "r1", summary).read_text("utf-8")
    assert "Decisions over time" in page and page.count("<img") == 6


def test_report_of_an_empty_database(settings, tmp_path):
    # a first run on an empty inbox: no score, no case, no line; the report still renders
    from claimwatch.store.db import connect

    connect(settings, create=True).close()
    page = write_report(settings.db, tmp_path, "r0", {"db": str(settings.db)}).read_text("utf-8")
    assert "Open cases: <b>0</b>" in page and "amount at risk <b>0 €</b>" in page
    assert page.count("<img") == 4
