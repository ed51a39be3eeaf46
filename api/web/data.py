"""What the pages read from the database: the filtered call list, the dashboard's figures, and the
verdicts export. Read-only; writes go through the ``/v1`` endpoints.

Where the data comes from:
- agent: the call's agent key (``transcripts.agent_key``, ``analyzer.callmeta.agent_key``: employee
  id, else name), shown by name and employee id; the call list's ``agent`` column still names the
  main speaker label;
- team: a ``team`` column on transcripts when the schema has one (else every team is unknown);
- satisfaction, escalations, mood: the stored ``summary`` (``analyzer/mood.py``):
  ``satisfaction`` in [0, 1] or null, ``escalations`` a list of events, ``mood`` the series of
  ``{turn, mood, anger, ...}``; a call without customer sentiment has escalation "unknown";
- scorecard: the stored ``scorecard`` (``analyzer/scorecard.py``): ``items`` of
  ``{id, label_zh, label_en, value, passed, source, detail}``, ``score``, ``triggers_by_category``.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo
from urllib.parse import urlencode

from sqlalchemy import and_, exists, false, func, select
from sqlalchemy.orm import Session, selectinload

from analyzer.callmeta import UNKNOWN_AGENT, agent_key, agent_label
from analyzer.mood import mood_of as analyzer_mood_of

from ..tables import ApiKey, Dispute, StoredFlag, StoredTranscript, StoredTurn, Verdict

PER_PAGE = 25
SORTS = ("newest", "oldest", "flags_desc", "flags_asc", "satisfaction_desc", "satisfaction_asc")
ESCALATION_CHOICES = ("", "yes", "no")


# -- reading one call's fields -----------------------------------------------------------------
def team_column():
    """The transcripts' ``team`` column, or None while the schema has none."""
    return getattr(StoredTranscript, "team", None)


def team_of(stored: Any) -> str | None:
    return getattr(stored, "team", None) or None


def satisfaction_of(summary: Mapping[str, Any] | None) -> float | None:
    value = (summary or {}).get("satisfaction")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def escalation_of(summary: Mapping[str, Any] | None) -> bool | None:
    """Whether the call escalated after an agent trigger; None when unknown (no sentiment)."""
    summary = summary or {}
    events = summary.get("escalations")
    if isinstance(events, (int, float)) and not isinstance(events, bool):  # a count, as batch tables have it
        return events > 0
    if isinstance(events, list) and events:
        return True
    if isinstance(events, list) and (summary.get("mood") or satisfaction_of(summary) is not None):
        return False
    return None


def mood_series(summary: Mapping[str, Any] | None, turns: list[Mapping[str, Any]] = ()) -> list[tuple[int, float, bool]]:
    """The customer's mood over the call as ``(turn index, mood in [-1, 1], anger)``: the stored
    ``summary.mood`` series, else the customer turns' own sentiment."""
    series = (summary or {}).get("mood")
    out = []
    if isinstance(series, list) and series:
        for p in series:
            if isinstance(p, Mapping) and isinstance(p.get("turn"), int) and isinstance(p.get("mood"), (int, float)):
                out.append((p["turn"], max(-1.0, min(1.0, float(p["mood"]))), bool(p.get("anger"))))
        return out
    for turn in turns:
        if turn.get("role") == "customer" and (m := mood_of(turn.get("sentiment"))) is not None:
            out.append((turn["index"], *m))
    return out


def mood_of(sentiment: Any) -> tuple[float, bool] | None:
    """A customer turn's mood in [-1, 1] (``analyzer.mood.mood_of``) and whether it is angry."""
    if not isinstance(sentiment, Mapping) or not sentiment:
        return None
    value = analyzer_mood_of(dict(sentiment))
    return (max(-1.0, min(1.0, value)), bool(sentiment.get("anger"))) if value is not None else None


def score_of(card: Mapping[str, Any] | None) -> float | None:
    score = (card or {}).get("score")
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None


