"""The one analysis pipeline behind ``huashu check``/``analyze``/``report``, the service and Dask workers.

Built once from the configuration (``analyzer.config.Config``), then shared (thread-safe for
reads). Its components run in a fixed order; each names what it needs and what it sets on the
transcript, like spaCy's pipeline components, and the order is checked when the pipeline is built:

| component | needs | sets |
|---|---|---|
| ``mask`` (when ``mask_pii``: phone, ID-card, bank-card numbers; ``analyzer.privacy``) | ``turns`` | ``turns`` |
| ``flags`` (normalise → match and rewrite → classify and fuse; ``analyzer.engine``) | ``turns`` | ``turn.flags``, ``script`` |
| ``sentiment`` (``analyzer.sentiment``) | ``turns`` | ``turn.sentiment`` (customer turns) |
| ``scorecard`` (``analyzer.scorecard``) | ``turn.flags`` | ``scorecard`` |
| ``mood`` (``analyzer.mood``) | ``turn.flags``, ``turn.sentiment`` | ``mood`` |
| ``call`` (who and which channel: ``analyzer.callmeta``) | ``scorecard`` | ``call`` |

Two entry points, and callers use nothing else: ``check(utterances)`` for single utterances (the
live path, ``huashu check``) and ``analyze(transcript) -> CallAnalysis`` for a whole call (uploads,
``huashu analyze``, batch reports). Both doors give the same flags for the same utterance.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .config import Config
from .engine import Engine
from .model import AGENT, CUSTOMER, CallAnalysis, HuashuError, Transcript


@dataclass(frozen=True)
class Utterance:
    """One utterance for ``Pipeline.check``: its text, who said it, and optionally the customer's
    previous turn (``context``)."""

    text: str
    role: str = AGENT
    context: str | None = None


@dataclass
class CheckResult:
    flags: list  # analyzer.model.Flag
    sentiment: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {"flags": [f.to_dict() for f in self.flags], "sentiment": self.sentiment}


@dataclass(frozen=True)
class Component:
    name: str
    needs: tuple[str, ...]
    sets: tuple[str, ...]
    run: Callable[[CallAnalysis], None]


class Pipeline:
    """``Pipeline(config)`` builds everything the configuration asks for; ``initialize()`` loads it
    now (the service does at start-up) instead of on the first call."""

    def __init__(self, config: Config | None = None, *, engine: Engine | None = None):
        from .mood import MoodParams
        from .scorecard import Scorecard

        self.config = config or Config()
        # The classifier on the live path (check) and on transcripts (analyze), as configured.
        self.engine = engine or Engine(self.config.lexicon, model=self.config.model_on_uploads,
                                       threads=self.config.threads, model_dir=self.config.model_dir,
                                       cache_dir=self.config.cache_dir, lexicon_cache=self.config.lexicon_cache)
        self.live_engine = self.engine if self.config.model_on_live else self.engine.lexicon_only()
        self.scorecard = Scorecard.load(self.config.scorecard)
        self.mood_params = MoodParams.from_config(self.config.scorecard)
        self.sentiment = None  # loaded by initialize(), or by the first customer line (load_sentiment)
        self._initialized = False
        self._sentiment_loaded = False
        self.components: tuple[Component, ...] = (
            *([Component("mask", ("turns",), ("turns",), self._mask)] if self.config.mask_pii else []),
            Component("flags", ("turns",), ("turn.flags", "script"), self._flags),
            Component("sentiment", ("turns",), ("turn.sentiment",), self._sentiment),
            Component("scorecard", ("turn.flags",), ("scorecard",), self._scorecard),
            Component("mood", ("turn.flags", "turn.sentiment"), ("mood",), self._mood),
            Component("call", ("scorecard",), ("call",), self._call),
        )
        _check_order(self.components)

    def initialize(self, sentiment: bool = True) -> Pipeline:
        """Load jieba, OpenCC, the classifier and (``sentiment``) the sentiment model now. A
        classifier asked for but missing raises ``models.tagger.ModelUnavailable`` (one line
        saying what to run). ``sentiment=False`` leaves ``--sentiment auto``'s model to the first
        customer line (``huashu check`` of agent lines never loads it); a model named
        explicitly is loaded now, so a broken one fails before any line is read."""
        if not self._initialized:
            self.engine.initialize()
            if self.live_engine is not self.engine:
                self.live_engine.initialize()
            self._initialized = True
        if sentiment or self.config.sentiment != "auto":
            self.load_sentiment()
        return self

    def load_sentiment(self) -> None:
        """The configured sentiment model, once (none for ``--sentiment none``)."""
        if not self._sentiment_loaded:
            if self.config.sentiment != "none":
                from . import sentiment

                self.sentiment = sentiment.load(self.config.sentiment, self.config.sentiment_dir,
                                                self.config.cache_dir, threads=self.config.threads)
            self._sentiment_loaded = True

    @property
    def sentiment_name(self) -> str | None:
        return getattr(self.sentiment, "name", None)

    # -- single utterances -------------------------------------------------------------
    def check(self, utterances: Sequence[Utterance]) -> list[CheckResult]:
        """Flags for agent utterances and sentiment for customer ones, in one batch each."""
        from .sentiment import rate_many

        self.initialize(sentiment=False)
        texts, roles = [u.text for u in utterances], [u.role for u in utterances]
        if any(role == CUSTOMER and text for text, role in zip(texts, roles)):
            self.load_sentiment()
        flags = self.live_engine.check_many(texts, roles) if utterances else []
        moods = rate_many(self.sentiment, texts, roles)
        return [CheckResult(f, m) for f, m in zip(flags, moods)]

    def check_text(self, text: str, role: str = AGENT, context: str | None = None) -> list:
        """The flags of one utterance (the live path)."""
        return self.check([Utterance(text, role, context)])[0].flags

    # -- a whole call ------------------------------------------------------------------
    def analyze(self, transcript: Transcript, *, channel: str | None = None,
                given: dict[str, Any] | None = None) -> CallAnalysis:
        """Every component in order over one transcript; the transcript's turns get their flags
        and sentiment in place. ``given``: call metadata the caller holds (``callmeta.GIVEN_FIELDS``;
        a given channel is scored as that channel)."""
        if not transcript.turns:
            raise HuashuError(f"{transcript.source}: 没有对话内容 / the transcript has no turns")
        self.initialize()
        given = {k: v for k, v in (given or {}).items() if v not in (None, "")}
        channel = given.get("channel") or channel or self.config.channel
        analysis = CallAnalysis(transcript=transcript, channel=channel, given=given)
        for component in self.components:
            component.run(analysis)
        return analysis

    def _mask(self, a: CallAnalysis) -> None:
        """Phone, ID-card and bank-card numbers masked before anything reads the text, so every flag
        points into the masked text that is shown and stored (``analyzer.privacy``)."""
        from .privacy import mask_transcript

        mask_transcript(a.transcript)

    def _flags(self, a: CallAnalysis) -> None:
        self.engine.analyze(a.transcript)

    def _sentiment(self, a: CallAnalysis) -> None:
        from .sentiment import annotate

        self.load_sentiment()
        annotate(a.transcript, self.sentiment, overwrite=False)  # a file's own labels are kept
        a.sentiment_model = self.sentiment_name

    def _scorecard(self, a: CallAnalysis) -> None:
        a.scorecard = self.scorecard.score(a.transcript, a.channel)

    def _mood(self, a: CallAnalysis) -> None:
        from .mood import course

        a.mood = course(a.transcript, self.mood_params)

    def _call(self, a: CallAnalysis) -> None:
        from .callmeta import call_meta

        evidence = None if a.channel == "auto" else [f"forced: {a.channel} (--channel / HUASHU_CHANNEL)"]
        a.call = call_meta(a.transcript, a.scorecard["channel"], timezone=self.config.timezone, given=a.given,
                           evidence=evidence)


def _check_order(components: Sequence[Component]) -> None:
    """Every component's needs are set by an earlier one (or are the transcript's own turns)."""
    available = {"turns"}
    for c in components:
        missing = [n for n in c.needs if n not in available]
        if missing:
            raise RuntimeError(f"pipeline component {c.name!r} needs {missing}, set by no earlier component")
        available.update(c.sets)


def build_or_fallback(config: Config) -> tuple[Pipeline, str | None]:
    """The pipeline for this configuration, loaded; when its classifier cannot load (no trained
    artefact, no converted base, no torch), the same pipeline on the lexicon alone and the reason."""
    try:
        return build(config), None
    except HuashuError as exc:
        if not config.model_on_uploads:
            raise
        return Pipeline(config.with_(model="off")).initialize(), str(exc)


def build(config: Config | None = None, *, sentiment: bool = True) -> Pipeline:
    """The pipeline for this configuration, loaded; a missing classifier is one clear line.
    ``sentiment=False``: ``--sentiment auto``'s model waits for the first customer line."""
    config = config or Config()
    if not config.model_on_uploads:  # no tagger: models.tagger (numpy, onnxruntime) stays unimported
        return Pipeline(config).initialize(sentiment)
    try:
        from models.tagger import ModelUnavailable
    except ImportError as exc:  # numpy absent
        if (config or Config()).model_on_uploads:
            raise HuashuError(f"模型依赖缺失 / model dependencies missing ({exc.name}): run `make setup`, "
                              f"or use --no-model for the lexicon alone") from None
        return Pipeline(config).initialize(sentiment)
    try:
        return Pipeline(config).initialize(sentiment)
    except ModelUnavailable as exc:
        raise HuashuError(f"{exc} — 或用 / or use --no-model for the lexicon alone") from None
