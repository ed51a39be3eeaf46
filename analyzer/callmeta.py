"""Who took a call, when it started and on which channel: the ``call`` block of an analysis
(``docs/interfaces.md``), and the one rule that groups calls by agent (``agent_key``).

One rule for every door (the web pages, the API, ``huashu analyze`` and batch reports):

- **agent** ``{"name", "employee_id"}``: from the agent's speaker label, the most frequent one
  (客服 小林, 客服-小林, 在线客服(小美), 小美(在线客服), 某某旗舰店:小美, 工号1234), else from the
  agent's self-introduction in the first agent turns (我是客服小林, 工号1234 / 我的工号是1234).
  Names are in Simplified characters (小陳 and 小陈 are one agent). A bare role label (坐席, 客服,
  agent) is no name. Cues are data: ``corpora/callmeta.yaml``.
- **started_at**: the first date-time in the transcript (``Transcript.meta``, from ``ingest``),
  ISO 8601 with its offset; a time written without one is in the configured time zone
  (``Config.timezone``, ``HUASHU_TIMEZONE``, default Asia/Shanghai). Null when the file has no
  dates.
- **channel** ``chat`` or ``call`` with ``evidence.channel`` (the reasons, in words), from the
  layout (chat exports), the times (end times: a recording; wall-clock message times with long
  gaps: a chat; offsets from 0: a recording), emoji and wording. The scorecard scores by this
  same decision (``channel_of``); ``--channel`` / ``HUASHU_CHANNEL`` force one.

``agent_key(call_agent)`` is how calls are grouped by agent: ``id:1234`` when there is an employee
id, else ``name:小林``, else None. Callers may override any field with metadata they hold (a
``--meta`` CSV, upload fields): ``call_meta(..., given=...)``.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import datetime
from functools import cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from .model import Transcript
from .normalize import normalize
from .resources import CORPORA, read_yaml

CALLMETA_FILE = CORPORA / "callmeta.yaml"
CHANNELS = ("call", "chat")
DEFAULT_TIMEZONE = "Asia/Shanghai"

_EMPLOYEE_ID = re.compile(r"工号\s*[:：是为]?\s*(\d{2,})")
_SEPARATORS = re.compile(r"[\s\-–—_·|/:：]+")
_BRACKETED = re.compile(r"(?P<outer>[^()（）]*?)\s*[(（]\s*(?P<inner>[^()（）]+?)\s*[)）]")
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_HANZI_NAME = r"[\u4e00-\u9fff]{2,3}?"


@cache
def _cues() -> dict[str, Any]:
    with open(CALLMETA_FILE, encoding="utf-8") as f:
        return read_yaml(f)


@cache
def _role_words() -> tuple[str, ...]:
    """Every built-in role label and shop suffix, Simplified and case-folded, longest first."""
    from .ingest import AGENT_LABELS, CUSTOMER_LABELS, SHOP_SUFFIXES

    words = {normalize(w).text.casefold() for w in (*AGENT_LABELS, *CUSTOMER_LABELS, *SHOP_SUFFIXES)}
    return tuple(sorted(words, key=len, reverse=True))


@cache
def _intro() -> re.Pattern[str]:
    c = _cues()["agent"]
    openers = "|".join(map(re.escape, c["intro_openers"]))
    roles = "|".join(map(re.escape, sorted(c["intro_roles"], key=len, reverse=True)))
    return re.compile(rf"(?:{openers})(?:[^，。！？,!?\s]{{0,6}}?(?:{roles}))?(?P<name>{_HANZI_NAME})"
                      r"(?=[，。！？,!?\s~～、]|$|很高兴|为您|竭诚|有什么|请问)")


# -- the agent -------------------------------------------------------------------------------
def _is_role(word: str) -> bool:
    w = re.sub(r"[\s#_-]*\d+$", "", word.strip()).casefold()
    return not w or w in _role_words()


def name_in_label(label: str) -> str | None:
    """The person's name in a speaker label (Simplified), or None for a bare role or number:
    客服 小林, 客服-小林, 客服小林, 在线客服(小美), 小美(在线客服), 某某旗舰店:小美 → 小林 / 小美."""
    label = normalize(label).text.strip()
    label = re.sub(r"[(（]?\s*工号\s*[:：]?\s*\d+\s*[)）]?", " ", label).strip()
    if m := _BRACKETED.fullmatch(label):
        parts = [m["outer"], m["inner"]]
    else:
        parts = [p for p in _SEPARATORS.split(label) if p]
    names = [p for p in parts if p.strip() and not _is_role(p) and not any(p.endswith(w) for w in _shop_words())]
    if len(names) == 1 and len(parts) > 1:
        return names[0].strip()
    if len(parts) == 1:
        word = parts[0].strip()
        if _is_role(word):
            return None
        folded = word.casefold()
        for role in _role_words():  # 客服小林 → 小林 (not for a shop: 某某旗舰店 is no name)
            if folded.startswith(role) and len(word) > len(role) and not word[len(role)].isdigit():
                return word[len(role):]
        return None if any(word.endswith(w) for w in _shop_words()) else word
    return names[-1].strip() if names else None


@cache
def _shop_words() -> tuple[str, ...]:
    from .ingest import SHOP_SUFFIXES

    return tuple({normalize(w).text for w in SHOP_SUFFIXES})


def agent_of(t: Transcript) -> dict[str, str | None]:
    """``{"name", "employee_id"}`` of the call's agent (both None when nothing names the agent)."""
    labels = Counter(turn.speaker.strip() for turn in t.agent_turns if turn.speaker and turn.speaker.strip())
    label = labels.most_common(1)[0][0] if labels else ""
    simple = normalize(label).text if label else ""
    employee_id = m.group(1) if (m := _EMPLOYEE_ID.search(simple)) else None
    name = name_in_label(label) if label else None
    intro_turns = _cues()["agent"]["intro_turns"]
    for turn in t.agent_turns[:intro_turns]:
        text = normalize(turn.text).text
        if employee_id is None and (m := _EMPLOYEE_ID.search(text)):
            employee_id = m.group(1)
        if name is None and (m := _intro().search(text)) and m["name"] not in _cues()["agent"]["not_names"]:
            name = m["name"]
    if employee_id is None:  # a number stated later in the call (我的工号是1024)
        for turn in t.agent_turns[intro_turns:]:
            if m := _EMPLOYEE_ID.search(normalize(turn.text).text):
                employee_id = m.group(1)
                break
    return {"name": name, "employee_id": employee_id}


