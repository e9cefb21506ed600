"""Rendering of the pages and the error pages; the security headers every response carries."""

from __future__ import annotations

import logging

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from claimwatch.web import format as fmt
from claimwatch.web import labels
from claimwatch.web.auth import LoginRequired, csrf_token, login_url

log = logging.getLogger("claimwatch.web")

# No inline script or style: every script and stylesheet is a file under /static.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Add the security headers to every response (a handler's own CSP wins) and forbid caching
    of anything but static files: pages hold case data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.decode("latin-1").lower() for k, _ in headers}
                extra = dict(SECURITY_HEADERS)
                extra["cache-control"] = "max-age=300" if static else "no-store"
                headers += [(k.encode(), v.encode()) for k, v in extra.items() if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def templates() -> Environment:
    """The Jinja2 environment of the pages (autoescaped, French filters, labels)."""
    env = Environment(
        loader=PackageLoader("claimwatch.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fmt.FILTERS)
    env.globals["labels"] = labels
    return env


def render(request: Request, name: str, context: dict | None = None, status: int = 200) -> HTMLResponse:
    """Render a page with the user, the session's CSRF token and the pending message."""
    env: Environment = request.app.state.templates
    context = dict(context or {})
    context.setdefault("user", None)
    page = env.get_template(name).render(
        request=request,
        csrf=csrf_token(request),
        flash=request.session.pop("flash", None),
        **context,
    )
    response = HTMLResponse(page, status_code=status)
    for key, value in SECURITY_HEADERS.items():  # the 500 page is answered outside the middleware
        response.headers.setdefault(key, value)
    response.headers.setdefault("cache-control", "no-store")
    return response


ERROR_TEXT = {
    400: "Requête invalide.",
    403: "Accès refusé : cette action n'est pas permise avec votre rôle ou sans jeton de formulaire valide.",
    404: "Page introuvable.",
    405: "Méthode non permise.",
    500: "Erreur interne. L'incident est journalisé ; réessayez ou prévenez l'administrateur.",
}


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    text = ERROR_TEXT.get(status, "Erreur.")
    return render(request, "error.html", {"status": status, "text": text}, status=status)


async def server_error(request: Request, exc: Exception) -> Response:
    from claimwatch.store.privacy import redact

    # one line, redacted: never a traceback (it could quote data) in the log or the page
    message = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, message)
    return render(request, "error.html", {"status": 500, "text": ERROR_TEXT[500]}, status=500)


async def to_login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path), status_code=303)
