"""Run bookkeeping: run ids and the runs table."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

from claimwatch.store.db import Database


def new_run_id() -> str:
    """Return a sortable, unique run id (UTC time + random suffix)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def record_run(
    db: Database,
    run_id: str,
    flow: str,
    status: str,
    inbox: str | None,
    summary: dict | None,
    started_at: datetime,
) -> None:
    """Insert or update the run's row (written outside the run's data transaction)."""
    db.con.execute("delete from runs where run_id = ?", [run_id])
    db.con.execute(
        "insert into runs values (?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            flow,
            started_at,
            datetime.now(UTC) if status != "running" else None,
            status,
            inbox,
            json.dumps(summary, default=str) if summary is not None else None,
        ],
    )
