"""HTML run report with plots, written next to the database after each run (from the published copy).

What a fraud manager can trust: the headline counts each open case once; amounts by reason are
by each case's primary (strongest) evidence reason, so the bars add up to the headline; case
counts by reason overlap and say so; context reasons (breach exposure, an unusual profile) are
shown apart from evidence; the case threshold is drawn on the score distribution; decisions over
time show the precision of decided cases per week once reviewers have decided some.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # no display on servers
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter  # noqa: E402

from claimwatch.detectors.config import DEFAULT_CONFIG  # noqa: E402
from claimwatch.detectors.rules import RULES  # noqa: E402
from claimwatch.store.db import sql_text  # noqa: E402

# Reasons that describe a member's situation, not evidence against a claim: they never make a
# line suspicious on their own (rules.py), so they are reported apart.
CONTEXT_REASONS = ("BREACH_EXPOSED", "ANOMALOUS_PROFILE")
# the lowest score a member with just enough rule evidence to become a case can have
CASE_RULE_SCORE = DEFAULT_CONFIG.combine.case_rule_score
CASE_ENSEMBLE_SCORE = DEFAULT_CONFIG.combine.case_ensemble_score
# (the ensemble only adds to the rule score: with rule evidence alone the score is 100 x rule)
CASE_SCORE_LINE = 100 * CASE_RULE_SCORE
EVIDENCE_COLOR, CONTEXT_COLOR, CASE_COLOR, OTHER_COLOR = "#c0504d", "#9aa5b1", "#3b6ea5", "#c9d6e3"


def _rows(con: duckdb.DuckDBPyConnection, name: str, **params) -> list[tuple]:
    text = sql_text(f"report/{name}.sql")
    used = set(re.findall(r"\$(\w+)", text))
    return con.execute(text, {k: v for k, v in params.items() if k in used}).fetchall()


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _figure(title: str, height: float = 3.4):
    fig, ax = plt.subplots(figsize=(8, height))
    ax.set_title(title, fontsize=11, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


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
    fig, ax = _figure("Member scores of this run (members scored 20 or more are kept)")
    # stacked: members who became a case on top of those who did not, per 2-point bin
    below = {b[0]: b[2] for b in bins if not b[1]}
    above = {b[0]: b[2] for b in bins if b[1]}
    xs = sorted(set(below) | set(above))
    base = [below.get(x, 0) for x in xs]
    ax.bar(xs, base, width=2, align="edge", color=OTHER_COLOR, label="not a case")
    ax.bar(
        xs,
        [above.get(x, 0) for x in xs],
        width=2,
        align="edge",
        bottom=base,
        color=CASE_COLOR,
        label="became a case",
    )
    ax.axvline(CASE_SCORE_LINE, color="#222", ls="--", lw=1)
    ax.annotate(
        f"case threshold: rule score ≥ {CASE_RULE_SCORE} (score ≥ {CASE_SCORE_LINE:.0f}),\n"
        f"or ensemble score in the top {100 * (1 - CASE_ENSEMBLE_SCORE):.1f}%",
        xy=(CASE_SCORE_LINE, 0.97),
        xycoords=("data", "axes fraction"),
        xytext=(6, 0),
        textcoords="offset points",
        va="top",
        fontsize=8,
    )
    ax.set_xlim(0, 100)
    if bins:
        ax.set_yscale("log")
        ax.set_ylim(0.8, 2.5 * max(b + a for b, a in zip(base, [above.get(x, 0) for x in xs], strict=True)))
        ax.legend(loc="upper right", frameon=False)
    else:  # an empty inbox: nothing scored above the floor
        ax.text(
            50,
            0.5,
            "no member scored 20 or more in this run",
            ha="center",
            transform=ax.get_xaxis_transform(),
        )
    ax.set_xlabel("score (0–100, higher = more suspicious)")
    ax.set_ylabel("members (log scale)")
    return _png(fig)


def _primary_reason_plot(con, headline: float) -> str:
    rows = _rows(con, "amount_by_primary_reason", context=list(CONTEXT_REASONS))
    fig, ax = _figure(
        f"Amount at risk of open cases by primary reason — each case once, total {_euros(headline)}",
        0.55 * max(len(rows), 2) + 1.2,
    )
    labels = [
        _label(r[0]) if r[0] != "context only" else "context only\n(breach / profile, no evidence)"
        for r in rows
    ]
    bars = ax.barh(labels or ["none"], [float(r[2]) for r in rows] or [0], color=EVIDENCE_COLOR)
    ax.bar_label(
        bars, labels=[f"{_euros(float(r[2]))} · {r[1]} case(s)" for r in rows], fontsize=8, padding=3
    )
    ax.xaxis.set_major_formatter(FuncFormatter(_euros))
    ax.set_xlabel("amount at risk (claimed amount of the suspicious lines)")
    ax.set_ylabel("primary reason (the case's strongest)")
    ax.tick_params(axis="y", labelsize=8)
    ax.margins(x=0.25)
    return _png(fig)


def _reason_count_plot(con) -> str:
    rows = _rows(con, "open_cases_by_reason")
    evidence = [r for r in rows if r[0] not in CONTEXT_REASONS]
    context = [r for r in rows if r[0] in CONTEXT_REASONS]
    fig, ax = _figure(
        "Open cases per reason — a case with several reasons counts under each (bars overlap)",
        0.5 * max(len(rows), 2) + 1.2,
    )
    labels = [_label(r[0]) for r in context + evidence]
    colors = [CONTEXT_COLOR] * len(context) + [EVIDENCE_COLOR] * len(evidence)
    bars = ax.barh(
        labels or ["none"], [r[1] for r in context + evidence] or [0], color=colors or [EVIDENCE_COLOR]
    )
    ax.bar_label(bars, fontsize=8, padding=3)
    ax.set_xlabel("open cases carrying the reason")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="y", labelsize=8)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color=EVIDENCE_COLOR, label="evidence"),
            Patch(color=CONTEXT_COLOR, label="context only"),
        ],
        loc="lower right",
        frameon=False,
    )
    return _png(fig)


def _pattern_plot(con) -> str | None:
    labelled = _rows(con, "cases_by_pattern")
    if not any(r[0] != "unlabelled" for r in labelled):
        return None
    fig, ax = _figure("Open cases by labelled fraud pattern (evaluation labels, not seen by detection)")
    bars = ax.barh([r[0] for r in labelled], [r[1] for r in labelled], color="#8064a2")
    ax.bar_label(bars, fontsize=8, padding=3)
    ax.set_xlabel("open cases")
    ax.set_ylabel("labelled pattern of the case's lines")
    return _png(fig)


def _daily_plot(con, run_id: str) -> str:
    daily = _rows(con, "daily_volumes", run_id=run_id)
    fig, ax = _figure("Claim lines received per day, and the lines this run flags")
    if daily:
        days = [r[0] for r in daily]
        first = ax.plot(days, [r[1] for r in daily], lw=0.8, color=CASE_COLOR, label="claim lines received")
        ax2 = ax.twinx()
        second = ax2.plot(days, [r[2] for r in daily], lw=0.8, color=EVIDENCE_COLOR, label="flagged lines")
        ax2.set_ylabel("flagged lines per day", color=EVIDENCE_COLOR)
        ax2.spines[["top"]].set_visible(False)
        ax2.set_ylim(bottom=0)
        ax.legend(
            handles=first + second, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, frameon=False
        )
        fig.autofmt_xdate()
    ax.set_xlabel("day received")
    ax.set_ylabel("claim lines per day", color=CASE_COLOR)
    return _png(fig)


def _decisions_plot(con) -> str | None:
    weeks = _rows(con, "decisions_by_week")
    if not weeks:
        return None
    fig, ax = _figure("Reviewers' decisions per week and precision of the decided cases")
    xs = [w[0] for w in weeks]
    ax.bar(xs, [w[1] for w in weeks], width=5, color=EVIDENCE_COLOR, label="confirmed fraud")
    ax.bar(
        xs,
        [w[2] for w in weeks],
        width=5,
        bottom=[w[1] for w in weeks],
        color=OTHER_COLOR,
        label="legitimate",
    )
    ax.set_ylabel("cases closed in the week")
    ax.set_xlabel("week starting (Monday, Europe/Paris)")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax2 = ax.twinx()
    line = ax2.plot(xs, [w[3] for w in weeks], color="#222", marker="o", label="precision (fraud / closed)")
    ax2.set_ylim(0, 1.05)
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax2.set_ylabel("precision")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles=handles + line,
        labels=labels + [line[0].get_label()],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.22),
        ncol=3,
        frameon=False,
    )
    ax.set_xticks(xs, [f"{x:%Y-%m-%d}" for x in xs], fontsize=8)
    return _png(fig)


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
