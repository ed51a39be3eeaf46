"""The review workflow's endpoints (issue #15; the rules live in ``api.review``):

- ``GET /v1/review/reasons``: the verdict reason codes with their labels (anyone with a key);
- ``POST /v1/transcripts/{id}/turns/{index}/flags`` (supervisor): add a missed trigger;
- ``POST /v1/transcripts/{id}/status`` (supervisor): mark a call reviewed (or new again);
- ``GET /v1/transcripts/{id}/audit`` (supervisor): the call's history;
- ``GET /v1/audit`` (supervisor): every review action, newest first;
- ``POST /v1/flags/{id}/disputes`` (agent, on their own calls): dispute a flag;
- ``GET /v1/disputes`` (supervisor): the queue (``?status=open``, the default, or all);
- ``POST /v1/disputes/{id}/decision`` (supervisor): uphold the flag or overturn it;
- ``GET /v1/me/calls`` (agent): the agent's own calls.
Every action is written to the audit log in the same transaction.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from analyzer.privacy import mask_optional

from .. import review, store, views
from ..deps import SessionDep, SettingsDep, SupervisorKey, require
from ..errors import ApiError, not_found
from ..routing import CheckedRoute
from ..schemas import KeyRef, StoredFlagOut, TranscriptSummary
from ..tables import ApiKey, Dispute, StoredTranscript
from . import ERRORS, MAX_DB_INT

router = APIRouter(prefix="/v1", tags=["review"], route_class=CheckedRoute, responses=ERRORS)

AgentOnly = Annotated[ApiKey, Depends(require("agent"))]
AnyKey = Annotated[ApiKey, Depends(require("agent", "supervisor", "analyst"))]
CONFLICT = {409: {"description": "与当前状态冲突 / conflicts with the current state"}}


# -- bodies ------------------------------------------------------------------------------------
class ReasonOut(BaseModel):
    code: str
    verdict: Literal["confirmed", "dismissed"]
    zh: str
    en: str


class AddFlagIn(BaseModel):
    start: int = Field(ge=0, le=MAX_DB_INT, description="起点（字符，含） / first character, in code points")
    end: int = Field(ge=1, le=MAX_DB_INT, description="终点（字符，不含） / end, exclusive")
    category: str = Field(max_length=60, description="corpora/categories.yaml 的类别 / a category id")
    note: str | None = Field(None, max_length=2000, description="说明 / why it is a trigger")


class StatusIn(BaseModel):
    status: Literal["new", "reviewed"]


class StatusOut(BaseModel):
    id: str
    status: Literal["new", "reviewed", "disputed"]
    reviewed_by: KeyRef | None
    reviewed_at: datetime | None


class AuditOut(BaseModel):
    id: int
    at: datetime
    action: str = Field(description="verdict · flag_added · status · dispute · dispute_decided")
    target: str = Field(description="transcript:<id> · flag:<id> · dispute:<id>")
    detail: dict[str, Any]
    key: KeyRef | None


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


class DisputeIn(BaseModel):
    comment: str = Field(min_length=1, max_length=2000, description="申诉理由 / why the flag is wrong")


class DecisionIn(BaseModel):
    decision: Literal["upheld", "overturned"] = Field(description="upheld: 维持标记 · overturned: 推翻（算作驳回）")
    note: str | None = Field(None, max_length=2000)


class DisputeOut(BaseModel):
    id: int
    flag_id: str
    comment: str
    at: datetime
    status: Literal["open", "upheld", "overturned"]
    key: KeyRef | None
    decided_by: KeyRef | None
    decided_at: datetime | None
    decision_note: str | None
    transcript_id: str | None = None
    flag_text: str | None = None
    category: str | None = None


class MyCall(TranscriptSummary):
    status: str


# -- reasons -----------------------------------------------------------------------------------
@router.get("/review/reasons", response_model=list[ReasonOut])
async def list_reasons(key: AnyKey) -> list[dict[str, Any]]:
    """判定原因代码 / the verdict reason codes, per verdict (``corpora/review_reasons.yaml``)."""
    return [{"code": r.code, "verdict": r.verdict, "zh": r.zh, "en": r.en} for r in review.reasons().values()]


# -- calls -------------------------------------------------------------------------------------
def _transcript(session, transcript_id: str) -> StoredTranscript:
    found = session.get(StoredTranscript, transcript_id)
    if found is None:
        raise not_found("transcript", "该通话")
    return found


def _masked(settings, text: str | None) -> str | None:
    return mask_optional(text) if settings.mask_pii else text


@router.post("/transcripts/{transcript_id}/turns/{turn_index}/flags", status_code=201, response_model=StoredFlagOut,
             responses=CONFLICT)
def add_flag(
    transcript_id: str, turn_index: Annotated[int, Path(ge=0, le=MAX_DB_INT)], body: AddFlagIn,
    key: SupervisorKey, session: SessionDep, settings: SettingsDep,
) -> dict[str, Any]:
    """补充漏报 / add a missed trigger: a span of an agent turn (code-point offsets into the stored
    text) and its category; stored with source ``reviewer`` and the adding key."""
    transcript = _transcript(session, transcript_id)
    flag = review.add_flag(session, transcript, turn_index, key, body.start, body.end, body.category,
                           _masked(settings, body.note))
    session.commit()
    return {**views.flag_view(flag), "id": flag.id, "verdicts": []}


def _status_view(session, t: StoredTranscript) -> dict[str, Any]:
    by = store.get_key(session, t.reviewed_by) if t.reviewed_by else None
    return {"id": t.id, "status": t.status, "reviewed_by": views.key_ref(by) if by else None,
            "reviewed_at": t.reviewed_at}


@router.post("/transcripts/{transcript_id}/status", response_model=StatusOut, responses=CONFLICT)
def set_status(transcript_id: str, body: StatusIn, key: SupervisorKey, session: SessionDep) -> dict[str, Any]:
    """标记为已审核 / mark a call reviewed (or new again); 409 while a dispute on it is open."""
    transcript = _transcript(session, transcript_id)
    review.set_status(session, transcript, key, body.status)
    session.commit()
    return _status_view(session, transcript)


@router.get("/transcripts/{transcript_id}/audit", response_model=list[AuditOut])
def call_audit(transcript_id: str, key: SupervisorKey, session: SessionDep) -> list[dict[str, Any]]:
    """通话的审核记录 / the call's history: verdicts, added flags, status, disputes, decisions."""
    _transcript(session, transcript_id)
    return [review.audit_view(e, k) for e, k in review.call_history(session, transcript_id)]


