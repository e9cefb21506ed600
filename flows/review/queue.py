"""The review queue on the review store: list, detail, assign, decide, notes, audit trail.

Every function takes a :class:`~claimwatch.review.store.ReviewStore` (``open_store``) and runs
in one short transaction; every read of a case's detail and every change is appended to the
audit log with its actor, in the same transaction as the change.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from claimwatch.review.store import ReviewError, ReviewStore, audit_log, case_notes, cases

OPEN = ("new", "in_review", "needs_info")
CLOSED = ("closed_fraud", "closed_legitimate")
STATUSES = OPEN + CLOSED
DECISIONS = {"fraud": "closed_fraud", "legitimate": "closed_legitimate", "needs_info": "needs_info"}
# list_cases(assignee=UNASSIGNED): the cases nobody has taken yet
UNASSIGNED = ""
MAX_NAME = 64
MAX_NOTE = 4000
# A cell starting with one of these runs as a formula in a spreadsheet (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# list_cases sort keys: a column, descending with a leading '-'; ties broken by case id.
SORTS = ("rank", "score", "amount_at_risk", "opened_at", "updated_at", "decided_at", "case_id")
_REASON_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")


# --------------------------------------------------------------------------- validation


def validate_name(value: str | None, what: str = "--by") -> str:
    """Return a reviewer's name fit for the audit log and exports, or raise ReviewError.

    A name is 1-64 characters, has no control or invisible formatting character and does not
    start with = + - @ (a spreadsheet would run it as a formula)."""
    name = (value or "").strip()
    if not name:
        raise ReviewError(f"{what} needs a name")
    if len(name) > MAX_NAME:
        raise ReviewError(f"{what}: a name has at most {MAX_NAME} characters")
    if name[0] in "=+-@":
        raise ReviewError(f"{what}: a name cannot start with = + - @ (spreadsheet formula)")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise ReviewError(f"{what}: a name cannot hold control characters")
    return name


def validate_note(value: str | None) -> str | None:
    """Return a note (None if empty), at most 4000 characters, no control character but newlines."""
    if value is None or not value.strip():
        return None
    note = value.strip()
    if len(note) > MAX_NOTE:
        raise ReviewError(f"a note has at most {MAX_NOTE} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t" for ch in note):
        raise ReviewError("a note cannot hold control characters")
    return note


def statuses_for(status: str | None) -> tuple[str, ...]:
    """Expand a status filter: a status, 'open' (default), 'closed' or 'all'."""
    if status in (None, "open"):
        return OPEN
    if status == "closed":
        return CLOSED
    if status == "all":
        return STATUSES
    if status not in STATUSES:
        raise ReviewError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}, open, closed, all")
    return (status,)


# --------------------------------------------------------------------------- audit


def append_audit(
    conn: Connection,
    actor: str,
    action: str,
    case_id: str | None,
    details: dict,
    *,
    row_count: int | None = None,
    file_sha256: str | None = None,
    now: datetime | None = None,
) -> None:
    """Append one row to the audit log, inside the caller's transaction (never updated or deleted)."""
    conn.execute(
        audit_log.insert().values(
            logged_at=now or datetime.now(UTC),
            actor=actor,
            action=action,
            case_id=case_id,
            details=json.dumps(details, default=str, sort_keys=True),
            row_count=row_count,
            file_sha256=file_sha256,
        )
    )


