"""The one data model every stage shares: Transcript, Turn, Flag.

Offsets in a Flag are Python ``str`` (code point) indices into the ORIGINAL text of the
utterance, never into the normalised (Simplified, half-width) text used for analysis.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
    rewrite: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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

    @property
    def agent_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.role == AGENT]

    @property
    def customer_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.role == CUSTOMER]


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
