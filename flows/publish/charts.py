"""The run report's charts as small SVG documents, drawn directly (no plotting library).

A report is written after every run, a nightly one included: importing and rendering with a
plotting library cost about two seconds a run, more than a nightly batch's scoring. Three chart
kinds cover the report: horizontal bars, vertical (stacked) columns with an optional line on a
0–1 right axis, and day series with a left and a right axis. Text is escaped; every number is
formatted by the caller or here, never taken from data as markup.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from datetime import date
from html import escape

WIDTH = 760
FONT = "font-family='system-ui,sans-serif'"


def data_uri(svg: str) -> str:
    """The chart as an ``<img src>`` value."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode()


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start", extra: str = "") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' {FONT} {extra}>"
        f"{escape(text)}</text>"
    )


def _document(height: float, title: str, body: list[str]) -> str:
    head = (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height:.0f}' "
        f"viewBox='0 0 {WIDTH} {height:.0f}' role='img'><title>{escape(title)}</title>"
        f"<rect width='100%' height='100%' fill='white'/>"
    )
    return head + _text(8, 18, title, 13, extra="font-weight='600'") + "".join(body) + "</svg>"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f") if abs(value) >= 1 or value == 0 else f"{value:g}"


def hbars(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    colors: Sequence[str],
    *,
    value_labels: Sequence[str] | None = None,
    xlabel: str = "",
    axis_format: Callable[[float], str] = _number,
    legend: Sequence[tuple[str, str]] = (),
) -> str:
    """Horizontal bars, one per label (first on top), each with its value written at its end."""
    labels = list(labels) or ["none"]
    values = [float(v) for v in values] or [0.0]
    colors = list(colors) or ["#999"]
    texts = list(value_labels) if value_labels is not None else [_number(v) for v in values]
    left, right, top, row = 300, 150, 34, 26
    plot_w = WIDTH - left - right
    ticks = nice_ticks(max(values))
    scale = plot_w / ticks[-1]
    bottom = top + row * len(labels)
    body = []
    for t in ticks:
        x = left + t * scale
        body.append(f"<line x1='{x:.1f}' y1='{top}' x2='{x:.1f}' y2='{bottom}' stroke='#e4e4e4'/>")
        body.append(_text(x, bottom + 14, axis_format(t), 10, "middle"))
    for i, (label, value, text) in enumerate(zip(labels, values, texts, strict=True)):
        y = top + i * row
        color = colors[i % len(colors)]
        body.append(
            f"<rect x='{left}' y='{y + 4}' width='{max(value * scale, 0):.1f}' height='{row - 8}'"
            f" fill='{color}'/>"
        )
        first, _, second = label.partition("\n")
        body.append(_text(left - 6, y + row / 2 + (0 if second else 4), first, 10, "end"))
        if second:
            body.append(_text(left - 6, y + row / 2 + 11, second, 9, "end", "fill='#666'"))
        body.append(_text(left + value * scale + 4, y + row / 2 + 4, text, 10))
    body.append(_text(left + plot_w / 2, bottom + 30, xlabel, 11, "middle"))
    for i, (name, color) in enumerate(legend):
        x = WIDTH - right + 20
        y = top + 8 + i * 16
        body.append(f"<rect x='{x}' y='{y - 9}' width='10' height='10' fill='{color}'/>")
        body.append(_text(x + 14, y, name, 10))
    return _document(bottom + 40, title, body)


