"""Stored rows as response dicts, in the shape ``analyzer.report.to_dict`` gives, plus ids."""
from __future__ import annotations

from typing import Any

from analyzer import report
from analyzer.model import Flag, Transcript, Turn

from .tables import ApiKey, StoredFlag, StoredTranscript, Verdict


def key_ref(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name}


def key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id, "name": key.name, "role": key.role, "prefix": key.prefix,
        "created_at": key.created_at, "revoked_at": key.revoked_at,
    }


def verdict_view(v: Verdict) -> dict[str, Any]:
    return {"flag_id": v.flag_id, "verdict": v.verdict, "note": v.note, "at": v.at, "key": key_ref(v.key)}


def _flag(f: StoredFlag) -> Flag:
    return Flag(
        start=f.start, end=f.end, text=f.text, category=f.category, confidence=f.confidence,
        source=f.source, rule=f.rule, principle=f.principle, suggestions=list(f.suggestions),
        rewrite=f.rewrite,
    )


def transcript_view(stored: StoredTranscript) -> dict[str, Any]:
    """The stored analysis: ``report.to_dict`` of the rebuilt transcript, each flag with its id."""
    rebuilt = Transcript(
        source=stored.source, format=stored.format, encoding=stored.encoding, script=stored.script,
        turns=[
            Turn(
                index=t.index, role=t.role, speaker=t.speaker, text=t.text, start_time=t.start_time,
                end_time=t.end_time, line=t.line, flags=[_flag(f) for f in t.flags], sentiment=t.sentiment,
            )
            for t in stored.turns
        ],
    )
    out = report.to_dict(rebuilt)
    for turn_out, turn in zip(out["turns"], stored.turns, strict=True):
        for flag_out, flag in zip(turn_out["flags"], turn.flags, strict=True):
            flag_out["id"] = flag.id
            flag_out["verdicts"] = [verdict_view(v) for v in flag.verdicts]
    out["scorecard"], out["summary"] = stored.scorecard, stored.summary  # as computed at upload
    return {"id": stored.id, **out, **_meta(stored)}


def transcript_summary(stored: StoredTranscript) -> dict[str, Any]:
    return {
        "id": stored.id, "source": stored.source, "format": stored.format, "encoding": stored.encoding,
        "script": stored.script, **_meta(stored), "summary": stored.summary,
    }


def _meta(stored: StoredTranscript) -> dict[str, Any]:
    return {"masked": stored.masked, "created_at": stored.created_at, "uploaded_by": key_ref(stored.uploader)}
