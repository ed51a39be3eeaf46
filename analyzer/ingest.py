"""Read a transcript file (speaker text, CSV/TSV, JSON/JSONL, XLSX) into a ``Transcript``.

One reader per format sharing the role, time and error conventions below; the chat-export
layouts of speaker text (bracketed labels, header lines) are found by ``analyzer.ingest_chat``.

``read_transcript(path)`` reads a file, ``parse_transcript(data, name)`` reads bytes (the HTTP
upload path). ``fmt=None`` detects the format: the XLSX zip signature, then the file extension,
then the content (a JSON array/object, JSON lines, a CSV/TSV header naming a speaker or role
column and a text column; anything else is speaker text).

Conventions, everywhere:
- ``Turn.line`` is the 1-based line where the turn starts (the row number for XLSX).
- Times are seconds as floats. Values written as ``ss(.f)``, ``mm:ss(.fff)`` or
  ``hh:mm:ss(.fff)`` are taken as they are; a date-time (``2025-03-01 10:02:11``) becomes the
  seconds since the first date-time in the file, so a call logged with wall-clock times starts
  at 0.0.
- Turn text is kept as written (Traditional and full-width characters included), stripped of
  surrounding whitespace. Turns with empty text are dropped.
- In speaker text a line without a speaker prefix continues the previous turn; it is joined
  with no separator when the previous text ends with a wide (CJK) character, else with one
  space. Lines before the first speaker line are ignored. Besides ``speaker: text`` lines, a
  file may put the speaker in brackets (``【客服】…``, ``[客服 小林 14:03:10] …``) or on a header
  line with the time, the message on the lines after it (enterprise WeChat, Qianniu, QQ
  exports); ``analyzer.ingest_chat`` chooses the layout for the whole file.
- Roles: the caller's labels, then the built-in ones (a role word alone, with a number, a name
  or a shop: 客服007, 客服 小林, 客服-小林, 客服小林, 小美(在线客服), 某某旗舰店:小美). In a
  two-speaker file where one speaker's role is known, the other speaker has the other role
  (the two-party rule); when no rule applies, the error names the line and what was expected.
- ``Transcript.meta`` says what the reader saw: the layout, how times were written, the first
  date-time in the file (the call's start, ``analyzer.callmeta``).
- Every problem is an ``IngestError`` naming the file and, where there is one, the line.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path

import charset_normalizer
import openpyxl

from . import ingest_chat
from .model import AGENT, CUSTOMER, IngestError, Transcript, Turn
from .sanitize import UnsafeInput, check_seconds, check_text, escape_unsafe, json_int

FORMATS = ("speaker-text", "csv", "tsv", "json", "jsonl", "xlsx")

# ---------------------------------------------------------------------------------------------
# Data: speaker labels, column names, file signatures. Edit here, not in the code below.

# Exact labels (ASCII ones compared case-insensitively); a trailing number is allowed
# ("客服007", "坐席 2", "agent_1").
AGENT_LABELS = (
    "坐席", "座席", "客服", "人工客服", "在线客服", "在線客服", "服务代表", "服務代表",
    "话务员", "話務員", "agent", "客服专员", "客服專員", "售后客服", "售後客服", "售前客服",
    "官方客服", "客户经理", "客戶經理", "客服代表", "工作人员", "工作人員",
)
CUSTOMER_LABELS = (
    "客户", "客戶", "顾客", "顧客", "用户", "用戶", "来电人", "來電人", "来电者", "來電者",
    "买家", "買家", "访客", "訪客", "customer", "caller", "user",
)
# A shop's name in a label means an agent (Qianniu writes "shop:agent"): 某某旗舰店:小美.
SHOP_SUFFIXES = ("旗舰店", "旗艦店", "专卖店", "專賣店", "专营店", "專營店", "官方店", "店铺", "店鋪", "小店")
_SHOP = re.compile("(?:" + "|".join(SHOP_SUFFIXES) + r")(?:[:：\-_·].*)?$")
# A role word and a name in one label: 客服 小林, 客服-小林, 小林|客服.
_LABEL_PARTS = re.compile(r"[\s\-–—_·|/:：]+")
_NAME_AFTER_ROLE = 6  # 客服小林: at most this many characters of name after the role word
# An employee number anywhere in the label means an agent: 工号1234, 小王(工号:1234).
_AGENT_ID = re.compile(r"工[号號]\s*[:：]?\s*\d+")
# A name with a role in brackets, either way round: 小李(客服), 王芳（坐席）, 客服(小李).
_BRACKETED = re.compile(r"(?P<outer>[^()（）]*?)\s*[(（]\s*(?P<inner>[^()（）]+?)\s*[)）]")
_TRAILING_NUMBER = re.compile(r"[\s#_-]*\d+$")
# Text before a colon is only taken for a (possibly unknown) speaker label when it is short and
# has no sentence punctuation; otherwise the line continues the previous turn.
_MAX_LABEL_CHARS = 24
_SENTENCE_PUNCTUATION = re.compile(r"[，。！？；、,!?;…“”\"‘’]")
# A workbook is refused before it is read when it would unpack to more than this (a small, highly
# compressed XLSX can hold millions of rows), and while it is read once its sheet passes the row
# limit (blank rows count) or a row passes the column limit. A call transcript is far smaller.
_MAX_XLSX_UNPACKED_BYTES = 64 * 1024 * 1024
_MAX_XLSX_ROWS = 100_000
_MAX_XLSX_COLUMNS = 256

# Accepted names of table columns (CSV/TSV/XLSX headers) and JSON keys, compared after
# case-folding and turning spaces and hyphens into underscores.
FIELD_NAMES = {
    "speaker": ("speaker", "说话人", "說話人", "发言人", "發言人"),
    "role": ("role", "角色", "身份"),
    "text": ("text", "content", "utterance", "内容", "內容", "文本", "话术", "話術", "消息", "message"),
    "start": ("start", "start_time", "开始", "開始", "开始时间", "開始時間", "ts", "time", "timestamp", "时间",
              "時間", "发送时间", "發送時間"),
    "end": ("end", "end_time", "结束", "結束", "结束时间", "結束時間"),
}

_EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl",
    ".ndjson": "jsonl", ".xlsx": "xlsx", ".xlsm": "xlsx",
}
_ZIP_MAGIC = b"PK\x03\x04"
_DELIMITERS = {"csv": ",", "tsv": "\t"}

# Encodings tried for text that is not UTF-8, as reported name -> codecs tried in order.
_CJK_CODECS = {"gb18030": ("gb18030",), "big5": ("big5", "big5hkscs", "cp950")}
_FAMILIES = {
    "gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030",
    "big5": "big5", "big5hkscs": "big5", "cp950": "big5",
}
# Control bytes no text file has (tab, newlines, vertical tab and form feed are allowed). They
# cannot occur inside a multi-byte character in UTF-8, GB18030 or Big5.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\t\r\n"
# Punctuation that is neutral when scoring a decoding (neither a common hanzi nor a rarity).
_NEUTRAL_PUNCTUATION = re.compile("[\u00b7\u2010-\u2027\u2030-\u205e\u3000-\u303f\uff00-\uffef]")

_ENCODING_ERROR = "无法识别文件编码 / cannot detect the text encoding"
_EMPTY = "文件是空的 / the file is empty"
_NO_TURNS = "文件里没有任何对话 / no turns found in the file"

# ---------------------------------------------------------------------------------------------
# Speaker-text line grammar.

_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_STAMP = rf"(?:\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}[ T]+)?{_CLOCK}"
_SPEAKER_LINE = re.compile(
    rf"""
    (?:                                           # optional timestamp: [00:01:23], 00:01:23,
        (?P<open>[\[【(（])?\s*                     # 2025-03-01 10:02:11, [00:01.5 - 00:04.2]
        (?P<start>{_STAMP})
        (?:\s*(?:-->|[-–—~～])\s*(?P<end>{_STAMP}))?
        \s*(?(open)[\]】)）]|(?=\s))
        \s*
    )?
    (?P<label>(?:[(（][^()（）]*[)）]|工[号號]\s*[:：]\s*\d+|[^:：()（）])+)
    [:：](?!//)                                   # the colon (not the one in http://)
    (?P<text>.*)
    """,
    re.VERBOSE,
)
_NEWLINE = re.compile(r"\r\n|\r|\n")
# A line that starts like a timestamped speaker line but whose time is not one (a 400-digit
# number, 99999:99:99): an error naming the line, never preamble or a continuation.
_BAD_STAMP_LINE = re.compile(
    r"[\[【(（]?\s*(?P<stamp>\d[\d:.,/\-]*(?:[ T]+\d[\d:.,]*)?)\s*[\]】)）]?\s*(?P<label>[^:：]+?)\s*[:：]"
)
_TIME_VALUE = re.compile(
    r"(?:(?P<date>\d{4}[-/.]\d{1,2}[-/.]\d{1,2})[ T]+)?"
    r"(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:[.,]\d+)?)"
)
_ISO_WITH_ZONE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})")
_SECONDS_VALUE = re.compile(r"\d+(?:\.\d+)?")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_DECODER = json.JSONDecoder(parse_int=json_int)


# ---------------------------------------------------------------------------------------------
# Public API


def read_transcript(
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    agent_labels: Iterable[str] = (),
    customer_labels: Iterable[str] = (),
) -> Transcript:
    """Read a transcript file; ``Transcript.source`` is the path as given."""
    name = os.fsdecode(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise _fail(f"无法读取文件：{reason} / cannot read the file: {reason}", name) from exc
    return parse_transcript(
        data, name, fmt=fmt, agent_labels=agent_labels, customer_labels=customer_labels
    )


def parse_transcript(
    data: bytes,
    name: str,
    *,
    fmt: str | None = None,
    agent_labels: Iterable[str] = (),
    customer_labels: Iterable[str] = (),
) -> Transcript:
    """Parse a transcript from bytes; ``name`` guides format detection and names the source."""
    roles = _Roles(agent_labels, customer_labels, name)
    fmt = _declared_format(fmt, name) if fmt is not None else _format_from_bytes(data, name)
    meta: dict[str, object] = {"layout": "table"}
    if fmt == "xlsx":
        encoding, rows = "binary", _parse_table(_xlsx_records(data, name), name)
    else:
        text, encoding = decode_text(data, name)
        if not text.strip():
            raise _fail(_EMPTY, name)
        fmt = fmt or _format_from_text(text)
        rows = _parse_text(fmt, text, name, roles, meta)
    turns = _turns(rows, roles, name, meta)
    return Transcript(source=name, format=fmt, encoding=encoding, turns=turns, meta=meta)


def decode_text(data: bytes, name: str = "") -> tuple[str, str]:
    """Decode a text file; return ``(text, encoding)``.

    A UTF-16 BOM (Excel's "Unicode text" export) gives "utf-16"; a UTF-8 BOM gives "utf-8-sig",
    valid UTF-8 "utf-8"; otherwise GB18030 and Big5 are tried and
    the decoding that reads most like Chinese wins (``_cjk_score``; GB18030 on a tie). When
    neither reads like Chinese, charset-normalizer names the encoding.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise _fail(_ENCODING_ERROR, name) from None
        odd = ("Cc", "Co", "Cn", "Cs")
        if any(unicodedata.category(c) in odd and c not in "\t\r\n" for c in text):
            raise _fail(_ENCODING_ERROR, name)
        return text.removeprefix("\ufeff"), "utf-16"
    if _CONTROL_BYTES.search(data):
        raise _fail(_ENCODING_ERROR, name)
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        if encoding == "utf-8-sig":
            raise _fail(_ENCODING_ERROR, name) from None
    found = _decode_cjk(data) or _decode_detected(data)
    if found is None or _C1_CONTROLS.search(found[0]):
        raise _fail(_ENCODING_ERROR, name)
    text, encoding = found
    return text.removeprefix("\ufeff"), encoding


# ---------------------------------------------------------------------------------------------
# Encodings


def _decode_cjk(data: bytes) -> tuple[str, str] | None:
    """The GB18030 or Big5 decoding that reads most like Chinese, if it reads like Chinese."""
    decoded = {}
    for encoding, names in _CJK_CODECS.items():
        text = _first_decoding(data, names)
        if text is not None:
            decoded[encoding] = text
    if not decoded:
        return None
    scores = {encoding: _cjk_score(text) for encoding, text in decoded.items()}
    best = max(scores, key=scores.__getitem__)  # GB18030 (mainland) on a tie
    return (decoded[best], best) if scores[best] > 0 else None


def _decode_detected(data: bytes) -> tuple[str, str] | None:
    """charset-normalizer's answer, with GB and Big5 variants reported as gb18030 / big5.

    Only ASCII-compatible encodings count: every supported format is built from ASCII
    punctuation, and on junk charset-normalizer may answer UTF-16 or EBCDIC.
    """
    encoding = _detected_family(data)
    if encoding is None or not _ascii_compatible(encoding):
        return None
    text = _first_decoding(data, _CJK_CODECS.get(encoding, (encoding,)))
    return (text, encoding) if text is not None else None


def _detected_family(data: bytes) -> str | None:
    """charset-normalizer's best guess, named as ``decode_text`` reports it."""
    match = charset_normalizer.from_bytes(data).best()
    if match is None:
        return None
    name = codecs.lookup(match.encoding).name
    return _FAMILIES.get(name, name.lower())


def _ascii_compatible(encoding: str) -> bool:
    try:
        return _PRINTABLE_ASCII.decode(encoding) == _PRINTABLE_ASCII.decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False


def _first_decoding(data: bytes, encodings: Sequence[str]) -> str | None:
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _cjk_score(text: str) -> int:
    """How much ``text`` reads like Chinese: +1 per common hanzi, -1 per rare or odd character.

    ASCII and CJK punctuation count 0. "Common" is the first level of GB2312 (Simplified) or of
    Big5 (Traditional); a wrong GB/Big5 decoding yields rare hanzi, kana and private-use
    characters instead.
    """
    return sum(_char_score(ch) for ch in text if not ch.isascii())


@cache
def _char_score(ch: str) -> int:
    if _in_lead_rows(ch, "gb2312", 0xB0, 0xD7) or _in_lead_rows(ch, "big5", 0xA4, 0xC6):
        return 1
    return 0 if _NEUTRAL_PUNCTUATION.match(ch) else -1


def _in_lead_rows(ch: str, encoding: str, first: int, last: int) -> bool:
    """Whether ``ch`` encodes as two bytes in ``encoding`` with a lead byte in [first, last]."""
    try:
        code = ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and first <= code[0] <= last


# ---------------------------------------------------------------------------------------------
# Formats


def _declared_format(fmt: str, name: str) -> str:
    if fmt not in FORMATS:
        choices = ", ".join(FORMATS)
        raise _fail(
            f"未知格式“{_shown(fmt)}”（可选：{choices}） / "
            f"unknown format \"{_shown(fmt)}\" (one of: {choices})",
            name,
        )
    return fmt


def _format_from_bytes(data: bytes, name: str) -> str | None:
    """The format told by the XLSX signature or the extension; None means: look at the text."""
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    return _EXTENSIONS.get(os.path.splitext(name)[1].lower())


def _format_from_text(text: str) -> str:
    return _sniff_json(text) or _sniff_table(text) or "speaker-text"


def _sniff_json(text: str) -> str | None:
    head = text.lstrip()
    if not head.startswith(("{", "[")):
        return None
    try:
        whole = json.loads(head)
    except (ValueError, RecursionError):
        pass
    else:
        one_turn = isinstance(whole, dict) and "turns" not in whole and "\n" not in head.rstrip()
        return "jsonl" if one_turn else "json"
    try:
        first = json.loads(_NEWLINE.split(head, 1)[0])
    except (ValueError, RecursionError):
        first = None
    if isinstance(first, dict):
        return "jsonl"
    # Broken JSON still goes to the JSON parser so its syntax error is reported;
    # "[00:01:23] 坐席：…" does not.
    return "json" if re.match(r"\[\s*\{|\{", head) else None


def _sniff_table(text: str) -> str | None:
    first = next((line for line in _NEWLINE.split(text) if line.strip()), "")
    for fmt, delimiter in (("tsv", "\t"), ("csv", ",")):
        try:
            fields = _match_fields(next(csv.reader([first], delimiter=delimiter), []))
        except csv.Error:  # e.g. a field over the csv module's size limit
            continue
        if "text" in fields and ("speaker" in fields or "role" in fields):
            return fmt
    return None


def _parse_text(fmt: str, text: str, source: str, roles: _Roles, meta: dict[str, object]) -> list[_Row]:
    if fmt == "speaker-text":
        return _parse_speaker_text(text, source, roles, meta)
    meta["layout"] = "json" if fmt in ("json", "jsonl") else "table"
    if fmt == "json":
        return _parse_json(text, source)
    if fmt == "jsonl":
        return _parse_jsonl(text, source)
    return _parse_table(_csv_records(text, _DELIMITERS[fmt], source), source)


# ---------------------------------------------------------------------------------------------
# Rows: what every parser produces, before roles and times are settled


@dataclass
class _Row:
    line: int | None
    speaker: str
    text: str
    role_label: str = ""  # a separate role column/key ("角色", "role"), tried before the speaker
    start: float | datetime | None = None
    end: float | datetime | None = None


def _make_row(record: dict[str, object], line: int | None, source: str) -> _Row:
    """A row from a record mapping field names ("speaker", "text", ...) to raw values."""
    return _Row(
        line=line,
        speaker=_cell_text(record.get("speaker")),
        role_label=_cell_text(record.get("role")),
        text=_cell_text(record.get("text")),
        start=_time(record.get("start"), source, line),
        end=_time(record.get("end"), source, line),
    )


def _cell_text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _time(value: object, source: str, line: int | None) -> float | datetime | None:
    """A time value, or an error naming the line: unreadable, non-finite (NaN, Infinity, 1e999)
    or beyond ``sanitize.MAX_SECONDS`` (a 400-digit number)."""
    try:
        found = _parse_time(value)
    except (ValueError, OverflowError):
        raise _fail(
            f"无法识别的时间“{_shown(value)}” / cannot read the time \"{_shown(value)}\"",
            source,
            line,
        ) from None
    if isinstance(found, float):
        try:
            check_seconds(found, "time")
        except UnsafeInput as exc:
            raise _fail(str(exc), source, line) from None
    return found


def _parse_time(value: object) -> float | datetime | None:
    """Seconds (float) for a duration-like value, a datetime for a date-time, None for blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value
    if isinstance(value, time):
        return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    if isinstance(value, timedelta):
        return value.total_seconds()
    text = str(value).strip()
    if _SECONDS_VALUE.fullmatch(text):
        return float(text)
    match = _TIME_VALUE.fullmatch(text)
    if match is None and _ISO_WITH_ZONE.fullmatch(text):  # 2025-03-30T14:03:10+08:00, …Z
        return datetime.fromisoformat(text)
    if match is None:
        raise ValueError(value)
    hours, minutes, seconds = match["h"], match["m"], match["s"].replace(",", ".")
    if match["date"] and hours is None:  # "2025-03-01 10:02" is hh:mm
        hours, minutes, seconds = minutes, seconds, "0"
    clock = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    if not match["date"]:
        return clock
    year, month, day = map(int, re.split(r"[-/.]", match["date"]))
    return datetime(year, month, day) + timedelta(seconds=clock)  # ValueError if no such day


def _match_fields(names: Sequence[object]) -> dict[str, int]:
    """Map field ("speaker", "text", ...) to the position of the first name that means it."""
    found: dict[str, int] = {}
    for position, name in enumerate(names):
        key = re.sub(r"[\s-]+", "_", _cell_text(name).lstrip("\ufeff").casefold())
        for field, aliases in FIELD_NAMES.items():
            if key in aliases:
                found.setdefault(field, position)
    return found


# ---------------------------------------------------------------------------------------------
# Speaker text


def _parse_speaker_text(text: str, source: str, roles: _Roles, meta: dict[str, object]) -> list[_Row]:
    lines = [(number, raw.strip()) for number, raw in enumerate(_NEWLINE.split(text), start=1)]
    layout = ingest_chat.choose_layout([line for _, line in lines], lambda line: _is_colon_line(line, roles))
    meta["layout"] = layout
    if layout != ingest_chat.COLON:
        return [
            _Row(line=r.line, speaker=r.speaker, text=r.text, start=_time(r.stamp, source, r.line))
            for r in ingest_chat.parse(lines, layout)
        ]
    rows: list[_Row] = []
    for number, raw in lines:
        line = raw.strip()
        if not line:
            continue
        match = _SPEAKER_LINE.fullmatch(line)
        if match and _is_speaker_line(match, roles):
            rows.append(
                _Row(
                    line=number,
                    speaker=match["label"].strip(),
                    text=match["text"].strip(),
                    start=_time(match["start"], source, number),
                    end=_time(match["end"], source, number),
                )
            )
        elif (bad := _BAD_STAMP_LINE.match(line)) and _looks_like_label(bad["label"], roles) and (
            len(bad["stamp"]) > 8 or not match
        ):
            stamp = _shown(bad["stamp"])
            raise _fail(f"无法识别的时间“{stamp}” / cannot read the time \"{stamp}\"", source, number)
        elif rows:
            rows[-1].text = _join(rows[-1].text, line)
    if not rows:
        raise _fail(
            "没有一行是“说话人：内容”的格式 / no line has a speaker prefix (\"speaker: text\")",
            source,
            1,
        )
    return rows


def _is_colon_line(line: str, roles: _Roles) -> bool:
    match = _SPEAKER_LINE.fullmatch(line)
    return bool(match and _is_speaker_line(match, roles))


def _is_speaker_line(match: re.Match[str], roles: _Roles) -> bool:
    """A timestamp, a known label, or something short enough to be an (unknown) label."""
    label = match["label"].strip()
    if match["start"] or roles.role_of(label):
        return True
    return (
        len(label) <= _MAX_LABEL_CHARS
        and len(label.split()) <= 2
        and not _SENTENCE_PUNCTUATION.search(label)
        and any(ch.isalpha() for ch in label)
    )


def _looks_like_label(label: str, roles: _Roles) -> bool:
    label = label.strip()
    return bool(roles.role_of(label)) or (
        0 < len(label) <= _MAX_LABEL_CHARS and not _SENTENCE_PUNCTUATION.search(label)
        and any(ch.isalpha() for ch in label)
    )


def _join(text: str, more: str) -> str:
    if not text:
        return more
    wide = unicodedata.east_asian_width(text[-1]) in ("W", "F")
    return text + ("" if wide else " ") + more


# ---------------------------------------------------------------------------------------------
# Tables: CSV, TSV, XLSX


def _csv_records(text: str, delimiter: str, source: str) -> Iterable[tuple[int, list[str]]]:
    """Yield (line where the record starts, fields); quoted fields may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next_line = 1
    try:
        for fields in reader:
            yield next_line, fields
            next_line = reader.line_num + 1
    except csv.Error as exc:
        raise _fail(f"CSV 格式错误：{exc} / malformed CSV: {exc}", source, next_line) from None


def _xlsx_records(data: bytes, source: str) -> Iterable[tuple[int, Sequence[object]]]:
    """Yield (row number, cell values) of the workbook's first sheet, within the size limits."""
    _check_xlsx_size(data, source)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl and zipfile raise many kinds for a damaged file
        raise _fail("不是有效的 XLSX 工作簿 / not a valid XLSX workbook", source) from exc
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # do not trust the stored size of the used range
        rows = sheet.iter_rows(values_only=True)
        line = 0
        while True:
            try:
                values = next(rows, None)
            except Exception as exc:  # a damaged sheet shows only while it is read
                raise _fail("不是有效的 XLSX 工作簿 / not a valid XLSX workbook", source, line + 1) from exc
            if values is None:
                return
            line += 1
            if line > _MAX_XLSX_ROWS:
                raise _fail(f"工作表超过 {_MAX_XLSX_ROWS:,} 行 / the sheet has more than {_MAX_XLSX_ROWS:,} rows",
                            source, line)
            if len(values) > _MAX_XLSX_COLUMNS:
                raise _fail(f"工作表超过 {_MAX_XLSX_COLUMNS} 列 / the sheet has more than {_MAX_XLSX_COLUMNS} "
                            "columns", source, line)
            yield line, values
    finally:
        book.close()


def _check_xlsx_size(data: bytes, source: str) -> None:
    """Refuse a workbook whose parts would unpack past the limit (zipfile enforces the sizes it states)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise _fail("不是有效的 XLSX 工作簿 / not a valid XLSX workbook", source) from exc
    if unpacked > _MAX_XLSX_UNPACKED_BYTES:
        limit = _MAX_XLSX_UNPACKED_BYTES // (1024 * 1024)
        raise _fail(f"工作簿解压后超过 {limit} MB / the workbook unpacks to more than {limit} MB", source)


def _parse_table(records: Iterable[tuple[int, Sequence[object]]], source: str) -> list[_Row]:
    """The first non-blank record is the header; the rest are turns."""
    fields: dict[str, int] | None = None
    rows: list[_Row] = []
    for line, values in records:
        if not any(_cell_text(value) for value in values):
            continue
        if fields is None:
            fields = _header_fields(values, source, line)
            continue
        record = {field: values[i] for field, i in fields.items() if i < len(values)}
        rows.append(_make_row(record, line, source))
    if fields is None:
        raise _fail(_EMPTY, source)
    return rows


def _header_fields(names: Sequence[object], source: str, line: int) -> dict[str, int]:
    fields = _match_fields(names)
    missing_zh, missing_en = [], []
    if "speaker" not in fields and "role" not in fields:
        missing_zh.append("说话人列")
        missing_en.append("speaker column")
    if "text" not in fields:
        missing_zh.append("文本列")
        missing_en.append("text column")
    if missing_zh:
        found = ", ".join(_shown(name) for name in names if _cell_text(name))
        raise _fail(
            f"找不到{'和'.join(missing_zh)}（现有列：{found}） / "
            f"no {' and no '.join(missing_en)} (columns found: {found})",
            source,
            line,
        )
    return fields


# ---------------------------------------------------------------------------------------------
# JSON and JSON Lines


_TOO_DEEP = "JSON 嵌套过深 / JSON nested too deeply"


def _parse_json(text: str, source: str) -> list[_Row]:
    """A list of turn objects, or an object with a "turns" list."""
    try:
        data = json.loads(text, parse_int=json_int)
    except json.JSONDecodeError as exc:
        raise _fail(
            f"JSON 语法错误：{exc.msg} / JSON syntax error: {exc.msg}", source, exc.lineno
        ) from None
    except RecursionError:
        raise _fail(_TOO_DEEP, source, 1) from None
    if isinstance(data, dict) and isinstance(data.get("turns"), list):
        items = data["turns"]
    elif isinstance(data, list):
        items = data
    else:
        raise _fail(
            '找不到对话列表（应为数组或带 "turns" 数组的对象） / '
            'no list of turns (expected an array, or an object with a "turns" array)',
            source,
            1,
        )
    lines = _json_item_lines(text)
    return [_json_row(item, line, source) for item, line in zip(items, lines, strict=True)]


def _parse_jsonl(text: str, source: str) -> list[_Row]:
    rows = []
    for number, line in enumerate(_NEWLINE.split(text), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line, parse_int=json_int)
        except json.JSONDecodeError as exc:
            raise _fail(
                f"JSON 语法错误：{exc.msg} / JSON syntax error: {exc.msg}", source, number
            ) from None
        except RecursionError:
            raise _fail(_TOO_DEEP, source, number) from None
        rows.append(_json_row(item, number, source))
    return rows


def _json_row(item: object, line: int, source: str) -> _Row:
    if not isinstance(item, dict):
        raise _fail("对话轮次应为 JSON 对象 / a turn must be a JSON object", source, line)
    keys = list(item)
    record = {field: item[keys[i]] for field, i in _match_fields(keys).items()}
    if "text" not in record:
        raise _fail("对话轮次缺少 text / a turn has no text", source, line)
    if "speaker" not in record and "role" not in record:
        raise _fail("对话轮次缺少 speaker 或 role / a turn has no speaker or role", source, line)
    return _make_row(record, line, source)


def _json_item_lines(text: str) -> list[int]:
    """The line of each element of the turns list in valid JSON ``text``."""
    position = _skip_json_space(text, 0)
    if text[position] == "{":
        position = _json_member_offset(text, position, "turns")
    lines, line, previous = [], 1, 0
    for offset in _json_element_offsets(text, position):
        line += text.count("\n", previous, offset)
        lines.append(line)
        previous = offset
    return lines


def _json_element_offsets(text: str, position: int) -> list[int]:
    """Offsets of the elements of the array starting at ``text[position] == "["``."""
    offsets = []
    position = _skip_json_space(text, position + 1)
    while text[position] != "]":
        offsets.append(position)
        _, position = _JSON_DECODER.raw_decode(text, position)
        position = _skip_json_space(text, position)
        if text[position] == ",":
            position = _skip_json_space(text, position + 1)
    return offsets


def _json_member_offset(text: str, position: int, key: str) -> int:
    """Offset of the value of ``key`` (its last occurrence, as json.loads keeps) in an object."""
    found = position
    position = _skip_json_space(text, position + 1)
    while text[position] != "}":
        name, position = _JSON_DECODER.raw_decode(text, position)
        position = _skip_json_space(text, _skip_json_space(text, position) + 1)  # past ":"
        if name == key:
            found = position
        _, position = _JSON_DECODER.raw_decode(text, position)
        position = _skip_json_space(text, position)
        if text[position] == ",":
            position = _skip_json_space(text, position + 1)
    return found


def _skip_json_space(text: str, position: int) -> int:
    return _JSON_SPACE.match(text, position).end()


# ---------------------------------------------------------------------------------------------
# Roles and the final turns


class _Roles:
    """Tells a speaker label's role: the caller's exact labels first, then the built-in ones."""

    def __init__(self, agent_labels: Iterable[str], customer_labels: Iterable[str], source: str):
        agents = {label.strip() for label in agent_labels}
        customers = {label.strip() for label in customer_labels}
        if both := sorted(agents & customers):
            label = _shown(both[0])
            raise _fail(
                f"标签“{label}”不能既是坐席又是客户 / label \"{label}\" cannot be both agent "
                "and customer",
                source,
            )
        self._exact = {**dict.fromkeys(customers, CUSTOMER), **dict.fromkeys(agents, AGENT)}
        self.given = bool(self._exact)

    def role_of(self, label: str) -> str | None:
        label = label.strip()
        return self._exact.get(label) or _builtin_role(label)


_BUILTIN_ROLES = {
    **{label.casefold(): CUSTOMER for label in CUSTOMER_LABELS},
    **{label.casefold(): AGENT for label in AGENT_LABELS},
}


def _builtin_role(label: str) -> str | None:
    if role := _plain_role(label):
        return role
    if _AGENT_ID.search(label):
        return AGENT
    if match := _BRACKETED.fullmatch(label):
        return _plain_role(match["inner"]) or _plain_role(match["outer"]) or _compound_role(match["outer"])
    return _compound_role(label)


def _compound_role(label: str) -> str | None:
    """A role word with a name or a shop: 客服 小林, 客服-小林, 小林|客服, 客服小林, 某某旗舰店:小美.
    Only a short label without brackets: "[1111…] 客户" is a broken time, not a name."""
    if len(label.strip()) > _MAX_LABEL_CHARS or re.search(r"[\[\]【】]", label):
        return None
    parts = [p for p in _LABEL_PARTS.split(label.strip()) if p]
    if len(parts) > 1:
        for part in parts:
            if role := _plain_role(part):
                return role
    if _SHOP.search(label.strip()):
        return AGENT
    folded = label.strip().casefold()
    for word in _ROLE_WORDS:  # longest first: 客户经理 (an agent) before 客户
        rest = folded[len(word):]
        if folded.startswith(word) and 0 < len(rest) <= _NAME_AFTER_ROLE and not rest[0].isdigit():
            return _BUILTIN_ROLES[word]
    return None


_ROLE_WORDS = sorted((w for w in _BUILTIN_ROLES if not w.isascii()), key=len, reverse=True)


def _plain_role(label: str) -> str | None:
    """The role of a bare label such as "客服", "Agent" or "客服007"."""
    return _BUILTIN_ROLES.get(_TRAILING_NUMBER.sub("", label.strip()).casefold())


def _turns(rows: list[_Row], roles: _Roles, source: str, meta: dict[str, object]) -> list[Turn]:
    """Settle roles and times; drop empty turns; fail if nothing is left, or if a turn holds
    a character no text may hold (``sanitize``: lone surrogates, NUL, control characters).
    ``meta`` gets how times were written and the first date-time."""
    rows = [row for row in rows if row.text]
    if not rows:
        raise _fail(_NO_TURNS, source)
    for row in rows:
        try:
            check_text(row.text, "text")
            check_text(row.speaker, "speaker", multiline=False)
            check_text(row.role_label, "role", multiline=False)
        except UnsafeInput as exc:
            raise _fail(str(exc), source, row.line) from None
    origin = next(
        (t for row in rows for t in (row.start, row.end) if isinstance(t, datetime)), None
    )
    if origin is not None:
        for row in rows:  # one file, one clock: a time without an offset takes the first one's
            row.start, row.end = (_same_zone(t, origin) for t in (row.start, row.end))
    meta["first_datetime"] = origin.isoformat() if origin is not None else None
    meta["times"] = "datetime" if origin is not None else (
        "clock" if any(row.start is not None for row in rows) else None)
    two_party = _two_party(rows, roles, source, meta.get("layout") in ingest_chat.LAYOUTS)
    return [
        Turn(
            index=index,
            role=_row_role(row, roles, source, two_party),
            speaker=row.speaker or row.role_label,
            text=row.text,
            start_time=_seconds(row.start, origin),
            end_time=_seconds(row.end, origin),
            line=row.line,
        )
        for index, row in enumerate(rows)
    ]


def _same_zone(value: float | datetime | None, origin: datetime) -> float | datetime | None:
    if isinstance(value, datetime) and (value.tzinfo is None) != (origin.tzinfo is None):
        return value.replace(tzinfo=origin.tzinfo)
    return value


def _labels(row: _Row) -> list[str]:
    return [label for label in (row.role_label, row.speaker) if label]


def _two_party(rows: list[_Row], roles: _Roles, source: str, chat_export: bool) -> dict[str, str]:
    """The two-party rule: in a file with exactly two speakers where one speaker's role is known
    from the built-in labels, the other speaker has the other role (not when the caller gave
    labels: then every unknown label is an error, as the caller's labels are exact). Labels it settles → role; a file where no speaker's
    role is known is an error naming the first line and what was expected."""
    speakers: dict[str, int | None] = {}
    for row in rows:
        if labels := _labels(row):
            speakers.setdefault(labels[-1], row.line)
    known = {label: role for label in speakers if (role := roles.role_of(label))}
    unknown = [label for label in speakers if label not in known]
    # a row whose role column says the role is known too
    if not unknown or any(row.role_label and roles.role_of(row.role_label) for row in rows):
        return {}
    if len(speakers) == 2 and len(known) == 1 and not roles.given and chat_export:
        other = AGENT if next(iter(known.values())) == CUSTOMER else CUSTOMER
        return {unknown[0]: other}
    if not known:
        label, line = unknown[0], speakers[unknown[0]]
        shown = [_shown(s, 20) for s in list(speakers)[:4]]
        names, names_en = "、".join(shown), ", ".join(shown)
        raise _fail(
            f"无法判断说话人“{_shown(label)}”的角色：本文件的说话人（{names}）都认不出是坐席还是客户；"
            "双方对话中须有一方能认出（如“客服”“坐席”、工号、店铺名或“客户”），"
            "或用 --agent-label / --customer-label 指定 / "
            f"cannot tell the role of speaker \"{_shown(label)}\": none of the speakers ({names_en}) is "
            "recognisable as agent or customer; in a two-party export one side must be (客服, 坐席, an "
            "employee number, a shop name, or 客户), or use --agent-label / --customer-label",
            source,
            line,
        )
    return {}


def _row_role(row: _Row, roles: _Roles, source: str, two_party: dict[str, str]) -> str:
    labels = _labels(row)
    if not labels:
        raise _fail("缺少说话人 / the turn has no speaker", source, row.line)
    for label in labels:
        if role := roles.role_of(label):
            return role
    if role := two_party.get(labels[-1]):
        return role
    label = _shown(labels[0])
    raise _fail(
        f"无法判断说话人“{label}”的角色（用 --agent-label 或 --customer-label 指定） / "
        f"cannot tell the role of speaker \"{label}\" "
        "(use --agent-label or --customer-label)",
        source,
        row.line,
    )


def _seconds(value: float | datetime | None, origin: datetime | None) -> float | None:
    """Seconds since the first date-time (``origin``), or the value as it is."""
    if isinstance(value, datetime):
        assert origin is not None
        return (value - origin).total_seconds()
    return value


# ---------------------------------------------------------------------------------------------
# Errors


def _fail(reason: str, source: str, line: int | None = None) -> IngestError:
    """The error to raise: one line, whatever user text the reason quotes."""
    return IngestError(escape_unsafe(" ".join(reason.split())), escape_unsafe(" ".join(source.split())), line)


def _shown(value: object, limit: int = 40) -> str:
    """A value from the file as quoted in an error message: one line, at most ``limit`` chars."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
