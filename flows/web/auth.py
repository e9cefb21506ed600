"""Who is asking: the session cookie's secret, the logged-in user, CSRF tokens and roles.

The session is Starlette's signed cookie (itsdangerous): HttpOnly, SameSite=Strict, valid
``web_session_hours``; it holds the user's name and the CSRF token, nothing else. The role is read
from the review store on every request, so a changed role applies at once."""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request

from claimwatch.review.store import ReviewError
from claimwatch.review.users import get_user
from claimwatch.settings import Settings

CSRF_FIELD = "csrf_token"
MIN_SECRET = 32


class LoginRequired(Exception):
    """The request has no valid session: the handler answers with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def session_secret(settings: Settings) -> str:
    """CLAIMWATCH_WEB_SECRET, else the secret file beside the database (created 0600 on first start)."""
    if settings.web_secret is not None:
        secret = settings.web_secret.get_secret_value()
        if len(secret) < MIN_SECRET:
            raise ReviewError(f"CLAIMWATCH_WEB_SECRET needs at least {MIN_SECRET} characters")
        return secret
    path = settings.resolved_web_secret_file
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ReviewError(f"{path} is readable by others (mode {mode:o}): chmod 600 it") from None
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) < MIN_SECRET:
            raise ReviewError(f"{path} holds a secret shorter than {MIN_SECRET} characters") from None
        return secret
    with os.fdopen(fd, "w", encoding="ascii") as out:
        secret = secrets.token_urlsafe(48)
        out.write(secret + "\n")
    return secret


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created with the session, anonymous or not)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request):
    """The POSTed form, once its CSRF token matched the session's; 403 otherwise."""
    form = await request.form()
    expected = request.session.get("csrf")
    given = form.get(CSRF_FIELD)
    if not expected or not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise HTTPException(403, "CSRF token missing or wrong")
    return form


def start_session(request: Request, name: str) -> None:
    """A fresh session for a user who just logged in (a new CSRF token: no fixation)."""
    request.session.clear()
    request.session["user"] = name
    request.session["csrf"] = secrets.token_urlsafe(32)


def current_user(request: Request) -> dict:
    """The logged-in user (name, role) or LoginRequired."""
    name = request.session.get("user")
    user = get_user(request.app.state.store, name) if name else None
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return user


def require_lead(user: dict) -> None:
    """403 unless the user is a lead."""
    if user["role"] != "lead":
        raise HTTPException(403, "leads only")


def safe_next(value: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/queue"
    return value


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")
