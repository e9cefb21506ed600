"""The reviewers' web app (``claimwatch web``): server-rendered pages on the review room's API.

Starlette + Jinja2 templates, a few lines of vanilla JavaScript in ``static/`` for partial
updates (no build step), served by uvicorn on 127.0.0.1 by default. It reads and writes only
the review store (``claimwatch.review``) and reads the published analytics copy (claim lines,
events, breach matches, run history): a run never blocks it.

Modules: ``app`` (``create_app(settings)``: middleware, error pages), ``routes`` (pages and
actions), ``auth`` (session secret, login, CSRF, roles), ``pages`` (rendering, security
headers), ``queries`` (run history, breach matches, assignees), ``format`` (French numbers,
amounts and dates), ``labels`` (French labels of the codes).

Security: Argon2 logins with lockout (``review.users.verify_user``), a signed HttpOnly
SameSite=Strict session cookie, a CSRF token checked on every POST (403 without it), roles
(only a lead exports, sees the workload and reassigns another reviewer's cases), every case
view and action in the audit log with the user, CSP without inline script, frames denied, case
pages never cached, error pages that show neither a traceback nor another case's data.
"""
