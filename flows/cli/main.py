"""The ``claimwatch`` command line (stable interface: insurers' scripts rely on it)."""

from __future__ import annotations

import getpass
import json
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

from claimwatch.errors import ClaimwatchError, InputError, OutputPathError, output_path_error
from claimwatch.settings import Settings, apply_privacy_defaults

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Catch identity-usurpation fraud in health reimbursements.",
)
queue_app = typer.Typer(no_args_is_help=True, help="Work the review queue.")
app.add_typer(queue_app, name="queue")
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


def _run(settings: Settings) -> dict:
    """Check what a run needs, run the flow, return its summary as recorded."""
    from claimwatch.pipelines.run import run_with
    from claimwatch.store.db import connect

    # the database, its key and its lock are checked before Prefect starts: a refusal is one line
    connect(settings).close()
    if not settings.inbox.is_dir():
        raise InputError(f"inbox {settings.inbox} is not a directory")
    _quiet_prefect_tracebacks()
    with console.status("claimwatch run…") as status:
        try:
            summary = run_with(settings, lambda name, stage: status.update(f"{stage}: {name}"))
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
) -> None:
    """Ingest the inbox, score the whole history, refresh the review queue."""
    summary = _run(_settings(db, inbox))
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


def _with_db(settings: Settings, fn, *, read_only: bool = False):
    from claimwatch.store.db import connect

    database = connect(settings, read_only=read_only, with_key=False)
    try:
        return fn(database)
    finally:
        database.close()


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
        Text.assemble(
            (str(case["case_id"]), "bold"),
            f" member {case['member_id']} — {case['status']}, "
            f"rank {case['rank']}, score {case['score']:.1f}, at risk {float(case['amount_at_risk']):,.2f} €",
        )
    )
    if case.get("assigned_to"):
        console.print(f"assigned to {case['assigned_to']}")
    if case.get("decision"):
        console.print(
            f"decision {case['decision']} by {case['decided_by']} at {case['decided_at']}: "
            f"{case.get('note') or ''}"
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

    settings = _settings(db)
    _with_db(settings, lambda d: assign(d, case_id, to, _actor(by, settings)))
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
    with _writing(out):
        settings = _settings(db)
        rows, digest = _with_db(
            settings, lambda d: run_export(d, fmt, out, _actor(by, settings), status, top)
        )
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
    frame = run_query(settings, query, live=live)
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
