"""Mask personal numbers in text: phone numbers, ID-card numbers, bank-card numbers.

``mask_pii(text)`` is THE masking function: storage, API and web responses, ``huashu analyze``
and ``huashu report`` outputs all go through it (``mask_transcript`` applies it to a parsed
transcript before analysis, so flag offsets point into the masked text). It returns text of the
SAME LENGTH: only digit characters inside a number are replaced with ``*``, so offsets into the
text stay valid. It is idempotent (masked text is returned unchanged).

How a number is found (the data is ``corpora/privacy.yaml``):

1. A *run* is digit characters (ASCII, full-width, any Unicode decimal digit, and the spoken
   numerals 一二三…, 幺 = 1, 两 = 2, 〇/零 = 0, freely mixed) in groups joined by at most three
   separator characters (spaces, dashes, dots, brackets: ``138.1234.5678``, ``138  1234  5678``,
   ``1381-2345-678``, ``1 3 8 1 2 …``, ``(010)12345678``, ``（0755）88886666``). A dot joins
   only groups of 3+ digits, so versions and amounts (``1.3.8``, ``138.50``) are not joined.
2. Inside a run, from each group on, the stretch of groups whose digits form the surest of the
   kinds below (the longest, among equally sure ones) is masked; the search goes on after it (two
   numbers in one run both get masked; ``0898-21021727-8001`` is a landline and an extension,
   not a Luhn-valid 16-digit card).
3. Kinds, surest first (head/tail = digits left visible, from ``keep``):

   - ID card, 18 digits (the last may be ``X``): province code, valid birth date, and the
     ISO 7064 checksum (or an ID word such as 身份证 before it); 15-digit old IDs: province code
     and a valid ``19YYMMDD`` birth date.
   - mobile: ``1[3-9]`` and 9 more digits, optionally after ``+86``/``0086``/``86``.
   - landline: an area code (``010``, ``02x``, ``0xxx``; or without the 0 after ``86``) and a
     7- or 8-digit number not starting with 0. The area code stays visible; an extension
     (``转123``, ``ext. 123``) is not part of the number and is left.
   - 400 / 800 numbers (10 digits). Masked: a small business's 400 number can be one person's.
   - bank card: 16 to 19 digits passing the Luhn check (or after 卡号, 银行卡 …).
   - a local 7- or 8-digit number (no area code, first digit 2-9) right after a phone word
     (电话, 座机, 号码, 拨打 …).

Never masked (hard negatives): a run right after an order/ticket word (订单号, 单号, 流水 …), an
amount (¥ before, 元/万/% after), dates and times (``2025-03-01``, ``14:03:10``: no kind fits),
public 5-digit service numbers (95588, 10086, 12345: too short for every kind), and numbers glued
to Latin letters (``SD20250301``, codes), except a mobile or a checksum-valid ID number.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .resources import PRIVACY_FILE, read_yaml


def _load(path: Path = PRIVACY_FILE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return read_yaml(fh)


_DATA = _load()
_NUMERALS = {ch: int(d) for d, chars in _DATA["numerals"].items() for ch in chars}
_X = "XxＸｘ"
_DOTS = frozenset(_DATA["dots"])
_DOT_MIN = int(_DATA["dot_min_group"])
_KEEP = {kind: tuple(v) for kind, v in _DATA["keep"].items()}
_PROVINCES = frozenset(str(p) for p in _DATA["id_provinces"])
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MAX_DIGITS = 19 + 4  # the longest kind (a 19-digit card), plus slack for a 0086 prefix

_DIGIT = "(?:\\d|[" + re.escape("".join(_NUMERALS)) + "])"
_SEP = "[" + re.escape(_DATA["separators"]) + "]"
_GROUP = re.compile(_DIGIT + "+(?:[" + _X + "](?![0-9A-Za-z]))?")
_RUN = re.compile(
    _DIGIT + "+(?:[" + _X + "](?![0-9A-Za-z]))?"
    "(?:" + _SEP + "{1," + str(int(_DATA["max_separators"])) + "}" + _DIGIT + "+(?:[" + _X + "](?![0-9A-Za-z]))?)*"
)
_ANY_DIGIT = re.compile(_DIGIT)


def _context(words: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile("(?:" + alternatives + ")[" + re.escape(_DATA["filler"]) + "]*$", re.IGNORECASE)


_ORDER_CONTEXT = _context(_DATA["order_words"])
_PHONE_CONTEXT = _context(_DATA["phone_words"])
_ID_CONTEXT = _context(_DATA["id_words"])
_CARD_CONTEXT = _context(_DATA["card_words"])
_AMOUNT_BEFORE = re.compile("(?:" + "|".join(re.escape(w) for w in _DATA["amount_before"]) + r")\s*$")
_AMOUNT_AFTER = re.compile(r"\s*(?:" + "|".join(re.escape(w) for w in _DATA["amount_after"]) + ")")


def mask_pii(text: str) -> str:
    """``text`` with personal numbers masked by ``*``; same length as ``text``."""
    if not text or not _ANY_DIGIT.search(text):  # the common case: nothing to do
        return text
    chars: list[str] | None = None
    for run in _RUN.finditer(text):
        if run.end() - run.start() < 7:  # every kind has at least 7 digits
            continue
        for start, end, keep in _numbers_in(text, run):
            if chars is None:
                chars = list(text)
            _mask(chars, text, start, end, keep)
    return text if chars is None else "".join(chars)


def mask_optional(text: str | None) -> str | None:
    """``mask_pii`` for a field that may be missing."""
    return None if text is None else mask_pii(text)


def mask_transcript(transcript):
    """Mask a parsed transcript IN PLACE (source name, each turn's text and speaker) and return
    it. Call it before analysis, so that flag offsets point into the masked text."""
    transcript.source = mask_pii(transcript.source)
    for turn in transcript.turns:
        turn.text = mask_pii(turn.text)
        turn.speaker = mask_pii(turn.speaker)
    return transcript


# -- finding the numbers of one run --------------------------------------------------------
@dataclass
class _Group:
    start: int
    end: int
    digits: str  # ASCII digits (and a final X)


_TO_ASCII = str.maketrans({**{ch: str(d) for ch, d in _NUMERALS.items()}, **{ch: "X" for ch in _X},
                           **{chr(0xFF10 + d): str(d) for d in range(10)}})


def _digits_of(chars: str) -> str:
    """ASCII digits (and X) for a group: numerals, full-width and any other Unicode decimal digit."""
    digits = chars.translate(_TO_ASCII)
    if digits.isascii():
        return digits
    return "".join(ch if ch.isascii() else str(unicodedata.decimal(ch)) for ch in digits)


def _numbers_in(text: str, run: re.Match[str]) -> list[tuple[int, int, tuple[int, int]]]:
    """``(start, end, (head, tail))`` of each personal number in one run."""
    before = text[max(0, run.start() - 16):run.start()]
    if _ORDER_CONTEXT.search(before) or _AMOUNT_BEFORE.search(before) or _AMOUNT_AFTER.match(text, run.end()):
        return []
    glued = (run.start() > 0 and text[run.start() - 1].isascii() and text[run.start() - 1].isalpha()) or (
        run.end() < len(text) and text[run.end()].isascii() and text[run.end()].isalpha())
    groups = [_Group(m.start(), m.end(), _digits_of(m.group()))
              for m in _GROUP.finditer(text, run.start(), run.end())]
    joinable = [_joinable(text, a, b) for a, b in zip(groups, groups[1:])]
    context = {
        "phone": bool(_PHONE_CONTEXT.search(before)), "id": bool(_ID_CONTEXT.search(before)),
        "card": bool(_CARD_CONTEXT.search(before)), "glued": glued,
    }
    found = []
    i = 0
    while i < len(groups):
        stretch = [i]
        total = len(groups[i].digits)
        while stretch[-1] + 1 < len(groups) and joinable[stretch[-1]]:
            total += len(groups[stretch[-1] + 1].digits)
            if total > _MAX_DIGITS:
                break
            stretch.append(stretch[-1] + 1)
        best = None  # (rank, -groups, j, keep): the surest kind first, then the longest stretch
        for j in stretch:
            kind = _kind("".join(g.digits for g in groups[i:j + 1]), context, first=i == 0)
            if kind is not None and (best is None or (kind[0], i - j) < best[:2]):
                best = (kind[0], i - j, j, kind[1])
        if best is not None:
            found.append((groups[i].start, groups[best[2]].end, best[3]))
            i = best[2]
        i += 1
    return found


def _joinable(text: str, a: _Group, b: _Group) -> bool:
    between = text[a.end:b.start]
    if any(ch in _DOTS for ch in between):
        return len(a.digits) >= _DOT_MIN and len(b.digits) >= _DOT_MIN
    return True


def _kind(digits: str, context: dict[str, bool], first: bool) -> tuple[int, tuple[int, int]] | None:
    """``(rank, (head, tail))`` if ``digits`` is a personal number, else None. The rank orders the
    kinds from the surest (a checksum, a fixed prefix and length) to the weakest (a Luhn check
    passes one random number in ten; a local number needs a phone word before it): in a run that
    could be read either way ("0898-21021727-8001"), the surer reading wins."""
    if "X" in digits[:-1]:
        return None
    n = len(digits)
    glued = context["glued"]
    if n == 18 and _valid_id_card(digits, context["id"] and first, glued):
        return 0, _KEEP["id_card"]
    if digits.endswith("X"):
        return None
    if n in (11, 13, 15) and (keep := _mobile(digits)) is not None:
        return 1, keep
    if glued:
        return None
    if n in (10, 11, 12, 13, 14, 15) and (keep := _landline(digits)) is not None:
        return 2, keep
    if n == 10 and digits[:3] in ("400", "800"):
        return 3, _KEEP["service"]
    if 16 <= n <= 19 and (_luhn(digits) or (context["card"] and first)):
        return 4, _KEEP["bank_card"]
    if n == 15 and _valid_id_15(digits):
        return 5, _KEEP["id_card_15"]
    if n in (7, 8) and first and context["phone"] and digits[0] not in "01":
        return 6, _KEEP["local"]
    return None


def _mobile(digits: str) -> tuple[int, int] | None:
    prefix = {11: "", 13: "86", 15: "0086"}[len(digits)]
    if not digits.startswith(prefix):
        return None
    number = digits[len(prefix):]
    if number[0] == "1" and number[1] in "3456789":
        head, tail = _KEEP["mobile"]
        return head + len(prefix), tail
    return None


_AREA = re.compile(r"(?:0|0086|86)(10|2\d|[3-9]\d\d)([1-9]\d{6,7})")


def _landline(digits: str) -> tuple[int, int] | None:
    m = _AREA.fullmatch(digits)
    if m is None:
        return None
    _, tail = _KEEP["landline"]
    return m.start(2), tail  # the country prefix and area code stay visible


def _valid_id_card(digits: str, context: bool, glued: bool) -> bool:
    if not digits[:17].isdigit() or digits[:2] not in _PROVINCES or not _valid_birth(digits[6:14]):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == digits[17] or (context and not glued)


def _valid_id_15(digits: str) -> bool:
    return digits[:2] in _PROVINCES and _valid_birth("19" + digits[6:12])


def _valid_birth(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1900 <= born.year <= date.today().year


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask(chars: list[str], text: str, start: int, end: int, keep: tuple[int, int]) -> None:
    positions = [i for i in range(start, end) if _ANY_DIGIT.match(text[i]) or text[i] in _X]
    head, tail = keep
    for i in positions[head:len(positions) - tail]:
        chars[i] = "*"