def agent_key(call_agent: dict[str, Any] | None) -> str | None:
    """How calls are grouped by agent: ``id:1234`` (an employee id), else ``name:小林``, else None.
    A bare role label (坐席, 客服, agent) is never an agent of its own."""
    call_agent = call_agent or {}
    employee_id = str(call_agent.get("employee_id") or "").strip()
    if employee_id:
        return f"id:{employee_id}"
    name = normalize(str(call_agent.get("name") or "")).text.strip()
    if not name or _is_role(name):
        return None
    return f"name:{name}"


UNKNOWN_AGENT = "未识别坐席 / agent not identified"  # how reports and pages name calls without agent_key


def agent_label(call_agent: dict[str, Any] | None) -> str | None:
    """How people read the agent: ``小林（工号1234）``, ``小林``, ``工号1234``, or None."""
    call_agent = call_agent or {}
    name = str(call_agent.get("name") or "").strip()
    employee_id = str(call_agent.get("employee_id") or "").strip()
    if name and employee_id and employee_id not in name:
        return f"{name}（工号{employee_id}）"
    return name or (f"工号{employee_id}" if employee_id else None)


# -- when -----------------------------------------------------------------------------------
def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def started_at(t: Transcript, timezone: str | None = None) -> str | None:
    """The first date-time of the transcript, ISO 8601 with offset (the zone's for a time
    written without one)."""
    first = t.meta.get("first_datetime")
    if not first:
        return None
    return with_offset(datetime.fromisoformat(first), timezone)


def with_offset(value: datetime, timezone: str | None = None) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(timezone))
    return value.isoformat()


