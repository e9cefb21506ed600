"""The ``claimwatch`` command line (stable interface: insurers' scripts rely on it)."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Annotated, NoReturn

import polars as pl
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from claimwatch.errors import ClaimwatchError, InputError, NoDatabaseError, OutputPathError, output_path_error
from claimwatch.settings import Settings, apply_privacy_defaults

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Catch identity-usurpation fraud in health reimbursements.",
)
queue_app = typer.Typer(no_args_is_help=True, help="Work the review queue.")
app.add_typer(queue_app, name="queue")
users_app = typer.Typer(no_args_is_help=True, help="Users of the web app (reviewers and leads).")
app.add_typer(users_app, name="users")
# data (member ids, reasons, file names) is printed as it is: no console markup is ever parsed
# in it (a member id such as "[/]M51417016" is text, not a rich tag)
console = Console(markup=False)
err = Console(stderr=True, markup=False)

DbOption = Annotated[
    Path | None, typer.Option("--db", help="DuckDB file (default: $CLAIMWATCH_DB or ./claimwatch.duckdb)")
]
InboxOption = Annotated[
    Path | None, typer.Option("--inbox", help="input directory (default: $CLAIMWATCH_INBOX or ./inbox)")
]


_STATE = {"debug": False}  # set once by main() from --debug


def _settings(db: Path | None = None, inbox: Path | None = None) -> Settings:
    """Build the command's Settings once: the environment (and .env), then its options."""
    overrides = {name: value for name, value in (("db", db), ("inbox", inbox)) if value is not None}
    settings = Settings(**overrides)
    apply_privacy_defaults(settings)
    return settings


def _one_line(message: object) -> str:
    from claimwatch.store.privacy import redact

    text = str(message).strip()
    return redact(text.splitlines()[0] if text else "failed")


def _fail(message: str) -> NoReturn:
    """Stop the command with one line ``error: …`` on stderr and exit code 1."""
    raise ClaimwatchError(message)


def _actor(name: str | None, settings: Settings) -> str:
    return name or settings.user or getpass.getuser()


