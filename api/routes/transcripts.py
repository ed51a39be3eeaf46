"""``/v1/transcripts``: upload a call (analysed as a bounded job, stored in one transaction), read
one (its turns a page at a time), list them."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from .. import store, views
from ..deps import ReaderKey, SessionDep, SettingsDep, SupervisorKey
from ..errors import ApiError
from ..guard import checked
from ..jobs import ClientGone, UploadJob, trim_memory
from ..routing import CheckedRoute
from ..schemas import ErrorOut, TranscriptOut, TranscriptPage
from ..uploads import TURN_LIMIT, find_duplicate, page_view, replay_upload
from . import ERRORS, MAX_DB_INT

router = APIRouter(prefix="/v1", tags=["transcripts"], route_class=CheckedRoute, responses=ERRORS)

MAX_TURN_LIMIT = 2000
IDEMPOTENCY_KEY_CHARS = 200
TRIM_AFTER_BYTES = 1024 * 1024

UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    200: {"model": TranscriptOut, "description": (
        "同一 Idempotency-Key 的重试，或同一文件已上传过：已保存的那通（重复时带 Huashu-Duplicate-Of 头）/ "
        "a retry, or the same file uploaded before: the call stored before (a duplicate carries the "
        "Huashu-Duplicate-Of header with its id and Content-Location with its address)")},
    409: {"model": ErrorOut, "description": "Idempotency-Key 已用于另一份上传 / the key was used for another upload"},
    429: {"model": ErrorOut, "description": "分析队列已满 / too many uploads waiting"},
}


@router.post("/transcripts", status_code=201, response_model=TranscriptOut, responses=UPLOAD_ERRORS)
async def upload_transcript(
    request: Request,
    key: SupervisorKey,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="通话记录文件 / a transcript file")],
    agent_label: Annotated[list[str] | None, Form(description="该说话人是坐席 / this speaker is the agent")] = None,
    customer_label: Annotated[list[str] | None, Form(description="该说话人是客户 / this speaker is the customer")] = None,
    fmt: Annotated[str | None, Form(alias="format", description="speaker-text, csv, tsv, json, jsonl, xlsx")] = None,
    team: Annotated[str | None, Form(max_length=100, description="团队 / the agent's team")] = None,
    agent_name: Annotated[str | None, Form(max_length=100, description="坐席姓名（覆盖通话中的） / the agent's name (overrides the transcript)")] = None,
    employee_id: Annotated[str | None, Form(max_length=40, description="坐席工号 / the agent's employee id")] = None,
    started_at: Annotated[str | None, Form(max_length=40, description="通话开始时间，ISO 8601 / when the call started")] = None,
    channel: Annotated[str | None, Form(description="chat 或 call / chat or call")] = None,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", min_length=1, max_length=IDEMPOTENCY_KEY_CHARS,
        description="重试时带上同一个值：只保存一次 / send the same value on a retry: stored once")] = None,
) -> Response:
    """上传并分析一通对话 / upload and analyse one call (roles: supervisor).

    The analysis runs in the analysis worker within the work budget (characters, turns, seconds:
    413/422 beyond it); the call is stored in one transaction and only then answered (201, with
    the first page of turns). A client that leaves before the answer stops its job and nothing is
    stored. With ``Idempotency-Key``, a retry gets the call stored the first time (200). A file
    whose bytes are those of a stored call is not stored again: 200 with that call, its id in
    the ``Huashu-Duplicate-Of`` header. ``agent_name``, ``employee_id``, ``started_at`` and
    ``channel`` override the call metadata read from the transcript."""
    name = checked(file.filename or "upload", "file name")
    labels = [tuple(checked(v, field) for v in values or ()) for field, values in
              (("agent_label", agent_label), ("customer_label", customer_label))]
    fmt, team = checked(fmt, "format"), checked(team, "team")
    idempotency_key = checked(idempotency_key, "Idempotency-Key")
    limit = settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "upload_too_large", f"文件超过 {limit} 字节 / the file is over {limit} bytes")
    team = (team or "").strip() or None
    given = _given(agent_name, employee_id, started_at, channel, settings)
    digest = content_digest(data, name, fmt, labels, team) if idempotency_key else ""
    if idempotency_key:
        replay = await run_in_threadpool(replay_upload, request.app.state.sessions, key.id, idempotency_key, digest)
        if replay is not None:
            return _json(200, replay)
    content_sha256 = hashlib.sha256(data).hexdigest()
    duplicate = await run_in_threadpool(find_duplicate, request.app.state.sessions, content_sha256)
    if duplicate is not None:
        found, body = duplicate
        response = _json(200, body)
        response.headers["Huashu-Duplicate-Of"] = found
        response.headers["Content-Location"] = f"/v1/transcripts/{found}"
        return response
    job = UploadJob(data=data, name=name, fmt=fmt or None, agent_labels=labels[0], customer_labels=labels[1],
                    uploader_id=key.id, masked=settings.mask_pii, team=team, idempotency_key=idempotency_key,
                    digest=digest, content_sha256=content_sha256, given=tuple(given.items()))
    del data
    try:
        status, body = await request.app.state.analysis.run(job, request.is_disconnected)
    except ClientGone:  # nobody to answer; nothing was or will be stored
        raise ApiError(400, "client_closed_request", "客户端已断开，未保存 / the client left; nothing was stored") from None
    return _json(status, body)


_EMPLOYEE_ID = re.compile(r"[0-9A-Za-z_-]{1,40}")


def _given(agent_name: str | None, employee_id: str | None, started_at: str | None, channel: str | None,
           settings) -> dict[str, str]:
    """The call metadata of the form, checked (422 naming the field); blank fields left out."""
    from analyzer.callmeta import CHANNELS, parse_started_at
    from analyzer.privacy import mask_optional

    values = {field: (checked(value, field) or "").strip() for field, value in
              (("agent_name", agent_name), ("employee_id", employee_id), ("started_at", started_at), ("channel", channel))}
    given = {k: v for k, v in values.items() if v}
    if "agent_name" in given and settings.mask_pii:
        given["agent_name"] = mask_optional(given["agent_name"]) or ""
    if "employee_id" in given and not _EMPLOYEE_ID.fullmatch(given["employee_id"]):
        raise ApiError(422, "invalid_employee_id",
                       "employee_id 须为 1–40 个字母、数字、_ 或 - / employee_id must be 1-40 letters, digits, _ or -")
    if "channel" in given and given["channel"] not in CHANNELS:
        raise ApiError(422, "invalid_channel", "channel 须为 chat 或 call / channel must be chat or call")
    if "started_at" in given:
        try:
            given["started_at"] = parse_started_at(given["started_at"], settings.timezone)
        except ValueError as exc:
            raise ApiError(422, "invalid_started_at", f"started_at: {exc}") from None
    return given


def _json(status: int, body: bytes) -> Response:
    """The encoded answer as it is; after a large one, the heap's free pages go back to the system
    (``jobs.trim_memory``, in a thread once the answer is sent), so the server's RSS does not keep
    the peak of every large answer it passed on."""
    trim = BackgroundTask(trim_memory) if len(body) > TRIM_AFTER_BYTES else None
    return Response(body, status_code=status, media_type="application/json", background=trim)


def content_digest(data: bytes, name: str, fmt: str | None, labels: list[tuple[str, ...]], team: str | None) -> str:
    """What "the same upload" means for an idempotency key: the file, its name and the form."""
    form = json.dumps([name, fmt, labels, team], ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(hashlib.sha256(data).digest() + form).hexdigest()


@router.get("/transcripts/{transcript_id}", response_model=TranscriptOut)
def read_transcript(
    transcript_id: str,
    key: ReaderKey,
    session: SessionDep,
    turn_offset: Annotated[int, Query(ge=0, le=MAX_DB_INT, description="从第几轮开始 / first turn")] = 0,
    turn_limit: Annotated[int, Query(ge=1, le=MAX_TURN_LIMIT, description="最多几轮 / turns per page")] = TURN_LIMIT,
) -> dict[str, Any]:
    """一通对话的分析，对话轮次分页 / one stored analysis, its turns a page at a time
    (``turn_page`` gives offset, limit and the total; roles: supervisor, analyst)."""
    return page_view(session, transcript_id, turn_offset, turn_limit)


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
