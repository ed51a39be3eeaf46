"""Evaluate detection on a labelled set: Huashu against a plain substring search.

Each item is one agent utterance with one gold ``label`` (a category id or ``none``). A system's
prediction is the set of categories it flags in the utterance. Per category c: a true positive
when c is predicted and gold; a false positive when c is predicted but the gold is another label;
a false negative when gold c is not predicted. "overall" is the micro average over categories;
"detection" ignores the category (any flag vs. gold not none).

Where the set gives a gold ``span`` (the words that carry the trigger), the flags of Huashu's
systems are also graded on where they point (``span_quality``), and every rewrite Huashu proposes
is checked (``rewrite_quality``): does the rewritten utterance still trigger at that place, and,
for a trigger with a slot (你必须……), does the rewrite keep the slot's words?
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .lexicon import SLOT, load_categories
from .model import HuashuError
from .resources import DEV_SET, HANDBOOK_PHRASES, read_yaml

NONE = "none"


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    label: str
    kind: str = ""
    script: str = ""
    style: str = ""
    span: str = ""  # the gold trigger words, where the set gives them


def labelled_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each non-blank line of a labelled JSON Lines file; a line that is
    not an object with a string ``text`` and a known ``label`` is a one-line error naming it."""
    labels = set(load_categories()) | {NONE}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise HuashuError(f"{path}: 无法读取 / cannot read: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            ok = isinstance(r, dict) and isinstance(r["text"], str) and isinstance(r["label"], str)
        except (json.JSONDecodeError, KeyError, TypeError):
            ok = False
        if not ok:
            raise HuashuError(f"{path}:{n}: 须为含 text 和 label 的 JSON / needs JSON with text and label") from None
        if r["label"] not in labels:
            raise HuashuError(f"{path}:{n}: 未知标签 / unknown label {r['label']!r}")
        yield n, r


def load_dataset(path: str | Path | None = None) -> list[Item]:
    path = Path(path) if path else DEV_SET
    items = []
    for n, r in labelled_records(path):
        item = Item(str(r.get("id", n)), r["text"], r["label"], r.get("kind", ""), r.get("script", ""),
                    r.get("style", ""), r.get("span") or "")
        if item.span and item.span not in item.text:
            raise HuashuError(f"{path}:{n}: span 不在 text 中 / span {item.span!r} is not in the text")
        items.append(item)
    return items


def load_handbook_phrases() -> dict[str, list[dict[str, str]]]:
    return read_yaml(HANDBOOK_PHRASES.read_text(encoding="utf-8"))


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


def span_quality(items: list[Item], flags_of: Callable[[str], list]) -> dict[str, Any]:
    """Over gold positives with a span that the system finds with the right category: the share
    whose flag covers exactly the gold span, the share that overlaps it by at least half
    (intersection over union of the character ranges), and the mean of that overlap."""
    ious = []
    for item in items:
        if item.label == NONE or not item.span:
            continue
        found = [f for f in flags_of(item.text) if f.category == item.label]
        if not found:
            continue
        g0 = item.text.index(item.span)
        g1 = g0 + len(item.span)
        ious.append(max(_iou(f.start, f.end, g0, g1) for f in found))
    n = len(ious)
    return {
        "found_with_span": n,
        "exact": round(sum(v == 1.0 for v in ious) / n, 3) if n else None,
        "overlap_half": round(sum(v >= 0.5 for v in ious) / n, 3) if n else None,
        "mean_iou": round(sum(ious) / n, 3) if n else None,
    }


def _iou(a0: int, a1: int, b0: int, b1: int) -> float:
    inter = max(0, min(a1, b1) - max(a0, b0))
    return inter / (max(a1, b1) - min(a0, b0))


def rewrite_quality(engine, items: list[Item], flags_of: Callable[[str], list]) -> dict[str, Any]:
    """Every flag's rewrite, checked with the same system: the share of flags with a rewrite shown
    (``""`` when none passed the rewriter's checks), the share of shown rewrites in which nothing
    at all is flagged, and, for flags whose trigger has a slot (你必须……), the share whose rewrite
    still holds the slot's words."""
    flags = shown = settled = with_slot = slot_kept = 0
    for item in items:
        slots = _slot_words(engine, item.text)
        for f in flags_of(item.text):
            flags += 1
            if not f.rewrite:
                continue
            shown += 1
            settled += not flags_of(f.rewrite)
            words = slots.get((f.start, f.rule), "").rstrip(_TRAILING)  # particles at its end aside
            if words:
                with_slot += 1
                slot_kept += words in f.rewrite
    return {
        "flags": flags,
        "with_rewrite": round(shown / flags, 3) if flags else None,
        "no_longer_triggers": round(settled / shown, 3) if shown else None,
        "flags_with_slot": with_slot,
        "keeps_slot_words": round(slot_kept / with_slot, 3) if with_slot else None,
    }


_TRAILING = "吧啊呢呀啦了哦哈嘛的哟噢~～ "  # a slot's sentence-final particles (你必须先交押金【呢】)


def _slot_words(engine, text: str) -> dict[tuple[int, str], str]:
    """(original start, rule) → the slot's words, for the lexicon's matches in ``text``."""
    norm, found = engine.matches(text)
    out = {}
    for m in found:
        if m.slot and m.slot[0] < m.slot[1]:
            s, e = norm.to_original(*m.slot)
            out[(norm.to_original(m.start, m.end)[0], m.entry.id)] = text[s:e]
    return out


def evaluate(engine, items: list[Item], fused=None) -> dict[str, Any]:
    """Huashu's lexicon (``engine``), the fused system when ``fused`` (an engine with the model)
    is given, and the substring search, on ``items``."""
    systems: dict[str, Callable[[str], list]] = {"huashu": engine.check}
    if fused is not None:
        systems["fused"] = fused.check
    cache: dict[tuple[str, str], list] = {}

    def cached(name: str) -> Callable[[str], list]:
        def flags_of(text: str) -> list:
            if (name, text) not in cache:
                cache[(name, text)] = systems[name](text)
            return cache[(name, text)]
        return flags_of

    result = {
        "items": len(items),
        "hard_negatives": sum(i.kind == "hard_negative" for i in items),
        "spans_given": sum(bool(i.span) for i in items),
        "systems": {},
    }
    for name in systems:
        flags_of = cached(name)
        result["systems"][name] = {
            **score(items, lambda text, f=flags_of: {x.category for x in f(text)}),
            "span_quality": span_quality(items, flags_of),
            "rewrite_quality": rewrite_quality(engine, items, flags_of),
        }
    result["systems"]["substring"] = score(items, substring_baseline())
    return result


TITLES = {"huashu": "Huashu (lexicon)", "fused": "Huashu (lexicon+model)", "substring": "substring search"}


def format_table(result: dict[str, Any]) -> str:
    systems = result["systems"]
    names = list(systems)
    head = f"{'category':<15} {'n':>4} | " + " | ".join(f"{'P':>5} {'R':>5} {'F1':>5}" for _ in names)
    lines = [
        f"{result['items']} utterances, {result['hard_negatives']} hard negatives",
        f"{'':<20} | " + " | ".join(f"{TITLES.get(n, n):^17}" for n in names),
        head,
        "-" * len(head),
    ]

    def row(label: str, pick) -> str:
        cells = [pick(systems[n]) for n in names]
        return (f"{label:<15} {cells[0]['support']:>4} | "
                + " | ".join(f"{c['precision']:>5.3f} {c['recall']:>5.3f} {c['f1']:>5.3f}" for c in cells))

    for c in systems[names[0]]["per_category"]:
        lines.append(row(c, lambda r, c=c: r["per_category"][c]))
    lines.append("-" * len(head))
    lines.append(row("overall", lambda r: r["overall"]))
    lines.append(row("detection", lambda r: r["detection"]))
    lines.append("false positives on hard negatives: "
                 + ", ".join(f"{TITLES.get(n, n)} {systems[n]['hard_negative_false_positives']}" for n in names))
    lines.append("")
    lines.append(f"{'slice':<22} {'pos':>4} {'neg':>4} | "
                 + " | ".join(f"{'recall':>6} {'FP rate':>7}" for _ in names))

    def pct(v):
        return "   -  " if v is None else f"{v:6.3f}"

    first = systems[names[0]]["by_slice"]
    for slice_name, a in first.items():
        lines.append(f"{slice_name:<22} {a['positives']:>4} {a['negatives']:>4} | " + " | ".join(
            f"{pct(systems[n]['by_slice'][slice_name]['recall'])} {pct(systems[n]['by_slice'][slice_name]['flagged_rate']):>7}"
            for n in names))
    graded = [n for n in names if "span_quality" in systems[n]]
    if graded:
        lines.append("")
        for n in graded:
            sq, rq = systems[n]["span_quality"], systems[n]["rewrite_quality"]
            if sq["found_with_span"]:
                lines.append(f"{TITLES.get(n, n)} spans ({sq['found_with_span']} found positives with a gold span): "
                             f"exact {sq['exact']:.3f}, overlap ≥ 50% {sq['overlap_half']:.3f}, "
                             f"mean overlap {sq['mean_iou']:.3f}")
            if rq["flags"]:
                kept = f"{rq['keeps_slot_words']:.3f}" if rq["keeps_slot_words"] is not None else "-"
                settled = f"{rq['no_longer_triggers']:.3f}" if rq["no_longer_triggers"] is not None else "-"
                lines.append(f"{TITLES.get(n, n)} rewrites ({rq['flags']} flags, {rq['with_rewrite']} with a "
                             f"rewrite shown): no longer trigger {settled}; keep the slot's words {kept} "
                             f"({rq['flags_with_slot']} flags with a slot)")
    return "\n".join(lines)
