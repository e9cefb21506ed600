"""The web app as a reviewer meets it: a real ``claimwatch web`` subprocess on a free loopback
port, on a scored database with its published copy, run report and review store, users created
with ``claimwatch users add``, and Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from claimwatch.settings import Settings
from tests.helpers import TEST_KEY

CHROMIUM = Path(os.environ.get("CLAIMWATCH_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# screenshots of the main pages, kept after the run for a person to look at (gitignored)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
RUN_ID = "20261201T020000-abc123"
SCHEME_ID = "SCH-TEST-1"
USERS = {
    "alice": ("reviewer", "alice-correct-horse-1"),
    "bruno": ("reviewer", "bruno-correct-horse-2"),
    "marc": ("reviewer", "marc-correct-horse-3"),
    "lea": ("lead", "lea-correct-horse-4567"),
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def claimwatch(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real ``claimwatch`` command line (same interpreter as the tests)."""
    return subprocess.run(
        [sys.executable, "-m", "claimwatch.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


@dataclass
class Site:
    """A running ``claimwatch web`` and what it serves."""

    url: str
    settings: Settings
    process: subprocess.Popen
    log: Path
    users: dict = field(default_factory=lambda: dict(USERS))

    @property
    def db(self) -> str:
        return str(self.settings.db)

    def store(self):
        from claimwatch.review.store import open_store

        return open_store(self.settings)


def _record_run_and_report(settings: Settings, inbox: str) -> None:
    """The run's cases in the review store, the run's row, its published copy and HTML report,
    as a completed run leaves them."""
    from claimwatch.publish.analytics import publish_analytics_copy
    from claimwatch.publish.report import write_report
    from claimwatch.review.queue import workload
    from claimwatch.review.store import open_store
    from claimwatch.review.sync import catch_up
    from claimwatch.store.db import connect
    from claimwatch.store.runs import record_run

    db, store = connect(settings), open_store(settings)
    try:
        catch_up(db, store)  # the scored cases reach the review store as a run's end writes them
        load = workload(store)
        summary = {
            "run_id": RUN_ID,
            "ingest": {
                "totals": {"rows_read": 12345, "rows_loaded": 12340, "rows_quarantined": 5},
                "files": [],
            },
            "queue": {
                "open_cases": sum(r["open_cases"] for r in load),
                "opened_this_run": sum(r["open_cases"] for r in load),
                "amount_at_risk": float(sum(r["amount_at_risk"] for r in load)),
            },
        }
        _group_a_scheme(store)
        started = datetime(2026, 12, 1, 2, tzinfo=UTC)
        record_run(db, RUN_ID, "claimwatch-run", "completed", inbox, summary, started)
    finally:
        store.close()
        db.close()
    publish_analytics_copy(settings)
    write_report(settings.resolved_analytics_db, settings.resolved_report_dir, RUN_ID, summary)


def _group_a_scheme(store) -> None:
    """Put the two least suspicious open cases in one scheme, as a run that links cases writes
    ``scheme_id`` (the scoring of this branch links none yet); no other test touches them."""
    import sqlalchemy as sa

    from claimwatch.review.queue import list_cases
    from claimwatch.review.store import cases

    ids = [r["case_id"] for r in list_cases(store, sort="-rank", limit=2).rows]
    with store.write() as conn:
        conn.execute(sa.update(cases).where(cases.c.case_id.in_(ids)).values(scheme_id=SCHEME_ID))


def _add_users(settings: Settings) -> None:
    """A reviewer and a lead created with ``claimwatch users add`` (at once, to save the start-up
    time), the other reviewers through the review room's API."""
    from claimwatch.review.store import open_store
    from claimwatch.review.users import add_user

    command = [sys.executable, "-m", "claimwatch.cli.main", "users", "add"]
    through_cli = {name: USERS[name] for name in ("alice", "lea")}
    running = [
        (
            name,
            subprocess.Popen(
                [*command, name, "--role", role, "--password-stdin", "--db", str(settings.db)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for name, (role, _) in through_cli.items()
    ]
    for name, process in running:
        out, errors = process.communicate(USERS[name][1] + "\n", timeout=60)
        assert process.returncode == 0, errors
        assert out.strip() == f"user {name} added ({USERS[name][0]})"
        assert USERS[name][1] not in out + errors  # the password is never echoed
    store = open_store(settings)
    try:
        for name, (role, password) in USERS.items():
            if name not in through_cli:
                add_user(store, name, role, password, actor="test")
    finally:
        store.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory, queue_template, generated_inbox):  # noqa: F811
    """A scored installation served by ``claimwatch web`` on a free loopback port."""
    root = tmp_path_factory.mktemp("web")
    settings = Settings(db=root / "claimwatch.duckdb", key=TEST_KEY)
    shutil.copyfile(queue_template, settings.db)
    _record_run_and_report(settings, str(generated_inbox))
    _add_users(settings)
    port = _free_port()
    log = root / "web.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "claimwatch.cli.main",
                "web",
                "--port",
                str(port),
                "--db",
                str(settings.db),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("claimwatch web did not start: " + log.read_text()[-2000:])
        time.sleep(0.1)
    yield Site(url, settings, process, log)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright; missing: skipped on a workstation, a failure in CI."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright Python package is not installed (pip install -e '.[test]')"
    if missing is None and not CHROMIUM.exists():
        missing = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    if missing:
        if _in_ci():
            pytest.fail(f"browser tests cannot run in CI: {missing}")
        pytest.skip(missing)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    """A fresh browser profile (no cookie) per test, French locale, Paris time."""
    ctx = browser.new_context(
        locale="fr-FR",
        timezone_id="Europe/Paris",
        viewport={"width": 1400, "height": 900},
        accept_downloads=True,
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot of the current page under tests/artifacts/web/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
