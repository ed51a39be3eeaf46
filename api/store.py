"""The storage layer: every read and write of the service, as plain functions over a Session.

Functions here never commit; the caller owns the transaction (one request, one transaction).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from analyzer.model import CallAnalysis
from analyzer.privacy import mask_optional

from .tables import ApiKey, StoredFlag, StoredSession, StoredTranscript, StoredTurn, UploadKey, Verdict, now

ROLES = ("agent", "supervisor", "analyst", "admin")
VERDICTS = ("confirmed", "dismissed")
KEY_PREFIX = "hs_"


# -- API keys ----------------------------------------------------------------------------------
def hash_key(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str, role: str, agent_id: str | None = None) -> tuple[ApiKey, str]:
    """A new key row and the plain key (stored only as its sha256; shown to the caller once);
    ``agent_id`` links an agent key to its agent (``id:1234``, checked by ``api.review``)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role, prefix=plain[:10], key_hash=hash_key(plain), agent_id=agent_id)
    session.add(key)
    session.flush()
    return key, plain


def find_active_key(session: Session, plain: str) -> ApiKey | None:
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plain)))
    return key if key is not None and key.revoked_at is None else None


def key_is_active(session: Session, key_id: int) -> bool:
    query = select(ApiKey.id).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
    return session.scalar(query) is not None


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def get_key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


class LastAdminKey(Exception):
    """Revoking this key would leave no active admin key."""


def _active_admin():
    return (ApiKey.role == "admin", ApiKey.revoked_at.is_(None))


def revoke_key(session: Session, key_id: int) -> ApiKey | None:
    """Revoke a key (None if there is no such key; revoking twice is harmless) and delete its web
    sessions. Raises ``LastAdminKey`` rather than revoke the last active admin key.

    Race-safe: the check is inside the one conditional UPDATE that revokes, so two admins revoking
    each other at once leave one. SQLite runs that statement under its database write lock;
    PostgreSQL first locks the active admin rows (FOR UPDATE), so the second revocation waits for
    the first to commit and then counts again.
    """
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return key
    if key.role == "admin":
        # in id order, so two revocations lock the rows in the same order (no deadlock)
        session.execute(select(ApiKey.id).where(*_active_admin()).order_by(ApiKey.id).with_for_update())
    other_admins = (
        select(func.count()).select_from(ApiKey).where(*_active_admin(), ApiKey.id != key_id).scalar_subquery()
    )
    revoked = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None), or_(ApiKey.role != "admin", other_admins > 0))
        .values(revoked_at=now())
        .execution_options(synchronize_session=False)
    )
    session.refresh(key)
    if revoked.rowcount == 0 and key.revoked_at is None:
        raise LastAdminKey(key_id)
    session.execute(delete(StoredSession).where(StoredSession.key_id == key_id))
    return key


def active_admin_count(session: Session) -> int:
    query = select(func.count()).where(*_active_admin())
    return session.scalar(query) or 0


# -- web sessions ------------------------------------------------------------------------------
SESSION_TOUCH = timedelta(minutes=1)  # last_seen_at is written at most this often per session


def create_web_session(session: Session, key: ApiKey, lifetime: timedelta) -> tuple[StoredSession, str]:
    """A new session row for ``key`` and its random token (the cookie's secret, stored only as its
    sha256); expired sessions are cleared on the way."""
    at = now()
    session.execute(delete(StoredSession).where(StoredSession.expires_at < at))
    token = secrets.token_urlsafe(32)
    row = StoredSession(token_hash=hash_key(token), key_id=key.id, created_at=at, last_seen_at=at,
                        expires_at=at + lifetime)
    session.add(row)
    session.flush()
    return row, token


