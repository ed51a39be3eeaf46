"""Charts as inline SVG, for the web pages (``api.web.charts``) and the reports (``huashu report``,
``huashu analyze --format html``): no JavaScript, no external files, no CDN, no font on the machine
that draws them. Text is SVG ``<text>`` that the viewer's browser renders with its own fonts, so
Chinese labels show on any machine whose browser shows Chinese (never "#1…#8" fallbacks).

Each function returns ``Markup`` (safe to put in a template as is): an ``<svg class="chart">``
with a ``<title>``, or, when there is nothing to draw, a ``<p class="empty">`` saying so.
Every text that comes from data is escaped here. Colours come from attributes (the pages'
Content-Security-Policy allows no inline styles).
"""
from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 640
INK, MUTED, GRID = "#1f2933", "#6b7785", "#e4e7eb"
ACCENT, BAD, GOOD, NEUTRAL = "#2f6fb0", "#c0392b", "#2e8b57", "#9aa5b1"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _width(text: str, size: float = 12) -> float:
    """The rough width of ``text`` in pixels: CJK and other wide characters count double."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.58 for ch in text)


def _fit(label: str, pixels: float) -> str:
    """``label``, cut with "…" to fit in about ``pixels``."""
    if _width(label) <= pixels:
        return label
    while label and _width(label + "…") > pixels:
        label = label[:-1]
    return label + "…"


def _nice(top: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``top`` (axis maxima that read well)."""
    if top <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(top))
    return next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= top - 1e-9)


def empty(message: str, name: str) -> Markup:
    return Markup(f'<p class="empty" data-chart="{_e(name)}">{_e(message)}</p>')


def _svg(name: str, title: str, height: float, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" data-chart="{_e(name)}" role="img" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'width="{WIDTH}" height="{_n(height)}" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">'
        f"<title>{_e(title)}</title>{''.join(body)}</svg>"
    )


def bars(
    items: Sequence[tuple[str, float]], *, name: str, title: str, empty_text: str,
    value_format: str = "{:.1f}", max_value: float | None = None, color: str = ACCENT,
) -> Markup:
    """Horizontal bars, one row per ``(label, value)``, the value written after the bar."""
    if not items:
        return empty(empty_text, name)
    row, label_w, area = 26, 190, WIDTH - 190 - 60
    top = max([max_value or 0.0] + [v for _, v in items]) or 1.0
    body = []
    for i, (label, value) in enumerate(items):
        y = 6 + i * row
        w = max(0.0, area * value / top)
        text = value_format.format(value)
        body.append(
            f'<g class="bar"><title>{_e(label)}: {_e(text)}</title>'
            f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end" fill="{INK}">{_e(_fit(label, label_w - 14))}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{_n(w)}" height="16" rx="2" fill="{color}"/>'
            f'<text x="{_n(label_w + w + 6)}" y="{y + 14}" fill="{MUTED}">{_e(text)}</text></g>'
        )
    return _svg(name, title, 12 + len(items) * row, body)


