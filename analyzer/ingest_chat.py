"""Chat-export layouts of speaker text (issue #15), beside the ``speaker: text`` lines of ``ingest``.

Two layouts, each chosen for a whole file (``choose_layout``), never line by line:

- **bracket**: one message per line, the speaker in brackets, a time optional, the colon too::

      【客服】您好，请问有什么可以帮您？
      [客服 小林 14:03:10] 您好
      【客服-小林】：您好
      [2025-03-30 14:03:10 客户] 我的快递呢

  Inside the brackets: a role or a name or both, and an optional time, in any order.
- **header**: a line with the speaker and a date-time (or a time with seconds) and nothing else,
  the message on the lines that follow (enterprise WeChat, Qianniu, QQ exports)::

      客服小林 2025-03-30 14:03:10
      您好，请问有什么可以帮您？
      2025-03-30 14:03:25 王女士
      我的快递到哪了
      小美(在线客服)  14:03:10
      华为官方旗舰店:小美 2025/3/30 14:03:10

  A line that holds only a date (``2025-03-30``, ``日期：2025年3月30日``) dates the time-only
  headers after it.

This module is pure: it finds labels, times and message lines and hands them back as
``ChatRow``s, the time as text (``YYYY-MM-DD hh:mm:ss`` or ``hh:mm:ss``); ``analyzer.ingest``
reads the times, settles the roles and reports errors. It imports nothing of ``ingest``.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

HEADER, BRACKET, COLON = "header", "bracket", "colon"
LAYOUTS = (HEADER, BRACKET, COLON)  # the layouts of speaker text

_DATE = r"\d{4}(?:[-/.]\d{1,2}[-/.]\d{1,2}|年\d{1,2}月\d{1,2}日?)"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_CLOCK_SECONDS = r"\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,3})?"
# A header's time: a date and a time, or a time with seconds (so "我明天 14:00" is a message).
_HEADER_STAMP = rf"(?:{_DATE}[ T]*{_CLOCK}|{_CLOCK_SECONDS})"
_HEADER_AFTER = re.compile(rf"(?P<label>\S.*?)\s+(?P<stamp>{_HEADER_STAMP})")
_HEADER_BEFORE = re.compile(rf"(?P<stamp>{_HEADER_STAMP})\s+(?P<label>\S.*?)")
_BRACKET = re.compile(r"[\[【]\s*(?P<inner>[^\[\]【】]{1,60}?)\s*[\]】]\s*[:：]?\s*(?P<text>.*)")
_STAMP_INSIDE = re.compile(rf"(?:{_DATE}[ T]*)?{_CLOCK}|{_DATE}")
_DATE_LINE = re.compile(rf"(?:日期|日期時間|date)?\s*[:：]?\s*(?P<date>{_DATE})", re.IGNORECASE)
_DATE_PARTS = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_EDGE_SEPARATORS = " \t-–—|·•_:：/"
_MAX_LABEL_CHARS = 30
_SENTENCE_PUNCTUATION = re.compile(r"[，。！？；、,!?;…“”\"‘’]")


@dataclass
class ChatRow:
    line: int
    speaker: str
    text: str
    stamp: str | None


def label_like(label: str) -> bool:
    """Short, no sentence punctuation, at most three words, at least one letter (hanzi count)."""
    label = label.strip()
    return (
        0 < len(label) <= _MAX_LABEL_CHARS
        and len(label.split()) <= 3
        and not _SENTENCE_PUNCTUATION.search(label)
        and any(ch.isalpha() for ch in label)
    )


def iso_date(text: str) -> str | None:
    """``2025年3月30日`` / ``2025/3/30`` → ``2025-03-30`` (the parts as written; validity is the
    reader's check)."""
    m = _DATE_PARTS.fullmatch(text.strip())
    return f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}" if m else None


def _stamp(text: str) -> str:
    """A found time in the form ``ingest`` reads: the date part as ``YYYY-MM-DD``."""
    text = text.strip()
    if m := _DATE_PARTS.match(text):
        return f"{iso_date(m[0])} {text[m.end():].strip(' T')}".strip()
    return text


def header_line(line: str) -> tuple[str, str] | None:
    """``(label, time)`` when the whole line is a header: a label and a time, nothing else."""
    for pattern in (_HEADER_AFTER, _HEADER_BEFORE):
        m = pattern.fullmatch(line)
        if m and label_like(m["label"]) and not _STAMP_INSIDE.search(m["label"]) and _colon_ok(m["label"], pattern):
            return m["label"].strip(), _stamp(m["stamp"])
    return None


def _colon_ok(label: str, pattern: re.Pattern[str]) -> bool:
    """A colon in a header's label only as Qianniu writes shop and agent (``旗舰店:小美``: one
    word, the time after it); ``10:02:11 坐席: 好`` is a speaker line, not a header."""
    if not re.search("[:：]", label):
        return True
    return pattern is _HEADER_AFTER and len(label.split()) == 1 and not label.endswith((":", "："))


def bracket_line(line: str) -> tuple[str, str | None, str] | None:
    """``(label, time or None, text)`` when the line starts with a bracketed speaker label."""
    m = _BRACKET.fullmatch(line)
    if m is None:
        return None
    inner = m["inner"]
    found = _STAMP_INSIDE.search(inner)
    stamp = None
    if found:
        stamp = _stamp(found[0])
        inner = inner[: found.start()] + " " + inner[found.end():]
    label = " ".join(inner.split()).strip(_EDGE_SEPARATORS)
    if not label or not label_like(label):
        return None
    return label, stamp, m["text"].strip()


def date_line(line: str) -> str | None:
    """The date of a line that holds a date and nothing else (``YYYY-MM-DD``)."""
    m = _DATE_LINE.fullmatch(line.strip())
    return iso_date(m["date"]) if m else None


def choose_layout(lines: Sequence[str], is_colon_line: Callable[[str], bool]) -> str:
    """The file's layout: header lines when they are at least as many as the other kinds of
    speaker line, else bracketed labels when they are, else ``speaker: text``."""
    headers = brackets = colons = 0
    for line in lines:
        if not line:
            continue
        if header_line(line):
            headers += 1
        elif bracket_line(line):
            brackets += 1
        elif is_colon_line(line):
            colons += 1
    if headers and headers >= max(brackets, colons):
        return HEADER
    if brackets and brackets >= colons:
        return BRACKET
    return COLON


def _with_date(stamp: str | None, day: str | None) -> str | None:
    if stamp and day and not _DATE_PARTS.match(stamp):
        return f"{day} {stamp}"
    return stamp


def parse(lines: Sequence[tuple[int, str]], layout: str) -> list[ChatRow]:
    """The rows of a header or bracket layout; lines before the first speaker are ignored, a
    line that is not a speaker line continues the message before it."""
    rows: list[ChatRow] = []
    day: str | None = None
    for number, line in lines:
        if not line:
            continue
        if (found := date_line(line)) is not None:
            day = found
            continue
        if layout == HEADER and (header := header_line(line)):
            rows.append(ChatRow(number, header[0], "", _with_date(header[1], day)))
        elif layout == BRACKET and (bracket := bracket_line(line)):
            label, stamp, text = bracket
            rows.append(ChatRow(number, label, text, _with_date(stamp, day)))
        elif rows:
            rows[-1].text = join(rows[-1].text, line)
    return rows


def join(text: str, more: str) -> str:
    """Lines of one message: no separator after a wide (CJK) character, else one space."""
    if not text:
        return more
    wide = unicodedata.east_asian_width(text[-1]) in ("W", "F")
    return text + ("" if wide else " ") + more