def find_web_session(
    session: Session, token: str, idle: timedelta, at: datetime | None = None, *, touch: bool = True,
) -> StoredSession | None:
    """The live session of ``token``, its key loaded; None when unknown, past its expiry, idle for
    longer than ``idle`` or its key revoked (an expired or idle row is deleted). ``touch``: this
    is a use of the session (its idle time starts again)."""
    at = at or now()
    row = session.scalar(
        select(StoredSession).where(StoredSession.token_hash == hash_key(token)).options(selectinload(StoredSession.key))
    )
    if row is None:
        return None
    # Bulk statements, not ORM deletes and updates: two requests of one session may do this at once.
    if row.expires_at <= at or row.last_seen_at + idle <= at:
        session.execute(delete(StoredSession).where(StoredSession.id == row.id))
        return None
    if row.key.revoked_at is not None:
        return None
    if touch and at - row.last_seen_at >= SESSION_TOUCH:
        session.execute(update(StoredSession).where(StoredSession.id == row.id).values(last_seen_at=at)
                        .execution_options(synchronize_session=False))
    return row


def end_web_session(session: Session, token: str) -> StoredSession | None:
    """Delete the session of ``token`` (logout); the deleted row, or None if there was none."""
    row = session.scalar(select(StoredSession).where(StoredSession.token_hash == hash_key(token)))
    if row is not None:
        session.execute(delete(StoredSession).where(StoredSession.id == row.id))  # a second logout at once: no error
    return row


# -- transcripts -------------------------------------------------------------------------------
def save_transcript(
    session: Session, analysis: CallAnalysis, *, uploaded_by: int, masked: bool, team: str | None = None,
    content_sha256: str | None = None,
) -> StoredTranscript:
    """Add an analysed call with its turns and flags (flushed turn by turn; not committed). What the
    pipeline computed (summary, scorecard, call) is stored as it is, never computed again; the call's
    agent key and start go to their columns (``call_columns``), for grouping and date filters."""
    transcript = analysis.transcript
    if masked:  # the team is free text typed at upload: masked like the transcript (analyzer.privacy)
        team = mask_optional(team)
    stored = StoredTranscript(
        source=transcript.source, format=transcript.format, encoding=transcript.encoding,
        script=transcript.script, uploaded_by=uploaded_by, masked=masked,
        summary=analysis.summary, scorecard=analysis.scorecard, call=analysis.call, team=team,
        content_sha256=content_sha256 or None,
    )
    stored.agent_key, stored.started_at = call_columns(analysis.call)
    session.add(stored)
    session.flush()
    for turn in transcript.turns:
        row = StoredTurn(
            transcript_id=stored.id, index=turn.index, role=turn.role, speaker=turn.speaker,
            text=turn.text, start_time=turn.start_time, end_time=turn.end_time, line=turn.line,
            sentiment=turn.sentiment,
            flags=[
                StoredFlag(
                    position=i, start=f.start, end=f.end, text=f.text, category=f.category,
                    confidence=f.confidence, source=f.source, rule=f.rule, principle=f.principle,
                    suggestions=list(f.suggestions), rewrite=f.rewrite,
                )
                for i, f in enumerate(turn.flags)
            ],
        )
        session.add(row)
        session.flush()
    return stored


def call_columns(call: dict | None) -> tuple[str | None, datetime | None]:
    """``transcripts.agent_key`` and ``started_at`` of a call block: ``analyzer.callmeta.agent_key``
    (one rule for the web, the API and batch reports) and the start as an aware datetime."""
    from analyzer.callmeta import agent_key

    call = call or {}
    start = call.get("started_at")
    try:
        started = datetime.fromisoformat(start) if isinstance(start, str) else None
    except ValueError:
        started = None
    if started is not None and started.tzinfo is None:
        started = None  # callmeta always writes an offset; a start without one is not trusted
    agent = call.get("agent")
    return agent_key(agent if isinstance(agent, dict) else None), started


def get_transcript(session: Session, transcript_id: str) -> StoredTranscript | None:
    query = (
        select(StoredTranscript)
        .where(StoredTranscript.id == transcript_id)
        .options(
            selectinload(StoredTranscript.uploader),
            selectinload(StoredTranscript.turns)
            .selectinload(StoredTurn.flags)
            .selectinload(StoredFlag.verdicts)
            .selectinload(Verdict.key)
        )
    )
    return session.scalar(query)


