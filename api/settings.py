"""The one settings object of the service, read from ``HUASHU_*`` environment variables: the
analysis pipeline's configuration (``analyzer.config.Config``: lexicons, model, sentiment,
scorecard, channel, PII masking, …) extended with the database and the service's limits.

Built by ``create_app`` (or the CLI), never at import time, so importing ``api`` needs no
database and no environment.
"""
from __future__ import annotations

from pydantic import Field, field_validator

from analyzer.config import Config

MIB = 1024 * 1024


class Settings(Config):

    database_url: str = "sqlite:///./huashu.db"
    max_body_bytes: int = Field(MIB, gt=0)
    max_upload_bytes: int = Field(5 * MIB, gt=0)
    max_utterance_chars: int = Field(2000, gt=0)
    # The work one upload may ask for (SECURITY.md, "Untrusted input and work limits"): the
    # characters and turns of the parsed call (over them: 413, nothing analysed or stored) and
    # the CPU seconds its analysis may take in the analysis worker (at most 5 times that of wall
    # time; over them: the job is stopped, 422, nothing stored). Uploads wait in line for the one worker; more than upload_queue
    # waiting get 429.
    max_upload_chars: int = Field(300_000, gt=0)
    max_upload_turns: int = Field(5_000, gt=0)
    analysis_seconds: float = Field(60.0, gt=0)
    upload_queue: int = Field(8, ge=1)
    # lexicon, model (off · uploads · on), sentiment, scorecard, channel, mask_pii and the artefact
    # folders come from analyzer.config.Config (the same HUASHU_* variables as the CLI). With
    # model=uploads (the default) uploads use the classifier and the live path (suggest, live)
    # stays on the lexicon, which answers in about a millisecond; a model that cannot load leaves
    # the service on the lexicon, saying so in its log and in /healthz.
    # The live path's checks (api/batcher.py): short text checked by the lexicon alone (at most
    # live_inline_chars characters, model not on for live) runs inline on the event loop; every
    # other check waits up to live_batch_ms after the first queued one (or for live_batch_max
    # of them) and the batch runs as one Pipeline.check (one model pass). live_batch_ms=0: no
    # batching, each such check in its own worker thread.
    live_batch_ms: float = Field(3.0, ge=0, le=1000)
    live_batch_max: int = Field(64, ge=1, le=4096)
    live_inline_chars: int = Field(200, ge=0)
    # Web sessions (SECURITY.md): a login lasts at most session_max_hours, and ends after
    # session_idle_minutes without a request.
    session_max_hours: float = Field(12, gt=0, le=24 * 30)
    session_idle_minutes: float = Field(120, gt=0)
    # Failed authentications (wrong or revoked key, on the API, the live socket or the login form)
    # allowed per client address before it gets 429, in the ``limits`` notation ("10/minute").
    # Counted in memory by each worker process.
    auth_failure_limit: str = "10/minute"
    # Where ``huashu serve`` writes the first admin key when no terminal is attached (mode 0600).
    admin_key_file: str = "huashu-admin-key.txt"

    @field_validator("auth_failure_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError('须形如 "10/minute" / must read like "10/minute"') from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError(
                "数据库地址须为 sqlite:// 或 postgresql+psycopg:// / "
                "HUASHU_DATABASE_URL must be sqlite://... or postgresql+psycopg://..."
            )
        if value.startswith("postgresql://"):  # the driver this project ships is psycopg 3
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @property
    def upload_body_bytes(self) -> int:
        """The body limit of an upload request: the file plus room for the multipart framing."""
        return self.max_upload_bytes + 64 * 1024
