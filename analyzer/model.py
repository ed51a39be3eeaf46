"""The one data model every stage shares: Transcript, Turn, Flag.

Offsets in a Flag are Python ``str`` (code point) indices into the ORIGINAL text of the
utterance, never into the normalised (Simplified, half-width) text used for analysis.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

AGENT = "agent"
CUSTOMER = "customer"
ROLES = (AGENT, CUSTOMER)


@dataclass
class Flag:
    """One trigger found in one utterance (the shape promised in docs/interfaces.md)."""

    start: int
    end: int
    text: str
    category: str
    confidence: float
    source: str
    rule: str
    principle: str
    suggestions: list[str]
    rewrite: str  # the whole utterance rewritten (every flag of it handled); "" when no rewrite passed the checks
    # what the rewrite commits the agent to: "none" (a safe default) or refund, compensation,
    # escalation, callback (the agent confirms before sending it); analyzer.rewriter.promise_of
    promise: str = "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Flag:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d or f.name != "promise"})


@dataclass
class Turn:
    index: int
    role: str
    speaker: str
    text: str
    start_time: float | None = None
    end_time: float | None = None
    line: int | None = None  # 1-based line (or row) in the source file, for error messages
    flags: list[Flag] = field(default_factory=list)
    sentiment: dict[str, Any] | None = None
    # analyzer.normalize.Normalized of ``text``, set once by the engine and read by every later
    # component (the classifier, the scorecard); not part of the output
    normalized: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "role": self.role,
            "speaker": self.speaker,
            "text": self.text,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "flags": [f.to_dict() for f in self.flags],
            "sentiment": self.sentiment,
        }


@dataclass
class Transcript:
    source: str
    format: str
    encoding: str
    turns: list[Turn]
    script: str = "simplified"
    # What the reader saw besides the turns (``analyzer.ingest``): ``layout`` (colon, bracket,
    # header, table, json), ``times`` (datetime, clock or None: how the file wrote its times),
    # ``first_datetime`` (ISO, the first date-time in the file; the call's start). Not output as
    # such: ``analyzer.callmeta`` turns it into the ``call`` block.
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def agent_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.role == AGENT]

    @property
    def customer_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.role == CUSTOMER]


@dataclass
class CallAnalysis:
    """One analysed call: the transcript (turns with flags and sentiment) and what the pipeline
    computed from it, once. ``to_dict`` is the shape of ``docs/interfaces.md``; ``from_dict``
    reads it back (stored calls are never analysed again)."""

    transcript: Transcript
    channel: str = "auto"  # asked for: call · chat · auto (the scorecard says which it decided)
    sentiment_model: str | None = None
    scorecard: dict[str, Any] = field(default_factory=dict)
    mood: dict[str, Any] = field(default_factory=lambda: {"series": [], "escalations": [], "satisfaction": None})
    call: dict[str, Any] = field(default_factory=dict)
    # call metadata a caller holds (``callmeta.GIVEN_FIELDS``: a --meta file, upload fields); not output
    given: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def summary(self) -> dict[str, Any]:
        t = self.transcript
        agent, customer = len(t.agent_turns), len(t.customer_turns)
        flags = sum(len(turn.flags) for turn in t.turns)
        return {
            "agent_turns": agent,
            "customer_turns": customer,
            "flags": flags,
            "flags_per_100_agent_turns": round(100 * flags / agent, 1) if agent else None,
            "satisfaction": self.mood["satisfaction"],  # None without customer sentiment
            "escalations": self.mood["escalations"],
            "mood": self.mood["series"],
        }

    def to_dict(self) -> dict[str, Any]:
        t = self.transcript
        return {
            "source": t.source, "format": t.format, "encoding": t.encoding, "script": t.script,
            "call": self.call,
            "turns": [turn.to_dict() for turn in t.turns],
            "scorecard": self.scorecard,
            "summary": self.summary,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CallAnalysis:
        turns = [Turn(index=x["index"], role=x["role"], speaker=x["speaker"], text=x["text"],
                      start_time=x.get("start_time"), end_time=x.get("end_time"), line=x.get("line"),
                      flags=[Flag.from_dict(f) for f in x.get("flags") or []], sentiment=x.get("sentiment"))
                 for x in d["turns"]]
        t = Transcript(source=d["source"], format=d["format"], encoding=d["encoding"], turns=turns,
                       script=d.get("script", "simplified"))
        summary = d.get("summary") or {}
        scorecard = d.get("scorecard") or {}
        return cls(
            transcript=t, channel=scorecard.get("channel", "auto"), scorecard=scorecard, call=d.get("call") or {},
            mood={"series": summary.get("mood", []), "escalations": summary.get("escalations", []),
                  "satisfaction": summary.get("satisfaction")},
        )


class HuashuError(Exception):
    """An error meant for the user: printed as one line, never as a traceback."""


class IngestError(HuashuError):
    """A transcript that cannot be read. ``str()`` names the file and line."""

    def __init__(self, reason: str, source: str = "", line: int | None = None):
        self.reason = reason
        self.source = source
        self.line = line
        where = source or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {reason}")