def columns(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    xlabel: str = "",
    ylabel: str = "",
    log: bool = False,
    line: tuple[str, Sequence[float]] | None = None,
    line_label: str = "",
    marker: tuple[int, str] | None = None,
    note: str | None = None,
) -> str:
    """Stacked columns per category (``series``: name, values, colour, bottom first), on a linear
    or log scale; ``line``: a (name, values in [0, 1]) drawn on a right axis in percent;
    ``marker``: (category index, text) for a dashed vertical line before that column."""
    left, right, top, height = 70, 60 if line else 20, 34, 220
    plot_w = WIDTH - left - right
    n = max(len(categories), 1)
    totals = [sum(float(s[1][i]) for s in series) for i in range(len(categories))]
    peak = max(totals, default=0.0)
    if log:
        decades = max(1, math.ceil(math.log10(max(peak, 1) * 2.5)))
        ticks = [10.0**d for d in range(decades + 1)]

        def y_of(v: float) -> float:
            return top + height - height * math.log10(max(v, 0.8) / 0.8) / math.log10(ticks[-1] / 0.8)

    else:
        ticks = nice_ticks(peak)

        def y_of(v: float) -> float:
            return top + height - height * v / ticks[-1]

    body = []
    for t in ticks:
        y = y_of(t)
        body.append(f"<line x1='{left}' y1='{y:.1f}' x2='{left + plot_w}' y2='{y:.1f}' stroke='#e4e4e4'/>")
        body.append(_text(left - 6, y + 4, _number(t), 10, "end"))
    width = plot_w / n
    for i in range(len(categories)):
        base = 0.0
        for _name, values, color in series:
            v = float(values[i])
            if v > 0:
                y0, y1 = y_of(base), y_of(base + v)
                body.append(
                    f"<rect x='{left + i * width + 0.5:.1f}' y='{y1:.1f}' width='{max(width - 1, 1):.1f}' "
                    f"height='{max(y0 - y1, 0.5):.1f}' fill='{color}'/>"
                )
            base += v
    every = max(1, math.ceil(len(categories) / 12))
    for i, label in enumerate(categories):
        if i % every == 0:
            body.append(_text(left + (i + 0.5) * width, top + height + 14, label, 9, "middle"))
    if marker is not None:
        x = left + marker[0] * width
        body.append(
            f"<line x1='{x:.1f}' y1='{top}' x2='{x:.1f}' y2='{top + height}' stroke='#222'"
            " stroke-dasharray='4 3'/>"
        )
        for k, part in enumerate(marker[1].split("\n")):
            body.append(_text(x + 5, top + 12 + 12 * k, part, 9))
    if line is not None:
        points = " ".join(
            f"{left + (i + 0.5) * width:.1f},{top + height - height * float(v):.1f}"
            for i, v in enumerate(line[1])
        )
        body.append(f"<polyline points='{points}' fill='none' stroke='#222' stroke-width='1.5'/>")
        for p in points.split():
            x, y = p.split(",")
            body.append(f"<circle cx='{x}' cy='{y}' r='3' fill='#222'/>")
        for t in (0, 0.25, 0.5, 0.75, 1.0):
            body.append(_text(left + plot_w + 6, top + height - height * t + 4, f"{t:.0%}", 10))
        body.append(_text(WIDTH - 8, top - 8, line_label, 10, "end"))
    if note:
        body.append(_text(left + plot_w / 2, top + height / 2, note, 12, "middle", "fill='#666'"))
    body.append(_text(left + plot_w / 2, top + height + 32, xlabel, 11, "middle"))
    body.append(
        _text(14, top + height / 2, ylabel, 11, "middle", f"transform='rotate(-90 14 {top + height / 2})'")
    )
    legend = [(name, color) for name, _values, color in series] + ([(line[0], "#222")] if line else [])
    for i, (name, color) in enumerate(legend):
        x = left + i * 190
        y = top + height + 50
        body.append(f"<rect x='{x}' y='{y - 9}' width='10' height='10' fill='{color}'/>")
        body.append(_text(x + 14, y, name, 10))
    return _document(top + height + 62, title, body)


def day_series(
    title: str,
    days: Sequence[date],
    left_series: tuple[str, Sequence[float], str],
    right_series: tuple[str, Sequence[float], str],
    *,
    xlabel: str = "",
) -> str:
    """Two series over days: the first on the left axis, the second on the right axis."""
    left, right, top, height = 70, 70, 34, 200
    plot_w = WIDTH - left - right
    body = []
    if not days:
        body.append(_text(WIDTH / 2, top + height / 2, "no claim line received", 12, "middle", "fill='#666'"))
        return _document(top + height + 40, title, body)
    first, last = days[0], days[-1]
    span = max((last - first).days, 1)

    def x_of(d: date) -> float:
        return left + plot_w * (d - first).days / span

    for side, (_name, values, color) in (("left", left_series), ("right", right_series)):
        ticks = nice_ticks(max((float(v) for v in values), default=0.0))

        def y_of(v: float, ticks=ticks) -> float:
            return top + height - height * v / ticks[-1]

        for t in ticks:
            y = y_of(t)
            if side == "left":
                body.append(
                    f"<line x1='{left}' y1='{y:.1f}' x2='{left + plot_w}' y2='{y:.1f}' stroke='#eee'/>"
                )
                body.append(_text(left - 6, y + 4, _number(t), 10, "end", f"fill='{color}'"))
            else:
                body.append(_text(left + plot_w + 6, y + 4, _number(t), 10, "start", f"fill='{color}'"))
        points = " ".join(f"{x_of(d):.1f},{y_of(float(v)):.1f}" for d, v in zip(days, values, strict=True))
        body.append(f"<polyline points='{points}' fill='none' stroke='{color}' stroke-width='1'/>")
    months = sorted({date(d.year, d.month, 1) for d in days if d >= first})
    every = max(1, math.ceil(len(months) / 10))
    for i, m in enumerate(months):
        if m >= first and i % every == 0:
            body.append(_text(x_of(m), top + height + 14, f"{m:%Y-%m}", 9, "middle"))
    body.append(_text(left + plot_w / 2, top + height + 30, xlabel, 11, "middle"))
    for i, (name, _values, color) in enumerate((left_series, right_series)):
        x = left + i * 220
        y = top + height + 48
        body.append(f"<rect x='{x}' y='{y - 9}' width='10' height='10' fill='{color}'/>")
        body.append(_text(x + 14, y, name, 10))
    return _document(top + height + 60, title, body)
