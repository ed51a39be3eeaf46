"""The storage layer: every read and write of the service, as plain functions over a Session.

Functions here never commit; the caller owns the transaction (one request, one transaction).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from analyzer.model import Transcript
from analyzer.privacy import mask_optional

from .tables import ApiKey, StoredFlag, StoredTranscript, StoredTurn, Verdict, now

ROLES = ("agent", "supervisor", "analyst", "admin")
VERDICTS = ("confirmed", "dismissed")
KEY_PREFIX = "hs_"


# -- API keys ----------------------------------------------------------------------------------
def hash_key(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str, role: str) -> tuple[ApiKey, str]:
    """A new key row and the plain key (stored only as its sha256; shown to the caller once)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role, prefix=plain[:10], key_hash=hash_key(plain))
    session.add(key)
    session.flush()
    return key, plain


def find_active_key(session: Session, plain: str) -> ApiKey | None:
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plain)))
    return key if key is not None and key.revoked_at is None else None


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def get_key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def revoke_key(session: Session, key_id: int) -> ApiKey | None:
    key = session.get(ApiKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = now()
    return key


def active_admin_count(session: Session) -> int:
    query = select(func.count()).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None))
    return session.scalar(query) or 0


# -- transcripts -------------------------------------------------------------------------------
def save_transcript(
    session: Session, transcript: Transcript, *, summary: dict[str, Any], scorecard: dict[str, Any],
    uploaded_by: int, masked: bool, team: str | None = None,
) -> StoredTranscript:
    """Add an analysed transcript with its turns and flags (flushed turn by turn; not committed)."""
    if masked:  # the team is free text typed at upload: masked like the transcript (analyzer.privacy)
        team = mask_optional(team)
    stored = StoredTranscript(
        source=transcript.source, format=transcript.format, encoding=transcript.encoding,
        script=transcript.script, uploaded_by=uploaded_by, masked=masked,
        summary=summary, scorecard=scorecard, team=team,
    )
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


# -- verdicts ----------------------------------------------------------------------------------
def get_flag(session: Session, flag_id: str) -> StoredFlag | None:
    return session.get(StoredFlag, flag_id)


def set_verdict(session: Session, flag: StoredFlag, key: ApiKey, verdict: str, note: str | None) -> Verdict:
    """Record ``key``'s verdict on ``flag``, replacing that key's earlier one."""
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    found = session.scalar(select(Verdict).where(Verdict.flag_id == flag.id, Verdict.key_id == key.id))
    if found is None:
        found = Verdict(flag_id=flag.id, key_id=key.id, verdict=verdict)
        session.add(found)
    found.verdict, found.note, found.at = verdict, note, now()
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
