"""From the dashboard to the calls behind a figure: links into the call list (``find.Find``) for
the agents page's bars, and pass rates written with the counts they come from.

``link_bars`` takes a bar chart as ``charts.bars`` draws it (one ``<g class="bar">`` per item, in
the items' order) and wraps each bar in a link; ``texts`` replaces the value written after a
bar (``3/5 通过（60%）`` instead of a bare ``60%``). A chart without bars (the "no data" text) is
returned as it is.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from html import escape

from markupsafe import Markup

from .find import Find

_BAR = re.compile(r'<g class="bar">(.*?)</g>', re.S)
_LAST_TEXT = re.compile(r"(<text [^>]*>)([^<]*)(</text>)(?!.*<text )", re.S)


def calls_url(*, agent: str = "", team: str = "", category: str = "", date_from: date | None = None,
              date_to: date | None = None, sort: str = "newest") -> str:
    """The call list showing these calls (the dashboard's selection and one more condition)."""
    return "/web/calls?" + Find(agent=agent, team=team, category=category, date_from=date_from, date_to=date_to,
                                sort=sort).query()


def link_bars(chart: Markup, hrefs: Sequence[str | None], texts: Sequence[str] | None = None,
              tip: str = "") -> Markup:
    """``chart`` with its i-th bar linked to ``hrefs[i]`` and its value written as ``texts[i]``."""
    count = 0

    def wrap(m: re.Match) -> str:
        nonlocal count
        i, inner = count, m.group(1)
        count += 1
        if texts is not None and i < len(texts):
            inner = _LAST_TEXT.sub(lambda t: t.group(1) + escape(texts[i]) + t.group(3), inner, count=1)
        bar = f'<g class="bar">{inner}</g>'
        if i < len(hrefs) and hrefs[i]:
            label = f' aria-label="{escape(tip)}"' if tip else ""
            return f'<a class="drill" href="{escape(hrefs[i], quote=True)}"{label}>{bar}</a>'
        return bar

    return Markup(_BAR.sub(wrap, str(chart)))


def counted(passed: int, judged: int, word: str) -> str:
    """``3/5 通过（60%）``: a share never without the calls it comes from."""
    return f"{passed}/{judged} {word}（{passed / judged:.0%}）" if judged else "—"