def parse_started_at(text: str, timezone: str | None = None) -> str:
    """A given start (metadata file, upload form): ``2025-03-30 14:03``, ``2025-03-30T14:03:10+08:00``
    or a date; ISO 8601 with offset. ``ValueError`` (bilingual) when it is none of these."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("/", "-"))
    except ValueError:
        raise ValueError(f"开始时间须为 ISO 8601（如 2025-03-30 14:03:10） / start time must be ISO 8601 "
                         f"(e.g. 2025-03-30 14:03:10): {value[:40]!r}") from None
    return with_offset(parsed, timezone)


# -- which channel ------------------------------------------------------------------------------
def channel_of(t: Transcript) -> tuple[str, list[str]]:
    """``(channel, evidence)``: ``chat`` or ``call`` and the reasons, each ``"chat: …"`` or
    ``"call: …"`` (or ``"default: …"`` when nothing tells)."""
    cues = _cues()["channel"]
    chat, call = 0, 0
    evidence: list[str] = []

    def add(side: str, weight: int, why: str) -> None:
        nonlocal chat, call
        if side == "chat":
            chat += weight
        else:
            call += weight
        evidence.append(f"{side}: {why}")

    layout = t.meta.get("layout")
    if layout == "header":
        add("chat", 3, "chat export: speaker and time on one line, the message below")
    starts = [turn.start_time for turn in t.turns if turn.start_time is not None]
    if any(turn.end_time is not None for turn in t.turns):
        add("call", 3, "turns have end times (a recording's segments)")
    elif len(starts) >= 2:
        gaps = [b - a for a, b in pairwise(starts) if b >= a]
        wall = t.meta.get("times") == "datetime" or (t.meta.get("times") == "clock" and starts[0] >= 3600)
        if wall and gaps and statistics.median(gaps) >= cues["chat_gap_s"]:
            add("chat", 2, f"wall-clock message times, median gap {statistics.median(gaps):.0f} s")
        elif t.meta.get("times") == "clock" and starts[0] < 3600:
            add("call", 2, "times are offsets from the start of a recording")
    texts = [normalize(turn.text).text for turn in t.turns]
    if sum(bool(_EMOJI.search(x)) for x in texts):
        add("chat", 1, "emoji in the messages")
    for side, words in (("chat", cues["chat_words"]), ("call", cues["call_words"])):
        found = sorted({w for w in words if any(w in x for x in texts)})
        if found:
            add(side, min(3, len(found)), "words " + "、".join(found[:5]))
    if chat != call:
        return ("chat" if chat > call else "call"), evidence
    default = "chat" if t.format in ("json", "jsonl", "xlsx") or layout == "header" else "call"
    evidence.append(f"default: {default} for format {t.format}" + (f" ({layout})" if layout else ""))
    return default, evidence


# -- the block ------------------------------------------------------------------------------
GIVEN_FIELDS = ("agent_name", "employee_id", "started_at", "channel")


def call_meta(t: Transcript, channel: str, *, timezone: str | None = None,
              given: dict[str, Any] | None = None, evidence: list[str] | None = None) -> dict[str, Any]:
    """The ``call`` block: ``agent``, ``started_at``, ``channel`` (what the scorecard used) and
    ``evidence`` (where each came from). ``given`` (``GIVEN_FIELDS``) overrides what the transcript says."""
    given = {k: v for k, v in (given or {}).items() if v not in (None, "")}
    agent = agent_of(t)
    sources = {"agent": "transcript", "started_at": "transcript"}
    if "agent_name" in given or "employee_id" in given:  # the metadata says who: both fields from it
        agent = {"name": normalize(str(given["agent_name"]).strip()).text if "agent_name" in given else None,
                 "employee_id": str(given["employee_id"]).strip() if "employee_id" in given else None}
        sources["agent"] = "given"
    start = started_at(t, timezone)
    if "started_at" in given:
        start, sources["started_at"] = parse_started_at(str(given["started_at"]), timezone), "given"
    if evidence is None:
        evidence = channel_of(t)[1]
    if "channel" in given:
        evidence = ["given"]
    return {
        "agent": agent,
        "started_at": start,
        "channel": channel,
        "evidence": {"channel": "; ".join(evidence), **sources},
    }
