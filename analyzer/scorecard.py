"""The handbook scorecard of one call: greeting, polite forms, holds, farewell, 七不问, the six
complaint-handling steps, 80/20 listening, trigger rate and, with timestamps, silences,
interruptions and speech rate.

What is checked, the phrase lists and the thresholds are data: ``corpora/scorecard.yaml`` (each
item cites the handbook line it checks). A company's file of the same shape overrides it
(``load_config(["acme.yaml"])``; from the CLI ``--scorecard acme.yaml`` or ``HUASHU_SCORECARD=acme.yaml``,
several joined with ``:``, read by ``analyzer.config``).

``score(transcript)`` returns::

    {"channel": "call", "items": [{id, label_zh, label_en, value, passed, source, detail}, ...],
     "passed": 6, "failed": 2, "not_applicable": 3, "score": 0.75,
     "triggers_by_category": {"command": 1, ...}}

``passed`` is ``True``/``False``, or ``None`` when the item does not apply to the call (no hold
asked, no complaint, no timestamps, a chat for the speech items); ``score`` is the share passed of
the items that apply. ``value`` is a scalar (a count, a rate, a share, or the phrase found);
``detail`` holds the evidence (turn indices, counts per form, steps found).

Phrases are matched on the normalised text of each turn (``analyzer.normalize``: Simplified,
half-width punctuation), so a Traditional transcript is scored with the same lists. Only the
agent's turns are scored, except where an item says otherwise (the complaint is found in the
customer's turns; listening counts both).

Channel: ``"call"`` or ``"chat"``; ``"auto"`` (the default) takes a transcript with end times, or
read from speaker text, CSV or TSV, as a call, and a JSON/JSONL/XLSX export without end times as a
chat. A chat gets no interruption or speech-rate item (null) and the chat silence thresholds.
"""
from __future__ import annotations

import copy
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .model import AGENT, CUSTOMER, HuashuError, Transcript, Turn
from .normalize import normalize
from .resources import SCORECARD_FILE as DEFAULT_FILE
from .resources import read_yaml

