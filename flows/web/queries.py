"""What the web pages read beyond the review room's API: run history and breach matches from
the published analytics copy, the current assignees of cases, and the audit of a logout."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import sqlalchemy as sa

from claimwatch.review.queue import OPEN, append_audit
from claimwatch.review.store import ReviewStore, cases
from claimwatch.settings import Settings
from claimwatch.store.db import sql_text

# run ids are new_run_id()'s "20261202T052513-1a2b3c" (tests and older runs use simpler ids)
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# the only file names the reports route serves
REPORT_NAME = re.compile(r"^(report_[A-Za-z0-9_-]{1,64}|latest)\.html$")


def _analytics(path: Path | None) -> duckdb.DuckDBPyConnection | None:
    if path is None or not Path(path).exists():
        return None
    return duckdb.connect(str(path), read_only=True)


def run_history(settings: Settings, limit: int = 100) -> list[dict]:
    """The last runs (newest first) with their headline figures and report file name, if any."""
    con = _analytics(settings.resolved_analytics_db)
    if con is None:
        return []
    try:
        rows = con.sql(sql_text("web/run_history.sql"), params={"limit": limit}).pl().to_dicts()
    finally:
        con.close()
    reports = settings.resolved_report_dir
    for row in rows:
        name = f"report_{row['run_id']}.html"
        ok = _RUN_ID.match(row["run_id"]) and (reports / name).is_file()
        row["report"] = name if ok else None
    return rows


def report_path(settings: Settings, name: str) -> Path | None:
    """The report file ``name`` inside the report directory, or None (no other file, ever)."""
    if not REPORT_NAME.match(name):
        return None
    root = settings.resolved_report_dir.resolve()
    path = (root / name).resolve()
    if path.parent != root or not path.is_file():
        return None
    return path


def member_breaches(store: ReviewStore, member_id: str) -> list[dict]:
    """The breach lists a member was matched in (list, date, identifier type), oldest first."""
    con = _analytics(store.analytics_db)
    if con is None:
        return []
    try:
        return con.sql(sql_text("web/member_breaches.sql"), params={"member_id": member_id}).pl().to_dicts()
    finally:
        con.close()


def case_assignees(store: ReviewStore, case_ids: list[str]) -> dict[str, str | None]:
    """{case_id: assignee} of the open cases among ``case_ids`` (unknown or closed ones absent)."""
    query = sa.select(cases.c.case_id, cases.c.assigned_to).where(
        cases.c.case_id.in_(case_ids), cases.c.status.in_(OPEN)
    )
    with store.read() as conn:
        return {r.case_id: r.assigned_to for r in conn.execute(query)}


def record_logout(store: ReviewStore, actor: str) -> None:
    """Append a logout to the audit log."""
    with store.write() as conn:
        append_audit(conn, actor, "logout", None, {}, now=datetime.now(UTC))