@router.get("/audit", response_model=AuditPage)
def all_audit(
    key: SupervisorKey, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> dict[str, Any]:
    """全部审核操作，新的在前 / every review action, newest first."""
    rows, total = review.recent_audit(session, limit, offset)
    return {"items": [review.audit_view(e, k) for e, k in rows], "total": total, "limit": limit, "offset": offset}


# -- disputes ----------------------------------------------------------------------------------
def _dispute_out(session, rows) -> list[dict[str, Any]]:
    ids = {i for d, *_ in rows for i in (d.key_id, d.decided_by)}
    names = review.key_names(session, ids)
    return [{**review.dispute_view(d, names), "transcript_id": t.id, "flag_text": f.text, "category": f.category}
            for d, f, _, t in rows]


@router.post("/flags/{flag_id}/disputes", status_code=201, response_model=DisputeOut, responses=CONFLICT)
def dispute_flag(flag_id: str, body: DisputeIn, key: AgentOnly, session: SessionDep,
                 settings: SettingsDep) -> dict[str, Any]:
    """坐席申诉 / an agent disputes a flag on one of their own calls (the key's agent id is the
    call's agent); the call becomes ``disputed``."""
    flag = store.get_flag(session, flag_id)
    if flag is None:
        raise not_found("flag", "该标记")
    review.open_dispute(session, flag, key, _masked(settings, body.comment) or "")
    session.commit()
    return _dispute_out(session, review.disputes(session, None, flag_ids=[flag_id]))[0]


@router.get("/disputes", response_model=list[DisputeOut])
def list_disputes(
    key: SupervisorKey, session: SessionDep,
    status: Annotated[Literal["open", "upheld", "overturned", "all"], Query()] = "open",
) -> list[dict[str, Any]]:
    """申诉队列 / the disputes: open ones oldest first, or decided ones newest first."""
    return _dispute_out(session, review.disputes(session, None if status == "all" else status))


@router.post("/disputes/{dispute_id}/decision", response_model=DisputeOut, responses=CONFLICT)
def decide_dispute(
    dispute_id: Annotated[int, Path(ge=1, le=MAX_DB_INT)], body: DecisionIn, key: SupervisorKey,
    session: SessionDep, settings: SettingsDep,
) -> dict[str, Any]:
    """处理申诉 / uphold the flag (a confirmed verdict) or overturn it (a dismissed verdict)."""
    dispute = session.get(Dispute, dispute_id)
    if dispute is None:
        raise not_found("dispute", "该申诉")
    review.decide(session, dispute, key, body.decision, _masked(settings, body.note))
    session.commit()
    rows = [r for r in review.disputes(session, None, flag_ids=[dispute.flag_id]) if r[0].id == dispute_id]
    return _dispute_out(session, rows)[0]


# -- the agent's own calls ---------------------------------------------------------------------
@router.get("/me/calls", response_model=list[MyCall])
def my_calls(key: AgentOnly, session: SessionDep,
             limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    """坐席自己的通话 / the calls of the agent this key is linked to (none without an agent id)."""
    if not key.agent_id:
        raise ApiError(409, "no_agent_id", "该密钥未关联坐席 / this key is linked to no agent")
    query = (select(StoredTranscript).where(StoredTranscript.agent_key == key.agent_id)
             .options(selectinload(StoredTranscript.uploader))
             .order_by(StoredTranscript.created_at.desc()).limit(limit))
    return [{**views.transcript_summary(t), "status": t.status} for t in session.scalars(query)]
