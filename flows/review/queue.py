"""Review queue commands: list, show, assign, decide, export — every change audited."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from claimwatch.store.db import Database

OPEN = ("new", "in_review", "needs_info")
CLOSED = ("closed_fraud", "closed_legitimate")
STATUSES = OPEN + CLOSED
DECISIONS = {"fraud": "closed_fraud", "legitimate": "closed_legitimate", "needs_info": "needs_info"}
EXPORT_COLUMNS = ("rank", "case_id", "member_id", "score", "amount_at_risk", "claim_ids", "reasons", "status")
# A cell starting with one of these runs as a formula in a spreadsheet (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ReviewError(ValueError):
    """A review command that cannot be carried out (unknown case, bad status...)."""


def statuses_for(status: str | None) -> tuple[str, ...]:
    """Expand a --status filter: a status, 'open' (default), 'closed' or 'all'."""
    if status in (None, "open"):
        return OPEN
    if status == "closed":
        return CLOSED
    if status == "all":
        return STATUSES
    if status not in STATUSES:
        raise ReviewError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}, open, closed, all")
    return (status,)


def audit(
    db: Database,
    actor: str,
    action: str,
    case_id: str | None,
    details: dict,
    row_count: int | None = None,
    file_sha256: str | None = None,
) -> None:
    """Append one row to the audit log (never updated, never deleted)."""
    db.con.execute(
        "insert into audit_log (actor, action, case_id, details, row_count, file_sha256) "
        "values (?, ?, ?, ?, ?, ?)",
        [actor, action, case_id, json.dumps(details, default=str), row_count, file_sha256],
    )


def list_cases(db: Database, status: str | None = None, top: int | None = None) -> pl.DataFrame:
    """Cases in queue order (open cases by rank, then closed ones by score)."""
    wanted = statuses_for(status)
    query = f"""
        select rank, case_id, member_id, round(score, 2) as score, amount_at_risk,
            claim_ids, reasons, status, scheme_id,
            -- the scheme's other members (any status), ';'-separated
            (select string_agg(distinct o.member_id, ';' order by o.member_id) from cases as o
             where o.scheme_id = cases.scheme_id and o.member_id <> cases.member_id) as scheme_members,
            assigned_to, decision, decided_by, decided_at, note,
            reason_codes, opened_at, updated_at, previous_case_id
        from cases
        where status in ({", ".join("?" for _ in wanted)})
        order by rank nulls last, score desc, case_id
        {"limit " + str(int(top)) if top else ""}
    """
    return db.con.sql(query, params=list(wanted)).pl()


def _case(db: Database, case_id: str) -> tuple:
    rows = db.con.execute(
        "select case_id, status, member_id from cases where case_id = ?", [case_id]
    ).fetchall()
    if not rows:
        raise ReviewError(f"no case {case_id}")
    return rows[0]


def show_case(db: Database, case_id: str) -> dict:
    """Everything a reviewer needs on one case (no clear identifier exists to show)."""
    _case(db, case_id)
    case = db.con.sql("select * from cases where case_id = ?", params=[case_id]).pl().to_dicts()[0]
    case["scheme_members"] = [
        r[0]
        for r in db.con.execute(
            "select distinct member_id from cases where scheme_id = ? and member_id <> ? order by member_id",
            [case.get("scheme_id"), case["member_id"]],
        ).fetchall()
    ]
    member = (
        db.con.sql(
            """
        select m.member_id, m.subscriber_id, m.sex, m.birth_date, m.department, m.contract_start,
            m.iban_country, m.iban_bank_code, m.email_domain,
            (select string_agg(breach_name || ' (' || matched_type || ')', ', ')
             from breach_exposure as b where b.member_id = m.member_id) as breaches
        from members as m where m.member_id = ?
        """,
            params=[case["member_id"]],
        )
        .pl()
        .to_dicts()
    )
    lines = (
        db.con.sql(
            """
        select cl.claim_id, cl.care_date, cl.received_date, cl.source, cl.care_category,
            cl.act_code, cl.provider_id, cl.claimed_amount, cl.payee, cl.payee_iban_country,
            (select string_agg(distinct cs.reason_code, ';') from claim_scores as cs
             where cs.claim_id = cl.claim_id and cs.run_id = c.last_run_id) as reason_codes
        from case_claims as cc
        join cases as c on c.case_id = cc.case_id
        join claims as cl on cl.claim_id = cc.claim_id
        where cc.case_id = ?
        order by cl.care_date, cl.claim_id
        """,
            params=[case_id],
        )
        .pl()
        .to_dicts()
    )
    events = (
        db.con.sql(
            """
        select event_time, event_type, channel, ip_country, new_iban_country, new_iban_bank_code,
            new_email_domain, new_postcode
        from account_events where member_id = ? order by event_time
        """,
            params=[case["member_id"]],
        )
        .pl()
        .to_dicts()
    )
    history = (
        db.con.sql(
            "select logged_at, actor, action, details from audit_log where case_id = ? order by audit_id",
            params=[case_id],
        )
        .pl()
        .to_dicts()
    )
    return {
        "case": case,
        "member": member[0] if member else None,
        "claims": lines,
        "account_events": events,
        "audit": history,
    }


def assign(db: Database, case_id: str, to: str, actor: str) -> None:
    """Assign a case to a reviewer; a new case moves to in_review."""
    if not to.strip():
        raise ReviewError("--to needs a reviewer name")
    _, status, _ = _case(db, case_id)
    if status in CLOSED:
        raise ReviewError(f"case {case_id} is closed ({status})")
    db.con.execute(
        "update cases set assigned_to = ?, status = case when status = 'new' then 'in_review' "
        "else status end, updated_at = ? where case_id = ?",
        [to, datetime.now(UTC), case_id],
    )
    audit(db, actor, "assign", case_id, {"to": to, "previous_status": status})


def decide(db: Database, case_id: str, decision: str, by: str, note: str | None = None) -> str:
    """Record a reviewer's decision; fraud and legitimate close the case."""
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}")
    if not by.strip():
        raise ReviewError("--by needs the reviewer's name")
    _, status, _ = _case(db, case_id)
    if status in CLOSED:
        raise ReviewError(f"case {case_id} is already closed ({status})")
    new_status = DECISIONS[decision]
    now = datetime.now(UTC)
    db.con.execute(
        """
        update cases set status = ?, decision = ?, decided_by = ?, decided_at = ?,
            note = coalesce(?, note), updated_at = ?,
            rank = case when ? in ('closed_fraud', 'closed_legitimate') then null else rank end
        where case_id = ?
        """,
        [new_status, decision, by, now, note, now, new_status, case_id],
    )
    db.run_script("queue/rank_open_cases.sql")
    audit(
        db,
        by,
        "decide",
        case_id,
        {"decision": decision, "previous_status": status, "status": new_status, "note": note},
    )
    return new_status