@contextmanager
def _writing(out: Path) -> Iterator[None]:
    """Turn any failure to write ``out`` into one OutputPathError line."""
    if out.is_dir():
        raise OutputPathError(f"cannot write {out}: it is a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        yield
    except OSError as exc:
        raise output_path_error(out, exc) from None
    except pl.exceptions.PolarsError as exc:
        raise OutputPathError(f"cannot write {out}: {_one_line(exc)}") from None


def _print_summary(summary: dict) -> None:
    ingest = summary.get("ingest", {})
    # fewer columns on a narrow terminal; the note folds into what is left
    headers = ["file", *(["kind"] if _wide(100) else []), "status", "read", "loaded", "quarantined"]
    headers += [*(["seconds"] if _wide(90) else []), "note"]
    rows = []
    for f in ingest.get("files", []):
        note = f.get("reason") or "; ".join(f.get("warnings", []))
        cells = {
            "file": f["file_name"],
            "kind": f["kind"],
            "status": f["status"],
            "read": f"{f['rows_read']:,}",
            "loaded": f"{f['rows_loaded']:,}",
            "quarantined": f"{f['rows_quarantined']:,}",
            "seconds": f"{sum(f['seconds'].values()):.2f}",
            "note": note or "",
        }
        rows.append([cells[h] for h in headers])
    table = _fitted(
        headers,
        rows,
        flexible="note",
        fold=True,
        right=("read", "loaded", "quarantined", "seconds"),
        title=f"run {summary.get('run_id')}",
    )
    console.print(table)
    for q in ingest.get("quarantine_sample", []):
        console.print(
            f"  quarantined: {q['file_name']} line {q['line']}, column {q['columns']}: {q['reasons']}",
            highlight=False,
        )
    if ingest.get("totals", {}).get("rows_quarantined", 0) > len(ingest.get("quarantine_sample", [])):
        console.print('  … every rejected line: claimwatch sql "select * from v_quarantine"', highlight=False)
    totals = ingest.get("totals", {})
    score = summary.get("score", {})
    queue = summary.get("queue", {})
    seconds = summary.get("seconds", {})
    console.print(
        f"rows read {totals.get('rows_read', 0):,}, loaded {totals.get('rows_loaded', 0):,}, "
        f"quarantined {totals.get('rows_quarantined', 0):,}; held-back lines released "
        f"{ingest.get('released_lines', 0):,}; breach-exposed members {ingest.get('exposed_members', 0):,}"
    )
    console.print(
        f"members scored {score.get('members_scored', 0):,}, flagged {score.get('members_flagged', 0):,}; "
        f"open cases {queue.get('open_cases', 0):,} ({queue.get('opened_this_run', 0):,} new), "
        f"amount at risk {queue.get('amount_at_risk', 0):,.0f} €"
    )
    console.print("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))
    published = summary.get("published", {})
    if published:
        console.print(f"report: {published.get('report')}\nanalytics copy: {published.get('analytics_db')}")


def _run(settings: Settings, full: bool = False) -> dict:
    """Check what a run needs, run the flow, return its summary as recorded."""
    from claimwatch.pipelines.run import run_with
    from claimwatch.store.db import connect

    # the database, its key and its lock are checked before Prefect starts: a refusal is one line
    connect(settings).close()
    if not settings.inbox.is_dir():
        raise InputError(f"inbox {settings.inbox} is not a directory")
    if settings.run_nice > 0:
        # a batch job: reviewers' and analysts' commands on the same machine come first
        os.nice(min(settings.run_nice, 19))
    _quiet_prefect_tracebacks()
    with console.status("claimwatch run…") as status:
        try:
            summary = run_with(settings, lambda name, stage: status.update(f"{stage}: {name}"), full=full)
        except ClaimwatchError:
            raise
        except Exception as exc:  # the run rolled back: the database is as it was before it
            raise ClaimwatchError(
                f"run failed, database unchanged: {type(exc).__name__}: {_one_line(exc)}"
            ) from exc
    return summary.as_dict()


@app.command()
def init(db: DbOption = None) -> None:
    """Create a new database and its pseudonymisation key (nothing else creates one)."""
    from claimwatch.store.db import init_database

    settings = _settings(db)
    fingerprint = init_database(settings)
    source = "CLAIMWATCH_KEY" if settings.key is not None else f"key file {settings.resolved_key_file}"
    console.print(f"created {settings.db} (key fingerprint {fingerprint[:12]}…, from {source})", markup=False)


@app.command()
def run(
    db: DbOption = None,
    inbox: InboxOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    full: Annotated[
        bool, typer.Option("--full", help="rebuild every feature and the portfolio aggregates")
    ] = False,
) -> None:
    """Ingest the inbox, score what it touches (the whole history with --full), refresh the queue."""
    summary = _run(_settings(db, inbox), full)
    if json_out:
        console.print_json(json.dumps(summary, default=str))
    else:
        _print_summary(summary)


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="directory to write the inbox to")],
    members: Annotated[int, typer.Option("--members", min=50)] = 5000,
    seed: Annotated[int, typer.Option("--seed")] = 42,
) -> None:
    """Write a synthetic inbox (members, events, claims, breach list, labels)."""
    from claimwatch.sample_data.generator import generate_inbox

    counts = generate_inbox(out, members=members, seed=seed)
    console.print(f"wrote {out}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


def _print_evaluation(result: dict) -> None:
    table = Table(
        title=f"evaluation ({result['fraud_members']} defrauded members, {result['open_cases']} open cases)"
    )
    for col in ("k", "precision", "member recall", "incident recall", "fraud € recall"):
        table.add_column(col, justify="right")
    for k, m in result["at_k"].items():
        table.add_row(
            str(k),
            f"{m['precision']:.2f}",
            f"{m['member_recall']:.2f}",
            f"{m['incident_recall']:.2f}",
            f"{m['fraud_euro_recall']:.2f}",
        )
    console.print(table)
    console.print(
        f"average precision: cases {result['average_precision_cases']:.3f}, "
        f"members {result['average_precision_members']:.3f}"
    )
    per = Table(title="recall per pattern")
    per.add_column("pattern")
    per.add_column("incidents", justify="right")
    ks = [k for k in result["at_k"]]
    for k in ks:
        per.add_column(f"@{k}", justify="right")
    for name, m in result["per_scenario"].items():
        per.add_row(name, str(m["incidents"]), *[f"{m[f'recall@{k}']:.2f}" for k in ks])
    console.print(per)


def _parse_ks(k: str) -> list[int]:
    try:
        ks = [int(x) for x in k.split(",") if x.strip()]
    except ValueError:
        _fail(f"--k must be comma-separated integers, got {k!r}")
    if not ks or min(ks) <= 0:
        _fail("--k needs positive integers")
    return ks


@app.command()
def evaluate(
    labels: Annotated[
        Path | None, typer.Option("--labels", help="labels file (default: the loaded labels)")
    ] = None,
    k: Annotated[str, typer.Option("--k")] = "50,100,200",
    db: DbOption = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Precision@k, recall@k and average precision of the queue against labels."""
    from claimwatch.scoring.evaluate import evaluate as run_evaluation
    from claimwatch.store.db import connect

    settings = _settings(db)
    ks = _parse_ks(k)
    database = connect(settings, read_only=True)
    try:
        result = run_evaluation(database, labels, ks)
    finally:
        database.close()
    if json_out:
        console.print_json(json.dumps(result, default=str))
    else:
        _print_evaluation(result)


@app.command()
def demo(db: DbOption = None, inbox: InboxOption = None) -> None:
    """Sample inbox (if absent) → run → summary → evaluation."""
    from claimwatch.scoring.evaluate import evaluate as run_evaluation
    from claimwatch.store.db import connect

    settings = _settings(db, inbox)
    if not settings.db.exists():
        connect(settings, create=True).close()
        console.print(f"created {settings.db}", markup=False)
    if not settings.inbox.exists() or not any(settings.inbox.iterdir()):
        bundled = files("claimwatch.sample_data") / "inbox"
        settings.inbox.mkdir(parents=True, exist_ok=True)
        copied = 0
        for item in bundled.iterdir():
            if item.name.endswith(".csv"):
                (settings.inbox / item.name).write_bytes(item.read_bytes())
                copied += 1
        if not copied:
            from claimwatch.sample_data.generator import generate_inbox

            generate_inbox(settings.inbox, members=3000, seed=7)
        console.print(f"sample inbox written to {settings.inbox}")
    summary = _run(settings)
    _print_summary(summary)

    database = connect(settings, read_only=True)
    try:
        if database.con.execute("select count(*) from labels").fetchall()[0][0]:
            _print_evaluation(run_evaluation(database, None, [50, 100, 200]))
    finally:
        database.close()


# --------------------------------------------------------------------------- queue
# Reviewers' commands use only the review store (and the published analytics copy for a case's
# lines and events): they never open the live DuckDB file, so a run never blocks them.


def _with_store(settings: Settings, fn):
    from claimwatch.review.store import open_store

    if not settings.db.exists():  # a typo'd --db names the database, not a missing store
        raise NoDatabaseError(
            f"no claimwatch database at {settings.db}: create one with `claimwatch init --db {settings.db}`"
        )
    store = open_store(settings, create=False)
    try:
        return fn(store)
    finally:
        store.close()


def _fitted(
    headers: list[str],
    rows: list[list[str]],
    *,
    flexible: str | None = None,
    right: tuple[str, ...] = (),
    fold: bool = False,
    title: str | None = None,
) -> Table:
    """A borderless table that fits the terminal: every column at its natural width but the
    ``flexible`` one (cut with an ellipsis, or folded), or, without one, long columns sharing what
    is left evenly."""
    natural = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    omitted = 0
    if flexible is None:
        # keep the first columns that fit at a readable width (up to 30 characters each)
        kept, used = 0, 0
        for n in natural:
            if kept and used + min(n, 30) + 2 > console.width:
                break
            kept, used = kept + 1, used + min(n, 30) + 2
        omitted = len(headers) - kept
        headers, natural, rows = headers[:kept], natural[:kept], [r[:kept] for r in rows]
    room = console.width - 2 * len(headers)
    table = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold", title=title)
    if flexible is not None:
        budgets = {
            flexible: max(8, room - sum(n for h, n in zip(headers, natural, strict=True) if h != flexible))
        }
    else:
        budgets, left, pending = {}, room, sorted(zip(natural, headers, strict=True))
        while pending:  # narrow columns keep their width, the wide ones share the rest
            share = max(6, left // len(pending))
            width, header = pending.pop(0)
            budgets[header] = min(width, share)
            left -= budgets[header]
    for h in headers:
        table.add_column(
            h,
            justify="right" if h in right else "left",
            no_wrap=not (fold and h == flexible),
            overflow="fold" if fold and h == flexible else "ellipsis",
            max_width=budgets.get(h),
        )
    for r in rows:
        table.add_row(*r)
    if flexible is None and (omitted or any(budgets[h] < n for h, n in zip(headers, natural, strict=True))):
        more = f"{omitted} more column(s) and l" if omitted else "L"
        table.caption = f"{more}ong values cut to the terminal's width: --format csv shows them whole"
    return table


def _wide(columns: int) -> bool:
    """True when the terminal has room for ``columns`` characters."""
    return console.width >= columns


StatusOption = Annotated[
    str | None,
    typer.Option(
        "--status",
        help="new, in_review, needs_info, closed_fraud, closed_legitimate, open (default), closed, all",
    ),
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="cases with this reason code")]
SchemeOption = Annotated[str | None, typer.Option("--scheme", help="cases of this scheme")]
AssigneeOption = Annotated[
    str | None, typer.Option("--assignee", help="cases assigned to NAME ('-' for unassigned)")
]
MinAmountOption = Annotated[float | None, typer.Option("--min-amount", help="amount at risk at least (EUR)")]
ByOption = Annotated[str | None, typer.Option("--by", help="who acts (default: $CLAIMWATCH_USER or login)")]


def _assignee(value: str | None) -> str | None:
    from claimwatch.review.queue import UNASSIGNED

    return UNASSIGNED if value == "-" else value


def _money(value) -> str:
    return f"{float(value or 0):,.0f} €".replace(",", "\u202f")


@queue_app.command("list")
def queue_list(
    status: StatusOption = None,
    reason: ReasonOption = None,
    scheme: SchemeOption = None,
    assignee: AssigneeOption = None,
    min_amount: MinAmountOption = None,
    sort: Annotated[
        str, typer.Option("--sort", help="rank, score, amount_at_risk, opened_at… ('-' reverses)")
    ] = "rank",
    top: Annotated[int | None, typer.Option("--top", min=1)] = None,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    db: DbOption = None,
) -> None:
    """List cases, most suspicious first."""
    from claimwatch.review.queue import list_cases

    page = _with_store(
        _settings(db),
        lambda s: list_cases(
            s,
            status=status,
            reason=reason,
            scheme=scheme,
            assignee=_assignee(assignee),
            min_amount=min_amount,
            sort=sort,
            offset=offset,
            limit=top,
        ),
    )
    # fewer columns on a narrow terminal; reasons take the rest of the line, cut with an ellipsis
    show_member, show_assigned = _wide(100), _wide(120)
    headers = ["rank", "case", *(["member"] if show_member else []), "score", "at risk", "status"]
    headers += [*(["assigned", "scheme"] if show_assigned else []), "reasons"]
    rows = []
    for r in page.rows:
        cells = [str(r["rank"] or ""), r["case_id"]]
        if show_member:
            cells.append(r["member_id"])
        cells += [f"{r['score']:.1f}", _money(r["amount_at_risk"]), r["status"]]
        if show_assigned:
            cells += [r["assigned_to"] or "", r["scheme_id"] or ""]
        cells.append((r["reason_codes"] or "").replace(";", ", "))
        rows.append(cells)
    console.print(_fitted(headers, rows, flexible="reasons", right=("rank", "score", "at risk")))
    shown = len(page.rows)
    more = (
        f" (rows {offset + 1}-{offset + shown} of {page.total}; --offset for more)"
        if shown < page.total
        else ""
    )
    console.print(f"{shown} case(s){more}", highlight=False)


def _print_case(detail: dict) -> None:
    case = detail["case"]
    rank = f"rank {case['rank']}, " if case["rank"] else ""
    console.print(
        Text.assemble(
            (str(case["case_id"]), "bold"),
            f" member {case['member_id']} — {case['status']}, {rank}"
            f"score {case['score']:.1f}, at risk {float(case['amount_at_risk']):,.2f} €",
        ),
        highlight=False,
    )
    if case.get("scheme_id"):
        others = ", ".join(c["case_id"] for c in detail["scheme_cases"]) or "no other case"
        console.print(f"scheme {case['scheme_id']}: {others}", highlight=False)
    if case.get("assigned_to"):
        console.print(f"assigned to {case['assigned_to']}", highlight=False)
    if case.get("decision"):
        console.print(
            f"decision {case['decision']} by {case['decided_by']} at {case['decided_at']:%Y-%m-%d %H:%M} UTC",
            highlight=False,
        )
    console.print("Reasons", style="bold")
    for reason in (case["reasons"] or "").split(" | "):
        console.print(f"  • {reason}", highlight=False)
    if detail["member"]:
        m = detail["member"]
        console.print(
            Text.assemble(
                ("Member", "bold"),
                f" {m['sex']}, born {m['birth_date']}, dept {m['department']}, "
                f"contract {m['subscriber_id']} since {m['contract_start']}, bank {m['iban_country'] or '?'} "
                f"{m['iban_bank_code'] or ''}; breaches: {m['breaches'] or 'none'}",
            )
        )
    wide, medium = _wide(130), _wide(100)
    headers = ["claim", "care", *(["received", "source"] if wide else []), "act"]
    headers += [
        *(["category", "provider"] if medium else []),
        "claimed",
        *(["payee"] if wide else []),
        "reasons",
    ]
    rows = []
    for r in detail["claims"]:
        cells = [r["claim_id"], str(r["care_date"])]
        if wide:
            cells += [str(r["received_date"]), r["source"]]
        cells.append(r["act_code"])
        if medium:
            cells += [r["care_category"], r["provider_id"]]
        cells.append(f"{float(r['claimed_amount']):,.2f}")
        if wide:
            cells.append(f"{r['payee']} {r['payee_iban_country'] or ''}".strip())
        cells.append((r["reason_codes"] or "").replace(";", ", "))
        rows.append(cells)
    console.print(
        _fitted(headers, rows, flexible="reasons", right=("claimed",), fold=True, title="claim lines")
    )
    headers = [
        "time",
        "event",
        "channel",
        "IP",
        "new bank",
        *(["new e-mail domain", "new postcode"] if wide else []),
    ]
    rows = []
    for e in detail["account_events"]:
        cells = [
            f"{e['event_time']:%Y-%m-%d %H:%M}",
            e["event_type"],
            e["channel"],
            e["ip_country"] or "",
            f"{e['new_iban_country'] or ''} {e['new_iban_bank_code'] or ''}".strip(),
        ]
        if wide:
            cells += [e["new_email_domain"] or "", e["new_postcode"] or ""]
        rows.append(cells)
    console.print(_fitted(headers, rows, title="account events"))
    for n in detail["notes"]:
        console.print(f"note {n['created_at']:%Y-%m-%d %H:%M} {n['author']}: {n['body']}", highlight=False)
    for a in detail["audit"]:
        console.print(
            f"audit {a['logged_at']:%Y-%m-%d %H:%M:%S} UTC {a['actor']} {a['action']} "
            + json.dumps(a["details"], ensure_ascii=False),
            highlight=False,
        )


@queue_app.command("show")
def queue_show(
    case_id: str,
    by: ByOption = None,
    db: DbOption = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one case: reasons, claim lines, account events, notes, audit trail (the view is audited)."""
    from claimwatch.review.queue import get_case

    settings = _settings(db)
    detail = _with_store(settings, lambda s: get_case(s, case_id, actor=_actor(by, settings)))
    if json_out:
        console.print_json(json.dumps(detail, default=str))
    else:
        _print_case(detail)


@queue_app.command("assign")
def queue_assign(
    case_ids: Annotated[list[str], typer.Argument(help="one or more case ids")],
    to: Annotated[str, typer.Option("--to")],
    by: ByOption = None,
    reason: Annotated[str | None, typer.Option("--reason", help="why (a reassignment), audited")] = None,
    db: DbOption = None,
) -> None:
    """Assign cases to a reviewer (all or none)."""
    from claimwatch.review.queue import assign_many

    settings = _settings(db)
    n = _with_store(
        settings, lambda s: assign_many(s, case_ids, to, actor=_actor(by, settings), reason=reason)
    )
    console.print(f"{', '.join(case_ids) if n == 1 else f'{n} cases'} assigned to {to}", highlight=False)


@queue_app.command("decide")
def queue_decide(
    case_id: Annotated[str | None, typer.Argument(help="the case (or --scheme)")] = None,
    decision: Annotated[str, typer.Option("--decision", help="fraud | legitimate | needs_info")] = "",
    by: Annotated[str, typer.Option("--by")] = "",
    note: Annotated[str | None, typer.Option("--note")] = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="decide every open case of a scheme")] = None,
    db: DbOption = None,
) -> None:
    """Record a reviewer's decision on a case, or on every open case of a scheme."""
    from claimwatch.review.queue import decide, decide_scheme

    if (case_id is None) == (scheme is None):
        _fail("give a case id or --scheme SCHEME_ID (not both)")
    if not decision:
        _fail("--decision is required: fraud, legitimate or needs_info")
    settings = _settings(db)
    if scheme is not None:
        decided = _with_store(settings, lambda s: decide_scheme(s, scheme, decision, actor=by, note=note))
        for c, status in decided.items():
            console.print(f"{c} → {status}", highlight=False)
        return
    status = _with_store(settings, lambda s: decide(s, case_id, decision, actor=by, note=note))
    console.print(f"{case_id} → {status}", highlight=False)


