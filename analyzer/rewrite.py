"""Span-level rewrites: the handbook's catalysts put in place of the trigger.

A suggestion replaces exactly the flagged span of the original text. When the entry's catalysts
move the slot (``我这边没有权限……，不过……``), the span covers the slot and the slot's words are
carried over from the original text. An utterance written in Traditional characters gets its
suggestions in Traditional characters.
"""
from __future__ import annotations

from functools import lru_cache

import opencc

from .lexicon import SLOT
from .matcher import Match
from .normalize import Normalized


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def to_script(text: str, script: str) -> str:
    return _s2t().convert(text) if script == "traditional" else text


def candidate_suggestions(match: Match, norm: Normalized, script: str) -> list[str]:
    """Every catalyst of the entry, filled in and in the utterance's script, best first."""
    slot_words = ""
    if match.entry.span_covers_slot and match.slot and match.slot[0] < match.slot[1]:
        s, e = norm.to_original(*match.slot)
        slot_words = norm.original[s:e]
    out: list[str] = []
    for catalyst in match.entry.catalysts:
        before, _, after = catalyst.partition(SLOT)
        text = to_script(before, script) + (slot_words + to_script(after, script) if _ else "")
        if text not in out:
            out.append(text)
    return out


def apply(original: str, start: int, end: int, replacement: str) -> str:
    return original[:start] + replacement + original[end:]


def splice(original: str, start: int, end: int, replacement: str, particles: str = "") -> str:
    """``replacement`` in place of ``original[start:end]`` and of the sentence-final ``particles``
    right after it (a flag's span leaves them out, a catalyst takes them along: 你搞错了【吧】)."""
    while end < len(original) and original[end] in particles:
        end += 1
    return apply(original, start, end, replacement)