def decide_scheme(db: Database, scheme_id: str, decision: str, by: str, note: str | None = None) -> list[str]:
    """Record one decision on every open case of a scheme (each case audited); return their ids."""
    open_cases = [
        r[0]
        for r in db.con.execute(
            "select case_id from cases where scheme_id = ? and status in ('new', 'in_review', 'needs_info')"
            " order by case_id",
            [scheme_id],
        ).fetchall()
    ]
    if not open_cases:
        raise ReviewError(f"scheme {scheme_id} has no open case")
    for case_id in open_cases:
        decide(db, case_id, decision, by, note)
    return open_cases


def recovery_frame(db: Database, top: int | None = None) -> pl.DataFrame:
    """The recovery list of the latest run: overpayments (honest double submissions), largest
    first, with the export's required columns (no case: these are not fraud alerts)."""
    query = f"""
        select
            cast(row_number() over (order by amount desc, member_id) as integer) as rank,
            cast(null as varchar) as case_id, member_id, score, amount as amount_at_risk, claim_ids, reasons,
            'to_recover' as status
        from recovery_scores
        where run_id = (select max(run_id) from score_runs)
        order by rank
        {"limit " + str(int(top)) if top else ""}
    """
    return db.con.sql(query).pl()


def _neutralised(column: str) -> pl.Expr:
    """Prefix a cell a spreadsheet would run as a formula with a quote (vectorised)."""
    col = pl.col(column)
    starts = pl.any_horizontal([col.str.starts_with(p) for p in FORMULA_PREFIXES])
    return pl.when(starts.fill_null(False)).then(pl.lit("'") + col).otherwise(col).alias(column)


def export_frame(db: Database, status: str | None = None, top: int | None = None) -> pl.DataFrame:
    """The export's rows: the required columns first, in rank order."""
    frame = list_cases(db, status, top)
    return frame.select(*EXPORT_COLUMNS, *[c for c in frame.columns if c not in EXPORT_COLUMNS])


def export(
    db: Database,
    fmt: str,
    out: Path,
    actor: str,
    status: str | None = None,
    top: int | None = None,
    list_name: str = "fraud",
) -> tuple[int, str]:
    """Write the fraud queue (or the recovery list) to CSV, XLSX or Parquet; return (rows,
    sha256 of the file)."""
    if list_name not in ("fraud", "recovery"):
        raise ReviewError("--list must be fraud or recovery")
    frame = export_frame(db, status, top) if list_name == "fraud" else recovery_frame(db, top)
    out.parent.mkdir(parents=True, exist_ok=True)
    text_columns = [c for c, t in frame.schema.items() if t == pl.String]
    if fmt == "csv":
        frame.with_columns(_neutralised(c) for c in text_columns).write_csv(out)
    elif fmt == "xlsx":
        from xlsxwriter import Workbook

        # strings stay strings: no formula, no URL conversion (OWASP CSV/formula injection)
        with Workbook(
            str(out),
            {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "remove_timezone": True,
            },
        ) as book:
            frame.write_excel(workbook=book, worksheet="cases", autofit=True)
    elif fmt == "parquet":
        frame.write_parquet(out)
    else:
        raise ReviewError("format must be csv, xlsx or parquet")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    audit(
        db,
        actor,
        "export",
        None,
        {"format": fmt, "file": str(out), "status": status or "open", "top": top, "list": list_name},
        row_count=frame.height,
        file_sha256=digest,
    )
    return frame.height, digest
