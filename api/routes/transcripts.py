"""``/v1/transcripts``: upload a call (stored in one transaction), read one, list them."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from .. import store, views
from ..analysis import analyze_upload
from ..deps import ReaderKey, SessionDep, SettingsDep, SupervisorKey, UploadEngineDep
from ..errors import ApiError, not_found
from ..routing import CheckedRoute
from ..schemas import TranscriptOut, TranscriptPage
from . import ERRORS, MAX_DB_INT

router = APIRouter(prefix="/v1", tags=["transcripts"], route_class=CheckedRoute, responses=ERRORS)


@router.post("/transcripts", status_code=201, response_model=TranscriptOut)
def upload_transcript(
    key: SupervisorKey,
    session: SessionDep,
    engine: UploadEngineDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="通话记录文件 / a transcript file")],
    agent_label: Annotated[list[str] | None, Form(description="该说话人是坐席 / this speaker is the agent")] = None,
    customer_label: Annotated[list[str] | None, Form(description="该说话人是客户 / this speaker is the customer")] = None,
    fmt: Annotated[str | None, Form(alias="format", description="speaker-text, csv, tsv, json, jsonl, xlsx")] = None,
    team: Annotated[str | None, Form(max_length=100, description="团队 / the agent's team")] = None,
) -> dict[str, Any]:
    """上传并分析一通对话 / upload and analyse one call (roles: supervisor)."""
    limit = settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "upload_too_large", f"文件超过 {limit} 字节 / the file is over {limit} bytes")
    transcript, analysed = analyze_upload(
        engine, settings, data, file.filename or "upload", fmt=fmt or None,
        agent_labels=agent_label or (), customer_labels=customer_label or (),
    )
    stored = store.save_transcript(
        session, transcript, **analysed, uploaded_by=key.id, masked=settings.mask_pii,
        team=(team or "").strip() or None,
    )
    session.commit()  # the transcript, its turns and flags: all or nothing
    return views.transcript_view(store.get_transcript(session, stored.id))


@router.get("/transcripts/{transcript_id}", response_model=TranscriptOut)
def read_transcript(transcript_id: str, key: ReaderKey, session: SessionDep) -> dict[str, Any]:
    """一通对话的分析 / one stored analysis (roles: supervisor, analyst)."""
    stored = store.get_transcript(session, transcript_id)
    if stored is None:
        raise not_found("transcript", "该通话记录")
    return views.transcript_view(stored)


@router.get("/transcripts", response_model=TranscriptPage)
def list_transcripts(
    key: ReaderKey,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> dict[str, Any]:
    """通话列表，最新的在前 / stored calls, newest first (roles: supervisor, analyst)."""
    page = store.list_transcripts(session, limit, offset)
    return {
        "items": [views.transcript_summary(t) for t in page.items],
        "total": page.total, "limit": limit, "offset": offset,
    }
