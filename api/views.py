"""Stored rows as response dicts, in the shape ``analyzer.report.to_dict`` gives, plus ids."""
from __future__ import annotations

import math
from typing import Any

from analyzer.model import Flag, Turn
from analyzer.rewriter import promise_of

from .tables import ApiKey, StoredFlag, StoredTranscript, StoredTurn, Verdict


def key_ref(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name}


def key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id, "name": key.name, "role": key.role, "prefix": key.prefix,
        "created_at": key.created_at, "revoked_at": key.revoked_at, "agent_id": key.agent_id,
    }


def verdict_view(v: Verdict) -> dict[str, Any]:
    return {"flag_id": v.flag_id, "verdict": v.verdict, "reason": v.reason, "note": v.note, "at": v.at,
            "key": key_ref(v.key)}


def flag_view(f: StoredFlag) -> dict[str, Any]:
    """A stored flag in the analyzer's shape (``Flag.to_dict``), without id and verdicts."""
    return _flag(f).to_dict()


def _flag(f: StoredFlag) -> Flag:
    # the promise is read from the rewrite and the turn it rewrites (no column of its own)
    turn_text = f.turn.text if f.turn is not None else ""
    return Flag(
        start=f.start, end=f.end, text=f.text, category=f.category, confidence=f.confidence,
        source=f.source, rule=f.rule, principle=f.principle, suggestions=list(f.suggestions),
        rewrite=f.rewrite, promise=promise_of(turn_text, f.rewrite),
    )


def transcript_view(
    stored: StoredTranscript, turns: list[StoredTurn] | None = None, page: tuple[int, int, int] | None = None
) -> dict[str, Any]:
    """The stored analysis in ``report.to_dict``'s shape, each flag with its id and verdicts;
    ``turns`` (default: all of them) with ``page`` = (offset, limit, total) adds ``turn_page``.

    Scorecard and summary are the ones computed at upload (not recomputed per read). Times or
    figures that are not finite (stored before the entry checks refused them) are shown as null,
    so such a call can still be read."""
    out_turns = []
    for t in stored.turns if turns is None else turns:
        turn_out = Turn(
            index=t.index, role=t.role, speaker=t.speaker, text=t.text, start_time=_finite(t.start_time),
            end_time=_finite(t.end_time), line=t.line, flags=[_flag(f) for f in t.flags],
            sentiment=finite_json(t.sentiment),
        ).to_dict()
        for flag_out, flag in zip(turn_out["flags"], t.flags, strict=True):
            flag_out["id"] = flag.id
            flag_out["verdicts"] = [verdict_view(v) for v in flag.verdicts]
        out_turns.append(turn_out)
    out = {
        "id": stored.id, "source": stored.source, "format": stored.format, "encoding": stored.encoding,
        "script": stored.script, "call": stored.call or {}, "turns": out_turns, "scorecard": finite_json(stored.scorecard),
        "summary": finite_json(stored.summary), **_meta(stored),
    }
    if page is not None:
        offset, limit, total = page
        out["turn_page"] = {"offset": offset, "limit": limit, "total": total}
    return out


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def finite_json(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±Infinity) replaced by None: JSON has none."""
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_json(v) for v in value]
    return value


def transcript_summary(stored: StoredTranscript) -> dict[str, Any]:
    return {
        "id": stored.id, "source": stored.source, "format": stored.format, "encoding": stored.encoding,
        "script": stored.script, "call": stored.call or {}, **_meta(stored), "summary": stored.summary,
    }


def _meta(stored: StoredTranscript) -> dict[str, Any]:
    return {"masked": stored.masked, "created_at": stored.created_at, "uploaded_by": key_ref(stored.uploader)}
