"""The rules page, ``/web/rules`` (supervisor, analyst): per category and per lexicon rule, how
often it fired (hits), what the supervisors said (confirmed, dismissed), what agents disputed,
and the resulting precision with its count. The figures are ``api.rule_stats`` (the same as
``GET /v1/rules/stats``); a chart of the categories' precision is inline SVG (``charts``)."""
from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from analyzer.lexicon import load_lexicon

from ..deps import SettingsDep
from ..rule_stats import percent, rule_stats
from . import charts, i18n
from .pages import Reader, category_names, render

router = APIRouter(include_in_schema=False)


@cache
def _rules(extra: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """rule id → its principle and one example span (what a person reads instead of the id)."""
    out = {}
    for entry in load_lexicon(list(extra)).entries:
        example = next((x.span or x.text for x in entry.examples), "")
        out[entry.id] = {"principle": entry.principle, "example": example, "source": entry.source}
    return out


def _row(row: dict[str, Any], lang: str, names: dict[str, str]) -> dict[str, Any]:
    return {**row, "shown_precision": percent(row["precision"]), "name": names.get(row["category"], row["category"])}


@router.get("/web/rules")
def rules_page(request: Request, web: Reader, settings: SettingsDep) -> Response:
    lang = i18n.lang_of(request)
    t = i18n.translator(lang)
    names = category_names(lang)
    with request.app.state.sessions() as session:
        stats = rule_stats(session)
    known = _rules(tuple(settings.lexicon))
    categories = [_row(c, lang, names) for c in stats.categories]
    rules = [{**_row(r, lang, names), **known.get(r["rule"], {"principle": "", "example": "", "source": ""})}
             for r in stats.rules]
    chart = charts.bars(
        [(f"{c['name']} ({c['judged']})", c["precision"]) for c in categories if c["precision"] is not None],
        name="precision", title=t("rules.chart.precision"), empty_text=t("rules.chart.empty"),
        value_format="{:.0%}", max_value=1.0, color=charts.GOOD,
    )
    return render(
        request, "rules.html", web, category_rows=categories, rules=rules,
        total={**stats.total, "shown_precision": percent(stats.total["precision"])}, chart=chart,
    )
