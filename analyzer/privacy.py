"""Mask personal numbers in text: mainland mobile numbers, ID-card numbers, bank-card numbers.

``mask_pii(text)`` returns text of the SAME LENGTH: only digits in the middle of a number are
replaced with ``*``, so offsets into the text (flag spans) stay valid.

- Mobile: ``1[3-9]x`` and 8 more digits, optionally grouped ``3-4-4`` with spaces or dashes,
  optionally after ``+86``/``0086``/``86``. Kept: the first 3 and last 4 digits.
- ID card: 18 characters, 17 digits and a digit or ``X`` checksum, with a valid ISO 7064
  checksum and birth date. Kept: the first 3 and last 4 characters.
- Bank card: 16 to 19 digits (contiguous, or in groups of 4) that pass the Luhn check.
  Kept: the first 4 and last 4 digits.

Not masked (hard negatives): numbers glued to letters or longer digit runs (``SD20250301``),
numbers right after an order/tracking word (订单号, 单号, 运单, order ...), amounts, dates and
times, and any digit run that fails the checks above.
"""
from __future__ import annotations

import re
from datetime import date

_HALF_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ－＋", "0123456789Xx-+")
_NUMBER_CHARS = frozenset("0123456789Xx")
_EDGE_BEFORE = r"(?<![0-9A-Za-z])"
_EDGE_AFTER = r"(?![0-9A-Za-z])(?![ -]\d)"

_MOBILE = re.compile(
    _EDGE_BEFORE + r"(?:(?:\+|00)?86[ -]?)?(?P<number>1[3-9]\d(?:[ -]?\d{4}){2})" + _EDGE_AFTER,
    re.ASCII,
)
_ID_CARD = re.compile(_EDGE_BEFORE + r"(?P<number>\d{17}[\dXx])" + _EDGE_AFTER, re.ASCII)
_BANK_CARD = re.compile(
    _EDGE_BEFORE + r"(?P<number>\d{16,19}|\d{4}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?)" + _EDGE_AFTER,
    re.ASCII,
)
# A number right after one of these words is an order or ticket number, not a person's.
_ORDER_CONTEXT = re.compile(
    r"(?:订单|单号|运单|快递单|工单|编号|流水|交易号|order|tracking|ticket)[\s:：#号码为是]*$",
    re.IGNORECASE,
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def mask_pii(text: str) -> str:
    """``text`` with personal numbers masked by ``*``; same length as ``text``."""
    if not text or not any(ch.isdigit() for ch in text):  # the common case: nothing to do
        return text
    shadow = text.translate(_HALF_WIDTH)  # full-width digits match too; same length
    chars = list(text)
    taken: list[tuple[int, int]] = []
    for pattern, valid, keep_head, keep_tail in _KINDS:
        for m in pattern.finditer(shadow):
            start, end = m.span("number")
            number = m.group("number")
            if any(start < b and a < end for a, b in taken) or _after_order_word(shadow, m.start()):
                continue
            if not valid(_digits(number)):
                continue
            taken.append((start, end))
            _mask(shadow, chars, start, end, keep_head, keep_tail)
    return "".join(chars)


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch in _NUMBER_CHARS)


def _after_order_word(text: str, start: int) -> bool:
    return bool(_ORDER_CONTEXT.search(text[max(0, start - 12):start]))


def _mask(shadow: str, chars: list[str], start: int, end: int, keep_head: int, keep_tail: int) -> None:
    positions = [i for i in range(start, end) if shadow[i] in _NUMBER_CHARS]
    for i in positions[keep_head:len(positions) - keep_tail]:
        chars[i] = "*"


def _valid_mobile(digits: str) -> bool:
    return len(digits) == 11


def _valid_id_card(digits: str) -> bool:
    if len(digits) != 18 or not digits[:17].isdigit() or digits[0] in "09":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != digits[17].upper():
        return False
    try:
        born = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= date.today().year


def _valid_bank_card(digits: str) -> bool:
    if not 16 <= len(digits) <= 19 or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# In order of precedence: an 18-digit ID card is checked before the bank-card rule sees it.
_KINDS = (
    (_ID_CARD, _valid_id_card, 3, 4),
    (_MOBILE, _valid_mobile, 3, 4),
    (_BANK_CARD, _valid_bank_card, 4, 4),
)