CHANNELS = ("call", "chat")
# Characters that count as speech: letters, digits, CJK ideographs (not punctuation or spaces).
_SPOKEN = re.compile(r"[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class ScorecardError(HuashuError):
    """A scorecard file that cannot be used (names the file and the problem)."""


# -- configuration -------------------------------------------------------------------------
def _merge(base: Any, override: Any) -> Any:
    """Dicts merge key by key; anything else (lists included) is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base.get(key), value) if key in base else value
        return out
    return copy.deepcopy(override)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = read_yaml(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScorecardError(f"{path}: 无法读取 / cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ScorecardError(f"{path}: 不是有效的 YAML / invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScorecardError(f"{path}: 须为映射 / must be a mapping with `items:`")
    return data


def _merge_config(base: dict[str, Any], extra: dict[str, Any], name: str) -> dict[str, Any]:
    items = {item["id"]: item for item in base["items"]}
    for item in extra.get("items") or []:
        if not isinstance(item, dict) or item.get("id") not in items:
            known = ", ".join(items)
            raise ScorecardError(f"{name}: 未知的评分项 / unknown item {item!r:.60} (known: {known})")
        items[item["id"]] = _merge(items[item["id"]], item)
    out = _merge({k: v for k, v in base.items() if k != "items"},
                 {k: v for k, v in extra.items() if k != "items"})
    out["items"] = list(items.values())
    return out


def _extra_files(extra: Iterable[str | os.PathLike[str]]) -> tuple[str, ...]:
    return tuple(os.fspath(p) for p in extra)


def load_config(extra: Iterable[str | os.PathLike[str]] = ()) -> dict[str, Any]:
    """The default scorecard with the given company files (``Config.scorecard``) merged in."""
    return copy.deepcopy(_load_config(_extra_files(extra)))


@lru_cache(maxsize=8)
def _load_config(files: tuple[str, ...]) -> dict[str, Any]:
    config = _read_yaml(DEFAULT_FILE)
    for name in files:
        config = _merge_config(config, _read_yaml(Path(name)), name)
    return config


def source_text(source: Any) -> str:
    """``[{seed, line}, ...]`` as one line: ``seed: line | seed: line``."""
    if isinstance(source, dict):
        source = [source]
    if isinstance(source, str):
        return source
    return " | ".join(f"{s['seed']}: {s['line']}" for s in source)


# -- compiled phrase lists -----------------------------------------------------------------
def _pattern(phrases: str | Sequence[str], where: str) -> re.Pattern[str]:
    if isinstance(phrases, str):
        phrases = [phrases]
    joined = "|".join(f"(?:{p})" for p in phrases) if phrases else r"(?!)"
    try:
        return re.compile(joined)
    except re.error as exc:
        raise ScorecardError(f"scorecard {where}: 无效的正则 / bad pattern: {exc}") from None


@dataclass(frozen=True)
class _Item:
    id: str
    label_zh: str
    label_en: str
    source: str
    params: dict[str, Any]


class _Call:
    """What the item checks read: normalised turn texts, roles, times, flags (computed once)."""

    def __init__(self, t: Transcript, channel: str):
        self.t = t
        self.turns: list[Turn] = t.turns
        self.norm = [(turn.normalized or normalize(turn.text)).text for turn in t.turns]
        self.agent = [i for i, turn in enumerate(t.turns) if turn.role == AGENT]
        self.customer = [i for i, turn in enumerate(t.turns) if turn.role == CUSTOMER]
        self.spoken = [len(_SPOKEN.findall(text)) for text in self.norm]
        self.channel = channel
        self.all_starts = len(t.turns) > 1 and all(turn.start_time is not None for turn in t.turns)
        self.any_ends = any(turn.end_time is not None for turn in t.turns)


# -- the scorecard -------------------------------------------------------------------------
class Scorecard:
    """Built once from the configuration (phrases compiled), then applied to any number of calls."""

    def __init__(self, config: dict[str, Any] | None = None):
        self.config = config if config is not None else load_config()
        self.items: list[_Item] = []
        for raw in self.config.get("items") or []:
            missing = [k for k in ("id", "label_zh", "label_en", "source") if k not in raw]
            if missing:
                raise ScorecardError(f"scorecard item {raw.get('id')!r}: 缺少 / missing {missing}")
            if raw["id"] not in _CHECKS:
                raise ScorecardError(f"scorecard item {raw['id']!r}: 没有对应的检查 / no such check")
            self.items.append(_Item(raw["id"], raw["label_zh"], raw["label_en"], source_text(raw["source"]),
                                    raw.get("params") or {}))
        self._compiled = {item.id: _compile(item) for item in self.items}
        if "long_silences" in self._compiled and self._compiled["long_silences"]["request"] is None:
            self._compiled["long_silences"]["request"] = self._compiled.get("hold", {}).get("request")

    @classmethod
    def load(cls, extra: Iterable[str | os.PathLike[str]] = ()) -> Scorecard:
        return _cached_scorecard(_extra_files(extra))

    def score(self, t: Transcript, channel: str = "auto") -> dict[str, Any]:
        call = _Call(t, _channel(t, channel))
        results = []
        for item in self.items:
            value, passed, detail = _CHECKS[item.id](call, item.params, self._compiled[item.id])
            results.append({
                "id": item.id, "label_zh": item.label_zh, "label_en": item.label_en,
                "value": value, "passed": passed, "source": item.source, "detail": detail,
            })
        verdicts = [r["passed"] for r in results]
        ok, bad = verdicts.count(True), verdicts.count(False)
        by_category = Counter(f.category for turn in t.turns for f in turn.flags)
        return {
            "channel": call.channel,
            "items": results,
            "passed": ok,
            "failed": bad,
            "not_applicable": verdicts.count(None),
            "score": round(ok / (ok + bad), 3) if ok + bad else None,
            "triggers_by_category": dict(sorted(by_category.items())),
        }


@lru_cache(maxsize=8)
def _cached_scorecard(files: tuple[str, ...]) -> Scorecard:
    return Scorecard(copy.deepcopy(_load_config(files)))


def score(t: Transcript, channel: str = "auto", extra: Iterable[str | os.PathLike[str]] = ()) -> dict[str, Any]:
    """The scorecard of one analysed transcript (flags filled in) with the default configuration."""
    return Scorecard.load(extra).score(t, channel)


def _channel(t: Transcript, channel: str) -> str:
    if channel in CHANNELS:
        return channel
    if channel != "auto":
        raise ScorecardError(f"channel 须为 call、chat 或 auto / channel must be call, chat or auto: {channel!r}")
    from .callmeta import channel_of  # the call block's decision, with its evidence

    return channel_of(t)[0]


def _per_channel(value: Any, channel: str) -> float:
    return float(value[channel] if isinstance(value, dict) else value)


# -- the checks: (call, params, compiled) -> (value, passed, detail) ------------------------
def _compile(item: _Item) -> dict[str, Any]:
    p, where = item.params, item.id
    if item.id == "greeting":
        names = [re.escape(normalize(n).text) for n in p.get("company_names") or []]
        return {"greeting": _pattern(p.get("greetings") or [], where),
                "company": _pattern(names or p.get("company_patterns") or [], where)}
    if item.id == "polite_forms":
        return {name: _pattern(rx, f"{where}.{name}") for name, rx in (p.get("forms") or {}).items()}
    if item.id == "hold":
        return {"request": _pattern(p.get("request") or [], where), "thanks": _pattern(p.get("thanks") or [], where)}
    if item.id == "farewell":
        return {"phrases": _pattern(p.get("phrases") or [], where)}
    if item.id == "complaint_steps":
        return {"complaint": _pattern(p.get("complaint") or [], where),
                "steps": [(s["id"], _pattern(s.get("phrases") or [], f"{where}.{s['id']}")) for s in p.get("steps") or []]}
    if item.id == "long_silences":  # a hold is announced with the hold item's phrases (or its own)
        own = p.get("hold_request")
        return {"request": _pattern(own, where) if own else None}
    return {}


def _greeting(call: _Call, p: dict, c: dict) -> tuple:
    first = call.agent[: int(p.get("first_agent_turns", 2))]
    if not first:
        return None, None, {}
    greeting = company = None
    turn = None
    for i in first:
        g = c["greeting"].search(call.norm[i])
        m = c["company"].search(call.norm[i])
        greeting = greeting or (g.group(0) if g else None)
        company = company or (m.group(0) if m else None)
        if greeting and turn is None:
            turn = i
    found = [x for x in (greeting, company) if x]
    detail = {"turn": turn, "greeting": greeting, "company": company}
    return (" / ".join(found) or None), bool(greeting and company), detail


def _polite_forms(call: _Call, p: dict, c: dict) -> tuple:
    if not call.agent:
        return None, None, {}
    counts = {name: sum(len(rx.findall(call.norm[i])) for i in call.agent) for name, rx in c.items()}
    total = sum(counts.values())
    needed = max(1, math.ceil(float(p.get("min_per_agent_turn", 0.25)) * len(call.agent)))
    return total, total >= needed, {"counts": counts, "needed": needed}


def _hold(call: _Call, p: dict, c: dict) -> tuple:
    requests = [i for i in call.agent if c["request"].search(call.norm[i])]
    if not requests:
        return 0, None, {"requests": [], "thanked": []}
    thanked = [i for i in call.agent if i > requests[0] and c["thanks"].search(call.norm[i])]
    unanswered = [r for r in requests if not any(t > r for t in thanked)]
    # Requests answered by one later thanks count as one hold; the last request needs a thanks too.
    return len(requests), not unanswered, {"requests": requests, "thanked": thanked}


def _farewell(call: _Call, p: dict, c: dict) -> tuple:
    last = call.agent[-int(p.get("last_agent_turns", 2)):] if call.agent else []
    if not last:
        return None, None, {}
    for i in reversed(last):
        if m := c["phrases"].search(call.norm[i]):
            return m.group(0), True, {"turn": i}
    return None, False, {"turn": None}


def _qibuwen(call: _Call, p: dict, c: dict) -> tuple:
    if not call.agent:
        return None, None, {}
    category, topics = p.get("category", "privacy"), p.get("topics") or {}
    asked = [
        {"turn": i, "rule": f.rule, "topic": topics.get(f.rule.split(".", 1)[-1]), "text": f.text}
        for i in call.agent for f in call.turns[i].flags if f.category == category
    ]
    return len(asked), not asked, {"asked": asked}


def _complaint_steps(call: _Call, p: dict, c: dict) -> tuple:
    anger = bool(p.get("anger_is_complaint", True))
    start = next(
        (i for i in call.customer
         if c["complaint"].search(call.norm[i]) or (anger and (call.turns[i].sentiment or {}).get("anger"))),
        None,
    )
    if start is None:
        return None, None, {"complaint_turn": None}
    after = [i for i in call.agent if i > start]
    # Every occurrence of every step: (turn, offset), in reading order.
    hits: dict[str, list[tuple[int, int]]] = {
        sid: [(i, m.start()) for i in after for m in rx.finditer(call.norm[i])] for sid, rx in c["steps"]
    }
    order = [sid for sid, _ in c["steps"]]
    first: dict[str, tuple[int, int] | None] = {sid: (hits[sid][0] if hits[sid] else None) for sid in order}
    if "apologise_again" in hits:  # an apology after the solution
        solved = first.get("solve")
        again = [h for h in hits["apologise_again"] if solved is not None and h > solved]
        first["apologise_again"] = again[0] if again else None
    occurred = [sid for sid in order if first[sid] is not None]
    # In order: one occurrence of each step, each after the previous (greedy is optimal here).
    position, in_order = (-1, -1), True
    for sid in order:
        later = [h for h in hits[sid] if h > position]
        if sid == "apologise_again" and first.get("solve") is not None:
            later = [h for h in later if h > first["solve"]]
        if not later:
            in_order = False
            break
        position = later[0]
    detail = {
        "complaint_turn": start,
        "occurred": occurred,
        "missing": [sid for sid in order if sid not in occurred],
        "in_order": in_order,
        "first_turn": {sid: (first[sid][0] if first[sid] else None) for sid in order},
    }
    return len(occurred), len(occurred) == len(order) and in_order, detail


def _listening(call: _Call, p: dict, c: dict) -> tuple:
    if not call.agent or not call.customer:
        return None, None, {}
    timed = all(t.start_time is not None and t.end_time is not None and t.end_time >= t.start_time
                for t in call.turns)
    if timed:
        talk = [t.end_time - t.start_time for t in call.turns]
        basis = "time"
    else:
        talk = [float(n) for n in call.spoken]
        basis = "chars"
    customer = sum(talk[i] for i in call.customer)
    agent = sum(talk[i] for i in call.agent)
    if customer + agent <= 0:
        return None, None, {"basis": basis}
    share = round(customer / (customer + agent), 3)
    return share, share >= float(p.get("min_customer_share", 0.4)), {
        "basis": basis, "customer": round(customer, 2), "agent": round(agent, 2)}


def _triggers(call: _Call, p: dict, c: dict) -> tuple:
    if not call.agent:
        return None, None, {}
    flags = sum(len(call.turns[i].flags) for i in call.agent)
    rate = round(100 * flags / len(call.agent), 1)
    return rate, rate <= float(p.get("max_per_100_agent_turns", 10.0)), {"flags": flags, "agent_turns": len(call.agent)}


def _long_silences(call: _Call, p: dict, c: dict) -> tuple:
    hold_request = c.get("request")
    if not call.all_starts:
        return None, None, {"basis": None}
    threshold = _per_channel(p.get("threshold_s", 10.0), call.channel)
    hold_limit = _per_channel(p.get("announced_hold_s", 90.0), call.channel)
    cps = float(p.get("chars_per_second", 4.0))
    silences, holds, basis = [], [], "end_times" if call.any_ends else "start_times"
    last_agent = None
    for k, turn in enumerate(call.turns):
        if k and turn.role == AGENT:
            prev = call.turns[k - 1]
            if prev.end_time is not None:
                prev_end = prev.end_time
            else:
                prev_end = min(prev.start_time + call.spoken[k - 1] / cps, turn.start_time)
            gap = turn.start_time - prev_end
            announced = bool(hold_request and last_agent is not None and hold_request.search(call.norm[last_agent]))
            if gap > (hold_limit if announced else threshold):
                silences.append({"before_turn": k, "seconds": round(gap, 1), "announced_hold": announced})
            elif announced and gap > threshold:
                holds.append({"before_turn": k, "seconds": round(gap, 1)})
        if turn.role == AGENT:
            last_agent = k
    return len(silences), not silences, {"basis": basis, "silences": silences, "announced_holds": holds,
                                         "threshold_s": threshold}


def _interruptions(call: _Call, p: dict, c: dict) -> tuple:
    if call.channel == "chat" or not call.any_ends:
        return None, None, {}
    tol = float(p.get("tolerance_s", 0.3))
    by_agent, by_customer = [], []
    for k in range(1, len(call.turns)):
        prev, turn = call.turns[k - 1], call.turns[k]
        if prev.role == turn.role or None in (prev.end_time, turn.start_time):
            continue
        if turn.start_time < prev.end_time - tol:
            (by_agent if turn.role == AGENT else by_customer).append(k)
    return len(by_agent), len(by_agent) <= int(p.get("max", 0)), {
        "agent_interrupts": by_agent, "customer_interrupts": by_customer}


def _speech_rate(call: _Call, p: dict, c: dict) -> tuple:
    if call.channel == "chat":
        return None, None, {}
    timed = [i for i in call.agent
             if call.turns[i].start_time is not None and call.turns[i].end_time is not None
             and call.turns[i].end_time > call.turns[i].start_time]
    if not timed:
        return None, None, {}
    seconds = sum(call.turns[i].end_time - call.turns[i].start_time for i in timed)
    chars = sum(call.spoken[i] for i in timed)
    rate = round(60 * chars / seconds, 1)
    lo, hi = (float(x) for x in p.get("range_chars_per_minute", (150, 280)))
    return rate, lo <= rate <= hi, {"chars": chars, "seconds": round(seconds, 1), "turns": len(timed),
                                    "range": [lo, hi]}


_CHECKS: dict[str, Callable[..., tuple]] = {
    "greeting": _greeting,
    "polite_forms": _polite_forms,
    "hold": _hold,
    "farewell": _farewell,
    "qibuwen": _qibuwen,
    "complaint_steps": _complaint_steps,
    "listening": _listening,
    "triggers": _triggers,
    "long_silences": _long_silences,
    "interruptions": _interruptions,
    "speech_rate": _speech_rate,
}
