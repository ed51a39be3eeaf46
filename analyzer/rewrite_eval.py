"""``huashu eval --rewrites [FILE]``: the rewrite set (``corpora/rewrites/rewrites.jsonl``) graded.

For each item the engine (the lexicon; with the model unless ``--no-model``) flags the text and
builds its one rewrite (``analyzer.rewriter``). The rubric, per item:

- shown: the engine flagged the text and a rewrite passed the checks;
- trigger gone: shown, and the same engine flags nothing in the rewrite;
- content kept: shown, and every ``keep`` word of the item is in the rewrite (both normalised);
- fluent (automatic proxy): shown, the automatic checks find nothing (no dangling request, no
  doubled punctuation, no stacked phrases, length within bounds, every content word kept), and the
  rewrite is close to one of the item's acceptable rewrites: character-bigram Dice ≥ ``CLOSE``;
- no false promise: the rewrite adds no promise word (refund, compensation, escalation,
  callback) of a kind the item's ``promise`` does not allow;
- usable: all four.

The same rubric is also reported with the item's own triggers given to the rewriter (detection
taken as given), so a missed trigger and a bad rewrite can be told apart.

Also: the automatic-check failures among shown rewrites (the checks run again, independently of
the rewriter's choice; must be 0), per category (of the item's first trigger) and per style, and the
recorded reading (``corpora/rewrites/reading.jsonl``: one person's judgments of shown rewrites, on
the same four criteria) next to the automatic figures.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from .model import HuashuError
from .normalize import normalize
from .resources import CORPORA

REWRITE_SET = CORPORA / "rewrites" / "rewrites.jsonl"
READING = CORPORA / "rewrites" / "reading.jsonl"
CLOSE = 0.2  # character-bigram Dice to the nearest acceptable rewrite, for "fluent" (a weak proxy: the reading is the judgment)
CRITERIA = ("trigger_gone", "content_kept", "fluent", "no_false_promise")
PROMISE_KINDS = ("none", "refund", "escalation", "compensation", "callback")


def read_jsonl(path: str | Path, need: tuple[str, ...]) -> list[dict[str, Any]]:
    """JSON Lines with the fields ``need``; a bad line is a one-line error naming file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise HuashuError(f"{path}: 无法读取 / cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise HuashuError(f"{path}: 不是 UTF-8 文本 / not UTF-8 text") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HuashuError(f"{path}:{n}: 不是 JSON / not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or any(k not in row for k in need):
            raise HuashuError(f"{path}:{n}: 缺少字段 / missing fields (needs {', '.join(need)})")
        out.append(row)
    return out


def _bigrams(text: str) -> list[str]:
    t = "".join(ch for ch in normalize(text).text if ch.isalnum())
    return [t[i:i + 2] for i in range(len(t) - 1)] or [t]


def closeness(rewrite: str, acceptable: list[str]) -> float:
    """The best character-bigram Dice coefficient between ``rewrite`` and an acceptable rewrite."""
    mine = _bigrams(rewrite)
    best = 0.0
    for other in acceptable:
        theirs = list(_bigrams(other))
        common = 0
        pool = list(theirs)
        for b in mine:
            if b in pool:
                pool.remove(b)
                common += 1
        best = max(best, 2 * common / (len(mine) + len(theirs)) if mine and theirs else 0.0)
    return round(best, 3)


def gold_flags(engine, item: dict[str, Any]) -> list:
    """The item's own triggers as flags (the rewriter's input when detection is taken as given);
    the rule is the lexicon entry matched there, if any (its catalysts)."""
    from .model import Flag

    text = str(item["text"])
    norm, found = engine.matches(text)
    out = []
    for t in item.get("triggers") or []:
        s, e, cat = int(t["start"]), int(t["end"]), str(t["category"])
        rule = next((m.entry.id for m in found if m.entry.category == cat
                     and norm.to_original(m.start, m.end)[0] < e and s < norm.to_original(m.start, m.end)[1]), "")
        out.append(Flag(s, e, text[s:e], cat, 1.0, "gold", rule, "", [], ""))
    return out


def given_triggers(engine, items: list[dict[str, Any]]) -> tuple[list[list], list[str]]:
    """Per item: its gold flags and the first of the rewriter's rewrites the engine (the model too
    when on) flags nothing in; ``""`` when none."""
    from .rewriter import Rewriter

    rw = engine.rewriter or Rewriter(engine)
    engine.rewriter = rw
    flags = [gold_flags(engine, i) for i in items]
    options = [rw.rewrites(str(i["text"]), f) for i, f in zip(items, flags)]
    pending = list(dict.fromkeys(r for rs in options for r in rs))
    clean = {r: not f for r, f in zip(pending, engine.check_many(pending))}
    return flags, [next((r for r in rs if clean.get(r)), "") for rs in options]


def grade(engine, items: list[dict[str, Any]], given: bool = False) -> list[dict[str, Any]]:
    """One row per item: the rewrite shown and each criterion. ``given``: the rewriter starts from
    the item's own triggers instead of the engine's flags (the rewrite alone, detection aside)."""
    from .rewriter import promise_of

    texts = [str(i["text"]) for i in items]
    if given:
        flags, rewrites = given_triggers(engine, items)
    else:
        flags = engine.check_many(texts)
        rewrites = [f[0].rewrite if f else "" for f in flags]
    again = engine.check_many([r for r in rewrites if r])
    again_of = dict(zip([r for r in rewrites if r], again))
    rw = engine.rewriter
    rows = []
    for item, found, rewrite in zip(items, flags, rewrites):
        shown = bool(rewrite)
        keep_words = [normalize(str(w)).text for w in item.get("keep") or []]
        new = normalize(rewrite).text
        problems = rw.problems(item["text"], rewrite, rw.content_words(item["text"], [(f.start, f.end) for f in found])) \
            if shown else []
        retrigger = bool(again_of.get(rewrite)) if shown else False
        promise = promise_of(item["text"], rewrite, rw.t) if shown else "none"
        close = closeness(rewrite, list(item.get("acceptable") or [])) if shown else 0.0
        row = {
            "id": item.get("id"), "text": item["text"], "style": item.get("style", ""),
            "category": (item.get("triggers") or [{}])[0].get("category", ""),
            "split": item.get("split", ""), "flagged": bool(found), "shown": shown, "rewrite": rewrite,
            "trigger_gone": shown and not retrigger,
            "content_kept": shown and all(w in new for w in keep_words),
            "fluent": shown and not problems and close >= CLOSE,
            "no_false_promise": promise in ("none", item.get("promise", "none")),
            "closeness": close, "promise": promise,
            "check_failures": (problems + (["retriggers"] if retrigger else [])) if shown else [],
        }
        row["usable"] = all(row[c] for c in CRITERIA)
        rows.append(row)
    return rows


def _share(rows: list[dict[str, Any]], key: str) -> float | None:
    return round(sum(bool(r[key]) for r in rows) / len(rows), 3) if rows else None


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    shown = [r for r in rows if r["shown"]]
    out = {"items": len(rows), "flagged": _share(rows, "flagged"), "shown": _share(rows, "shown"),
           **{c: _share(rows, c) for c in (*CRITERIA, "usable")},
           "check_failures_among_shown": sum(bool(r["check_failures"]) for r in shown),
           "mean_closeness": round(sum(r["closeness"] for r in shown) / len(shown), 3) if shown else None}
    return out


def reading_figures(path: str | Path, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The recorded reading: its four criteria and usable, over the judged items, and how many
    judged rewrites are no longer what the engine shows (a stale reading)."""
    path = Path(path)
    if not path.exists():
        return None
    judged = read_jsonl(path, ("id", "rewrite", *CRITERIA))
    shown_now = {r["id"]: r["rewrite"] for r in rows}
    for j in judged:
        j["usable"] = all(bool(j[c]) for c in CRITERIA)
    return {"judged": len(judged), **{c: _share(judged, c) for c in (*CRITERIA, "usable")},
            "stale": sum(1 for j in judged if j["id"] in shown_now and shown_now[j["id"]] != j["rewrite"])}


def run(engine, path: str | Path | None = None, reading: str | Path | None = None) -> dict[str, Any]:
    items = read_jsonl(path or REWRITE_SET, ("id", "text", "acceptable", "keep"))
    rows = grade(engine, items)
    by: dict[str, dict[str, list]] = {"category": defaultdict(list), "style": defaultdict(list),
                                       "split": defaultdict(list)}
    for r in rows:
        for k in by:
            by[k][r[k]].append(r)
    given = grade(engine, items, given=True)
    given_by: dict[str, list] = defaultdict(list)
    for r in given:
        given_by[r["category"]].append(r)
    return {
        "file": str(path or REWRITE_SET), "overall": summarize(rows),
        "given_triggers": {"overall": summarize(given),
                           "by_category": {k: summarize(v) for k, v in sorted(given_by.items())}},
        **{f"by_{k}": {name: summarize(v) for name, v in sorted(groups.items())} for k, groups in by.items()},
        "reading": reading_figures(reading or READING, rows),
        "rows": rows,
    }


def format_rewrites(result: dict[str, Any], title: str) -> str:
    cols = ("shown", *CRITERIA, "usable")
    head = f"{'':<16}{'n':>5} " + " ".join(f"{c[:12]:>12}" for c in cols) + f" {'checks✗':>8}"
    lines = [f"改写评测 / rewrite evaluation: {result['file']} ({title})", head, "-" * len(head)]

    def row(name: str, s: dict[str, Any]) -> str:
        vals = " ".join(f"{s[c]:>12.3f}" if s[c] is not None else f"{'-':>12}" for c in cols)
        return f"{name:<16}{s['items']:>5} {vals} {s['check_failures_among_shown']:>8}"

    for key in ("by_category", "by_style", "by_split"):
        for name, s in result[key].items():
            lines.append(row(name or "-", s))
        lines.append("-" * len(head))
    lines.append(row("overall", result["overall"]))
    g = result.get("given_triggers")
    if g:
        lines.append("given the item's own triggers (the rewrite alone, detection aside):")
        for name, s in g["by_category"].items():
            lines.append(row(name, s))
        lines.append(row("overall", g["overall"]))
    o = result["overall"]
    lines.append(f"mean closeness to an acceptable rewrite (shown): {o['mean_closeness']}; "
                 f"fluent needs ≥ {CLOSE} and no check failure")
    r = result.get("reading")
    if r:
        lines.append(f"recorded reading ({r['judged']} rewrites judged by hand; {r['stale']} no longer shown): "
                     + ", ".join(f"{c} {r[c]:.3f}" for c in (*CRITERIA, "usable")))
    return "\n".join(lines)
