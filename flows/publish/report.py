"""HTML run report with plots, written next to the database after each run."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # no display on servers
import matplotlib.pyplot as plt  # noqa: E402


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _figure(title: str):
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.set_title(title, fontsize=11)
    return fig, ax


def _plots(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str]]:
    plots = []
    scores = [
        r[0] for r in con.execute("select score from member_scores where run_id = ?", [run_id]).fetchall()
    ]
    fig, ax = _figure("Member scores (>= 10) of this run")
    ax.hist(scores or [0], bins=40, color="#3b6ea5")
    ax.set_xlabel("score (0-100)")
    ax.set_ylabel("members")
    ax.set_yscale("log")
    plots.append(("Score distribution", _png(fig)))

    reasons = con.execute(
        """
        select code, count(*), sum(amount_at_risk) from (
            select unnest(string_split(reason_codes, ';')) as code, amount_at_risk from cases
            where status in ('new', 'in_review', 'needs_info') and reason_codes <> ''
        ) group by code order by 2
        """
    ).fetchall()
    fig, ax = _figure("Open cases by reason")
    ax.barh([r[0] for r in reasons] or ["none"], [r[1] for r in reasons] or [0], color="#c0504d")
    plots.append(("Cases by reason", _png(fig)))
    fig, ax = _figure("Amount at risk by reason (EUR)")
    ax.barh([r[0] for r in reasons] or ["none"], [float(r[2] or 0) for r in reasons] or [0], color="#9bbb59")
    plots.append(("Amount at risk", _png(fig)))

    labelled = con.execute(
        """
        select coalesce(l.scenario, 'unlabelled') as scenario, count(distinct c.case_id)
        from cases as c
        join case_claims as cc on cc.case_id = c.case_id
        left join labels as l on l.claim_id = cc.claim_id and l.is_fraud
        where c.status in ('new', 'in_review', 'needs_info')
        group by 1 order by 2
        """
    ).fetchall()
    if any(r[0] != "unlabelled" for r in labelled):
        fig, ax = _figure("Open cases by labelled pattern (evaluation data)")
        ax.barh([r[0] for r in labelled], [r[1] for r in labelled], color="#8064a2")
        plots.append(("Cases by pattern", _png(fig)))

    daily = con.execute(
        """
        select d, sum(lines), sum(alerts) from (
            select received_date as d, count(*) as lines, 0 as alerts from claims group by 1
            union all
            select cl.received_date, 0, count(*) from claim_scores as cs
            join claims as cl on cl.claim_id = cs.claim_id
            where cs.run_id = ? and cs.weight >= 0.3 group by 1
        ) group by d order by d
        """,
        [run_id],
    ).fetchall()
    fig, ax = _figure("Daily claim lines received and flagged lines")
    if daily:
        ax.plot([r[0] for r in daily], [r[1] for r in daily], label="claim lines", lw=0.8)
        ax2 = ax.twinx()
        ax2.plot([r[0] for r in daily], [r[2] for r in daily], color="#c0504d", label="flagged", lw=0.8)
        ax2.set_ylabel("flagged")
        fig.autofmt_xdate()
    plots.append(("Daily volumes", _png(fig)))
    return plots


def write_report(db_path: Path, report_dir: Path, run_id: str, summary: dict) -> Path:
    """Write ``report_<run_id>.html`` (and ``latest.html``) from the published copy."""
    report_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        plots = _plots(con, run_id)
        top = con.execute(
            """
            select rank, case_id, member_id, round(score, 1), amount_at_risk, reasons
            from cases where status in ('new', 'in_review', 'needs_info') order by rank limit 25
            """
        ).fetchall()
    finally:
        con.close()
    totals = summary.get("ingest", {}).get("totals", {})
    files = summary.get("ingest", {}).get("files", [])
    queue = summary.get("queue", {})
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(f['file_name'])}</td><td>{esc(f['status'])}</td><td>{f['rows_read']}</td>"
        f"<td>{f['rows_loaded']}</td><td>{f['rows_quarantined']}</td>"
        f"<td>{esc(f['reason'] or '')}</td></tr>"
        for f in files
    )
    cases = "".join(
        f"<tr><td>{r[0]}</td><td>{esc(r[1])}</td><td>{esc(r[2])}</td><td>{r[3]}</td>"
        f"<td>{float(r[4]):,.0f} €</td><td>{esc(r[5] or '')}</td></tr>"
        for r in top
    )
    images = "".join(f"<h3>{esc(t)}</h3><img alt='{esc(t)}' src='{src}'>" for t, src in plots)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>claimwatch run {esc(run_id)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px}}
th{{background:#eee}}</style></head><body>
<h1>claimwatch run {esc(run_id)}</h1>
<p>Rows read {totals.get("rows_read", 0)}, loaded {totals.get("rows_loaded", 0)},
quarantined {totals.get("rows_quarantined", 0)}. Open cases: <b>{queue.get("open_cases", 0)}</b>
({queue.get("opened_this_run", 0)} opened by this run), amount at risk
{queue.get("amount_at_risk", 0):,.0f} €.</p>
<h2>Files</h2><table><tr><th>file</th><th>status</th><th>read</th><th>loaded</th>
<th>quarantined</th><th>reason</th></tr>{rows}</table>
<h2>Top of the review queue</h2><table><tr><th>rank</th><th>case</th><th>member</th>
<th>score</th><th>at risk</th><th>reasons</th></tr>{cases}</table>
<h2>Plots</h2>{images}
</body></html>"""
    path = report_dir / f"report_{run_id}.html"
    path.write_text(page, encoding="utf-8")
    (report_dir / "latest.html").write_text(page, encoding="utf-8")
    return path