@queue_app.command("note")
def queue_note(
    case_id: str,
    text: Annotated[str, typer.Option("--text", help="the note")],
    by: ByOption = None,
    db: DbOption = None,
) -> None:
    """Add a note to a case (audited)."""
    from claimwatch.review.queue import add_note

    settings = _settings(db)
    note_id = _with_store(settings, lambda s: add_note(s, case_id, text, actor=_actor(by, settings)))
    console.print(f"{case_id}: note {note_id} added", highlight=False)


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv | xlsx | parquet")],
    out: Annotated[Path, typer.Option("--out")],
    status: StatusOption = None,
    reason: ReasonOption = None,
    scheme: SchemeOption = None,
    assignee: AssigneeOption = None,
    min_amount: MinAmountOption = None,
    top: Annotated[int | None, typer.Option("--top", min=1)] = None,
    by: Annotated[str | None, typer.Option("--by", help="who exports (audit log)")] = None,
    list_name: Annotated[
        str, typer.Option("--list", help="fraud (the queue) | recovery (overpayments to recover)")
    ] = "fraud",
    db: DbOption = None,
) -> None:
    """Export the queue (rank order) to CSV, XLSX or Parquet, from the review store."""
    from claimwatch.review.export import FORMATS
    from claimwatch.review.export import export as run_export

    if fmt not in FORMATS:
        _fail("--format must be csv, xlsx or parquet")
    settings = _settings(db)
    with _writing(out):
        result = _with_store(
            settings,
            lambda s: run_export(
                s,
                fmt,
                out,
                actor=_actor(by, settings),
                top=top,
                status=status,
                reason=reason,
                scheme=scheme,
                assignee=_assignee(assignee),
                min_amount=min_amount,
                list_name=list_name,
            ),
        )
    console.print(f"wrote {result.rows} row(s) to {out} (sha256 {result.sha256[:16]}…)", highlight=False)


