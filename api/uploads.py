"""The storage side of an upload: store the analysed call and its idempotency key in one
transaction, replay a stored one, and encode a page of a stored call. Used by the analysis worker
(``api.jobs``, which stores what it analysed) and by ``/v1/transcripts`` (reads, replays)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from analyzer.model import CallAnalysis

from . import store, views
from .errors import ApiError, not_found
from .schemas import TranscriptOut
from .tables import StoredTranscript

if TYPE_CHECKING:  # pragma: no cover
    from .jobs import UploadJob

TURN_LIMIT = 500  # turns per page by default (GET /v1/transcripts/{id}, the upload's answer)


def _conflict() -> ApiError:
    return ApiError(
        409, "idempotency_key_reused",
        "该 Idempotency-Key 已用于另一份上传 / this Idempotency-Key was used for a different upload",
    )


def replay_upload(sessions, uploader_id: int, idempotency_key: str, digest: str) -> bytes | None:
    """The encoded call stored under this key before (None if none); 409 if that was another upload."""
    with sessions() as session:
        found = store.find_upload_key(session, uploader_id, idempotency_key)
        if found is None:
            return None
        if found.content_sha256 != digest:
            raise _conflict()
        return encode(page_view(session, found.transcript_id, 0, TURN_LIMIT))


def store_upload(sessions, analysis: CallAnalysis, job: UploadJob) -> tuple[int, bytes]:
    """Store an analysed call (and its idempotency key) in one transaction; the status and the
    encoded first page to answer with. Runs in the analysis worker (api/jobs.py)."""
    with sessions() as session:
        stored = store.save_transcript(session, analysis, uploaded_by=job.uploader_id, masked=job.masked, team=job.team,
                                       content_sha256=job.content_sha256)
        try:
            if job.idempotency_key:
                store.add_upload_key(session, job.uploader_id, job.idempotency_key, job.digest, stored.id)
            session.commit()  # the transcript, its turns and flags, its key: all or nothing
        except IntegrityError:  # the same key, stored by a concurrent twin of this request
            session.rollback()
            replay = replay_upload(sessions, job.uploader_id, job.idempotency_key or "", job.digest)
            if replay is None:
                raise
            return 200, replay
        session.expunge_all()
        return 201, encode(page_view(session, stored.id, 0, TURN_LIMIT))


def find_duplicate(sessions, content_sha256: str) -> tuple[str, bytes] | None:
    """The stored call with these exact bytes (the oldest), as ``(id, encoded first page)``; None
    if there is none. Uploaders (supervisors, admins) see every stored call, so any one counts."""
    with sessions() as session:
        found = session.scalar(
            select(StoredTranscript.id).where(StoredTranscript.content_sha256 == content_sha256)
            .order_by(StoredTranscript.created_at, StoredTranscript.id).limit(1)
        )
        if found is None:
            return None
        return found, encode(page_view(session, found, 0, TURN_LIMIT))


def encode(view: dict[str, Any]) -> bytes:
    """The response body of a call, as ``response_model=TranscriptOut`` would write it."""
    return TranscriptOut.model_validate(view).model_dump_json().encode("utf-8")


def page_view(session, transcript_id: str, turn_offset: int, turn_limit: int) -> dict[str, Any]:
    found = store.get_transcript_page(session, transcript_id, turn_offset, turn_limit)
    if found is None:
        raise not_found("transcript", "该通话记录")
    stored, turns, total = found
    return views.transcript_view(stored, turns, (turn_offset, turn_limit, total))
