"""Finding calls: full-text search over the turns and the call list's filters, combined, all carried
in the page's URL (a search is a bookmark). Read-only.

What each filter reads (every one optional; together they narrow the list):
- ``q``: text in any turn, as typed or in the other script (Simplified ⇄ Traditional, full-width
  letters and digits). A ``LIKE`` over ``turns.text`` with ``%``, ``_`` and ``\\`` escaped:
  Chinese has no word boundaries to index, and the same statement runs on SQLite and PostgreSQL;
- ``agent``: the call's agent (``transcripts.agent_key``, ``id:1234`` or ``name:小林``, shown
  by the agent's name); any other value is a speaker label, as calls stored before agent keys
  were filled are found by it;
- ``team``, ``status`` (``new``, ``reviewed``, ``disputed``);
- ``date_from``/``date_to``: the call's day (``started_at``, else the upload time), whole days
  in the service's time zone (``HUASHU_TIMEZONE``, default Asia/Shanghai: ``zone_of``);
- ``category``, ``rule``, ``conf_min``/``conf_max``: a call with one flag that meets all the
  flag conditions given (so "refusal at confidence 0.8 or more" is one flag, not two);
- ``sat_min``/``sat_max``: the customer's satisfaction in [0, 1]; ``escalation``;
- ``sort``: newest/oldest (by the call's time), most/fewest flags, worst/best satisfaction,
  lowest scorecard score first.
"""
from __future__ import annotations

import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from .data import (
    ESCALATION_CHOICES,
    CallPage,
    CallRow,
    _escalated,
    _escalation_known,
    escalation_of,
    main_agent,
    page_number,
    parse_date,
    satisfaction_of,
    score_of,
    team_column,
)
from ..tables import StoredFlag, StoredTranscript, StoredTurn

PER_PAGE = 25
EXPORT_ROWS = 20_000  # at most this many calls in one export
DAY_ZONE = ZoneInfo("Asia/Shanghai")  # the service's default time zone (``timezone`` in analyzer/config.py)
STATUSES = ("new", "reviewed", "disputed")
SORTS = ("newest", "oldest", "flags_desc", "flags_asc", "satisfaction_asc", "satisfaction_desc", "score_asc")
MAX_QUERY_CHARS = 100
AGENT_KEY_PREFIXES = ("id:", "name:")


# -- parsing the query -----------------------------------------------------------------------------
def parse_share(value: str | None) -> float | None:
    """A bound in [0, 1] (``0.8``, ``.8``, ``80%``); None when empty or it does not parse."""
    value = (value or "").strip()
    if not value or len(value) > 12:
        return None
    percent = value.endswith(("%", "％"))
    try:
        number = float(value.rstrip("%％")) / (100 if percent else 1)
    except ValueError:
        return None
    return min(1.0, max(0.0, number)) if math.isfinite(number) else None


@dataclass(frozen=True)
class Find:
    q: str = ""
    agent: str = ""
    team: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    category: str = ""
    rule: str = ""
    conf_min: float | None = None
    conf_max: float | None = None
    sat_min: float | None = None
    sat_max: float | None = None
    escalation: str = ""
    sort: str = "newest"
    page: int = 1

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Find:
        """Lenient, like the rest of the list: a value that does not parse is left out."""
        def text(name: str, limit: int = 200) -> str:
            return " ".join((params.get(name) or "").split())[:limit]

        return cls(
            q=text("q", MAX_QUERY_CHARS), agent=text("agent"), team=text("team"),
            status=s if (s := params.get("status", "")) in STATUSES else "",
            date_from=parse_date(params.get("date_from")), date_to=parse_date(params.get("date_to")),
            category=text("category", 60), rule=text("rule"),
            conf_min=parse_share(params.get("conf_min")), conf_max=parse_share(params.get("conf_max")),
            sat_min=parse_share(params.get("sat_min")), sat_max=parse_share(params.get("sat_max")),
            escalation=e if (e := params.get("escalation", "")) in ESCALATION_CHOICES else "",
            sort=s if (s := params.get("sort", "newest")) in SORTS else "newest",
            page=page_number(params.get("page")),
        )

    def query(self, **changes: Any) -> str:
        """The query string of this search with ``changes`` (defaults left out)."""
        chosen = replace(self, **changes)
        out = {}
        for f in fields(self):
            value = getattr(chosen, f.name)
            if value in (None, "", f.default):
                continue
            out[f.name] = value.isoformat() if isinstance(value, date) else (f"{value:g}" if isinstance(value, float) else value)
        return urlencode(out)

    @property
    def active(self) -> bool:
        """Whether any filter (beyond sort and page) is set."""
        return replace(self, sort="newest", page=1) != Find()


