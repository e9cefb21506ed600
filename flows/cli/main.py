"""The ``claimwatch`` command line (stable interface: insurers' scripts rely on it)."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import sys
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.settings import Settings, apply_privacy_defaults

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Catch identity-usurpation fraud in health reimbursements.",
)
queue_app = typer.Typer(no_args_is_help=True, help="Work the review queue.")
app.add_typer(queue_app, name="queue")
console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path | None, typer.Option("--db", help="DuckDB file (default: $CLAIMWATCH_DB or ./claimwatch.duckdb)")
]
InboxOption = Annotated[
    Path | None, typer.Option("--inbox", help="input directory (default: $CLAIMWATCH_INBOX or ./inbox)")
]


def _settings(db: Path | None = None, inbox: Path | None = None) -> Settings:
    settings = Settings()
    if db is not None:
        settings.db = db
    if inbox is not None:
        settings.inbox = inbox
    apply_privacy_defaults(settings)
    return settings


def _fail(message: str) -> None:
    from claimwatch.store.privacy import redact

    first = redact(str(message).strip().splitlines()[0] if str(message).strip() else "failed")
    err.print(f"[red]error:[/red] {first}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(1)


def _actor(name: str | None) -> str:
    return name or os.environ.get("CLAIMWATCH_USER") or getpass.getuser()


def _known_errors() -> tuple[type[BaseException], ...]:
    from claimwatch.review.queue import ReviewError
    from claimwatch.scoring.scaleout import ScaleOutError
    from claimwatch.store.db import DatabaseBusyError
    from claimwatch.store.privacy import PseudonymKeyError

    return (DatabaseBusyError, PseudonymKeyError, ReviewError, ScaleOutError, FileNotFoundError, ValueError)


def _print_summary(summary: dict) -> None:
    ingest = summary.get("ingest", {})
    table = Table(title=f"run {summary.get('run_id')}", show_lines=False)
    for col in ("file", "kind", "status", "read", "loaded", "quarantined", "seconds", "note"):
        table.add_column(
            col, justify="right" if col in ("read", "loaded", "quarantined", "seconds") else "left"
        )
    for f in ingest.get("files", []):
        note = f.get("reason") or "; ".join(f.get("warnings", []))
        table.add_row(
            f["file_name"],
            f["kind"],
            f["status"],
            str(f["rows_read"]),
            str(f["rows_loaded"]),
            str(f["rows_quarantined"]),
            f"{sum(f['seconds'].values()):.2f}",
            note or "",
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
    from claimwatch.ingest import load as ingest
    from claimwatch.pipelines.run import claimwatch_run

    if not settings.inbox.is_dir():
        _fail(f"inbox {settings.inbox} is not a directory")
    with console.status("claimwatch run…") as status:
        ingest.PROGRESS_HOOK = lambda name, stage: status.update(f"{stage}: {name}")
        try:
            return claimwatch_run(inbox=str(settings.inbox), db=str(settings.db), full=full)
        finally:
            ingest.PROGRESS_HOOK = None


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
    settings = _settings(db, inbox)
    try:
        summary = _run(settings, full)
    except _known_errors() as exc:
        _fail(str(exc))
    except Exception as exc:  # the flow failed: the database is as it was before the run
        _fail(f"run failed, database unchanged: {type(exc).__name__}: {exc}")
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
    try:
        database = connect(settings, read_only=True)
        try:
            result = run_evaluation(database, labels, ks)
        finally:
            database.close()
    except _known_errors() as exc:
        _fail(str(exc))
    if json_out:
        console.print_json(json.dumps(result, default=str))
    else:
        _print_evaluation(result)


@app.command()
def demo(db: DbOption = None, inbox: InboxOption = None) -> None:
    """Sample inbox (if absent) → run → summary → evaluation."""
    settings = _settings(db, inbox)
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
    try:
        summary = _run(settings)
    except _known_errors() as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"run failed, database unchanged: {type(exc).__name__}: {exc}")
    _print_summary(summary)
    from claimwatch.scoring.evaluate import evaluate as run_evaluation
    from claimwatch.store.db import connect

    database = connect(settings, read_only=True)
    try:
        if database.con.execute("select count(*) from labels").fetchall()[0][0]:
            _print_evaluation(run_evaluation(database, None, [50, 100, 200]))
    finally:
        database.close()


# --------------------------------------------------------------------------- queue


def _with_db(settings: Settings, fn, *, read_only: bool = False):
    from claimwatch.store.db import connect

    try:
        database = connect(settings, read_only=read_only, with_key=False)
        try:
            return fn(database)
        finally:
            database.close()
    except _known_errors() as exc:
        _fail(str(exc))


@queue_app.command("list")
def queue_list(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="new, in_review, needs_info, closed_fraud, closed_legitimate, open (default), closed, all",
        ),
    ] = None,
    top: Annotated[int | None, typer.Option("--top", min=1)] = None,
    db: DbOption = None,
) -> None:
    """List cases, most suspicious first."""
    from claimwatch.review.queue import list_cases

    frame = _with_db(_settings(db), lambda d: list_cases(d, status, top), read_only=True)
    table = Table()
    for col in ("rank", "case", "member", "score", "at risk", "status", "assigned", "reasons"):
        table.add_column(col, overflow="fold")
    for r in frame.iter_rows(named=True):
        table.add_row(
            str(r["rank"] or ""),
            r["case_id"],
            r["member_id"],
            f"{r['score']:.1f}",
            f"{float(r['amount_at_risk']):,.0f} €",
            r["status"],
            r["assigned_to"] or "",
            (r["reason_codes"] or "").replace(";", ", "),
        )
    console.print(table)
    console.print(f"{frame.height} case(s)")


@queue_app.command("show")
def queue_show(
    case_id: str, db: DbOption = None, json_out: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Show one case: reasons, claim lines, account events, audit trail."""
    from claimwatch.review.queue import show_case

    detail = _with_db(_settings(db), lambda d: show_case(d, case_id), read_only=True)
    if json_out:
        console.print_json(json.dumps(detail, default=str))
        return
    case = detail["case"]
    console.print(
        f"[bold]{case['case_id']}[/bold] member {case['member_id']} — {case['status']}, "
        f"rank {case['rank']}, score {case['score']:.1f}, at risk {float(case['amount_at_risk']):,.2f} €"
    )
    if case.get("assigned_to"):
        console.print(f"assigned to {case['assigned_to']}")
    if case.get("decision"):
        console.print(
            f"decision {case['decision']} by {case['decided_by']} at {case['decided_at']}: "
            f"{case.get('note') or ''}"
        )
    console.print("[bold]Reasons[/bold]")
    for reason in (case["reasons"] or "").split(" | "):
        console.print(f"  • {reason}", highlight=False)
    if detail["member"]:
        m = detail["member"]
        console.print(
            f"[bold]Member[/bold] {m['sex']}, born {m['birth_date']}, dept {m['department']}, "
            f"contract {m['subscriber_id']} since {m['contract_start']}, bank {m['iban_country'] or '?'} "
            f"{m['iban_bank_code'] or ''}; breaches: {m['breaches'] or 'none'}"
        )
    lines = Table(title="claim lines")
    for col in (
        "claim",
        "care",
        "received",
        "source",
        "category",
        "act",
        "provider",
        "claimed",
        "payee",
        "reasons",
    ):
        lines.add_column(col)
    for r in detail["claims"]:
        lines.add_row(
            r["claim_id"],
            str(r["care_date"]),
            str(r["received_date"]),
            r["source"],
            r["care_category"],
            r["act_code"],
            r["provider_id"],
            f"{float(r['claimed_amount']):,.2f}",
            f"{r['payee']} {r['payee_iban_country'] or ''}",
            r["reason_codes"] or "",
        )
    console.print(lines)
    events = Table(title="account events")
    for col in ("time", "event", "channel", "IP country", "new bank", "new e-mail domain", "new postcode"):
        events.add_column(col)
    for e in detail["account_events"]:
        events.add_row(
            str(e["event_time"]),
            e["event_type"],
            e["channel"],
            e["ip_country"] or "",
            f"{e['new_iban_country'] or ''} {e['new_iban_bank_code'] or ''}".strip(),
            e["new_email_domain"] or "",
            e["new_postcode"] or "",
        )
    console.print(events)
    for a in detail["audit"]:
        console.print(f"audit {a['logged_at']} {a['actor']} {a['action']} {a['details']}", highlight=False)


