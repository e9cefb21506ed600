"""After a committed run: the analysts' read-only copy, the HTML report, Prefect artifacts."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from claimwatch.detectors.rules import RULES
from claimwatch.publish.analytics import publish_analytics_copy
from claimwatch.settings import Settings
from claimwatch.store.db import Database


def queue_overview(db: Database, run_id: str) -> dict:
    """Summarise the queue after a run: open cases, cases opened by it, top reasons."""
    con = db.con
    open_cases, at_risk = con.execute(
        "select count(*), coalesce(sum(amount_at_risk), 0) from cases "
        "where status in ('new', 'in_review', 'needs_info')"
    ).fetchall()[0]
    opened = con.execute("select count(*) from cases where opened_run_id = ?", [run_id]).fetchall()[0][0]
    top_reasons = con.execute(
        """
        select code, count(*) as cases from (
            select unnest(string_split(reason_codes, ';')) as code from cases
            where status in ('new', 'in_review', 'needs_info') and reason_codes <> ''
        ) group by code order by cases desc, code
        """
    ).fetchall()
    top_cases = con.execute(
        """
        select rank, case_id, member_id, round(score, 1), amount_at_risk, reason_codes
        from cases where status in ('new', 'in_review', 'needs_info')
        order by rank limit 10
        """
    ).fetchall()
    return {
        "open_cases": open_cases,
        "opened_this_run": opened,
        "amount_at_risk": float(at_risk),
        "top_reasons": [{"reason_code": r[0], "cases": r[1]} for r in top_reasons],
        "top_cases": [
            {
                "rank": r[0],
                "case_id": r[1],
                "member_id": r[2],
                "score": r[3],
                "amount_at_risk": float(r[4]),
                "reason_codes": r[5],
            }
            for r in top_cases
        ],
    }


def _markdown(summary: dict, report: Path | None) -> str:
    q = summary.get("queue", {})
    totals = summary.get("ingest", {}).get("totals", {})
    lines = [
        f"# claimwatch run {summary['run_id']}",
        "",
        f"- files loaded / rejected / skipped: {totals.get('files_loaded', 0)} / "
        f"{totals.get('files_rejected', 0)} / {totals.get('files_skipped', 0)}",
        f"- rows read {totals.get('rows_read', 0)}, loaded {totals.get('rows_loaded', 0)}, "
        f"quarantined {totals.get('rows_quarantined', 0)}",
        f"- open cases: **{q.get('open_cases', 0)}** ({q.get('opened_this_run', 0)} new), "
        f"amount at risk {q.get('amount_at_risk', 0):,.0f} €",
    ]
    if report:
        lines.append(f"- report: `{report}`")
    lines += ["", "## Top reasons", "", "| reason | meaning | open cases |", "|---|---|---|"]
    lines += [
        f"| {r['reason_code']} | {RULES[r['reason_code']].title if r['reason_code'] in RULES else ''} "
        f"| {r['cases']} |"
        for r in q.get("top_reasons", [])
    ]
    lines += [
        "",
        "## Top cases",
        "",
        "| rank | case | member | score | at risk | reasons |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {c['rank']} | {c['case_id']} | {c['member_id']} | {c['score']} | "
        f"{c['amount_at_risk']:,.0f} € | {c['reason_codes']} |"
        for c in q.get("top_cases", [])
    ]
    return "\n".join(lines)


@task(name="publish", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def publish_task(settings: Settings, run_id: str, summary: dict) -> dict:
    """Publish the analytics copy, the HTML report and the run's Prefect artifacts."""
    from claimwatch.publish.report import write_report

    analytics = publish_analytics_copy(settings)
    report = write_report(analytics, settings.resolved_report_dir, run_id, summary)
    rows = [
        {
            "file": f["file_name"],
            "kind": f["kind"],
            "status": f["status"],
            "read": f["rows_read"],
            "loaded": f["rows_loaded"],
            "quarantined": f["rows_quarantined"],
            "reason": f["reason"] or "",
        }
        for f in summary.get("ingest", {}).get("files", [])
    ]
    key = "claimwatch-" + run_id.lower().replace("_", "-")
    create_table_artifact(
        rows or [{"file": "(no new file)"}],
        key=key[:90] + "-files",
        description="claimwatch run summary: files",
    )
    create_markdown_artifact(
        _markdown(summary, report),
        key=key[:90] + "-queue",
        description="claimwatch review queue after the run",
    )
    return {"analytics_db": str(analytics), "report": str(report)}
