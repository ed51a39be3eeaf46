"""The one text-and-number check every entry point applies to what comes from outside.

Uploads (after decoding and parsing), API JSON bodies and form fields, live socket messages and
CLI inputs all pass through here, so that what reaches the engine, the database and the JSON
encoder is text that every one of them can take:

- no lone surrogate (``"\\ud800"`` in JSON decodes to one; it cannot be encoded as UTF-8, so
  the answer, the database driver or the terminal would fail on it),
- no NUL (PostgreSQL refuses it in text), no other C0 control character and no DEL; tab,
  line feed and carriage return are kept where a field may hold several lines,
- numbers (times) finite and within ``MAX_SECONDS``: NaN, Infinity, ``1e999`` and 400-digit
  integers are refused, not stored.

``problem(text)`` says what is wrong (or None); ``check_text`` raises ``UnsafeInput`` with a
bilingual message naming the field; ``check_seconds`` does the same for a time value.
"""
from __future__ import annotations

import math
import re

# The largest time, in seconds, a transcript may carry (about 31.7 years: far beyond any call,
# well within a float, a timestamp and every database's float column).
MAX_SECONDS = 1e9
# Integers longer than this are not converted exactly (Python refuses str<->int beyond 4,300
# digits; a database integer has at most 19): see ``json_int``.
MAX_INT_DIGITS = 30

_SINGLE_LINE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_MULTI_LINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class UnsafeInput(ValueError):
    """Input that no entry point lets through; ``str(exc)`` is the bilingual message."""


def problem(text: str, *, multiline: bool = True) -> str | None:
    """What is wrong with ``text`` (the first bad character and its 1-based position), or None."""
    found = (_MULTI_LINE if multiline else _SINGLE_LINE).search(text)
    if found is None:
        return None
    ch, at = found.group(), found.start() + 1
    code = f"U+{ord(ch):04X}"
    if "\ud800" <= ch <= "\udfff":
        return f"第 {at} 个字符是孤立的代理项 {code} / character {at} is a lone surrogate ({code})"
    if ch == "\x00":
        return f"第 {at} 个字符是空字符 NUL / character {at} is NUL"
    return f"第 {at} 个字符是控制字符 {code} / character {at} is a control character ({code})"


def check_text(text: str, field: str, *, multiline: bool = True) -> str:
    """``text`` itself, or ``UnsafeInput`` naming ``field``."""
    found = problem(text, multiline=multiline)
    if found is not None:
        raise UnsafeInput(f"{field}: {found}")
    return text


def check_seconds(value: float, field: str) -> float:
    """A time in seconds: finite and at most ``MAX_SECONDS`` in size; else ``UnsafeInput``."""
    if not math.isfinite(value) or abs(value) > MAX_SECONDS:
        shown = str(value) if not math.isfinite(value) else f"{value:.3g}"
        raise UnsafeInput(
            f"{field}: 时间 {shown} 不是有限的或超出范围（最大 {MAX_SECONDS:.0e} 秒） / "
            f"time {shown} is not finite or out of range (at most {MAX_SECONDS:.0e} s)"
        )
    return value


def json_int(digits: str) -> int | float:
    """``json.loads(parse_int=...)``: an integer as written, but one too long to be a real value
    becomes a float (``inf`` beyond ~308 digits) instead of an error deep in ``int()``, so the
    check of the field it lands in names it."""
    if len(digits.lstrip("-")) <= MAX_INT_DIGITS:
        return int(digits)
    return float(digits)


def walk_json(value: object, where: str = "") -> str | None:
    """The first problem anywhere in decoded JSON (strings, keys, non-finite numbers), as
    ``"path: problem"``; None when all is well. Iterative: depth costs no recursion."""
    stack: list[tuple[object, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if (found := problem(item)) is not None:
                return f"{path or 'body'}: {found}"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{path or 'body'}: 数值 {item} 不是有限数 / the number {item} is not finite"
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and (found := problem(key, multiline=False)) is not None:
                    return f"{path or 'body'}: 键 / key: {found}"
                stack.append((sub, name))
        elif isinstance(item, list):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))
    return None


def escape_unsafe(text: str) -> str:
    """``text`` with every character ``problem`` objects to written as ``\\uXXXX``: for error
    messages that quote the input (they must themselves be safe to encode and store)."""
    return _SINGLE_LINE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