def _store_tables(settings: Settings, query: str) -> dict:
    """The review store's tables a query reads, directly or through a view (sql/views)."""
    import re

    import duckdb

    from claimwatch.review.store import ReviewError, open_store
    from claimwatch.review.sync import store_frames
    from claimwatch.store.db import sql_files, sql_text

    try:
        kinds = {s.type for s in duckdb.extract_statements(query)}
    except duckdb.Error:
        return {}  # DuckDB reports the syntax error when the query runs
    if not kinds <= {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}:
        return {}  # a write: the read-only copy refuses it
    words = set(re.findall(r"[a-z_]+", query.lower()))
    texts = [query.lower()] + [sql_text(f).lower() for f in sql_files("views") if Path(f).stem in words]
    wanted = {
        t for t in ("cases", "audit_log", "case_notes") if any(re.search(rf"\b{t}\b", x) for x in texts)
    }
    if not wanted:
        return {}
    try:
        store = open_store(settings, create=False)
    except ReviewError:
        return {}  # no run wrote a store yet: the copy's own tables answer
    try:
        return store_frames(store, wanted)
    finally:
        store.close()


@app.command()
def sql(
    query: str,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | parquet")] = "table",
    out: Annotated[Path | None, typer.Option("--out")] = None,
    live: Annotated[
        bool, typer.Option("--live", help="query the live database instead of the published copy")
    ] = False,
    db: DbOption = None,
) -> None:
    """Run a read-only analyst query: cases, audit log and notes as in the review store now, the
    rest from the copy published by the last run."""
    from claimwatch.publish.analytics import run_query

    settings = _settings(db)
    if fmt not in ("table", "csv", "parquet"):
        _fail("--format must be table, csv or parquet")
    if fmt == "parquet" and out is None:
        _fail("--format parquet needs --out FILE")
    frame = run_query(settings, query, live=live, tables=_store_tables(settings, query))
    if fmt == "parquet":
        with _writing(out):
            frame.write_parquet(out)
        console.print(f"wrote {frame.height} row(s) to {out}", markup=False)
    elif fmt == "csv":
        if out:
            with _writing(out):
                frame.write_csv(out)
            console.print(f"wrote {frame.height} row(s) to {out}", markup=False)
        else:
            sys.stdout.write(frame.write_csv())
    else:
        shown = [["" if v is None else str(v) for v in r] for r in frame.head(200).iter_rows()]
        table = _fitted(list(frame.columns), shown)
        console.print(table)
        console.print(
            f"{frame.height} row(s)" + (" (first 200 shown)" if frame.height > 200 else ""), highlight=False
        )