@queue_app.command("assign")
def queue_assign(
    case_id: str,
    to: Annotated[str, typer.Option("--to")],
    by: Annotated[
        str | None, typer.Option("--by", help="who assigns (default: $CLAIMWATCH_USER or login)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Assign a case to a reviewer."""
    from claimwatch.review.queue import assign

    _with_db(_settings(db), lambda d: assign(d, case_id, to, _actor(by)))
    console.print(f"{case_id} assigned to {to}")


@queue_app.command("decide")
def queue_decide(
    case_id: str,
    decision: Annotated[str, typer.Option("--decision", help="fraud | legitimate | needs_info")],
    by: Annotated[str, typer.Option("--by")],
    note: Annotated[str | None, typer.Option("--note")] = None,
    db: DbOption = None,
) -> None:
    """Record a reviewer's decision on a case."""
    from claimwatch.review.queue import decide

    status = _with_db(_settings(db), lambda d: decide(d, case_id, decision, by, note))
    console.print(f"{case_id} → {status}")


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv | xlsx | parquet")],
    out: Annotated[Path, typer.Option("--out")],
    status: Annotated[str | None, typer.Option("--status")] = None,
    top: Annotated[int | None, typer.Option("--top", min=1)] = None,
    by: Annotated[str | None, typer.Option("--by", help="who exports (audit log)")] = None,
    db: DbOption = None,
) -> None:
    """Export the queue (rank order) to CSV, XLSX or Parquet."""
    from claimwatch.review.queue import export as run_export

    if fmt not in ("csv", "xlsx", "parquet"):
        _fail("--format must be csv, xlsx or parquet")
    rows, digest = _with_db(_settings(db), lambda d: run_export(d, fmt, out, _actor(by), status, top))
    console.print(f"wrote {rows} case(s) to {out} (sha256 {digest[:16]}…)")


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
    """Run a read-only analyst query on the published analytics copy."""
    from claimwatch.publish.analytics import run_query

    settings = _settings(db)
    if fmt not in ("table", "csv", "parquet"):
        _fail("--format must be table, csv or parquet")
    if fmt == "parquet" and out is None:
        _fail("--format parquet needs --out FILE")
    try:
        frame = run_query(settings, query, live=live)
    except _known_errors() as exc:
        _fail(str(exc))
    except Exception as exc:  # a bad query: DuckDB's message names the problem
        _fail(str(exc).splitlines()[0])
    if fmt == "parquet":
        frame.write_parquet(out)
        console.print(f"wrote {frame.height} row(s) to {out}")
    elif fmt == "csv":
        if out:
            frame.write_csv(out)
            console.print(f"wrote {frame.height} row(s) to {out}")
        else:
            sys.stdout.write(frame.write_csv())
    else:
        table = Table()
        for col in frame.columns:
            table.add_column(col, overflow="fold")
        for r in frame.head(200).iter_rows():
            table.add_row(*["" if v is None else str(v) for v in r])
        console.print(table)
        console.print(f"{frame.height} row(s)" + (" (first 200 shown)" if frame.height > 200 else ""))


@app.command()
def purge(db: DbOption = None) -> None:
    """Apply retention: purge legitimate and stale unqualified cases, old confirmed ones."""
    from claimwatch.pipelines.purge import purge_flow

    settings = _settings(db)
    try:
        counts = purge_flow(db=str(settings.db))
    except _known_errors() as exc:
        _fail(str(exc))
    console.print("purged: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command()
def serve(db: DbOption = None, inbox: InboxOption = None) -> None:
    """Serve the Prefect deployments with their schedules (needs a Prefect server)."""
    from claimwatch.pipelines.deployments import serve_deployments

    settings = _settings(db, inbox)
    if not os.environ.get("PREFECT_API_URL"):
        _fail(
            "schedules need a Prefect server: start `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    serve_deployments(settings)


def main() -> None:
    apply_privacy_defaults()
    if shutil.get_terminal_size().columns < 120:
        console.width = 160
    app()


if __name__ == "__main__":
    main()
