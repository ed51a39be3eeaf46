"""What the handlers ask of the analyzer: one utterance checked, one upload parsed and analysed."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from analyzer import report
from analyzer.engine import Engine
from analyzer.ingest import parse_transcript
from analyzer.model import IngestError, Transcript
from analyzer.privacy import mask_pii, mask_transcript

from .errors import ApiError
from .settings import Settings

# Utterances up to this length are checked on the event loop (well under a millisecond when
# typical); longer ones, whose check can take much longer, in a worker thread.
INLINE_CHARS = 200


async def flags_for(engine: Engine, settings: Settings, text: str, role: str) -> list[dict[str, Any]]:
    """``check_utterance`` for async handlers (the live path): no thread hop for short text
    checked by the lexicon alone."""
    if len(text) <= INLINE_CHARS and not engine.model:
        return check_utterance(engine, settings, text, role)
    return await run_in_threadpool(check_utterance, engine, settings, text, role)


def check_utterance(engine: Engine, settings: Settings, text: str, role: str) -> list[dict[str, Any]]:
    """The flags of one utterance; 422 for empty or over-long text."""
    if not text.strip():
        raise ApiError(422, "empty_text", "text 不能为空 / text must not be empty")
    if len(text) > settings.max_utterance_chars:
        limit = settings.max_utterance_chars
        raise ApiError(
            422, "text_too_long", f"一句话最多 {limit} 个字符 / an utterance may have at most {limit} characters"
        )
    return [flag.to_dict() for flag in engine.check(text, role)]


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
    engine: Engine, settings: Settings, data: bytes, name: str, *,
    fmt: str | None, agent_labels: Sequence[str], customer_labels: Sequence[str],
) -> tuple[Transcript, dict[str, Any]]:
    """Parse, mask (when ``settings.mask_pii``) and analyse an uploaded file; 422 if unreadable."""
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
    if settings.mask_pii:  # before analysis, so flags point into the masked text that is stored
        mask_transcript(transcript)
    engine.analyze(transcript)
    analysed = report.to_dict(transcript)
    return transcript, {"summary": analysed["summary"], "scorecard": analysed["scorecard"]}