def main_agent(counts: Mapping[str, int]) -> str | None:
    """The speaker with most agent turns (ties: the first label in sort order)."""
    return min(counts, key=lambda s: (-counts[s], s)) if counts else None


# -- the call list -----------------------------------------------------------------------------
def parse_date(value: str | None) -> date | None:
    """A ``?date_from=``/``?date_to=`` value, or None when it does not parse or lies outside the
    years a call can have (0001-01-01 east of UTC would be before the first representable day)."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is None or 1900 <= day.year <= 9000 else None


MAX_PAGE = 1_000_000  # page numbers past this are this (an offset the database can hold)


def page_number(value: str | None) -> int:
    """A ``?page=`` value: lenient, 1 when it does not parse (isdigit() would pass "²", which
    int() refuses; a 5,000-digit number is not converted at all), at most MAX_PAGE."""
    value = value or "1"
    return min(max(1, int(value)), MAX_PAGE) if value.isdecimal() and len(value) <= 9 else 1


@dataclass(frozen=True)
class CallFilter:
    agent: str = ""
    team: str = ""
    date_from: date | None = None
    date_to: date | None = None
    category: str = ""
    escalation: str = ""  # "", "yes" or "no"
    sort: str = "newest"
    page: int = 1

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> CallFilter:
        """Lenient: a value that does not parse is ignored, never an error."""
        page = params.get("page", "1")
        return cls(
            agent=params.get("agent", "").strip(), team=params.get("team", "").strip(),
            date_from=parse_date(params.get("date_from")), date_to=parse_date(params.get("date_to")),
            category=params.get("category", "").strip(),
            escalation=e if (e := params.get("escalation", "")) in ESCALATION_CHOICES else "",
            sort=s if (s := params.get("sort", "newest")) in SORTS else "newest",
            page=page_number(page),
        )

    def query(self, **changes: Any) -> str:
        """The query string of this filter with ``changes`` (defaults left out)."""
        chosen = replace(self, **changes)
        out = {}
        for f in fields(self):
            value = getattr(chosen, f.name)
            if value not in (None, "", f.default):
                out[f.name] = value.isoformat() if isinstance(value, date) else value
        return urlencode(out)


@dataclass
class CallRow:
    id: str
    source: str
    created_at: datetime
    uploaded_by: str
    agent: str | None
    team: str | None
    agent_turns: int
    flags: int
    rate: float
    satisfaction: float | None
    escalation: bool | None
    score: float | None  # the scorecard's share of items passed
    categories: dict[str, int]


@dataclass
class CallPage:
    rows: list[CallRow]
    total: int
    page: int
    pages: int


DAY_ZONE = ZoneInfo("Asia/Shanghai")  # the default of Config.timezone; pages pass the service's


def call_time():
    """When a call happened: its start (``started_at``, from the transcript or given), else its upload."""
    return func.coalesce(StoredTranscript.started_at, StoredTranscript.created_at)


def _day_start(d: date, zone: ZoneInfo | None = None) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=zone or UTC)


def _window(query, date_from: date | None, date_to: date | None, zone: ZoneInfo | None = None):
    """Calls whose day (``call_time`` in ``zone``; the upload's UTC day when no zone is given, as
    the call list has it) is within the dates."""
    when = call_time() if zone is not None else StoredTranscript.created_at
    if date_from and date_from > date(1, 1, 2):  # 0001-01-01 in a zone east of UTC is before year 1: no bound
        query = query.where(when >= _day_start(date_from, zone))
    if date_to and date_to < date.max:  # 9999-12-31 has no next day: no upper bound then
        query = query.where(when < _day_start(date_to + timedelta(days=1), zone))
    return query


def _escalated():
    return StoredTranscript.summary[("escalations", 0)].as_string().is_not(None)


def _escalation_known():
    return StoredTranscript.summary["satisfaction"].as_float().is_not(None)


def list_calls(session: Session, f: CallFilter, per_page: int = PER_PAGE) -> CallPage:
    query = _window(select(StoredTranscript), f.date_from, f.date_to)
    if f.agent:
        query = query.where(exists().where(
            StoredTurn.transcript_id == StoredTranscript.id, StoredTurn.role == "agent", StoredTurn.speaker == f.agent
        ))
    if f.category:
        query = query.where(exists().where(
            StoredTurn.transcript_id == StoredTranscript.id, StoredFlag.turn_id == StoredTurn.id,
            StoredFlag.category == f.category,
        ))
    if f.team:
        team = team_column()
        query = query.where(team == f.team if team is not None else false())
    if f.escalation == "yes":
        query = query.where(_escalated())
    elif f.escalation == "no":
        query = query.where(and_(_escalation_known(), ~_escalated()))

    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    flags = StoredTranscript.summary["flags"].as_integer()
    satisfaction = StoredTranscript.summary["satisfaction"].as_float()
    newest = (StoredTranscript.created_at.desc(), StoredTranscript.id)
    order = {
        "newest": newest,
        "oldest": (StoredTranscript.created_at, StoredTranscript.id),
        "flags_desc": (flags.desc(), *newest),
        "flags_asc": (flags.asc(), *newest),
        "satisfaction_desc": (satisfaction.desc().nulls_last(), *newest),
        "satisfaction_asc": (satisfaction.asc().nulls_last(), *newest),
    }[f.sort]
    pages = max(1, -(-total // per_page))
    page = min(f.page, pages)
    stored = list(session.scalars(
        query.options(selectinload(StoredTranscript.uploader)).order_by(*order)
        .limit(per_page).offset((page - 1) * per_page)
    ))
    ids = [t.id for t in stored]
    speakers: dict[str, dict[str, int]] = defaultdict(dict)
    for tid, speaker, n in session.execute(
        select(StoredTurn.transcript_id, StoredTurn.speaker, func.count())
        .where(StoredTurn.transcript_id.in_(ids), StoredTurn.role == "agent")
        .group_by(StoredTurn.transcript_id, StoredTurn.speaker)
    ):
        speakers[tid][speaker] = n
    categories: dict[str, Counter] = defaultdict(Counter)
    for tid, category, n in session.execute(
        select(StoredTurn.transcript_id, StoredFlag.category, func.count())
        .join(StoredFlag, StoredFlag.turn_id == StoredTurn.id)
        .where(StoredTurn.transcript_id.in_(ids))
        .group_by(StoredTurn.transcript_id, StoredFlag.category)
    ):
        categories[tid][category] = n
    rows = []
    for t in stored:
        summary = t.summary or {}
        rows.append(CallRow(
            id=t.id, source=t.source, created_at=t.created_at, uploaded_by=t.uploader.name,
            agent=main_agent(speakers.get(t.id, {})), team=team_of(t),
            agent_turns=int(summary.get("agent_turns", 0) or 0), flags=int(summary.get("flags", 0) or 0),
            rate=float(summary.get("flags_per_100_agent_turns", 0) or 0),
            satisfaction=satisfaction_of(summary), escalation=escalation_of(summary),
            score=score_of(t.scorecard), categories=dict(sorted(categories[t.id].items(), key=lambda kv: (-kv[1], kv[0]))),
        ))
    return CallPage(rows=rows, total=total, page=page, pages=pages)


def agent_names(session: Session) -> list[str]:
    query = select(StoredTurn.speaker).where(StoredTurn.role == "agent").distinct().order_by(StoredTurn.speaker)
    return list(session.scalars(query))


def team_names(session: Session) -> list[str]:
    team = team_column()
    if team is None:
        return []
    return [t for t in session.scalars(select(team).where(team.is_not(None)).distinct().order_by(team)) if t]


# -- the dashboard -----------------------------------------------------------------------------
def scorecard_passes(card: Mapping[str, Any] | None) -> Iterator[tuple[str, bool]]:
    """``(item id, passed)`` for each scorecard item with a verdict (not-applicable ones left out)."""
    items = (card or {}).get("items")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("id"), str) and isinstance(item.get("passed"), bool):
            yield item["id"], item["passed"]


def scorecard_labels(card: Mapping[str, Any] | None) -> Iterator[tuple[str, dict[str, str]]]:
    items = (card or {}).get("items")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
            yield item["id"], {"zh": str(item.get("label_zh") or item["id"]), "en": str(item.get("label_en") or item["id"])}


@dataclass
class Stats:
    """Figures of one agent, one team, or everyone."""

    name: str
    key: str = ""  # an agent's key (``call_agent``): what filters and links name it by
    calls: int = 0
    agent_turns: int = 0
    flags: int = 0
    categories: Counter = field(default_factory=Counter)
    satisfaction: list[float] = field(default_factory=list)
    escalated: int = 0
    escalation_known: int = 0
    moods: list[tuple[float, bool]] = field(default_factory=list)
    passes: dict[str, list[bool]] = field(default_factory=dict)  # scorecard item id -> verdicts
    scores: list[float] = field(default_factory=list)  # scorecard score per call

    @property
    def rate(self) -> float:
        return round(100 * self.flags / self.agent_turns, 1) if self.agent_turns else 0.0

    @property
    def satisfaction_avg(self) -> float | None:
        return sum(self.satisfaction) / len(self.satisfaction) if self.satisfaction else None

    @property
    def escalation_rate(self) -> float | None:
        return self.escalated / self.escalation_known if self.escalation_known else None

    @property
    def mood_avg(self) -> float | None:
        return sum(v for v, _ in self.moods) / len(self.moods) if self.moods else None

    @property
    def mood_split(self) -> tuple[int, int, int]:
        """Rated customer turns: (negative, neutral, positive)."""
        neg = sum(1 for v, _ in self.moods if v < -0.2)
        pos = sum(1 for v, _ in self.moods if v > 0.2)
        return neg, len(self.moods) - neg - pos, pos

    @property
    def score_avg(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def top_category(self) -> str | None:
        return min(self.categories, key=lambda c: (-self.categories[c], c)) if self.categories else None

    def pass_rates(self) -> list[tuple[str, float, int]]:
        """``(item id, share passed, calls judged)``, in the scorecard's order."""
        return [(item, sum(v) / len(v), len(v)) for item, v in self.passes.items() if v]

    def add_call(self, summary: Mapping[str, Any], scorecard: Mapping[str, Any]) -> None:
        """The call-level figures of a call counted for this agent or team."""
        if (s := satisfaction_of(summary)) is not None:
            self.satisfaction.append(s)
        if (e := escalation_of(summary)) is not None:
            self.escalation_known += 1
            self.escalated += e
        self.moods.extend((v, anger) for _, v, anger in mood_series(summary))
        for item, passed in scorecard_passes(scorecard):
            self.passes.setdefault(item, []).append(passed)
        if (score := score_of(scorecard)) is not None:
            self.scores.append(score)


