"""Fuzzing every transcript parser: whatever the bytes, only ``IngestError`` may come out.

Each property builds inputs that look like the format (so the parser gets deep) and then breaks
them at random, or feeds it plain random bytes. A successful parse must also be well formed:
turns numbered 0..n-1, each with a known role, non-empty stripped text, a 1-based line, and
times that are numbers or None. Every error is one line that names the source.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import math
import time as clock_time
import zipfile
from datetime import date, datetime, time, timedelta

import openpyxl
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError
from robustness_support import fuzz

from analyzer.ingest import (
    AGENT_LABELS,
    CUSTOMER_LABELS,
    FIELD_NAMES,
    FORMATS,
    decode_text,
    parse_transcript,
)
from analyzer.model import ROLES, IngestError

NAMES = ("call.txt", "call.csv", "call.tsv", "call.json", "call.jsonl", "call.xlsx", "upload", "通话.TXT", "x.ndjson")
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "big5", "utf-16")

# -- building blocks ---------------------------------------------------------------------------
chinese = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
punctuation = st.sampled_from(list("，。！？、；：“”‘’（）【】《》…～·,.!?;:'\"()[]{}<>~-_/\\|#@%&*+= \t"))
odd = st.sampled_from(["\u200b", "\u200d", "\ufeff", "\u3000", "😊", "🙏🏻", "\u0301", "\x00", "\x1b", "\x85",
                       "\u2028", "\u2029", "\r", "\n", "\r\n", "\x0b", "\x0c", "\ud7ff", "\uffff", "\U0002a6a5"])
any_char = st.characters(blacklist_categories=("Cs",))
text_piece = st.one_of(
    st.text(st.one_of(chinese, punctuation, st.characters(min_codepoint=0x20, max_codepoint=0x7E)), max_size=20),
    st.text(any_char, max_size=8),
    odd,
    st.sampled_from(["你必须先把资料传过来", "你搞錯了", "這不是我的事", "ＯＫ，好的", "我不知道", "随便你"]),
)
free_text = st.lists(text_piece, max_size=6).map("".join)
labels = st.one_of(
    st.sampled_from(AGENT_LABELS + CUSTOMER_LABELS),
    st.sampled_from(["工号1024", "小李(客服)", "王芳（坐席）", "客服(小李)", "客服007", "坐席 2", "Agent_1", "张女士",
                     "小王(工号:1234)", "客户（）", "()", "（客服", "customer)"]),
    free_text,
)
clock = st.one_of(
    st.builds(lambda h, m, s: f"{h:02d}:{m:02d}:{s:02d}", st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)),
    st.builds(lambda m, s, f: f"{m}:{s:02d}.{f}", st.integers(0, 999), st.integers(0, 99), st.integers(0, 999)),
    st.builds(lambda y, mo, d, h, mi: f"{y:04d}-{mo}-{d:02d} {h:02d}:{mi:02d}:00",
              st.integers(0, 9999), st.integers(0, 19), st.integers(0, 39), st.integers(0, 30), st.integers(0, 70)),
    st.from_regex(r"\A[0-9:.,/ T-]{1,25}\Z"),
    free_text,
)
newline = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def speaker_lines(draw) -> str:
    """Speaker text: optional timestamp (bracketed or not, ranges), label, colon, text; noise lines."""
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["turn", "turn", "turn", "stamped", "noise", "blank"]))
        if kind == "noise":
            lines.append(draw(free_text))
            continue
        if kind == "blank":
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
            continue
        stamp = ""
        if kind == "stamped":
            start = draw(clock)
            end = draw(st.one_of(st.none(), clock))
            body = start if end is None else f"{start}{draw(st.sampled_from([' - ', '-->', '~', '～', '—']))}{end}"
            opening, closing = draw(st.sampled_from([("[", "]"), ("【", "】"), ("(", ")"), ("（", "）"), ("", " ")]))
            stamp = f"{opening}{body}{closing} "
        colon = draw(st.sampled_from(["：", ":", "::", " : ", "://"]))
        lines.append(f"{stamp}{draw(labels)}{colon}{draw(free_text)}")
    return draw(newline).join(lines)


cell = st.one_of(st.none(), free_text, labels, clock, st.integers(-10**6, 10**6).map(str),
                 st.floats(allow_nan=True, allow_infinity=True).map(str))
header_names = st.one_of(st.sampled_from([n for names in FIELD_NAMES.values() for n in names]),
                         st.sampled_from(["Speaker", "TEXT", " start-time ", "\ufeffspeaker", "说 话 人"]), free_text)


@st.composite
def table_rows(draw) -> list[list[str | None]]:
    width = draw(st.integers(1, 6))
    header = draw(st.lists(header_names, min_size=width, max_size=width))
    body = draw(st.lists(st.lists(cell, min_size=0, max_size=width + 2), max_size=10))
    return [header, *body]


def csv_text(rows: list[list[str | None]], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue()


json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), free_text, clock)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(header_names, free_text), inner, max_size=4)), max_leaves=12)
json_turn = st.dictionaries(st.one_of(header_names, st.sampled_from(["turns", "id"])),
                            st.one_of(json_scalar, labels, json_value), max_size=6)


def check_parsed(data: bytes, name: str, **options) -> None:
    """Parse; an IngestError is fine (one line, names the source); a result must be well formed."""
    try:
        transcript = parse_transcript(data, name, **options)
    except IngestError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, message
        assert message.startswith(" ".join(name.split()) + ":"), message
        assert exc.line is None or exc.line >= 1
        return
    assert transcript.turns, "a parsed transcript has turns"
    assert transcript.format in FORMATS
    for i, turn in enumerate(transcript.turns):
        assert turn.index == i
        assert turn.role in ROLES
        assert turn.text and turn.text == turn.text.strip()
        assert turn.line is None or turn.line >= 1
        for t in (turn.start_time, turn.end_time):
            assert t is None or isinstance(t, float)


# -- properties ----------------------------------------------------------------------------------
@fuzz(200)
@given(text=speaker_lines(), name=st.sampled_from(["call.txt", "upload", "c.log"]),
       agents=st.lists(labels, max_size=2), customers=st.lists(labels, max_size=2))
def test_speaker_text(text, name, agents, customers):
    check_parsed(text.encode("utf-8"), name, agent_labels=agents, customer_labels=customers)


@fuzz(150)
@given(text=speaker_lines(), fmt=st.sampled_from(FORMATS))
def test_speaker_text_declared_as_any_format(text, fmt):
    check_parsed(text.encode("utf-8"), "call.txt", fmt=fmt)


@fuzz(150)
@given(stamps=st.lists(st.tuples(clock, st.one_of(st.none(), clock)), min_size=1, max_size=6))
def test_timestamps(stamps):
    """Timestamped speaker lines and start/end columns, valid or not."""
    lines = "\n".join(f"[{a}{'' if b is None else ' - ' + b}] 坐席：您好{i}" for i, (a, b) in enumerate(stamps))
    check_parsed(lines.encode("utf-8"), "call.txt")
    table = [["speaker", "text", "start", "end"]] + [["客服", f"好的{i}", a, b] for i, (a, b) in enumerate(stamps)]
    check_parsed(csv_text(table, ",").encode("utf-8"), "call.csv")


@fuzz(200)
@given(rows=table_rows(), delimiter=st.sampled_from([",", "\t"]), name=st.sampled_from(NAMES),
       cut=st.integers(0, 10**6), noise=st.sampled_from(["", '"', '"\n', "\r", "\x00", ",,,", "\t\t"]))
def test_csv_and_tsv(rows, delimiter, name, cut, noise):
    text = csv_text(rows, delimiter)
    check_parsed(text.encode("utf-8"), name)
    broken = text[:cut % (len(text) + 1)] + noise + text[cut % (len(text) + 1):]
    check_parsed(broken.encode("utf-8"), name)
    check_parsed(broken.encode("utf-8"), "upload", fmt="csv" if delimiter == "," else "tsv")


@fuzz(200)
@given(turns=st.lists(json_turn, max_size=8), wrap=st.sampled_from(["list", "object", "lines", "value"]),
       other=json_value, name=st.sampled_from(NAMES), cut=st.integers(0, 10**6), indent=st.sampled_from([None, 0, 2]))
def test_json_and_jsonl(turns, wrap, other, name, cut, indent):
    if wrap == "list":
        text = json.dumps(turns, ensure_ascii=False, indent=indent)
    elif wrap == "object":
        text = json.dumps({"meta": other, "turns": turns}, ensure_ascii=False, indent=indent)
    elif wrap == "lines":
        text = "\n".join(json.dumps(t, ensure_ascii=False) for t in turns)
    else:
        text = json.dumps(other, ensure_ascii=False, indent=indent)
    check_parsed(text.encode("utf-8"), name)
    check_parsed(text[: cut % (len(text) + 1)].encode("utf-8"), name)
    for fmt in ("json", "jsonl"):
        check_parsed(text.encode("utf-8"), "upload", fmt=fmt)


xlsx_cell = st.one_of(
    st.none(), st.booleans(), st.integers(-10**9, 10**9), st.floats(allow_nan=False, allow_infinity=False),
    free_text.map(lambda s: "".join(c for c in s if c >= " " or c in "\t\n\r")), labels, clock,
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
    st.times(), st.dates(min_value=date(1900, 3, 1)), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9)),
)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@fuzz(100)
@given(header=st.lists(header_names.map(lambda s: "".join(c for c in s if c >= " ")), min_size=1, max_size=5),
       body=st.lists(st.lists(xlsx_cell, max_size=6), max_size=8), flip=st.lists(st.integers(0, 10**6), max_size=4),
       cut=st.integers(0, 10**6))
def test_xlsx_bytes(header, body, flip, cut):
    try:
        data = xlsx_bytes([header, *body])
    except (ValueError, TypeError, IllegalCharacterError):  # openpyxl refuses such values: not our parser
        assume(False)
    check_parsed(data, "call.xlsx")
    check_parsed(data, "upload")
    broken = bytearray(data)
    for i in flip:
        broken[i % len(broken)] ^= 0xFF
    check_parsed(bytes(broken), "call.xlsx")
    check_parsed(data[: cut % (len(data) + 1)], "call.xlsx")


# -- workbooks that unpack to far more than they weigh ----------------------------------------------
_SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
               b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
               b'<row r="1"><c r="A1" t="inlineStr"><is><t>speaker</t></is></c>'
               b'<c r="B1" t="inlineStr"><is><t>text</t></is></c></row>'
               b'<row r="2"><c r="A2" t="inlineStr"><is><t>agent</t></is></c>'
               b'<c r="B2" t="inlineStr"><is><t>hello</t></is></c></row>')
_SHEET_TAIL = b"</sheetData></worksheet>"


def xlsx_with_sheet(rows_xml: bytes) -> bytes:
    """A valid workbook whose first sheet is the header, one turn, then ``rows_xml``."""
    parts = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["speaker", "text"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in parts.infolist():
            body = parts.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = _SHEET_HEAD + rows_xml + _SHEET_TAIL
            archive.writestr(info.filename, body)
    return out.getvalue()


@pytest.mark.parametrize(("rows_xml", "reason"), [
    # 3 million rows packed into about 400 KB: refused from the zip directory, before any parsing
    (b'<row><c t="inlineStr"><is><t>a</t></is></c></row>' * 3_000_000, "unpacks to more than"),
    # 150,000 rows (about 3 MB unpacked): refused at the row limit
    (b"<row/>" * 150_000, "more than 100,000 rows"),
    # one cell in the sheet's last row: openpyxl fills the gap with a million blank rows
    (b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>', "more than 100,000 rows"),
    # one cell in the sheet's last column
    (b'<row r="3"><c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row>', "more than 256 columns"),
], ids=["unpacked-size", "rows", "last-row", "last-column"])
def test_workbook_bombs_are_refused_quickly(rows_xml, reason):
    data = xlsx_with_sheet(rows_xml)
    assert len(data) < 1024 * 1024
    t0 = clock_time.process_time()
    with pytest.raises(IngestError) as caught:
        parse_transcript(data, "call.xlsx")
    assert reason in str(caught.value)
    assert str(caught.value).startswith("call.xlsx")
    assert clock_time.process_time() - t0 < 10  # well under what reading the whole sheet would cost


def test_the_bomb_builder_makes_a_readable_workbook():
    """The same construction without the bomb is an ordinary one-turn transcript."""
    transcript = parse_transcript(xlsx_with_sheet(b""), "call.xlsx")
    assert [(t.role, t.text) for t in transcript.turns] == [("agent", "hello")]


@fuzz(150)
@given(data=st.binary(max_size=300), name=st.sampled_from(NAMES), fmt=st.sampled_from((None, *FORMATS)))
def test_random_bytes(data, name, fmt):
    check_parsed(data, name, fmt=fmt)


@fuzz(100)
@given(data=st.binary(max_size=200))
def test_random_bytes_behind_a_zip_signature(data):
    check_parsed(b"PK\x03\x04" + data, "call.xlsx")
    check_parsed(b"PK\x03\x04" + data, "upload")


@fuzz(200)
@given(text=st.one_of(speaker_lines(), free_text), encoding=st.sampled_from(ENCODINGS), name=st.sampled_from(NAMES))
def test_encodings(text, encoding, name):
    """Random text in every supported encoding (characters it cannot hold are dropped)."""
    data = text.encode(encoding, errors="ignore")
    check_parsed(data, name)
    try:
        decoded, found = decode_text(data, name)
    except IngestError:
        return
    assert isinstance(decoded, str) and found


@fuzz(150)
@given(text=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=80))
def test_utf8_and_utf16_round_trip(text):
    """Text decoded from UTF-8 (BOM or not) and BOM'd UTF-16 is exactly the text written."""
    assert decode_text(text.encode("utf-8")) == (text, "utf-8")
    assert decode_text(codecs.BOM_UTF8 + text.encode("utf-8")) == (text, "utf-8-sig")
    try:
        decoded = decode_text(text.encode("utf-16"))
    except IngestError:  # unassigned or private-use characters are refused in UTF-16 input
        return
    assert decoded == (text, "utf-16")