def trend(
    points: Sequence[tuple[str, float | None]], *, name: str, title: str, empty_text: str,
    value_format: str = "{:.1f}", y_max: float | None = None, color: str = ACCENT,
) -> Markup:
    """A line over time: ``(bucket label, value or None)``, evenly spaced, labelled below."""
    if not any(v is not None for _, v in points):
        return empty(empty_text, name)
    height, left, right, top_pad, bottom = 220, 44, 16, 14, 30
    plot_w, plot_h = WIDTH - left - right, height - top_pad - bottom
    top = y_max or _nice(max(v for _, v in points if v is not None) * 1.1)
    n = len(points)

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - min(v, top) / top)

    body = []
    for k in range(5):  # grid lines and their values
        v = top * k / 4
        body.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{_n(y(v))}" y2="{_n(y(v))}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{_n(y(v) + 4)}" text-anchor="end" fill="{MUTED}">{_e(value_format.format(v))}</text>'
        )
    step = max(1, -(-n // 8))  # at most 8 labels
    for i, (label, _) in enumerate(points):
        if i % step == 0 or i == n - 1:
            body.append(f'<text x="{_n(x(i))}" y="{height - 10}" text-anchor="middle" fill="{MUTED}">{_e(label)}</text>')
    drawn = [(x(i), y(v), label, v) for i, (label, v) in enumerate(points) if v is not None]
    if len(drawn) > 1:
        path = " ".join(f"{_n(px)},{_n(py)}" for px, py, _, _ in drawn)
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
    for px, py, label, v in drawn:
        body.append(
            f'<circle class="point" cx="{_n(px)}" cy="{_n(py)}" r="3.5" fill="{color}">'
            f"<title>{_e(label)}: {_e(value_format.format(v))}</title></circle>"
        )
    return _svg(name, title, height, body)


def mood(
    points: Sequence[tuple[int, float, bool]], *, turns: int, triggers: Sequence[int], name: str, title: str,
    empty_text: str, labels: dict[str, str],
) -> Markup:
    """The customer's mood over one call: ``(turn index, mood in [-1, 1], anger)``; agent triggers
    as dashed red lines at their turns. ``labels``: ``positive``, ``negative``, ``trigger``, ``turn``."""
    if not points:
        return empty(empty_text, name)
    height, left, right, top_pad, bottom = 170, 44, 16, 12, 26
    plot_w, plot_h = WIDTH - left - right, height - top_pad - bottom
    span = max(1, turns - 1)

    def x(i: int) -> float:
        return left + plot_w * i / span

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - (max(-1.0, min(1.0, v)) + 1) / 2)

    body = [
        f'<line x1="{left}" x2="{WIDTH - right}" y1="{_n(y(0))}" y2="{_n(y(0))}" stroke="{GRID}" stroke-dasharray="4 3"/>',
        f'<text x="{left - 6}" y="{_n(y(1) + 8)}" text-anchor="end" fill="{GOOD}">{_e(labels["positive"])}</text>',
        f'<text x="{left - 6}" y="{_n(y(-1))}" text-anchor="end" fill="{BAD}">{_e(labels["negative"])}</text>',
    ]
    for i in triggers:
        body.append(
            f'<line class="trigger" x1="{_n(x(i))}" x2="{_n(x(i))}" y1="{top_pad}" y2="{top_pad + plot_h}" '
            f'stroke="{BAD}" stroke-dasharray="3 3" stroke-opacity="0.7"><title>{_e(labels["trigger"])} · '
            f'{_e(labels["turn"])} {i}</title></line>'
        )
    for i in range(0, turns, max(1, -(-turns // 12))):
        body.append(f'<text x="{_n(x(i))}" y="{height - 8}" text-anchor="middle" fill="{MUTED}">{i}</text>')
    ordered = sorted(points)
    if len(ordered) > 1:
        path = " ".join(f"{_n(x(i))},{_n(y(v))}" for i, v, _ in ordered)
        body.append(f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    for i, v, anger in ordered:
        fill = BAD if anger else (GOOD if v > 0.2 else (NEUTRAL if v >= -0.2 else ACCENT))
        body.append(
            f'<circle class="point" cx="{_n(x(i))}" cy="{_n(y(v))}" r="{5 if anger else 4}" fill="{fill}">'
            f'<title>{_e(labels["turn"])} {i}: {v:+.2f}</title></circle>'
        )
    return _svg(name, title, height, body)


def shares(parts: Sequence[tuple[str, float, str]], *, name: str, title: str, empty_text: str) -> Markup:
    """One stacked bar of shares: ``(label, count, colour)``, with a legend below."""
    total = sum(c for _, c, _ in parts)
    if total <= 0:
        return empty(empty_text, name)
    body, x0, legend_x = [], 0.0, 0.0
    for label, count, color in parts:
        w = WIDTH * count / total
        pct = f"{100 * count / total:.0f}%"
        body.append(
            f'<rect x="{_n(x0)}" y="4" width="{_n(w)}" height="22" fill="{color}">'
            f"<title>{_e(label)}: {int(count)} ({pct})</title></rect>"
        )
        x0 += w
        body.append(
            f'<rect x="{_n(legend_x)}" y="36" width="10" height="10" fill="{color}"/>'
            f'<text x="{_n(legend_x + 14)}" y="45" fill="{INK}">{_e(label)} {pct}</text>'
        )
        legend_x += 150
    return _svg(name, title, 54, body)