@app.command()
def purge(db: DbOption = None) -> None:
    """Apply retention: purge legitimate and stale unqualified cases, old confirmed ones."""
    from claimwatch.pipelines.purge import purge_with
    from claimwatch.store.db import connect

    settings = _settings(db)
    connect(settings).close()  # no database, another key or a busy file: one line, before Prefect
    _quiet_prefect_tracebacks()
    counts = purge_with(settings)
    console.print("purged: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command()
def serve(db: DbOption = None, inbox: InboxOption = None) -> None:
    """Serve the Prefect deployments with their schedules (needs a Prefect server)."""
    from claimwatch.pipelines.deployments import check_server, serve_deployments
    from claimwatch.store.db import connect

    settings = _settings(db, inbox)
    connect(settings).close()
    _quiet_prefect_tracebacks()
    check_server()
    serve_deployments(settings)


# --------------------------------------------------------------------------- web app


def _users(settings: Settings, fn):
    """Run ``fn(store)`` on the review store; a refusal is one ``error:`` line (and, unlike
    ``_with_store``, costs no import of the scoring room)."""
    from claimwatch.review.store import open_store

    store = open_store(settings)
    try:
        return fn(store)
    finally:
        store.close()


def _read_password(from_stdin: bool) -> str:
    """The new user's password: one line of stdin, or typed twice at a prompt (never echoed)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("password again: ") != password:
            _fail("the two passwords differ")
    if not password:
        _fail("no password given")
    return password


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option("--role", help="reviewer | lead")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin (one line)")
    ] = False,
    db: DbOption = None,
) -> None:
    """Create a web app user; the password (Argon2-hashed) is read from stdin or prompted."""
    from claimwatch.review.users import add_user

    settings = _settings(db)
    password = _read_password(password_stdin)
    user = _users(settings, lambda s: add_user(s, name, role, password, actor=_actor(None, settings)))
    console.print(f"user {user['name']} added ({user['role']})", highlight=False)


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    """List the web app's users, their role and lock."""
    from claimwatch.review.users import list_users

    for u in _users(_settings(db), list_users):
        lock = f", locked until {u['locked_until']:%Y-%m-%d %H:%M} UTC" if u["locked_until"] else ""
        console.print(f"{u['name']}  {u['role']}{lock}", highlight=False)


@app.command()
def web(
    host: Annotated[str, typer.Option("--host", help="address to bind (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    db: DbOption = None,
) -> None:
    """Serve the reviewers' web app (review store + published analytics copy; nothing else to start)."""
    import uvicorn

    from claimwatch.web.app import create_app

    settings = _settings(db)
    application = create_app(settings)
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            f"warning: serving on {host}, reachable from the network: put it behind an HTTPS proxy "
            "and set CLAIMWATCH_WEB_SECURE_COOKIE=true",
            highlight=False,
        )
    console.print(
        f"claimwatch web on http://{host}:{port}/ (review store {application.state.store.url})",
        highlight=False,
        soft_wrap=True,
    )
    uvicorn.run(application, host=host, port=port, log_level="info", server_header=False)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="show the traceback of a failure")] = False,
) -> None:
    """Catch identity-usurpation fraud in health reimbursements."""


def _quiet_prefect_tracebacks() -> None:
    """Keep Prefect's console log to one line per record: the CLI reports the failure itself
    (called by the commands that run flows, so the others need not import Prefect)."""
    import logging

    if _STATE["debug"]:
        return

    from prefect.logging.configuration import setup_logging

    class _NoTraceback(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.exc_info = None
            record.exc_text = None
            return True

    setup_logging()
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(_NoTraceback())


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command; an expected failure is one ``error:`` line and exit 1."""
    import click

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    _STATE["debug"] = debug
    apply_privacy_defaults()
    try:
        app(args=argv, prog_name="claimwatch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # a usage error: click's own message
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err.print("error: aborted", markup=False, highlight=False)
        sys.exit(130)
    except ClaimwatchError as exc:
        if debug:
            raise
        err.print(f"error: {_one_line(exc)}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as exc:
        if debug:
            raise
        err.print(
            f"error: unexpected {type(exc).__name__}: {_one_line(exc)} (run with --debug for details)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
