"""What people read instead of ids: category names, handbook titles and sections, scorecard values
and notes, the batch report's column headers, percentages. One place for the web pages
(``api.web``), ``huashu analyze --format html`` and ``huashu report``, so all show the same words.
The words are data: ``corpora/report_labels.yaml`` and ``corpora/categories.yaml``."""
from __future__ import annotations

import math
import string
from collections.abc import Mapping
from functools import cache
from typing import Any

from .lexicon import load_categories
from .resources import CORPORA, read_yaml

LABELS_FILE = CORPORA / "report_labels.yaml"
LANGS = ("zh", "en")


@cache
def labels() -> dict[str, Any]:
    return read_yaml(LABELS_FILE.read_text(encoding="utf-8"))


def _lang(lang: str) -> str:
    return lang if lang in LANGS else "zh"


def category_name(category: str, lang: str = "zh") -> str:
    """The category's name (``categories.yaml``); an unknown id as it is."""
    c = load_categories().get(category)
    return (c.name_zh if _lang(lang) == "zh" else c.name_en) if c else category


def percent(value: float | None, digits: int = 0) -> str:
    """A share in [0, 1] as people read it: ``83%``; "—" for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{100 * value:.{digits}f}%"


def number(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.{digits}f}"
    return str(int(value))


def column(name: str, lang: str = "zh") -> str:
    """A batch-report column's header; ``flags_<category>`` and ``sc_<item>_rate`` by their names."""
    cols = labels()["columns"]
    if name in cols:
        return cols[name][_lang(lang)]
    if name.startswith("flags_") and name[6:] in load_categories():
        return category_name(name[6:], lang)
    if name.startswith("sc_") and name.endswith("_rate"):
        return scorecard_label(name[3:-5], lang)
    return name


@cache
def _scorecard_config() -> dict[str, Any]:
    from .scorecard import load_config

    return load_config()


def scorecard_label(item: str, lang: str = "zh") -> str:
    for raw in _scorecard_config()["items"]:
        if raw["id"] == item:
            return raw["label_zh"] if _lang(lang) == "zh" else raw["label_en"]
    return item


def handbook_title(seed: str, lang: str = "zh") -> str:
    found = labels()["handbooks"].get(seed)
    return found[_lang(lang)] if found else seed


@cache
def _sections() -> dict[tuple[str, str], str]:
    out = {}
    for raw in _scorecard_config()["items"]:
        sources = raw.get("source")
        for s in [sources] if isinstance(sources, dict) else sources if isinstance(sources, list) else []:
            if isinstance(s, dict) and s.get("section"):
                out[(s["seed"], s["line"])] = s["section"]
    return out


def readable_source(source: Any, lang: str = "zh") -> str:
    """A scorecard item's ``source`` (``seed.txt: line | seed.txt: line``, as stored, or the list of
    ``{seed, line, section}``) as handbook title, section and line:
    ``《客户服务手册》服务人员常用的“说法”：1、迎客时说……``. A part it cannot place stays as it is."""
    if isinstance(source, dict):
        source = [source]
    if isinstance(source, list):
        parts = [(str(s.get("seed", "")), str(s.get("line", ""))) for s in source if isinstance(s, dict)]
    else:
        parts = []
        for piece in str(source or "").split(" | "):
            seed, sep, line = piece.partition(": ")
            parts.append((seed, line) if sep else ("", piece))
    shown = []
    for seed, line in parts:
        if not seed or seed not in labels()["handbooks"]:
            shown.append(f"{seed}: {line}" if seed else line)
            continue
        section = _sections().get((seed, line), "")
        head = f"《{handbook_title(seed, lang)}》{section if section != line else ''}"
        shown.append(f"{head}：{line.rstrip('。')}" if line else head)
    return "；".join(p for p in shown if p)


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def _fill(template: str, fields: Mapping[str, Any]) -> str | None:
    try:
        names = {n for _, n, _, _ in string.Formatter().parse(template) if n}
        return template.format_map({k: fields[k] for k in names})
    except (KeyError, ValueError, IndexError):
        return None


def _step_names(lang: str) -> dict[str, str]:
    for raw in _scorecard_config()["items"]:
        if raw["id"] == "complaint_steps":
            return {s["id"]: s.get("label_zh" if _lang(lang) == "zh" else "label_en") or s["id"]
                    for s in (raw.get("params") or {}).get("steps") or []}
    return {}


def scorecard_value(item: Mapping[str, Any], lang: str = "zh") -> str:
    """An item's value as people read it (``35%``, ``3 次``, ``每百句 12.5``); "—" for none."""
    value = item.get("value")
    if value is None:
        return "—"
    kind = labels()["scorecard"].get(str(item.get("id")), {}).get("kind", "text")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if kind == "percent":
        return percent(float(value))
    unit = labels()["units"].get(kind)
    return unit[_lang(lang)].format(value=number(value)) if unit else number(value)


def scorecard_note(item: Mapping[str, Any], lang: str = "zh") -> str:
    """Why a failed item failed, in words (``corpora/report_labels.yaml``); "" when it passed,
    does not apply, or the note's fields are not in its detail."""
    if item.get("passed") is not False:
        return ""
    template = labels()["scorecard"].get(str(item.get("id")), {}).get("failed", {}).get(_lang(lang))
    if not template:
        return ""
    detail = dict(item.get("detail") or {}) if isinstance(item.get("detail"), Mapping) else {}
    if isinstance(detail.get("missing"), list):
        names = _step_names(lang)
        detail["missing"] = "、".join(names.get(s, s) for s in detail["missing"]) if lang == "zh" else ", ".join(
            names.get(s, s) for s in detail["missing"])
    if isinstance(detail.get("range"), list) and len(detail["range"]) == 2:
        detail["range"] = f"{number(detail['range'][0])}–{number(detail['range'][1])}"
    shown = scorecard_value(item, lang)
    fields = {**detail, "value": shown if labels()["scorecard"].get(str(item.get("id")), {}).get("kind") == "percent"
              else number(item["value"]) if isinstance(item.get("value"), (int, float)) else shown}
    return _fill(template, fields) or ""


def scorecard_rows(card: Mapping[str, Any] | None, lang: str = "zh") -> list[dict[str, Any]]:
    """The scorecard's items as shown: ``{id, label, label_other, value, passed, status, note,
    source}`` (``status``: 通过 / 未通过 / 不适用)."""
    units = labels()["units"]
    rows = []
    for item in (card or {}).get("items") or []:
        if not isinstance(item, Mapping):
            continue
        lang = _lang(lang)
        passed = item.get("passed") if isinstance(item.get("passed"), bool) else None
        rows.append({
            "id": str(item.get("id", "")),
            "label": str(item.get(f"label_{lang}") or item.get("label_zh") or item.get("id", "")),
            "label_other": str(item.get("label_en" if lang == "zh" else "label_zh") or ""),
            "value": scorecard_value(item, lang),
            "passed": passed,
            "status": units["na" if passed is None else "passed" if passed else "failed"][lang],
            "note": scorecard_note(item, lang),
            "source": readable_source(item.get("source"), lang),
        })
    return rows
