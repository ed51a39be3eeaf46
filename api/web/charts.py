"""The pages' charts: inline SVG drawn by ``analyzer.charts`` (the same code draws the reports'
charts, so the web pages and ``huashu report`` show the same pictures)."""
from analyzer.charts import (  # noqa: F401 (re-exported, the private helpers for tests/web)
    ACCENT,
    BAD,
    GOOD,
    GRID,
    INK,
    MUTED,
    NEUTRAL,
    WIDTH,
    _fit,
    _nice,
    _width,
    bars,
    empty,
    mood,
    shares,
    trend,
)
