"""Run bookkeeping: run ids and the runs table."""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

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


def pause_point(stage: str) -> None:
    """Test-only: stop here when CLAIMWATCH_TEST_PAUSE_AT names this stage (fault tests kill
    the process at that moment); a no-op otherwise."""
    if os.environ.get("CLAIMWATCH_TEST_PAUSE_AT") != stage:
        return
    marker = os.environ.get("CLAIMWATCH_TEST_PAUSE_FILE")
    if marker:
        Path(marker).write_text(f"{os.getpid()} {stage}\n")
    time.sleep(float(os.environ.get("CLAIMWATCH_TEST_PAUSE_SECONDS", "120")))
