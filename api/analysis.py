"""What the handlers ask of the analyzer: one utterance checked, one upload parsed and analysed."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from analyzer.ingest import parse_transcript
from analyzer.model import CallAnalysis, IngestError, Transcript
from analyzer.pipeline import Pipeline, Utterance, build_or_fallback
from analyzer.privacy import mask_pii

from .batcher import MicroBatcher
from .errors import ApiError
from .settings import Settings

log = logging.getLogger("huashu")


async def flags_for(pipeline: Pipeline, settings: Settings, text: str, role: str,
                    context: str | None = None, batcher: MicroBatcher | None = None) -> list[dict[str, Any]]:
    """``check_utterance`` for async handlers (the live path). Short text (at most
    ``settings.live_inline_chars``) checked by the lexicon alone runs on the event loop, no thread
    hop; every other check goes to ``batcher`` (``api.batcher``: with others that arrive within
    ``live_batch_ms``, one ``Pipeline.check``), or, without one (``live_batch_ms=0``), to a worker
    thread of its own. Validation errors are answered before anything is queued."""
    if len(text) <= settings.live_inline_chars and not pipeline.config.model_on_live:
        return check_utterance(pipeline, settings, text, role, context)
    if batcher is None:
        return await run_in_threadpool(check_utterance, pipeline, settings, text, role, context)
    validate_utterance(settings, text)
    return await batcher.check(Utterance(text, role, context))


def live_batcher(pipeline: Pipeline, settings: Settings) -> MicroBatcher | None:
    """The live path's micro-batcher (``api.batcher``), or None when ``live_batch_ms`` is 0."""
    if settings.live_batch_ms <= 0:
        return None
    return MicroBatcher(pipeline.check, window_ms=settings.live_batch_ms, max_batch=settings.live_batch_max)


def validate_utterance(settings: Settings, text: str) -> None:
    """422 for empty or over-long text."""
    if not text.strip():
        raise ApiError(422, "empty_text", "text 不能为空 / text must not be empty")
    if len(text) > settings.max_utterance_chars:
        limit = settings.max_utterance_chars
        raise ApiError(
            422, "text_too_long", f"一句话最多 {limit} 个字符 / an utterance may have at most {limit} characters"
        )


def check_utterance(pipeline: Pipeline, settings: Settings, text: str, role: str,
                    context: str | None = None) -> list[dict[str, Any]]:
    """The flags of one utterance (``Pipeline.check``); 422 for empty or over-long text."""
    validate_utterance(settings, text)
    return [flag.to_dict() for flag in pipeline.check_text(text, role, context)]


def check_budget(transcript: Transcript, settings: Settings, name: str) -> None:
    """The work budget of one upload, checked once it is parsed and before any analysis: at most
    ``max_upload_turns`` turns and ``max_upload_chars`` characters of turn text (413 beyond).
    The third part of the budget, time, is enforced by the analysis worker (``api.jobs``)."""
    turns, chars = len(transcript.turns), sum(len(turn.text) for turn in transcript.turns)
    if turns > settings.max_upload_turns:
        limit = settings.max_upload_turns
        raise ApiError(
            413, "too_many_turns",
            f"{name}: {turns} 轮对话，超过上限 {limit} / {turns} turns, over the limit of {limit}",
        )
    if chars > settings.max_upload_chars:
        limit = settings.max_upload_chars
        raise ApiError(
            413, "too_many_characters",
            f"{name}: 对话共 {chars} 个字符，超过上限 {limit} / {chars} characters of text, over the limit of {limit}",
        )


def analyze_upload(
    pipeline: Pipeline, settings: Settings, data: bytes, name: str, *,
    fmt: str | None, agent_labels: Sequence[str], customer_labels: Sequence[str],
    given: dict[str, str] | None = None,
) -> CallAnalysis:
    """Parse, mask (when ``settings.mask_pii``) and analyse an uploaded file (``Pipeline.analyze``,
    as ``huashu analyze`` does); 422 if unreadable."""
    if settings.mask_pii:  # the file name too: error messages and the stored source name carry it
        name = mask_pii(name)
    try:
        transcript = parse_transcript(
            data, name, fmt=fmt, agent_labels=tuple(agent_labels), customer_labels=tuple(customer_labels)
        )
    except IngestError as exc:
        raise ApiError(422, "invalid_transcript", mask_pii(str(exc)) if settings.mask_pii else str(exc)) from None
    check_budget(transcript, settings, name)
    limit = settings.max_utterance_chars
    for turn in transcript.turns:
        if len(turn.text) > limit:
            where = f"{name}:{turn.line}" if turn.line else name
            raise ApiError(
                422, "text_too_long",
                f"{where}: 一句话最多 {limit} 个字符 / an utterance may have at most {limit} characters",
            )
    return pipeline.analyze(transcript, given=given)


def build_pipeline(settings: Settings) -> tuple[Pipeline, str]:
    """The uploads' pipeline (the analysis worker's, ``api.jobs``) and the model's status for
    /healthz: "off", "loaded", or "unavailable" (then it runs on the lexicon and the log says why)."""
    pipeline, problem = build_or_fallback(settings)
    if problem:
        log.warning("模型不可用，仅用词库 / the model is not available, running on the lexicon alone: %s", problem)
        return pipeline, "unavailable"
    return pipeline, "loaded" if settings.model_on_uploads else "off"


def build_live_pipeline(settings: Settings) -> Pipeline:
    """The live path's pipeline (suggest, live) in the server process: the lexicon alone unless
    ``HUASHU_MODEL=on``; no sentiment model (the live path flags agent turns)."""
    live = settings.with_(sentiment="none", model=None if settings.model == "on" else "off")
    return build_or_fallback(live)[0]
