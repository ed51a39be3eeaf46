"""Normalisation for analysis, with every character mapped back to the original text.

Analysis runs on Simplified characters with half-width ASCII; flags must point into the text as
the agent wrote it. ``normalize`` returns both texts and, for each normalised character, the
original span it came from.

Text that OpenCC's ``t2s`` leaves unchanged is Simplified already and is not converted. Other
text is converted with ``tw2sp`` (characters and Taiwan phrasing such as 軟體 → 软件), after
folding the few variant characters OpenCC keeps (妳 → 你). A phrase conversion can in
principle change the length of a run; such runs fall back to character-by-character conversion,
so the offset map stays exact.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import opencc

# Invisible characters that carry no meaning for matching and are dropped: zero-width marks, the
# BOM, the soft hyphen, bidirectional marks and isolates, invisible operators, the Mongolian vowel
# separator, the combining grapheme joiner and the emoji / text variation selectors. Left in, any
# of them inside a trigger would hide it.
_DROPPED = frozenset(
    "\u00ad\u034f\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufe0e\ufe0f\ufeff"
)
# Variant characters OpenCC leaves alone but that mean the same for matching.
_VARIANTS = str.maketrans({"妳": "你", "祢": "你", "牠": "它"})
# Runs converted as a whole by OpenCC: stretches between punctuation and whitespace.
_RUN = re.compile(r"[^\s，。！？、；：,.!?;:“”\"'‘’（）()\[\]【】《》<>…~～]+|.", re.S)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("tw2sp")


@lru_cache(maxsize=1)
def _is_simplified() -> opencc.OpenCC:
    """Plain ``t2s`` leaves Simplified text alone (``tw2sp`` would turn a lone 么 into 幺)."""
    return opencc.OpenCC("t2s")


# One character in, one out: full-width ASCII → half-width, ideographic space → space, variants.
_ONE_TO_ONE = str.maketrans({**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}, "\u3000": " "})
_ONE_TO_ONE.update(_VARIANTS)


@dataclass(frozen=True)
class Normalized:
    """``text`` is the analysed form of ``original``; ``starts[i]``/``ends[i]`` give the
    original span of ``text[i]``."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    traditional_chars: int  # how many characters OpenCC changed

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a non-empty span of ``text`` to the span of ``original`` it came from."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"bad span {start}:{end} for text of length {len(self.text)}")
        return self.starts[start], self.ends[end - 1]


def normalize(original: str) -> Normalized:
    """Simplified characters, half-width ASCII, zero-width marks removed; offsets kept."""
    convert = _t2s().convert
    folded = original.translate(_ONE_TO_ONE)
    if not _DROPPED.intersection(original):
        if _is_simplified().convert(folded) == folded:  # Simplified text: nothing to convert
            n = len(folded)
            return Normalized(original, folded, tuple(range(n)), tuple(range(1, n + 1)), 0)
    return _normalize_by_runs(original, convert)


def _normalize_by_runs(original: str, convert) -> Normalized:
    """Slow path: drop zero-width marks and convert run by run, per character where lengths change."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    changed = 0
    for m in _RUN.finditer(original):
        run, base = m.group(), m.start()
        kept = [(i, c.translate(_ONE_TO_ONE)) for i, c in enumerate(run) if c not in _DROPPED]
        if not kept:
            continue
        plain = "".join(c for _, c in kept)
        simp = convert(plain)
        if len(simp) == len(plain):
            pieces = list(zip(kept, simp))
        else:  # length changed: convert one character at a time, each keeps its own offset
            pieces = []
            for i, c in kept:
                for s in convert(c) or c:
                    pieces.append(((i, c), s))
        for (i, c), s in pieces:
            out.append(s)
            starts.append(base + i)
            ends.append(base + i + 1)
            changed += s != c
    return Normalized(original, "".join(out), tuple(starts), tuple(ends), changed)


def detect_script(texts: list[str] | str) -> str:
    """``traditional`` when OpenCC changes a noticeable share of the CJK characters."""
    if isinstance(texts, str):
        texts = [texts]
    cjk = sum(1 for text in texts for c in text if "\u4e00" <= c <= "\u9fff")
    changed = sum(normalize(text).traditional_chars for text in texts)
    if changed >= 2 and changed >= 0.05 * cjk:
        return "traditional"
    if changed == 1 and cjk <= 10:
        return "traditional"
    return "simplified"
