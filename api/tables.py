"""The stored data: API keys, transcripts with their turns and flags, and verdicts on flags.

The schema itself is created by the Alembic migrations in ``api/migrations``; these classes
must match them (``tests/api/test_storage.py`` checks that the two agree).
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    prefix: Mapped[str] = mapped_column(String(16))  # the start of the key, for display only
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the whole key
    created_at: Mapped[datetime] = mapped_column(default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    agent_id: Mapped[str | None] = mapped_column(String(200), default=None)  # an agent key's agent_key


class StoredSession(Base):
    """A web login: only the sha256 of the cookie's random token is stored (migration 0003)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    last_seen_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime] = mapped_column()  # absolute: created_at + the server's cap

    key: Mapped[ApiKey] = relationship()


class StoredTranscript(Base):
    __tablename__ = "transcripts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(20))
    encoding: Mapped[str] = mapped_column(String(40))
    script: Mapped[str] = mapped_column(String(20))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)
    masked: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    scorecard: Mapped[dict[str, Any]] = mapped_column(JSON)
    call: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # agent, channel, start
    team: Mapped[str | None] = mapped_column(String(100), default=None, index=True)
    # Review workflow and finding calls (migration 0006).
    status: Mapped[str] = mapped_column(String(20), default="new", server_default="new", index=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    content_sha256: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    started_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    agent_key: Mapped[str | None] = mapped_column(String(200), default=None, index=True)

    turns: Mapped[list[StoredTurn]] = relationship(
        back_populates="transcript", order_by="StoredTurn.index", cascade="all, delete-orphan"
    )
    uploader: Mapped[ApiKey] = relationship(foreign_keys=[uploaded_by])


class StoredTurn(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("transcript_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcript_id: Mapped[str] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))
    speaker: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    start_time: Mapped[float | None] = mapped_column(Float)
    end_time: Mapped[float | None] = mapped_column(Float)
    line: Mapped[int | None] = mapped_column(Integer)
    sentiment: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    transcript: Mapped[StoredTranscript] = relationship(back_populates="turns")
    flags: Mapped[list[StoredFlag]] = relationship(
        back_populates="turn", order_by="StoredFlag.position", cascade="all, delete-orphan"
    )


class StoredFlag(Base):
    __tablename__ = "flags"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order within the turn
    start: Mapped[int] = mapped_column("span_start", Integer)
    end: Mapped[int] = mapped_column("span_end", Integer)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(60))
    confidence: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(200))
    principle: Mapped[str] = mapped_column(Text)
    suggestions: Mapped[list[str]] = mapped_column(JSON)
    rewrite: Mapped[str] = mapped_column(Text)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), default=None)  # a missed trigger

    turn: Mapped[StoredTurn] = relationship(back_populates="flags")
    verdicts: Mapped[list[Verdict]] = relationship(
        back_populates="flag", order_by="Verdict.at", cascade="all, delete-orphan"
    )


class Verdict(Base):
    """A supervisor's verdict on a flag; one per flag and key, a later one replaces it."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("flag_id", "key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    verdict: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40), default=None)  # a reason code
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=now)

    flag: Mapped[StoredFlag] = relationship(back_populates="verdicts")
    key: Mapped[ApiKey] = relationship()


class UploadKey(Base):
    """An upload's ``Idempotency-Key``: per uploading key, the transcript it stored and the
    sha256 of what was sent (file, name and form fields), so a retry returns that transcript and
    a different upload under the same key is refused (migration 0004)."""

    __tablename__ = "upload_keys"
    __table_args__ = (UniqueConstraint("key_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    content_sha256: Mapped[str] = mapped_column(String(64))
    transcript_id: Mapped[str] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)


class Dispute(Base):
    """An agent's dispute of a flag on one of their calls; a supervisor upholds the flag or
    overturns it (migration 0006)."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    comment: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=now)
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open", index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)


class AuditEntry(Base):
    """Who did what, when: every review action (verdict, added flag, status, dispute, decision)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), default=None)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(100), index=True)  # "flag:<id>", "transcript:<id>"
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
