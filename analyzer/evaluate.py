"""Evaluate detection on a labelled set: Huashu against a plain substring search.

Each item is one agent utterance with one gold ``label`` (a category id or ``none``). A system's
prediction is the set of categories it flags in the utterance. Per category c: a true positive
when c is predicted and gold; a false positive when c is predicted but the gold is another label;
a false negative when gold c is not predicted. "overall" is the micro average over categories;
"detection" ignores the category (any flag vs. gold not none).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .lexicon import CORPORA, SLOT, load_categories
from .model import HuashuError

DEV_SET = CORPORA / "dev" / "dev.jsonl"
HANDBOOK_PHRASES = CORPORA / "handbook_phrases.yaml"
NONE = "none"


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    label: str
    kind: str = ""
    script: str = ""
    style: str = ""


def load_dataset(path: str | Path | None = None) -> list[Item]:
    path = Path(path) if path else DEV_SET
    labels = set(load_categories()) | {NONE}
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise HuashuError(f"{path}: 无法读取 / cannot read: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            item = Item(str(r.get("id", n)), r["text"], r["label"], r.get("kind", ""), r.get("script", ""), r.get("style", ""))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise HuashuError(f"{path}:{n}: 须为含 text 和 label 的 JSON / needs JSON with text and label") from None
        if item.label not in labels:
            raise HuashuError(f"{path}:{n}: 未知标签 / unknown label {item.label!r}")
        items.append(item)
    return items


def load_handbook_phrases() -> dict[str, list[dict[str, str]]]:
    return yaml.safe_load(HANDBOOK_PHRASES.read_text(encoding="utf-8"))


def substring_baseline() -> Callable[[str], set[str]]:
    """The obvious alternative: look for each handbook phrase (before its slot) as a substring."""
    phrases = [
        (row["phrase"].split(SLOT)[0], category)
        for category, rows in load_handbook_phrases().items() for row in rows or []
    ]

    def predict(text: str) -> set[str]:
        return {category for phrase, category in phrases if phrase in text}

    return predict


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3), "tp": tp, "fp": fp, "fn": fn, "support": tp + fn}


def score(items: list[Item], predict: Callable[[str], set[str]]) -> dict[str, Any]:
    cats = list(load_categories())
    counts = {c: [0, 0, 0] for c in cats}
    det = [0, 0, 0]
    hard_negative_fp = 0
    for item in items:
        pred = predict(item.text)
        for c in pred:
            counts[c][0 if c == item.label else 1] += 1
        if item.label != NONE and item.label not in pred:
            counts[item.label][2] += 1
        gold_pos = item.label != NONE
        if pred and gold_pos:
            det[0] += 1
        elif pred:
            det[1] += 1
            hard_negative_fp += item.kind == "hard_negative"
        elif gold_pos:
            det[2] += 1
    per = {c: _prf(*counts[c]) for c in cats}
    total = [sum(v[i] for v in counts.values()) for i in range(3)]
    return {
        "overall": _prf(*total), "detection": _prf(*det), "per_category": per,
        "hard_negative_false_positives": hard_negative_fp,
        "by_slice": _slices(items, predict),
    }


def _slices(items: list[Item], predict: Callable[[str], set[str]]) -> dict[str, dict[str, Any]]:
    """Per kind, script and style: the share of positives found with their category and the
    share of negatives flagged at all."""
    out: dict[str, dict[str, Any]] = {}
    for field in ("kind", "script", "style"):
        for value in sorted({getattr(i, field) for i in items} - {""}):
            group = [i for i in items if getattr(i, field) == value]
            pos = [i for i in group if i.label != NONE]
            neg = [i for i in group if i.label == NONE]
            found = sum(i.label in predict(i.text) for i in pos)
            flagged = sum(bool(predict(i.text)) for i in neg)
            out[f"{field}={value}"] = {
                "positives": len(pos), "recall": round(found / len(pos), 3) if pos else None,
                "negatives": len(neg), "flagged_rate": round(flagged / len(neg), 3) if neg else None,
            }
    return out


def evaluate(engine, items: list[Item]) -> dict[str, Any]:
    def huashu(text: str) -> set[str]:
        return {f.category for f in engine.check(text)}

    return {
        "items": len(items),
        "hard_negatives": sum(i.kind == "hard_negative" for i in items),
        "systems": {"huashu": score(items, huashu), "substring": score(items, substring_baseline())},
    }


def format_table(result: dict[str, Any]) -> str:
    ours, base = result["systems"]["huashu"], result["systems"]["substring"]
    head = f"{'category':<15} {'n':>4} | {'P':>5} {'R':>5} {'F1':>5} | {'P':>5} {'R':>5} {'F1':>5}"
    lines = [
        f"{result['items']} utterances, {result['hard_negatives']} hard negatives",
        f"{'':<20} | {'Huashu (lexicon)':^17} | {'substring search':^17}",
        head,
        "-" * len(head),
    ]

    def row(name: str, a: dict, b: dict) -> str:
        return (f"{name:<15} {a['support']:>4} | {a['precision']:>5.3f} {a['recall']:>5.3f} {a['f1']:>5.3f} | "
                f"{b['precision']:>5.3f} {b['recall']:>5.3f} {b['f1']:>5.3f}")

    for c in ours["per_category"]:
        lines.append(row(c, ours["per_category"][c], base["per_category"][c]))
    lines.append("-" * len(head))
    lines.append(row("overall", ours["overall"], base["overall"]))
    lines.append(row("detection", ours["detection"], base["detection"]))
    lines.append(
        f"false positives on hard negatives: Huashu {ours['hard_negative_false_positives']}, "
        f"substring {base['hard_negative_false_positives']}"
    )
    lines.append("")
    lines.append(f"{'slice':<22} {'pos':>4} {'neg':>4} | {'recall':>6} {'FP rate':>7} | {'recall':>6} {'FP rate':>7}")

    def pct(v):
        return "   -  " if v is None else f"{v:6.3f}"

    for name, a in ours["by_slice"].items():
        b = base["by_slice"][name]
        lines.append(f"{name:<22} {a['positives']:>4} {a['negatives']:>4} | {pct(a['recall'])} {pct(a['flagged_rate']):>7} | "
                     f"{pct(b['recall'])} {pct(b['flagged_rate']):>7}")
    return "\n".join(lines)