@dataclass
class Page:
    items: list[StoredTranscript]
    total: int


def list_transcripts(session: Session, limit: int, offset: int) -> Page:
    total = session.scalar(select(func.count()).select_from(StoredTranscript)) or 0
    query = (
        select(StoredTranscript)
        .options(selectinload(StoredTranscript.uploader))
        .order_by(StoredTranscript.created_at.desc(), StoredTranscript.id)
        .limit(limit)
        .offset(offset)
    )
    return Page(items=list(session.scalars(query)), total=total)


def get_transcript_page(
    session: Session, transcript_id: str, turn_offset: int, turn_limit: int
) -> tuple[StoredTranscript, list[StoredTurn], int] | None:
    """A transcript with one page of its turns (by index, their flags and verdicts loaded) and
    the number of turns it has; None when there is no such transcript. The other turns are
    never loaded."""
    stored = session.scalar(
        select(StoredTranscript).where(StoredTranscript.id == transcript_id)
        .options(selectinload(StoredTranscript.uploader))
    )
    if stored is None:
        return None
    total = session.scalar(select(func.count()).where(StoredTurn.transcript_id == transcript_id)) or 0
    turns = session.scalars(
        select(StoredTurn).where(StoredTurn.transcript_id == transcript_id)
        .order_by(StoredTurn.index).offset(turn_offset).limit(turn_limit)
        .options(selectinload(StoredTurn.flags).selectinload(StoredFlag.verdicts).selectinload(Verdict.key))
    )
    return stored, list(turns), total


# -- idempotency keys of uploads ---------------------------------------------------------------
def find_upload_key(session: Session, key_id: int, idempotency_key: str) -> UploadKey | None:
    query = select(UploadKey).where(UploadKey.key_id == key_id, UploadKey.idempotency_key == idempotency_key)
    return session.scalar(query)


def add_upload_key(session: Session, key_id: int, idempotency_key: str, content_sha256: str, transcript_id: str) -> None:
    """Record the key with the transcript it stored (flushed: a concurrent twin fails here on the
    unique constraint, before its transaction commits)."""
    session.add(UploadKey(key_id=key_id, idempotency_key=idempotency_key, content_sha256=content_sha256,
                          transcript_id=transcript_id))
    session.flush()


# -- verdicts ----------------------------------------------------------------------------------
def get_flag(session: Session, flag_id: str) -> StoredFlag | None:
    return session.get(StoredFlag, flag_id)


def set_verdict(
    session: Session, flag: StoredFlag, key: ApiKey, verdict: str, note: str | None, *, reason: str | None = None,
) -> Verdict:
    """Record ``key``'s verdict on ``flag`` (with a reason code, checked by ``api.review``),
    replacing that key's earlier one."""
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    found = session.scalar(select(Verdict).where(Verdict.flag_id == flag.id, Verdict.key_id == key.id))
    if found is None:
        found = Verdict(flag_id=flag.id, key_id=key.id, verdict=verdict)
        session.add(found)
    found.verdict, found.reason, found.note, found.at = verdict, reason, note, now()
    session.flush()
    return found


def verdicts_of(session: Session, flag_id: str) -> list[Verdict]:
    query = select(Verdict).where(Verdict.flag_id == flag_id).order_by(Verdict.at, Verdict.id)
    return list(session.scalars(query.options(selectinload(Verdict.key))))


# -- housekeeping ------------------------------------------------------------------------------
def row_counts(session: Session) -> dict[str, int]:
    """Rows per table (tests and health checks)."""
    tables = {"api_keys": ApiKey, "transcripts": StoredTranscript, "turns": StoredTurn, "flags": StoredFlag, "verdicts": Verdict}
    return {name: session.scalar(select(func.count()).select_from(t)) or 0 for name, t in tables.items()}
