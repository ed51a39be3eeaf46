"""``POST /v1/transcripts/zip``: a ZIP of many transcripts, each member stored as its own call.

What is all-or-nothing and what is per file (README, "ZIP uploads"):
- the archive as a whole is checked first (a ZIP, its member count, its unpacked size, no
  encryption, at least one transcript file: ``api/zips.py``); refused, nothing is stored (4xx);
- then each transcript member is one upload, analysed and stored in its own transaction by the
  analysis worker, exactly as ``POST /v1/transcripts`` stores one file. A member that cannot be
  read or analysed stores nothing and is reported with its error; the others are still stored.
  Members that are not transcripts are reported by name as skipped.
The answer lists every member in the archive's order with its outcome. A client that leaves
mid-way stops the upload: members stored before stay stored (each is whole), none after is.
"""
from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from ..deps import SettingsDep, SupervisorKey
from ..errors import ApiError
from ..guard import checked
from ..jobs import ClientGone, UploadJob
from ..uploads import find_duplicate
from ..routing import CheckedRoute
from ..zips import open_members
from . import ERRORS

router = APIRouter(prefix="/v1", tags=["transcripts"], route_class=CheckedRoute, responses=ERRORS)
ZIP_PATH = "/v1/transcripts/zip"


class MemberError(BaseModel):
    code: str
    message: str


class MemberOut(BaseModel):
    name: str
    status: Literal["stored", "existing", "failed", "skipped"]
    id: str | None = None  # the stored call (stored, existing)
    flags: int | None = None
    error: MemberError | None = None  # why it failed or was skipped


class ZipOut(BaseModel):
    archive: str
    stored: int
    existing: int
    failed: int
    skipped: int
    files: list[MemberOut]


@router.post("/transcripts/zip", response_model=ZipOut)
async def upload_zip(
    request: Request,
    key: SupervisorKey,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="多个通话记录文件的 ZIP / a ZIP of transcript files")],
    agent_label: Annotated[list[str] | None, Form(description="该说话人是坐席 / this speaker is the agent")] = None,
    customer_label: Annotated[list[str] | None, Form(description="该说话人是客户 / this speaker is the customer")] = None,
    team: Annotated[str | None, Form(max_length=100, description="团队 / the agents' team")] = None,
) -> dict[str, Any]:
    """上传 ZIP，每个文件各存为一通 / upload a ZIP, each file stored as its own call (roles: supervisor).

    The archive is refused as a whole (4xx, nothing stored) when it is not a ZIP, has more than
    500 entries or unpacks to more than 64 MiB; otherwise each transcript member is analysed and
    stored on its own, and the answer lists every member: ``stored`` (with the call's id),
    ``existing`` (stored before), ``failed`` (with the error; nothing of it stored) or ``skipped``
    (not a transcript, a nested archive, a system file, over the per-file limit)."""
    name = checked(file.filename or "upload.zip", "file name")
    labels = [tuple(checked(v, field) for v in values or ()) for field, values in
              (("agent_label", agent_label), ("customer_label", customer_label))]
    team = (checked(team, "team") or "").strip() or None
    limit = settings.max_upload_bytes
    archive = await file.read(limit + 1)
    if len(archive) > limit:
        raise ApiError(413, "upload_too_large", f"文件超过 {limit} 字节 / the file is over {limit} bytes")
    members = open_members(archive, name, limit)
    del archive
    files: list[dict[str, Any]] = []
    for member in members:
        if member.data is None:
            files.append({"name": member.name, "status": "skipped",
                          "error": {"code": member.skipped, "message": member.message}})
            continue
        content_sha256 = hashlib.sha256(member.data).hexdigest()  # the same file stored once, as for one upload
        duplicate = await run_in_threadpool(find_duplicate, request.app.state.sessions, content_sha256)
        if duplicate is not None:
            member.data = None
            files.append({"name": member.name, "status": "existing", "id": duplicate[0],
                          "flags": int((json.loads(duplicate[1]).get("summary") or {}).get("flags") or 0)})
            continue
        job = UploadJob(data=member.data, name=member.name, fmt=None, agent_labels=labels[0],
                        customer_labels=labels[1], uploader_id=key.id, masked=settings.mask_pii, team=team,
                        content_sha256=content_sha256)
        member.data = None
        try:
            status, body = await request.app.state.analysis.run(job, request.is_disconnected)
        except ClientGone:
            raise ApiError(400, "client_closed_request",
                           "客户端已断开：之前的文件已保存，之后的未保存 / the client left; files before were stored, "
                           "none after") from None
        except ApiError as exc:
            files.append({"name": member.name, "status": "failed", "error": {"code": exc.code, "message": exc.message}})
            continue
        answer = json.loads(body)
        files.append({"name": member.name, "status": "stored" if status == 201 else "existing", "id": answer["id"],
                      "flags": int((answer.get("summary") or {}).get("flags") or 0)})
    counts = {s: sum(1 for f in files if f["status"] == s) for s in ("stored", "existing", "failed", "skipped")}
    return {"archive": name, **counts, "files": files}