# -- search text -----------------------------------------------------------------------------------
@cache
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def spellings(q: str) -> list[str]:
    """``q`` as typed and as it may be written in a stored turn: Simplified, Traditional (Taiwan
    and general), NFKC-folded and full-width (ASR and chat text mixes them)."""
    q = q.strip()
    if not q:
        return []
    found = [q]
    for script in (q, _converter("t2s").convert(q), _converter("s2t").convert(q), _converter("s2tw").convert(q)):
        folded = unicodedata.normalize("NFKC", script)
        for form in (script, folded, _full_width(folded)):
            if form and form not in found:
                found.append(form)
    return found


def like_pattern(text: str) -> str:
    """``%text%`` for ``LIKE … ESCAPE '\\'``: the user's ``%``, ``_`` and ``\\`` match themselves."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _text_matches(forms: list[str]):
    return or_(*(StoredTurn.text.like(like_pattern(form), escape="\\") for form in forms))


# -- the query -------------------------------------------------------------------------------------
def call_time():
    """When the call took place: its start from the transcript or metadata, else the upload."""
    return func.coalesce(StoredTranscript.started_at, StoredTranscript.created_at)


def zone_of(settings: Any) -> ZoneInfo:
    """The service's time zone (``Config.timezone``), in which a date filter's days begin."""
    try:
        return ZoneInfo(getattr(settings, "timezone", None) or "Asia/Shanghai")
    except (KeyError, ValueError):
        return DAY_ZONE


def day_start(d: date, zone: ZoneInfo = DAY_ZONE) -> datetime:
    return datetime.combine(d, time(0), tzinfo=zone)


def is_agent_key(value: str) -> bool:
    return value.startswith(AGENT_KEY_PREFIXES)


def filtered(f: Find, columns=None, zone: ZoneInfo = DAY_ZONE):
    """``select(…)`` of the calls that meet every filter of ``f`` (not ordered); days in ``zone``."""
    query = select(*(columns or [StoredTranscript]))
    if f.date_from:
        query = query.where(call_time() >= day_start(f.date_from, zone))
    if f.date_to and f.date_to < date.max:
        query = query.where(call_time() < day_start(f.date_to + timedelta(days=1), zone))
    if f.q:
        query = query.where(exists().where(StoredTurn.transcript_id == StoredTranscript.id, _text_matches(spellings(f.q))))
    if f.agent:
        if is_agent_key(f.agent):
            query = query.where(StoredTranscript.agent_key == f.agent)
        else:
            query = query.where(exists().where(
                StoredTurn.transcript_id == StoredTranscript.id, StoredTurn.role == "agent", StoredTurn.speaker == f.agent))
    if f.team:
        team = team_column()
        query = query.where(team == f.team if team is not None else false())
    if f.status:
        query = query.where(StoredTranscript.status == f.status)
    flag_terms = []
    if f.category:
        flag_terms.append(StoredFlag.category == f.category)
    if f.rule:
        flag_terms.append(StoredFlag.rule == f.rule)
    if f.conf_min is not None:
        flag_terms.append(StoredFlag.confidence >= f.conf_min)
    if f.conf_max is not None:
        flag_terms.append(StoredFlag.confidence <= f.conf_max)
    if flag_terms:
        query = query.where(exists().where(
            StoredTurn.transcript_id == StoredTranscript.id, StoredFlag.turn_id == StoredTurn.id, *flag_terms))
    satisfaction = StoredTranscript.summary["satisfaction"].as_float()
    if f.sat_min is not None:
        query = query.where(satisfaction >= f.sat_min)
    if f.sat_max is not None:
        query = query.where(satisfaction <= f.sat_max)
    if f.escalation == "yes":
        query = query.where(_escalated())
    elif f.escalation == "no":
        query = query.where(and_(_escalation_known(), ~_escalated()))
    return query


def ordering(sort: str) -> tuple:
    flags = StoredTranscript.summary["flags"].as_integer()
    satisfaction = StoredTranscript.summary["satisfaction"].as_float()
    score = StoredTranscript.scorecard["score"].as_float()
    newest = (call_time().desc(), StoredTranscript.id)
    return {
        "newest": newest,
        "oldest": (call_time().asc(), StoredTranscript.id),
        "flags_desc": (flags.desc(), *newest),
        "flags_asc": (flags.asc(), *newest),
        "satisfaction_asc": (satisfaction.asc().nulls_last(), flags.desc(), *newest),
        "satisfaction_desc": (satisfaction.desc().nulls_last(), *newest),
        "score_asc": (score.asc().nulls_last(), flags.desc(), *newest),
    }[sort]


# -- rows ------------------------------------------------------------------------------------------
@dataclass
class FoundRow(CallRow):
    when: datetime | None = None  # the call's time (started_at, else the upload)
    started: bool = False  # whether ``when`` is the call's own start (not the upload time)
    agent_key: str | None = None
    status: str = "new"
    match: dict[str, Any] | None = None  # the first turn with the searched text: index, before, hit, after


def agent_name(agent_key: str | None, call: Mapping[str, Any] | None) -> str | None:
    """How a person reads the agent: the name the call gives, with the employee number when the
    name does not already hold it; from the key itself when the call block has no name."""
    agent = (call or {}).get("agent") if isinstance((call or {}).get("agent"), Mapping) else {}
    name = str(agent.get("name") or "").strip()
    employee = str(agent.get("employee_id") or "").strip()
    if not name and agent_key:
        kind, _, value = agent_key.partition(":")
        name = f"工号{value}" if kind == "id" else value
    if name and employee and employee not in name:
        name = f"{name}（工号{employee}）"
    return name or None


def _snippet(text: str, forms: list[str], width: int = 24) -> dict[str, str] | None:
    for form in forms:
        at = text.find(form)
        if at >= 0:
            start, end = max(0, at - width), min(len(text), at + len(form) + width)
            return {"before": ("…" if start else "") + text[start:at], "hit": text[at:at + len(form)],
                    "after": text[at + len(form):end] + ("…" if end < len(text) else "")}
    return None


def rows_for(session: Session, stored: list[StoredTranscript], q: str = "") -> list[FoundRow]:
    ids = [t.id for t in stored]
    speakers: dict[str, dict[str, int]] = defaultdict(dict)
    categories: dict[str, Counter] = defaultdict(Counter)
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):  # bound the IN list
        for tid, speaker, n in session.execute(
            select(StoredTurn.transcript_id, StoredTurn.speaker, func.count())
            .where(StoredTurn.transcript_id.in_(chunk), StoredTurn.role == "agent")
            .group_by(StoredTurn.transcript_id, StoredTurn.speaker)
        ):
            speakers[tid][speaker] = n
        for tid, category, n in session.execute(
            select(StoredTurn.transcript_id, StoredFlag.category, func.count())
            .join(StoredFlag, StoredFlag.turn_id == StoredTurn.id)
            .where(StoredTurn.transcript_id.in_(chunk))
            .group_by(StoredTurn.transcript_id, StoredFlag.category)
        ):
            categories[tid][category] = n
    matches: dict[str, dict[str, Any]] = {}
    if q and ids:
        forms = spellings(q)
        first = (
            select(StoredTurn.transcript_id, func.min(StoredTurn.index))
            .where(StoredTurn.transcript_id.in_(ids), _text_matches(forms))
            .group_by(StoredTurn.transcript_id).subquery()
        )
        for tid, index, text in session.execute(
            select(StoredTurn.transcript_id, StoredTurn.index, StoredTurn.text)
            .join(first, and_(first.c[0] == StoredTurn.transcript_id, first.c[1] == StoredTurn.index))
        ):
            if (cut := _snippet(text, forms)) is not None:
                matches[tid] = {"index": index, **cut}
    rows = []
    for t in stored:
        summary = t.summary or {}
        name = agent_name(t.agent_key, t.call) if t.agent_key else None
        rows.append(FoundRow(
            id=t.id, source=t.source, created_at=t.created_at, uploaded_by=t.uploader.name,
            agent=name or main_agent(speakers.get(t.id, {})), team=getattr(t, "team", None) or None,
            agent_turns=int(summary.get("agent_turns", 0) or 0), flags=int(summary.get("flags", 0) or 0),
            rate=float(summary.get("flags_per_100_agent_turns", 0) or 0),
            satisfaction=satisfaction_of(summary), escalation=escalation_of(summary), score=score_of(t.scorecard),
            categories=dict(sorted(categories[t.id].items(), key=lambda kv: (-kv[1], kv[0]))),
            when=t.started_at or t.created_at, started=t.started_at is not None, agent_key=t.agent_key,
            status=t.status or "new", match=matches.get(t.id),
        ))
    return rows


def find_calls(session: Session, f: Find, per_page: int = PER_PAGE, zone: ZoneInfo = DAY_ZONE) -> CallPage:
    """One page of the calls that meet ``f``, in its order (``CallPage`` of ``FoundRow``)."""
    query = filtered(f, zone=zone)
    total = count_calls(session, f, zone)
    pages = max(1, -(-total // per_page))
    page = min(f.page, pages)
    stored = list(session.scalars(
        query.options(selectinload(StoredTranscript.uploader)).order_by(*ordering(f.sort))
        .limit(per_page).offset((page - 1) * per_page)
    ))
    return CallPage(rows=rows_for(session, stored, f.q), total=total, page=page, pages=pages)


class TooManyToExport(Exception):
    """More calls meet the filters than one export holds."""

    def __init__(self, total: int, limit: int):
        super().__init__(total, limit)
        self.total, self.limit = total, limit


def count_calls(session: Session, f: Find, zone: ZoneInfo = DAY_ZONE) -> int:
    return session.scalar(select(func.count()).select_from(filtered(f, [StoredTranscript.id], zone).subquery())) or 0


def all_calls(session: Session, f: Find, limit: int = EXPORT_ROWS, zone: ZoneInfo = DAY_ZONE) -> list[StoredTranscript]:
    """Every call that meets ``f`` in its order, for the exports; ``TooManyToExport`` when that is
    more than ``limit`` (an export is never silently cut short)."""
    if (total := count_calls(session, f, zone)) > limit:
        raise TooManyToExport(total, limit)
    query = filtered(f, zone=zone).options(selectinload(StoredTranscript.uploader)).order_by(*ordering(f.sort)).limit(limit)
    return list(session.scalars(query))


def quick_ranges(today: date | None = None, zone: ZoneInfo = DAY_ZONE) -> list[tuple[str, date, date]]:
    """The date presets beside the date filter: ``(key, first day, last day)``; "last week" is
    Monday to Sunday of the week before this one, in ``zone``."""
    today = today or datetime.now(zone).date()
    monday = today - timedelta(days=today.weekday())
    return [
        ("today", today, today),
        ("last_7", today - timedelta(days=6), today),
        ("this_week", monday, today),
        ("last_week", monday - timedelta(days=7), monday - timedelta(days=1)),
        ("last_30", today - timedelta(days=29), today),
    ]


# -- the filter's choices --------------------------------------------------------------------------
def agent_choices(session: Session) -> list[tuple[str, str]]:
    """``(value, name)`` of every agent: by agent key where calls have one (named from their
    latest call), and the speaker labels of calls stored without a key."""
    latest = (
        select(StoredTranscript.agent_key, func.max(StoredTranscript.created_at).label("at"))
        .where(StoredTranscript.agent_key.is_not(None)).group_by(StoredTranscript.agent_key).subquery()
    )
    named: dict[str, str] = {}
    for key, call in session.execute(
        select(StoredTranscript.agent_key, StoredTranscript.call)
        .join(latest, and_(latest.c.agent_key == StoredTranscript.agent_key, latest.c.at == StoredTranscript.created_at))
    ):
        named.setdefault(key, agent_name(key, call) or key)
    unkeyed = session.scalars(
        select(StoredTurn.speaker).join(StoredTranscript, StoredTurn.transcript_id == StoredTranscript.id)
        .where(StoredTranscript.agent_key.is_(None), StoredTurn.role == "agent").distinct()
    )
    out = sorted(named.items(), key=lambda kv: (kv[1], kv[0]))
    taken = {name for _, name in out} | set(named)
    out += [(s, s) for s in sorted(set(unkeyed)) if s not in taken]
    return out


def rule_choices(session: Session, limit: int = 500) -> list[str]:
    return list(session.scalars(select(StoredFlag.rule).where(StoredFlag.rule != "").distinct().order_by(StoredFlag.rule).limit(limit)))
