"""Request and response bodies (the shapes of docs/interfaces.md, extended with ids)."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from analyzer.model import Flag

Role = Literal["agent", "supervisor", "analyst", "admin"]


class _Open(BaseModel):
    """A response that passes on fields added later to the analyzer's output."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


# -- suggest / live ----------------------------------------------------------------------------
class SuggestIn(BaseModel):
    text: str = Field(description="一句话 / one utterance")
    role: Literal["agent", "customer"] = "agent"
    context: str | None = Field(None, max_length=2000, description="客户上一句 / the customer's last turn")


def _fields_of(cls: type) -> dict[str, Any]:
    """A dataclass of ``analyzer.model`` as pydantic field definitions: the API's shapes derive
    from the one data model instead of copying its field lists."""
    hints = get_type_hints(cls)
    return {f.name: (hints[f.name], ...) for f in dataclasses.fields(cls)}


# A flag as docs/interfaces.md promises it: exactly analyzer.model.Flag's fields.
FlagOut = create_model("FlagOut", __base__=_Open, **_fields_of(Flag))


class SuggestOut(BaseModel):
    flags: list[FlagOut]


# -- transcripts -------------------------------------------------------------------------------
class KeyRef(BaseModel):
    id: int
    name: str


class VerdictOut(BaseModel):
    flag_id: str
    verdict: Literal["confirmed", "dismissed"]
    reason: str | None = Field(None, description="原因代码 / reason code (corpora/review_reasons.yaml)")
    note: str | None
    at: datetime
    key: KeyRef


class StoredFlagOut(FlagOut):
    id: str
    verdicts: list[VerdictOut]


class TurnOut(_Open):
    index: int
    role: str
    speaker: str
    text: str
    start_time: float | None
    end_time: float | None
    flags: list[StoredFlagOut]
    sentiment: dict[str, Any] | None


class TurnPageOut(BaseModel):
    offset: int
    limit: int
    total: int = Field(description="这通对话的总轮数 / the call's number of turns")


class TranscriptSummary(BaseModel):
    """A stored call in a list: what ``CallAnalysis.to_dict`` gives but the turns and the scorecard,
    plus its id and storage metadata."""

    id: str
    source: str
    format: str
    encoding: str
    script: str
    call: dict[str, Any] = Field(default_factory=dict, description="坐席、渠道、开始时间 / agent, channel, start")
    masked: bool
    created_at: datetime
    uploaded_by: KeyRef
    summary: dict[str, Any]


class TranscriptOut(TranscriptSummary, _Open):
    """One stored call: the whole analysis (a page of its turns)."""

    turns: list[TurnOut]
    scorecard: dict[str, Any]
    turn_page: TurnPageOut | None = Field(None, description="本页的轮次 / which turns this answer holds")


class TranscriptPage(BaseModel):
    items: list[TranscriptSummary]
    total: int
    limit: int
    offset: int


# -- verdicts ----------------------------------------------------------------------------------
class VerdictIn(BaseModel):
    verdict: Literal["confirmed", "dismissed"]
    reason: str | None = Field(None, max_length=40, description="原因代码 / a reason code of the verdict's list "
                               "(corpora/review_reasons.yaml, GET /v1/review/reasons)")
    note: str | None = Field(None, max_length=2000)


class FlagVerdictsOut(BaseModel):
    flag_id: str
    verdict: VerdictOut
    verdicts: list[VerdictOut]


# -- keys --------------------------------------------------------------------------------------
class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    agent_id: str | None = Field(None, max_length=200, description="坐席密钥关联的坐席 / an agent key's agent: "
                                 "id:<工号> or name:<姓名>")


class KeyOut(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    agent_id: str | None = None


class KeyCreated(KeyOut):
    key: str = Field(description="完整密钥，只显示这一次 / the whole key, shown this once")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    db: Literal["ok", "error"]
    # HUASHU_MODEL's setting and whether the classifier is loaded ("unavailable": lexicon only)
    model: Literal["off", "uploads", "on"] | None = None
    model_status: Literal["off", "loaded", "unavailable"] | None = None