@pytest.mark.parametrize("encoding", ["gb18030", "big5"])
@fuzz(100)
@given(data=st.data())
def test_chinese_encodings_round_trip(encoding, data):
    """A Chinese transcript in GB18030 or Big5 decodes back to itself."""
    alphabet = "您好请问有什么可以帮您我的快递到哪了单号是多少好的马上为您查询谢谢再见" if encoding == "gb18030" else \
        "您好請問有什麼可以幫您我的快遞到哪了單號是多少好的馬上為您查詢謝謝再見"
    turns = data.draw(st.lists(st.text(st.sampled_from(alphabet), min_size=4, max_size=30), min_size=2, max_size=6))
    text = "\n".join(f"{'坐席' if i % 2 == 0 else '客戶' if encoding == 'big5' else '客户'}：{t}"
                     for i, t in enumerate(turns))
    assert decode_text(text.encode(encoding)) == (text, encoding)


@fuzz(100)
@given(millis=st.integers(0, 10**10), name=st.sampled_from(["call.csv", "call.tsv"]), clock_style=st.booleans())
def test_times_are_kept(millis, name, clock_style):
    """Seconds written as ``ss.fff`` or ``hh:mm:ss.fff`` come back as the same number of seconds."""
    seconds = millis / 1000
    h, rest = divmod(millis, 3_600_000)
    written = f"{h}:{rest // 60_000:02d}:{rest % 60_000 / 1000:06.3f}" if clock_style else f"{seconds:.3f}"
    delimiter = "," if name.endswith("csv") else "\t"
    table = [["speaker", "text", "start"], ["客服", "您好", written]]
    transcript = parse_transcript(csv_text(table, delimiter).encode(), name)
    assert math.isclose(transcript.turns[0].start_time, seconds, rel_tol=1e-12, abs_tol=1e-9)


def test_known_xlsx_cell_types():
    """One workbook with every cell type openpyxl returns parses without surprise."""
    rows = [["speaker", "text", "start", "end"],
            ["客服", "您好", time(0, 1, 2), timedelta(seconds=70)],
            ["客户", 123, datetime(2025, 3, 1, 10, 2, 11), datetime(2025, 3, 1, 10, 2, 30)],
            ["agent", True, 1.5, None]]
    check_parsed(xlsx_bytes(rows), "call.xlsx")


@pytest.mark.parametrize(("data", "name"), [
    (b"[" * 100_000 + b"]" * 100_000, "call.json"),
    (b"[" * 100_000, "call.json"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "call.jsonl"),
    (b"[" * 100_000 + b"]" * 100_000, "upload"),
    (b'{"turns":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "call.json"),
], ids=["array", "unclosed", "jsonl-object", "sniffed", "turns"])
def test_deeply_nested_json_is_an_ingest_error(data, name):
    check_parsed(data, name)
