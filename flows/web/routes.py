"""The pages and actions of the web app. Every POST checks the session's CSRF token first
(``checked_form``: 403 without it); every case view and action goes through the review room's
API, which writes it to the audit log with the logged-in user's name."""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import UTC, datetime, time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from claimwatch.review import queue as review
from claimwatch.review.export import export as run_export
from claimwatch.review.store import ReviewError
from claimwatch.review.users import MAX_FAILED_LOGINS, list_users, verify_user
from claimwatch.web import labels, queries
from claimwatch.web.auth import (
    checked_form,
    csrf_token,
    current_user,
    require_lead,
    safe_next,
    start_session,
)
from claimwatch.web.format import PARIS
from claimwatch.web.pages import render

PAGE_SIZE = 50
MAX_PASSWORD = 1024
_CASE_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_SCHEME_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _store(request: Request):
    return request.app.state.store


def _flash(request: Request, kind: str, text: str) -> None:
    request.session["flash"] = {"kind": kind, "text": text}


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _case_id(value: str) -> str:
    if not _CASE_ID.match(value or ""):
        raise HTTPException(404)
    return value


def _back(form, default: str = "/queue") -> str:
    """Where an action returns to: a local queue or case URL given by the form."""
    back = form.get("back")
    if isinstance(back, str) and (back.startswith("/queue") or back.startswith("/cases/")):
        return safe_next(back)
    return default


def _referring_queue(request: Request) -> str:
    """The queue page (with its filter) a case was opened from, to return to after a decision."""
    referer = urlsplit(request.headers.get("referer") or "")
    if referer.netloc == request.url.netloc and referer.path == "/queue":
        return "/queue" + (f"?{referer.query}" if referer.query else "")
    return "/queue"


# --------------------------------------------------------------------------- login