@dataclass
class Dashboard:
    overall: Stats
    agents: list[Stats]
    teams: list[Stats]
    selected: Stats | None
    trend: list[tuple[str, float | None]]
    bucket: str  # "day" or "week"
    teams_stored: bool
    labels: dict[str, dict[str, str]]  # scorecard item id -> {"zh", "en"}


def _bucket(day: date, unit: str) -> date:
    return day - timedelta(days=day.weekday()) if unit == "week" else day




def call_agent(stored_key: str | None, call: Mapping[str, Any] | None) -> tuple[str, str]:
    """``(agent key, name shown)`` of a stored call: its ``agent_key`` column (filled at store time by
    ``analyzer.callmeta.agent_key``, the rule batch reports use too), else the same rule over its
    call block; ``("", UNKNOWN_AGENT)`` when the call names no agent (a bare 坐席/客服 is none)."""
    agent = (call or {}).get("agent") if isinstance((call or {}).get("agent"), Mapping) else None
    key = stored_key or agent_key(dict(agent) if agent else None) or ""
    if not key:
        return "", UNKNOWN_AGENT
    name = agent_label(dict(agent) if agent else None)
    if not name:
        kind, _, value = key.partition(":")
        name = f"工号{value}" if kind == "id" else value
    return key, name


def dashboard(
    session: Session, *, agent: str = "", team: str = "", date_from: date | None = None, date_to: date | None = None,
    zone: ZoneInfo | None = None,
) -> Dashboard:
    """Per agent and per team: calls, agent turns, flags and categories, and the call-level figures
    (satisfaction, escalation, mood, scorecard). A call belongs to one agent, grouped by agent key
    (``call_agent``: employee id, else name; never a bare role label); ``agent`` selects one by key
    (or by the name shown). Days (filters, trend) are the call's start, else its upload, in ``zone``
    (the service's time zone, default Asia/Shanghai)."""
    zone = zone or DAY_ZONE
    team_col = team_column()
    when = call_time()
    columns = [StoredTranscript.id, when, StoredTranscript.summary, StoredTranscript.scorecard,
               StoredTranscript.agent_key, StoredTranscript.call]
    calls = session.execute(_window(select(*columns, *([team_col] if team_col is not None else [])),
                                    date_from, date_to, zone)).all()
    ids = _window(select(StoredTranscript.id), date_from, date_to, zone)

    turns: dict[str, int] = {}
    for tid, n in session.execute(
        select(StoredTurn.transcript_id, func.count())
        .where(StoredTurn.transcript_id.in_(ids), StoredTurn.role == "agent")
        .group_by(StoredTurn.transcript_id)
    ):
        turns[tid] = n
    flags: dict[str, Counter] = defaultdict(Counter)
    for tid, category, n in session.execute(
        select(StoredTurn.transcript_id, StoredFlag.category, func.count())
        .join(StoredFlag, StoredFlag.turn_id == StoredTurn.id)
        .where(StoredTurn.transcript_id.in_(ids), StoredTurn.role == "agent")
        .group_by(StoredTurn.transcript_id, StoredFlag.category)
    ):
        flags[tid][category] += n

    overall = Stats(name="")
    by_agent: dict[str, Stats] = {}
    by_team: dict[str, Stats] = {}
    labels: dict[str, dict[str, str]] = {}
    series: dict[date, list[int]] = defaultdict(lambda: [0, 0])  # bucket -> [flags, agent turns]
    days = [_local_day(c[1], zone) for c in calls]
    unit = "day" if days and (max(days) - min(days)).days <= 31 else "week"

    for call, day in zip(calls, days, strict=True):
        tid, summary, scorecard = call[0], call[2] or {}, call[3] or {}
        key, name = call_agent(call[4], call[5])
        call_team = (call[6] or None) if team_col is not None else None
        labels.update(scorecard_labels(scorecard))
        agent_stats = by_agent.setdefault(key, Stats(name=name, key=key))
        groups = [overall, agent_stats] + ([by_team.setdefault(call_team, Stats(name=call_team))] if call_team else [])
        found, n = flags[tid], turns.get(tid, 0)
        for stats in groups:
            stats.calls += 1
            stats.add_call(summary, scorecard)
            stats.agent_turns += n
            stats.flags += sum(found.values())
            stats.categories.update(found)
        if (agent and agent not in (key, name)) or (team and call_team != team):
            continue
        point = series[_bucket(day, unit)]
        point[0] += sum(found.values())
        point[1] += n

    trend: list[tuple[str, float | None]] = []
    if days:
        step = timedelta(days=7 if unit == "week" else 1)
        day, last = _bucket(min(days), unit), _bucket(max(days), unit)
        while day <= last:
            n_flags, n_turns = series.get(day, (0, 0))
            trend.append((day.strftime("%m-%d"), round(100 * n_flags / n_turns, 1) if n_turns else None))
            day += step

    def order(s: Stats) -> tuple[float, str]:
        return -s.rate, s.name

    selected = None
    if agent:
        selected = by_agent.get(agent) or next((s for s in by_agent.values() if s.name == agent), None)
    elif team:
        selected = by_team.get(team)
    return Dashboard(
        overall=overall, agents=sorted(by_agent.values(), key=order), teams=sorted(by_team.values(), key=order),
        selected=selected, trend=trend, bucket=unit, teams_stored=team_col is not None, labels=labels,
    )


