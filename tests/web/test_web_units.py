"""The web app's pieces without a browser: French formats, the session secret, report paths."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from claimwatch.review.store import ReviewError
from claimwatch.settings import Settings
from claimwatch.web import format as fmt
from claimwatch.web.auth import safe_next, session_secret
from claimwatch.web.queries import report_path


def test_french_amounts_numbers_and_dates():
    # French typography: narrow no-break space between thousands, decimal comma, "€" after a no-break space
    assert fmt.money(Decimal("1234.56")) == "1\u202f234,56\u00a0€"
    assert fmt.money(1234567.5) == "1\u202f234\u202f567,50\u00a0€"
    assert fmt.money(0) == "0,00\u00a0€"
    assert fmt.number(97.89, 1) == "97,9"
    assert fmt.day(date(2026, 3, 9)) == "09/03/2026"
    # 22:30 UTC on 31 March is already 1 April in Paris (summer time, UTC+2)
    assert fmt.day(datetime(2026, 3, 31, 22, 30, tzinfo=UTC)) == "01/04/2026"
    assert fmt.moment(datetime(2026, 1, 15, 8, 5, tzinfo=UTC)) == "15/01/2026 09:05"  # winter, UTC+1
    assert fmt.moment(None) == "" and fmt.money(None) == ""
    assert fmt.fr_dates("IBAN changed on 2026-08-13, breach since 2025-10-07") == (
        "IBAN changed on 13/08/2026, breach since 07/10/2025"
    )


def test_session_secret_from_env_or_a_private_file(tmp_path):
    settings = Settings(db=tmp_path / "claimwatch.duckdb")
    first = session_secret(settings)
    path = settings.resolved_web_secret_file
    assert path.name == "claimwatch.duckdb.web-secret"
    assert (path.stat().st_mode & 0o777) == 0o600
    assert len(first) >= 32 and session_secret(settings) == first  # created once, then reused
    os.chmod(path, 0o644)
    with pytest.raises(ReviewError, match="readable by others"):
        session_secret(settings)
    assert session_secret(Settings(db=tmp_path / "x.duckdb", web_secret="s" * 40)) == "s" * 40
    with pytest.raises(ReviewError, match="at least 32"):
        session_secret(Settings(db=tmp_path / "x.duckdb", web_secret="short"))


def test_reports_only_from_the_report_dir(tmp_path):
    settings = Settings(db=tmp_path / "claimwatch.duckdb")
    reports = settings.resolved_report_dir
    reports.mkdir()
    (reports / "report_r1.html").write_text("<h1>r1</h1>")
    (reports / "latest.html").write_text("<h1>latest</h1>")
    (tmp_path / "secret.html").write_text("not a report")
    os.symlink(tmp_path / "secret.html", reports / "report_link.html")
    assert report_path(settings, "report_r1.html") == (reports / "report_r1.html").resolve()
    assert report_path(settings, "latest.html") is not None
    for name in ("../secret.html", "report_r1.html/..", "report_link.html", "report_none.html", "x.duckdb"):
        assert report_path(settings, name) is None, name


def test_after_login_only_local_paths():
    assert safe_next("/cases/CASE-1") == "/cases/CASE-1"
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None, "cases"):
        assert safe_next(target) == "/queue"


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_crash_shows_neither_traceback_nor_data(tmp_path, monkeypatch):
    from starlette.testclient import TestClient

    from claimwatch.review.store import open_store
    from claimwatch.review.users import add_user
    from claimwatch.web import routes
    from claimwatch.web.app import create_app

    settings = Settings(db=tmp_path / "claimwatch.duckdb")
    store = open_store(settings)
    add_user(store, "alice", "reviewer", "alice-correct-horse-1")
    store.close()

    def broken(*args, **kwargs):
        raise RuntimeError("boom on CASE-0000042 of member M12345678")

    monkeypatch.setattr(routes.review, "get_case", broken)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        login = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        client.post(
            "/login", data={"username": "alice", "password": "alice-correct-horse-1", "csrf_token": token}
        )
        response = client.get("/cases/CASE-0000042")
    assert response.status_code == 500
    assert "Erreur 500" in response.text
    for leak in ("Traceback", "RuntimeError", "boom", "M12345678"):
        assert leak not in response.text
    assert response.headers["x-frame-options"] == "DENY"  # the error page carries the headers too