async def login_page(request: Request) -> Response:
    csrf_token(request)  # an anonymous session holds the login form's CSRF token
    return render(request, "login.html", {"next": safe_next(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    form = await checked_form(request)
    name = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    # an absurd password is refused before hashing (Argon2 on megabytes would tie a worker up)
    plausible = name and len(name) <= 64 and len(password) <= MAX_PASSWORD
    user = await run_in_threadpool(verify_user, _store(request), name, password) if plausible else None
    if user is None:
        context = {"next": target, "username": name, "error": True, "max_failed": MAX_FAILED_LOGINS}
        return render(request, "login.html", context, status=401)
    start_session(request, user["name"])
    return _see(target)


async def logout(request: Request) -> Response:
    user = current_user(request)
    await checked_form(request)
    await run_in_threadpool(queries.record_logout, _store(request), user["name"])
    request.session.clear()
    return _see("/login")


async def home(request: Request) -> Response:
    current_user(request)
    return _see("/queue")


# --------------------------------------------------------------------------- queue


def _filters(params, user: dict) -> dict:
    """The queue's filter from query or form parameters (names as in the URL)."""
    status = params.get("status") or "open"
    if status not in labels.STATUS_FILTERS:
        raise ReviewError(f"unknown status {status!r}")
    reason = params.get("reason") or None
    if reason is not None and reason not in labels.reason_codes():
        raise ReviewError(f"unknown reason code {reason!r}")
    assignee_param = params.get("assignee") or ""
    assignee = {"": None, "-": review.UNASSIGNED, "me": user["name"]}.get(assignee_param, assignee_param)
    min_amount_text = (params.get("min_amount") or "").strip().replace(",", ".").replace(" ", "")
    try:
        min_amount = float(min_amount_text) if min_amount_text else None
    except ValueError:
        raise ReviewError("the minimum amount must be a number of euros") from None
    sort = params.get("sort") or "rank"
    if sort not in labels.SORT:
        raise ReviewError(f"unknown sort {sort!r}")
    scheme = (params.get("scheme") or "").strip() or None
    return {
        "status": status,
        "reason": reason,
        "scheme": scheme,
        "assignee": assignee,
        "assignee_param": assignee_param,
        "min_amount": min_amount,
        "min_amount_text": min_amount_text,
        "sort": sort,
    }


def _store_filter(f: dict) -> dict:
    return {k: f[k] for k in ("status", "reason", "scheme", "assignee", "min_amount")}


def _query_string(f: dict, **overrides) -> str:
    values = {
        "status": f["status"],
        "reason": f["reason"] or "",
        "scheme": f["scheme"] or "",
        "assignee": f["assignee_param"],
        "min_amount": f["min_amount_text"],
        "sort": f["sort"],
        **overrides,
    }
    return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def _queue_data(store, f: dict, page: int) -> dict:
    base = _store_filter(f)
    result = review.list_cases(store, **base, sort=f["sort"], offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    # counts of each status under the other filters (one count query each)
    counts = {
        s: review.list_cases(store, **{**base, "status": s}, limit=0).total
        for s in ("open", *labels.STATUS, "all")
    }
    return {"page_rows": result.rows, "total": result.total, "counts": counts, "users": list_users(store)}


async def queue_page(request: Request) -> Response:
    user = current_user(request)
    params = request.query_params
    try:
        page = max(1, int(params.get("page") or 1))
    except ValueError:
        page = 1
    try:
        f = _filters(params, user)
        data = await run_in_threadpool(_queue_data, _store(request), f, page)
        error = None
    except ReviewError as exc:
        f = _filters({}, user)
        data = await run_in_threadpool(_queue_data, _store(request), f, 1)
        error, page = str(exc), 1
    pages = max(1, -(-data["total"] // PAGE_SIZE))
    context = {
        "user": user,
        "f": f,
        "page": page,
        "pages": pages,
        "page_size": PAGE_SIZE,
        "qs": lambda **o: _query_string(f, **o),
        "back": "/queue?" + _query_string(f, page=page if page > 1 else ""),
        "error": error,
        **data,
    }
    template = "_results.html" if params.get("partial") == "1" else "queue.html"
    return render(request, template, context, status=400 if error else 200)


async def assign_selected(request: Request) -> Response:
    user = current_user(request)
    form = await checked_form(request)
    back = _back(form)
    case_ids = [c for c in form.getlist("case_ids") if isinstance(c, str) and _CASE_ID.match(c)]
    to = str(form.get("to") or "").strip()
    if to == "me":
        to = user["name"]
    if not case_ids:
        _flash(request, "error", "Aucun dossier sélectionné.")
        return _see(back)
    store = _store(request)
    if user["role"] != "lead":
        owners = await run_in_threadpool(queries.case_assignees, store, case_ids)
        if any(owner not in (None, user["name"]) for owner in owners.values()):
            raise HTTPException(403, "only a lead reassigns another reviewer's case")
    try:
        n = await run_in_threadpool(lambda: review.assign_many(store, case_ids, to, actor=user["name"]))
        _flash(request, "ok", f"{n} dossier(s) attribué(s) à {to}.")
    except ReviewError as exc:
        _flash(request, "error", f"Aucun dossier attribué : {exc}")
    return _see(back)


# --------------------------------------------------------------------------- one case


def _timeline(detail: dict, breaches: list[dict]) -> list[dict]:
    """The member's account events, breach matches and the case's claim lines, oldest first."""

    def at(value) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.combine(value, time(0), tzinfo=PARIS)

    items = []
    for e in detail["account_events"]:
        place = ", ".join(p for p in (e["channel"], f"IP {e['ip_country']}" if e["ip_country"] else "") if p)
        bank = " ".join(p for p in (e["new_iban_country"], e["new_iban_bank_code"]) if p)
        extra = {
            "iban_change": f"nouvelle banque {bank}" if bank else "",
            "email_change": f"nouveau domaine {e['new_email_domain']}" if e["new_email_domain"] else "",
            "address_change": f"nouveau code postal {e['new_postcode']}" if e["new_postcode"] else "",
        }.get(e["event_type"], "")
        items.append(
            {
                "at": at(e["event_time"]),
                "when": e["event_time"],
                "kind": "iban" if e["event_type"] == "iban_change" else "event",
                "title": labels.EVENT.get(e["event_type"], e["event_type"]),
                "detail": "; ".join(p for p in (place, extra) if p),
                "codes": [],
            }
        )
    for b in breaches:
        items.append(
            {
                "at": at(b["breach_date"]),
                "when": b["breach_date"],
                "kind": "breach",
                "title": f"Fuite de données {b['breach_name']}",
                "detail": f"identifiant {b['matched_type']}"
                + (" (toujours actuel)" if b["matched_current"] else " (changé depuis)"),
                "codes": [],
            }
        )
    for c in detail["claims"]:
        items.append(
            {
                "at": at(c["care_date"]),
                "when": c["care_date"],
                "kind": "claim",
                "title": f"Soin {c['care_category']} {c['act_code']}",
                "detail": f"{c['claim_id']}, professionnel {c['provider_id']}, via {c['source']}",
                "amount": c["claimed_amount"],
                "codes": [x for x in (c["reason_codes"] or "").split(";") if x],
            }
        )
    order = {"breach": 0, "event": 1, "iban": 1, "claim": 2}
    return sorted(items, key=lambda i: (i["at"], order[i["kind"]], i["title"], i["detail"]))


def _reasons(case: dict) -> list[dict]:
    """The case's reasons as sentences, each with its code when the two lists line up."""
    codes = [c for c in (case["reason_codes"] or "").split(";") if c]
    sentences = [s.strip() for s in (case["reasons"] or "").split(" | ") if s.strip()]
    if len(codes) != len(sentences):
        codes = [""] * len(sentences)
    pairs = zip(codes, sentences, strict=True)
    return [{"code": c, "label": labels.reason_label(c) if c else "", "text": s} for c, s in pairs]


def _case_data(store, case_id: str, actor: str) -> dict:
    detail = review.get_case(store, case_id, actor=actor)
    breaches = queries.member_breaches(store, detail["case"]["member_id"])
    return {
        "d": detail,
        "case": detail["case"],
        "reasons": _reasons(detail["case"]),
        "timeline": _timeline(detail, breaches),
        "breaches": breaches,
        "iban_changes": [e for e in detail["account_events"] if e["event_type"] == "iban_change"],
        "users": list_users(store),
    }


def _may_assign(user: dict, case: dict) -> bool:
    """A reviewer assigns unassigned cases and their own; only a lead reassigns another's."""
    return user["role"] == "lead" or case["assigned_to"] in (None, user["name"])


async def case_page(request: Request) -> Response:
    user = current_user(request)
    case_id = _case_id(request.path_params["case_id"])
    try:
        data = await run_in_threadpool(_case_data, _store(request), case_id, user["name"])
    except ReviewError as exc:
        if str(exc).startswith("no case"):
            raise HTTPException(404) from None
        raise
    case = data["case"]
    context = {
        "user": user,
        **data,
        "is_open": case["status"] in review.OPEN,
        "may_assign": _may_assign(user, case),
        "back": _referring_queue(request),
    }
    return render(request, "case.html", context)


async def _case_action(request: Request, action, *, assigning: bool = False) -> Response:
    """Run one action on a case for the logged-in user; a refused action is a message, not a crash."""
    user = current_user(request)
    case_id = _case_id(request.path_params["case_id"])
    form = await checked_form(request)
    store = _store(request)
    if assigning:
        owners = await run_in_threadpool(queries.case_assignees, store, [case_id])
        if case_id in owners and not _may_assign(user, {"assigned_to": owners[case_id]}):
            raise HTTPException(403, "only a lead reassigns another reviewer's case")
    try:
        message, target = await run_in_threadpool(action, store, case_id, user, form)
        _flash(request, "ok", message)
        return _see(target)
    except ReviewError as exc:
        _flash(request, "error", str(exc))
        return _see(f"/cases/{case_id}")


def _decide(store, case_id: str, user: dict, form) -> tuple[str, str]:
    decision = str(form.get("decision") or "")
    note = str(form.get("note") or "")
    status = review.decide(store, case_id, decision, actor=user["name"], note=note)
    return f"{case_id} : décision enregistrée ({labels.STATUS[status]}).", _back(form)


def _assign(store, case_id: str, user: dict, form) -> tuple[str, str]:
    to = str(form.get("to") or "").strip()
    to = user["name"] if to == "me" else to
    reason = str(form.get("reason") or "").strip() or None
    review.assign(store, case_id, to, actor=user["name"], reason=reason)
    return f"{case_id} attribué à {to}.", f"/cases/{case_id}"


def _note(store, case_id: str, user: dict, form) -> tuple[str, str]:
    review.add_note(store, case_id, str(form.get("body") or ""), actor=user["name"])
    return f"{case_id} : note ajoutée.", f"/cases/{case_id}"


async def decide_case(request: Request) -> Response:
    return await _case_action(request, _decide)


async def assign_case(request: Request) -> Response:
    return await _case_action(request, _assign, assigning=True)


async def note_case(request: Request) -> Response:
    return await _case_action(request, _note)


async def decide_scheme(request: Request) -> Response:
    user = current_user(request)
    scheme_id = request.path_params["scheme_id"]
    if not _SCHEME_ID.match(scheme_id):
        raise HTTPException(404)
    form = await checked_form(request)
    store = _store(request)
    back = _back(form)
    try:
        decision, note = str(form.get("decision") or ""), str(form.get("note") or "")
        decided = await run_in_threadpool(
            lambda: review.decide_scheme(store, scheme_id, decision, actor=user["name"], note=note)
        )
        _flash(request, "ok", f"Réseau {scheme_id} : {len(decided)} dossier(s) décidé(s).")
    except ReviewError as exc:
        _flash(request, "error", str(exc))
    return _see(back)


# --------------------------------------------------------------------------- lead's pages


async def workload_page(request: Request) -> Response:
    user = current_user(request)
    require_lead(user)
    store = _store(request)
    rows = await run_in_threadpool(review.workload, store)
    users = await run_in_threadpool(list_users, store)
    total = {
        "open_cases": sum(r["open_cases"] for r in rows),
        "amount": sum(r["amount_at_risk"] for r in rows),
    }
    return render(request, "workload.html", {"user": user, "rows": rows, "users": users, "total": total})


def _reassign(store, actor: str, source: str, to: str, reason: str, count: int | None) -> int:
    assignee = review.UNASSIGNED if source == "-" else source
    page = review.list_cases(store, status="open", assignee=assignee, sort="rank", limit=count)
    ids = [r["case_id"] for r in page.rows]
    if not ids:
        raise ReviewError("no open case to reassign")
    return review.assign_many(store, ids, to, actor=actor, reason=reason)


async def reassign(request: Request) -> Response:
    user = current_user(request)
    require_lead(user)
    form = await checked_form(request)
    source = str(form.get("from") or "")
    to = str(form.get("to") or "").strip()
    reason = str(form.get("reason") or "").strip()
    count_text = str(form.get("count") or "").strip()
    try:
        if not reason:
            raise ReviewError("a reassignment needs a reason (it goes to the audit log)")
        count = int(count_text) if count_text else None
        if count is not None and count < 1:
            raise ReviewError("the number of cases must be positive")
        n = await run_in_threadpool(_reassign, _store(request), user["name"], source, to, reason, count)
        _flash(request, "ok", f"{n} dossier(s) réattribué(s) à {to}.")
    except ValueError as exc:  # ReviewError, or a count that is not a number
        _flash(request, "error", str(exc) if isinstance(exc, ReviewError) else "nombre de dossiers invalide")
    return _see("/workload")


async def export_cases(request: Request) -> Response:
    user = current_user(request)
    form = await checked_form(request)
    require_lead(user)
    kind = str(form.get("fmt") or "")
    if kind not in EXPORT_TYPES:
        raise HTTPException(400)
    try:
        f = _filters(form, user)
    except ReviewError as exc:
        _flash(request, "error", str(exc))
        return _see("/queue")
    folder = Path(tempfile.mkdtemp(prefix="claimwatch-export-"))
    out = folder / f"cases.{kind}"
    try:
        await run_in_threadpool(
            lambda: run_export(_store(request), kind, out, actor=user["name"], **_store_filter(f))
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    stamp = datetime.now(PARIS).strftime("%Y%m%d-%H%M")
    return FileResponse(
        out,
        media_type=EXPORT_TYPES[kind],
        filename=f"claimwatch-{f['status']}-{stamp}.{kind}",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


# --------------------------------------------------------------------------- runs


async def runs_page(request: Request) -> Response:
    user = current_user(request)
    settings = request.app.state.settings
    runs = await run_in_threadpool(queries.run_history, settings)
    latest = queries.report_path(settings, "latest.html") is not None
    return render(request, "runs.html", {"user": user, "runs": runs, "latest": latest})


async def report(request: Request) -> Response:
    current_user(request)
    path = queries.report_path(request.app.state.settings, request.path_params["name"])
    if path is None:
        raise HTTPException(404)
    response = FileResponse(path, media_type="text/html; charset=utf-8")
    # the report is a generated file with its own inline styles and data: images, no script
    response.headers["content-security-policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox"
    )
    return response


ROUTES = [
    Route("/", home),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/queue", queue_page, methods=["GET"]),
    Route("/cases/assign", assign_selected, methods=["POST"]),
    Route("/cases/{case_id}", case_page, methods=["GET"]),
    Route("/cases/{case_id}/decide", decide_case, methods=["POST"]),
    Route("/cases/{case_id}/assign", assign_case, methods=["POST"]),
    Route("/cases/{case_id}/note", note_case, methods=["POST"]),
    Route("/schemes/{scheme_id}/decide", decide_scheme, methods=["POST"]),
    Route("/workload", workload_page, methods=["GET"]),
    Route("/workload/reassign", reassign, methods=["POST"]),
    Route("/export", export_cases, methods=["POST"]),
    Route("/runs", runs_page, methods=["GET"]),
    Route("/reports/{name}", report, methods=["GET"]),
]
