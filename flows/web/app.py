"""The Starlette application: middleware (session, security headers), error pages, routes.

``create_app(settings)`` opens the review store once (a connection pool shared by the requests)
and returns the ASGI app that ``claimwatch web`` serves with uvicorn. Every handler reads and
writes through the review room's API (``claimwatch.review``), which audits case views and
actions with the logged-in user's name."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from claimwatch.review.store import open_store
from claimwatch.settings import Settings
from claimwatch.web import routes
from claimwatch.web.auth import LoginRequired, session_secret
from claimwatch.web.pages import SecurityHeaders, http_error, server_error, templates, to_login

SESSION_COOKIE = "claimwatch_session"
# the package's own files (resolved: an editable install links each file, and StaticFiles
# refuses a link that points out of its directory)
STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> Starlette:
    """The reviewers' web app on an installation's review store and analytics copy."""
    settings = settings or Settings()
    secret = session_secret(settings)
    store = open_store(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        store.close()

    app = Starlette(
        debug=False,
        routes=[*routes.ROUTES, Mount("/static", StaticFiles(directory=STATIC))],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie=SESSION_COOKIE,
                max_age=int(settings.web_session_hours * 3600),
                same_site="strict",
                https_only=settings.web_secure_cookie,
            ),
        ],
        exception_handlers={HTTPException: http_error, LoginRequired: to_login, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.templates = templates()
    return app