def _local_day(value: datetime, zone: ZoneInfo) -> date:
    """The day of a stored time in ``zone`` (SQLite gives back naive UTC from an expression)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).date()


def agent_turn_counts(session: Session, transcript_id: str) -> dict[str, int]:
    """Agent turns per speaker label in one call (to name its main agent without loading it)."""
    query = (
        select(StoredTurn.speaker, func.count())
        .where(StoredTurn.transcript_id == transcript_id, StoredTurn.role == "agent")
        .group_by(StoredTurn.speaker)
    )
    return {speaker: n for speaker, n in session.execute(query)}


# -- the verdicts export -----------------------------------------------------------------------
EXPORT_FIELDS = (
    "flag_id", "transcript_id", "source", "turn_index", "speaker", "utterance", "start", "end", "span",
    "category", "rule", "flag_source", "confidence", "suggestions", "rewrite", "verdict", "reason", "note",
    "dispute", "by", "by_key_id", "at",
)


def verdict_rows(session: Session) -> list[dict[str, Any]]:
    """Every verdict with the flag and the utterance it is about (oldest first), for retraining
    (``huashu train --verdicts FILE``), then one row per flag a reviewer added (``verdict``
    ``added``: a trigger the system missed, ``flag_source`` ``reviewer``). ``dispute``: the flag's
    latest dispute status (``open``, ``upheld``, ``overturned``) or empty; an overturned flag is
    a false hit whatever its verdicts say."""
    disputes: dict[str, str] = {}
    for flag_id, status in session.execute(
        select(Dispute.flag_id, Dispute.status).order_by(Dispute.at, Dispute.id)
    ):
        disputes[flag_id] = status
    query = (
        select(Verdict, StoredFlag, StoredTurn, StoredTranscript, ApiKey)
        .join(StoredFlag, Verdict.flag_id == StoredFlag.id)
        .join(StoredTurn, StoredFlag.turn_id == StoredTurn.id)
        .join(StoredTranscript, StoredTurn.transcript_id == StoredTranscript.id)
        .join(ApiKey, Verdict.key_id == ApiKey.id)
        .order_by(Verdict.at, Verdict.id)
    )
    rows = [
        _export_row(f, turn, t, k, verdict=v.verdict, reason=v.reason, note=v.note, at=v.at,
                    dispute=disputes.get(f.id, ""))
        for v, f, turn, t, k in session.execute(query)
    ]
    added = (
        select(StoredFlag, StoredTurn, StoredTranscript, ApiKey)
        .join(StoredTurn, StoredFlag.turn_id == StoredTurn.id)
        .join(StoredTranscript, StoredTurn.transcript_id == StoredTranscript.id)
        .join(ApiKey, StoredFlag.added_by == ApiKey.id)
        .order_by(StoredTranscript.created_at, StoredTurn.index, StoredFlag.position)
    )
    rows += [
        _export_row(f, turn, t, k, verdict="added", reason=None, note=None, at=t.reviewed_at or t.created_at,
                    dispute=disputes.get(f.id, ""))
        for f, turn, t, k in session.execute(added)
    ]
    return rows


def _export_row(f: StoredFlag, turn: StoredTurn, t: StoredTranscript, k: ApiKey, *, verdict: str,
                reason: str | None, note: str | None, at: datetime, dispute: str) -> dict[str, Any]:
    return {
        "flag_id": f.id, "transcript_id": t.id, "source": t.source, "turn_index": turn.index,
        "speaker": turn.speaker, "utterance": turn.text, "start": f.start, "end": f.end, "span": f.text,
        "category": f.category, "rule": f.rule, "flag_source": f.source, "confidence": f.confidence,
        "suggestions": list(f.suggestions), "rewrite": f.rewrite, "verdict": verdict, "reason": reason,
        "note": note, "dispute": dispute, "by": k.name, "by_key_id": k.id, "at": at.isoformat(),
    }
