"""The one configuration of the analysis pipeline, read from ``HUASHU_*`` environment variables.

This is the only code that reads ``HUASHU_*`` (the service's ``api.settings.Settings`` extends
it with the database and its limits). Command-line flags override it with ``Config.with_``::

    config = Config()                                    # the environment, else the defaults
    config = config.with_(model="off", sentiment="baseline")   # what the CLI flags said

| field | variable | meaning |
|---|---|---|
| ``lexicon`` | ``HUASHU_LEXICON`` | extra lexicon files (company rules), joined with ``:`` |
| ``model`` | ``HUASHU_MODEL`` | the trigger classifier: ``on`` everywhere, ``uploads`` (transcripts only; the live path stays on the lexicon), ``off`` |
| ``sentiment`` | ``HUASHU_SENTIMENT`` | customer-sentiment model: ``auto`` · ``baseline`` · ``finetuned`` · ``none`` |
| ``scorecard`` | ``HUASHU_SCORECARD`` | company scorecard files merged over ``corpora/scorecard.yaml``, joined with ``:`` |
| ``channel`` | ``HUASHU_CHANNEL`` | ``call``, ``chat`` or ``auto`` (decided per transcript) |
| ``model_dir`` | ``HUASHU_MODEL_DIR`` | trigger-classifier artefacts (default: the bundled ``models/trigger``) |
| ``sentiment_dir`` | ``HUASHU_SENTIMENT_DIR`` | sentiment artefacts (default: the bundled ``models/sentiment``) |
| ``cache_dir`` | ``HUASHU_CACHE`` | the converted base encoder and the compiled lexicon (default: ``.cache/huashu`` in a checkout, else ``~/.cache/huashu``; ``analyzer.resources``) |
| ``lexicon_cache`` | ``HUASHU_LEXICON_CACHE`` | keep the compiled lexicon and jieba dictionary in the cache (``false``: compile in every process; ``analyzer.compiled``) |
| ``threads`` | ``HUASHU_THREADS`` (``HUASHU_TORCH_THREADS``) | inference threads; 0 = the library's default |
| ``mask_pii`` | ``HUASHU_MASK_PII`` | mask phone, ID-card and bank-card numbers before analysis and output |
| ``real_cache`` | ``HUASHU_REAL_CACHE`` | the real-text benchmark's turn cache (``huashu eval --real``) |
| ``timezone`` | ``HUASHU_TIMEZONE`` | the time zone of transcript times written without an offset (``call.started_at``; the web's date filters), default ``Asia/Shanghai`` |
"""
from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ModelMode = Literal["off", "uploads", "on"]
SentimentKind = Literal["auto", "baseline", "finetuned", "none"]
Channel = Literal["auto", "call", "chat"]


def _paths(value: object) -> object:
    """``a.yaml:b.yaml`` (or a list) → a tuple of paths."""
    if isinstance(value, str):
        return tuple(p for p in value.split(os.pathsep) if p)
    if isinstance(value, list):
        return tuple(value)
    return value


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUASHU_", extra="ignore", frozen=True)

    lexicon: Annotated[tuple[str, ...], NoDecode] = ()
    model: ModelMode = "uploads"
    sentiment: SentimentKind = "auto"
    scorecard: Annotated[tuple[str, ...], NoDecode] = ()
    channel: Channel = "auto"
    model_dir: str | None = None
    sentiment_dir: str | None = None
    cache_dir: str | None = Field(None, validation_alias=AliasChoices("HUASHU_CACHE", "cache_dir"))
    lexicon_cache: bool = True
    threads: int = Field(0, ge=0, validation_alias=AliasChoices("HUASHU_THREADS", "HUASHU_TORCH_THREADS", "threads"))
    mask_pii: bool = True
    real_cache: str = ".cache/real"  # the real-text benchmark's turn cache (corpora/real/extract.py)
    timezone: str = "Asia/Shanghai"  # IANA name; times without an offset are in it (analyzer.callmeta)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"未知时区 / unknown time zone: {value!r} (an IANA name, e.g. Asia/Shanghai)") from None
        return value

    @field_validator("lexicon", "scorecard", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        return _paths(value)

    def with_(self, **changes: Any) -> Config:
        """A copy with the given fields replaced (``None`` values are ignored: a flag not given)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self
        return self.model_copy(update={k: (_paths(v) if k in ("lexicon", "scorecard") else v)
                                       for k, v in changes.items()})

    def with_args(self, args: Any, *, model: bool | None = None) -> Config:
        """This configuration with a command's flags over it (``--lexicon`` and ``--scorecard`` add
        files; ``--sentiment``, ``--channel``, ``--mask-pii`` replace). ``model``: the command uses
        the classifier unless ``--no-model`` (or ``HUASHU_MODEL=off``) says otherwise."""
        changes: dict[str, Any] = {
            "lexicon": (*self.lexicon, *(getattr(args, "lexicon", None) or [])),
            "scorecard": (*self.scorecard, *(getattr(args, "scorecard", None) or [])),
            "sentiment": getattr(args, "sentiment", None),
            "channel": getattr(args, "channel", None),
            "mask_pii": getattr(args, "mask_pii", None),
        }
        if model is not None:
            changes["model"] = "on" if model and self.model != "off" else "off"
        return self.with_(**changes)

    @staticmethod
    def debug() -> bool:
        """``HUASHU_DEBUG=1``: a command's internal error shows its traceback (for bug reports)."""
        return os.environ.get("HUASHU_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")

    @property
    def model_on_uploads(self) -> bool:
        """Whether transcripts (uploads, ``huashu analyze``, batch reports) use the classifier."""
        return self.model != "off"

    @property
    def model_on_live(self) -> bool:
        """Whether single utterances (``huashu check``, suggest, live) use the classifier."""
        return self.model == "on"