def audit(
    store: ReviewStore,
    *,
    case_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[dict]:
    """Read the audit log, oldest first, optionally for one case, actor or action."""
    query = sa.select(audit_log).order_by(audit_log.c.audit_id)
    for column, value in (("case_id", case_id), ("actor", actor), ("action", action)):
        if value is not None:
            query = query.where(audit_log.c[column] == value)
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        row["details"] = json.loads(row["details"]) if row["details"] else {}
    return rows


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a list or an export holds (None = no constraint)."""

    status: str | None = None  # a status, 'open' (default), 'closed' or 'all'
    reason: str | None = None  # a reason code, e.g. 'MULE_ACCOUNT'
    scheme: str | None = None  # a scheme id
    assignee: str | None = None  # a reviewer, or UNASSIGNED ('')
    min_amount: Decimal | float | None = None  # amount at risk at least this (EUR)

    def where(self, table=None) -> list[sa.ColumnElement[bool]]:
        """The filter's conditions on ``table`` (the cases table, or ``ranked_cases()``)."""
        t = (cases if table is None else table).c
        clauses = [t.status.in_(statuses_for(self.status))]
        if self.reason is not None:
            if not _REASON_CODE.match(self.reason):
                raise ReviewError(f"unknown reason code format {self.reason!r} (e.g. MULE_ACCOUNT)")
            codes = sa.literal(";") + sa.func.coalesce(t.reason_codes, "") + sa.literal(";")
            clauses.append(codes.like(f"%;{self.reason};%"))
        if self.scheme is not None:
            clauses.append(t.scheme_id == self.scheme)
        if self.assignee == UNASSIGNED:
            clauses.append(t.assigned_to.is_(None))
        elif self.assignee is not None:
            clauses.append(t.assigned_to == self.assignee)
        if self.min_amount is not None:
            clauses.append(t.amount_at_risk >= Decimal(str(self.min_amount)))
        return clauses


@dataclass
class CasePage:
    """One page of cases and the number of cases the filter matches in all."""

    rows: list[dict]
    total: int
    offset: int = 0
    limit: int | None = None
    filters: CaseFilter = field(default_factory=CaseFilter)


def ranked_cases() -> sa.Subquery:
    """Every case with its rank among open cases (1 = most suspicious: the last run's queue
    position, which ranks schemes as investigations, then score, amount at risk and case id;
    closed cases: none), in one pass over the table (a window over the open/closed partition,
    no join)."""
    is_open = cases.c.status.in_(OPEN)
    order = (
        cases.c.queue_position.asc().nulls_last(),
        cases.c.score.desc(),
        cases.c.amount_at_risk.desc(),
        cases.c.case_id,
    )
    rank = sa.case((is_open, sa.func.row_number().over(partition_by=is_open, order_by=order)), else_=None)
    return sa.select(rank.label("rank"), *cases.c).subquery("ranked_cases")


def _order(sort: str, ranked: sa.Subquery) -> list:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTS:
        raise ReviewError(f"unknown sort {sort!r}; use one of {', '.join(SORTS)} (prefix '-' to reverse)")
    if key == "rank":
        rank = ranked.c.rank.desc() if descending else ranked.c.rank.asc()
        # closed cases (no rank) come after the open ones, most suspicious first
        return [rank.nulls_last(), ranked.c.score.desc(), ranked.c.case_id]
    column = ranked.c[key]
    return [(column.desc() if descending else column.asc()).nulls_last(), ranked.c.case_id]


def _select_cases(filters: CaseFilter, sort: str = "rank"):
    ranked = ranked_cases()
    return sa.select(ranked).where(*filters.where(ranked)), _order(sort, ranked)


def list_cases(
    store: ReviewStore,
    *,
    status: str | None = None,
    reason: str | None = None,
    scheme: str | None = None,
    assignee: str | None = None,
    min_amount: Decimal | float | None = None,
    sort: str = "rank",
    offset: int = 0,
    limit: int | None = None,
) -> CasePage:
    """One page of cases matching the filters, in ``sort`` order, with the total count.

    ``rank`` is the case's rank among all open cases (not within the filter); closed cases
    have none."""
    if offset < 0 or (limit is not None and limit < 0):
        raise ReviewError("offset and limit must be positive")
    filters = CaseFilter(status, reason, scheme, assignee, min_amount)
    query, order = _select_cases(filters, sort)
    page = query.order_by(*order).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    with store.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
        rows = [dict(r) for r in conn.execute(page).mappings()]
    return CasePage(rows, total, offset, limit, filters)


def workload(store: ReviewStore) -> list[dict]:
    """Open cases and amount at risk per assignee (None = unassigned), most loaded first."""
    query = (
        sa.select(
            cases.c.assigned_to,
            sa.func.count().label("open_cases"),
            sa.func.sum(cases.c.amount_at_risk).label("amount_at_risk"),
        )
        .where(cases.c.status.in_(OPEN))
        .group_by(cases.c.assigned_to)
    )
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        row["amount_at_risk"] = Decimal(str(row["amount_at_risk"] or 0)).quantize(Decimal("0.01"))
    return sorted(rows, key=lambda r: (-r["open_cases"], r["assigned_to"] is None, r["assigned_to"] or ""))


# --------------------------------------------------------------------------- one case


def _case_row(conn: Connection, case_id: str) -> dict:
    ranked = ranked_cases()
    row = conn.execute(sa.select(ranked).where(ranked.c.case_id == case_id)).mappings().first()
    if row is None:
        raise ReviewError(f"no case {case_id}")
    return dict(row)


def _analytics(store: ReviewStore):
    """The read-only published copy (claim lines, events, members), or None before the first run."""
    import duckdb  # only a case's detail needs it: listing stays light

    path = store.analytics_db
    if path is None or not Path(path).exists():
        return None
    return duckdb.connect(str(path), read_only=True)


def _case_data(store: ReviewStore, case: dict) -> dict:
    """Member attributes, claim lines with their flags and account events from the copy."""
    from claimwatch.store.db import sql_text

    con = _analytics(store)
    if con is None:
        return {"member": None, "claims": [], "account_events": [], "data_as_of": None}
    try:
        claim_ids = [c for c in (case["claim_ids"] or "").split(";") if c]
        member = con.sql(sql_text("queue/case_member.sql"), params={"member_id": case["member_id"]})
        lines = con.sql(sql_text("queue/case_lines.sql"), params={"claim_ids": claim_ids})
        events = con.sql(sql_text("queue/case_events.sql"), params={"member_id": case["member_id"]})
        member_rows = member.pl().to_dicts()
        as_of = con.execute("select max(as_of_date) from score_runs").fetchall()[0][0]
        return {
            "member": member_rows[0] if member_rows else None,
            "claims": lines.pl().to_dicts(),
            "account_events": events.pl().to_dicts(),
            "data_as_of": as_of,
        }
    finally:
        con.close()


def get_case(store: ReviewStore, case_id: str, *, actor: str) -> dict:
    """Everything a reviewer needs on one case; the read is audited (action ``view``).

    Keys: ``case`` (the store's row with its rank), ``notes``, ``audit`` (the case's trail),
    ``scheme_cases`` (other cases of its scheme), and from the published analytics copy
    ``member``, ``claims`` (lines with their reason codes), ``account_events``, ``data_as_of``.
    No clear identifier exists to show: members are pseudonymised at ingest."""
    actor = validate_name(actor)
    with store.write() as conn:
        case = _case_row(conn, case_id)
        append_audit(conn, actor, "view", case_id, {"status": case["status"]})
    with store.read() as conn:
        notes = [
            dict(r)
            for r in conn.execute(
                sa.select(case_notes).where(case_notes.c.case_id == case_id).order_by(case_notes.c.note_id)
            ).mappings()
        ]
        scheme_cases = []
        if case["scheme_id"] is not None:
            scheme_cases = [
                dict(r)
                for r in conn.execute(
                    sa.select(cases.c.case_id, cases.c.member_id, cases.c.status, cases.c.score)
                    .where(cases.c.scheme_id == case["scheme_id"], cases.c.case_id != case_id)
                    .order_by(cases.c.score.desc(), cases.c.case_id)
                ).mappings()
            ]
    return {
        "case": case,
        "notes": notes,
        "audit": audit(store, case_id=case_id),
        "scheme_cases": scheme_cases,
        **_case_data(store, case),
    }


def _missing_or_closed(conn: Connection, case_id: str) -> ReviewError:
    status = conn.execute(sa.select(cases.c.status).where(cases.c.case_id == case_id)).scalar()
    if status is None:
        return ReviewError(f"no case {case_id}")
    return ReviewError(f"case {case_id} is already closed ({status})")


def assign_many(
    store: ReviewStore, case_ids: list[str], to: str, *, actor: str, reason: str | None = None
) -> int:
    """Assign open cases to a reviewer in one transaction (all or none); a new case moves to
    in_review. ``reason`` (e.g. a lead's reassignment) goes to the audit log. Returns the count."""
    to = validate_name(to, "--to")
    actor = validate_name(actor)
    reason = validate_note(reason)
    now = datetime.now(UTC)
    with store.write() as conn:
        for case_id in case_ids:
            before = conn.execute(
                sa.select(cases.c.status, cases.c.assigned_to).where(cases.c.case_id == case_id)
            ).first()
            updated = conn.execute(
                cases.update()
                .where(cases.c.case_id == case_id, cases.c.status.in_(OPEN))
                .values(
                    assigned_to=to,
                    status=sa.case((cases.c.status == "new", "in_review"), else_=cases.c.status),
                    review_updated_at=now,
                )
            ).rowcount
            if updated != 1:
                raise _missing_or_closed(conn, case_id)
            details = {"to": to, "previous_assignee": before.assigned_to, "previous_status": before.status}
            if reason:
                details["reason"] = reason
            append_audit(conn, actor, "assign", case_id, details, now=now)
    return len(case_ids)


def assign(store: ReviewStore, case_id: str, to: str, *, actor: str, reason: str | None = None) -> None:
    """Assign an open case to a reviewer; a new case moves to in_review."""
    assign_many(store, [case_id], to, actor=actor, reason=reason)


def _note(conn: Connection, case_id: str, author: str, body: str, now: datetime) -> int:
    return conn.execute(
        case_notes.insert()
        .values(case_id=case_id, author=author, body=body, created_at=now)
        .returning(case_notes.c.note_id)
    ).scalar_one()


def _decide(conn: Connection, case_id: str, decision: str, actor: str, note: str | None, now, extra) -> str:
    new_status = DECISIONS[decision]
    previous = conn.execute(sa.select(cases.c.status).where(cases.c.case_id == case_id)).scalar()
    updated = conn.execute(
        cases.update()
        .where(cases.c.case_id == case_id, cases.c.status.in_(OPEN))
        .values(
            status=new_status,
            decision=decision,
            decided_by=actor,
            decided_at=now,
            note=sa.func.coalesce(note, cases.c.note),
            review_updated_at=now,
        )
    ).rowcount
    if updated != 1:
        raise _missing_or_closed(conn, case_id)
    details = {"decision": decision, "previous_status": previous, "status": new_status, **extra}
    if note:
        details["note_id"] = _note(conn, case_id, actor, note, now)
    append_audit(conn, actor, "decide", case_id, details, now=now)
    return new_status


def _check_decision(decision: str) -> None:
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}")


