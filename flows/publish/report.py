"""HTML run report with plots, written next to the database after each run (from the published copy).

What a fraud manager can trust: the headline counts each open case once; amounts by reason are
by each case's primary (strongest) evidence reason, so the bars add up to the headline; case
counts by reason overlap and say so; context reasons (breach exposure, an unusual profile) are
shown apart from evidence; the case threshold is drawn on the score distribution; decisions over
time show the precision of decided cases per week once reviewers have decided some.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import duckdb

from claimwatch.detectors.config import DEFAULT_CONFIG
from claimwatch.detectors.rules import RULES
from claimwatch.publish import charts
from claimwatch.store.db import sql_text

# Reasons that describe a member's situation, not evidence against a claim: they never make a
# line suspicious on their own (rules.py), so they are reported apart.
CONTEXT_REASONS = ("BREACH_EXPOSED", "ANOMALOUS_PROFILE")
# the lowest score a member with just enough rule evidence to become a case can have
CASE_RULE_SCORE = DEFAULT_CONFIG.combine.case_rule_score
CASE_ENSEMBLE_SCORE = DEFAULT_CONFIG.combine.case_ensemble_score
# (the ensemble only adds to the rule score: with rule evidence alone the score is 100 x rule)
CASE_SCORE_LINE = 100 * CASE_RULE_SCORE
EVIDENCE_COLOR, CONTEXT_COLOR, CASE_COLOR, OTHER_COLOR = "#c0504d", "#9aa5b1", "#3b6ea5", "#c9d6e3"
SCORE_BIN = 2  # points per bin of sql/report/score_distribution.sql


def _rows(con: duckdb.DuckDBPyConnection, name: str, **params) -> list[tuple]:
    text = sql_text(f"report/{name}.sql")
    used = set(re.findall(r"\$(\w+)", text))
    return con.execute(text, {k: v for k, v in params.items() if k in used}).fetchall()


def _euros(value, _pos=None) -> str:
    return f"{value:,.0f} €".replace(",", "\u202f")


def _label(code: str) -> str:
    rule = RULES.get(code)
    return f"{code}\n{rule.title}" if rule else code


def _score_plot(con, run_id: str) -> str:
    bins = _rows(
        con,
        "score_distribution",
        run_id=run_id,
        case_rule_score=CASE_RULE_SCORE,
        case_ensemble_score=CASE_ENSEMBLE_SCORE,
    )
    # stacked: members who became a case on top of those who did not, per 2-point bin
    starts = list(range(0, 100, SCORE_BIN))
    below = dict.fromkeys(starts, 0)
    above = dict.fromkeys(starts, 0)
    for start, is_case, members in bins:  # a score of 100 counts in the last bin
        (above if is_case else below)[min(int(start), starts[-1])] += members
    svg = charts.columns(
        "Member scores of this run (members scored 20 or more are kept)",
        [str(x) for x in starts],
        [
            ("not a case", [below[x] for x in starts], OTHER_COLOR),
            ("became a case", [above[x] for x in starts], CASE_COLOR),
        ],
        xlabel="score (0–100, higher = more suspicious)",
        ylabel="members (log scale)",
        log=True,
        marker=(
            int(CASE_SCORE_LINE // SCORE_BIN),
            f"case threshold: rule score ≥ {CASE_RULE_SCORE} (score ≥ {CASE_SCORE_LINE:.0f}),\n"
            f"or ensemble score in the top {100 * (1 - CASE_ENSEMBLE_SCORE):.1f}%",
        ),
        note=None if bins else "no member scored 20 or more in this run",
    )
    return charts.data_uri(svg)


def _primary_reason_plot(con, headline: float) -> str:
    rows = _rows(con, "amount_by_primary_reason", context=list(CONTEXT_REASONS))
    labels = [
        _label(r[0]) if r[0] != "context only" else "context only\n(breach / profile, no evidence)"
        for r in rows
    ]
    svg = charts.hbars(
        f"Amount at risk of open cases by primary reason — each case once, total {_euros(headline)}",
        labels,
        [float(r[2]) for r in rows],
        [EVIDENCE_COLOR],
        value_labels=[f"{_euros(float(r[2]))} · {r[1]} case(s)" for r in rows] or ["0"],
        xlabel="amount at risk (claimed amount of the suspicious lines), by the case's strongest reason",
        axis_format=_euros,
    )
    return charts.data_uri(svg)


def _reason_count_plot(con) -> str:
    rows = _rows(con, "open_cases_by_reason")
    evidence = [r for r in rows if r[0] not in CONTEXT_REASONS]
    context = [r for r in rows if r[0] in CONTEXT_REASONS]
    svg = charts.hbars(
        "Open cases per reason — a case with several reasons counts under each (bars overlap)",
        [_label(r[0]) for r in context + evidence],
        [r[1] for r in context + evidence],
        [CONTEXT_COLOR] * len(context) + [EVIDENCE_COLOR] * len(evidence),
        xlabel="open cases carrying the reason",
        legend=[("evidence", EVIDENCE_COLOR), ("context only", CONTEXT_COLOR)],
    )
    return charts.data_uri(svg)


def _pattern_plot(con) -> str | None:
    labelled = _rows(con, "cases_by_pattern")
    if not any(r[0] != "unlabelled" for r in labelled):
        return None
    svg = charts.hbars(
        "Open cases by labelled fraud pattern (evaluation labels, not seen by detection)",
        [r[0] for r in labelled],
        [r[1] for r in labelled],
        ["#8064a2"],
        xlabel="open cases, by the labelled pattern of the case's lines",
    )
    return charts.data_uri(svg)


def _daily_plot(con, run_id: str) -> str:
    daily = _rows(con, "daily_volumes", run_id=run_id)
    svg = charts.day_series(
        "Claim lines received per day, and the lines this run flags",
        [r[0] for r in daily],
        ("claim lines received (left axis)", [r[1] for r in daily], CASE_COLOR),
        ("flagged lines (right axis)", [r[2] for r in daily], EVIDENCE_COLOR),
        xlabel="day received",
    )
    return charts.data_uri(svg)


def _decisions_plot(con) -> str | None:
    weeks = _rows(con, "decisions_by_week")
    if not weeks:
        return None
    svg = charts.columns(
        "Reviewers' decisions per week and precision of the decided cases",
        [f"{w[0]:%Y-%m-%d}" for w in weeks],
        [
            ("confirmed fraud", [w[1] for w in weeks], EVIDENCE_COLOR),
            ("legitimate", [w[2] for w in weeks], OTHER_COLOR),
        ],
        xlabel="week starting (Monday, Europe/Paris)",
        ylabel="cases closed in the week",
        line=("precision (fraud / closed)", [float(w[3] or 0) for w in weeks]),
        line_label="precision",
    )
    return charts.data_uri(svg)


def write_report(db_path: Path, report_dir: Path, run_id: str, summary: dict) -> Path:
    """Write ``report_<run_id>.html`` (and ``latest.html``) from the published copy."""
    report_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        header = _rows(con, "run_header", run_id=run_id)
        scored_at, as_of = (header[0][0], header[0][1]) if header else (None, None)
        open_cases, at_risk = _rows(con, "headline")[0]
        context = {r[0]: r[1] for r in _rows(con, "open_cases_by_reason") if r[0] in CONTEXT_REASONS}
        plots = [
            ("Score distribution and case threshold", _score_plot(con, run_id)),
            ("Amount at risk by primary reason", _primary_reason_plot(con, float(at_risk))),
            ("Open cases per reason", _reason_count_plot(con)),
            ("Decisions over time", _decisions_plot(con)),
            ("Cases by labelled pattern", _pattern_plot(con)),
            ("Daily volumes", _daily_plot(con, run_id)),
        ]
        top = _rows(con, "top_cases")
    finally:
        con.close()
    totals = summary.get("ingest", {}).get("totals", {})
    files = summary.get("ingest", {}).get("files", [])
    queue = summary.get("queue", {})
    esc = html.escape
    run_date = f"{scored_at:%Y-%m-%d %H:%M} UTC" if scored_at else "unknown"
    database = summary.get("db") or str(db_path)
    rows = "".join(
        f"<tr><td>{esc(f['file_name'])}</td><td>{esc(f['status'])}</td><td>{f['rows_read']:,}</td>"
        f"<td>{f['rows_loaded']:,}</td><td>{f['rows_quarantined']:,}</td>"
        f"<td>{esc(f['reason'] or '')}</td></tr>"
        for f in files
    )
    cases = "".join(
        f"<tr><td>{r[0]}</td><td>{esc(r[1])}</td><td>{esc(r[2])}</td><td>{r[3]}</td>"
        f"<td class='n'>{_euros(float(r[4]))}</td><td>{esc((r[5] or '').replace(';', ', '))}</td>"
        f"<td>{esc(r[6] or '')}</td></tr>"
        for r in top
    )
    context_text = ", ".join(f"{esc(k)} on {v} of them" for k, v in sorted(context.items())) or "none"
    images = "".join(
        f"<h3>{esc(t)}</h3><img alt='{esc(t)}' src='{src}'>" for t, src in plots if src is not None
    )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>claimwatch run {esc(run_id)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}}
table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;vertical-align:top}}
th{{background:#eee}}td.n{{text-align:right;white-space:nowrap}}.kpi{{font-size:1.1em}}
.muted{{color:#666;font-size:.9em}}img{{max-width:100%}}</style></head><body>
<h1>claimwatch run {esc(run_id)}</h1>
<p class="muted">Run {esc(run_date)} · data as of {esc(str(as_of or "unknown"))} ·
database {esc(database)}</p>
<p class="kpi">Open cases: <b>{open_cases:,}</b> ({queue.get("opened_this_run", 0):,} opened by this run) ·
amount at risk <b>{_euros(float(at_risk))}</b> (claimed amount of the suspicious lines, each case counted
once).</p>
<p class="muted">Context, not evidence: {context_text}. Rows read {totals.get("rows_read", 0):,}, loaded
{totals.get("rows_loaded", 0):,}, quarantined {totals.get("rows_quarantined", 0):,}. Decisions are those
reviewers had taken when the run started.</p>
<h2>Plots</h2>{images}
<h2>Top of the review queue</h2><table><tr><th>rank</th><th>case</th><th>member</th>
<th>score</th><th>at risk</th><th>reason codes</th><th>reasons</th></tr>{cases}</table>
<h2>Files</h2><table><tr><th>file</th><th>status</th><th>read</th><th>loaded</th>
<th>quarantined</th><th>reason</th></tr>{rows}</table>
</body></html>"""
    path = report_dir / f"report_{run_id}.html"
    path.write_text(page, encoding="utf-8")
    (report_dir / "latest.html").write_text(page, encoding="utf-8")
    return path