def decide(store: ReviewStore, case_id: str, decision: str, *, actor: str, note: str | None = None) -> str:
    """Record a decision on an open case; fraud and legitimate close it. Returns the new status.

    Two reviewers deciding the same case at once: the first wins, the second gets
    ``ReviewError('case … is already closed')`` (the update is conditional on the case being open)."""
    _check_decision(decision)
    actor = validate_name(actor)
    note = validate_note(note)
    with store.write() as conn:
        return _decide(conn, case_id, decision, actor, note, datetime.now(UTC), {})


def decide_scheme(
    store: ReviewStore, scheme_id: str, decision: str, *, actor: str, note: str | None = None
) -> dict[str, str]:
    """Decide every open case of a scheme at once (one transaction); return {case_id: status}."""
    _check_decision(decision)
    actor = validate_name(actor)
    note = validate_note(note)
    now = datetime.now(UTC)
    with store.write() as conn:
        ids = list(
            conn.execute(
                sa.select(cases.c.case_id)
                .where(cases.c.scheme_id == scheme_id, cases.c.status.in_(OPEN))
                .order_by(cases.c.case_id)
            ).scalars()
        )
        if not ids:
            raise ReviewError(f"no open case in scheme {scheme_id}")
        return {c: _decide(conn, c, decision, actor, note, now, {"scheme_id": scheme_id}) for c in ids}


def add_note(store: ReviewStore, case_id: str, body: str, *, actor: str) -> int:
    """Add a reviewer's note to a case (open or closed); return the note's id."""
    actor = validate_name(actor)
    body = validate_note(body)
    if body is None:
        raise ReviewError("a note needs some text")
    now = datetime.now(UTC)
    with store.write() as conn:
        _case_row(conn, case_id)
        note_id = _note(conn, case_id, actor, body, now)
        append_audit(conn, actor, "note", case_id, {"note_id": note_id, "length": len(body)}, now=now)
    return note_id
