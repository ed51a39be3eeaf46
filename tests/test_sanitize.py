"""Issue 16, finding 7 (files and the CLI): the one sanitising step (analyzer/sanitize.py).

Every crafted value the attacker used is a one-line IngestError naming file:line (or, for
``huashu check``, an error line for that record), never a traceback and never stored: lone
surrogates, NUL and other control characters in text or speaker, NaN/Infinity/1e999 and 400-
or 4,301-digit start times, and a timestamp line whose number is 400 digits long.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.ingest import parse_transcript
from analyzer.model import IngestError
from analyzer.sanitize import MAX_SECONDS, UnsafeInput, check_seconds, check_text, problem, walk_json

BAD_CHARS = ["\ud800", "\udfff", "\x00", "\x01", "\x07", "\x1b", "\x7f", "\x0b", "\x0c"]


def _json_upload(turns: list[dict]) -> bytes:
    return json.dumps(turns, ensure_ascii=True).encode("ascii")  # \ud800 travels as an escape


def _raw_json_upload(start: str) -> bytes:
    return ('[{"speaker": "坐席", "text": "您好"},\n {"speaker": "客户", "text": "你好", "start": ' + start + "}]").encode()


@pytest.mark.parametrize("bad", BAD_CHARS, ids=[f"U+{ord(c):04X}" for c in BAD_CHARS])
def test_problem_finds_every_unsafe_character(bad):
    text = f"你必须{bad}先传"
    found = problem(text)
    assert found is not None and "4" in found  # the 1-based position
    with pytest.raises(UnsafeInput, match="text: "):
        check_text(text, "text")
    json.dumps(found, ensure_ascii=False).encode("utf-8")  # the message itself is safe to send


def test_tabs_and_newlines_pass_only_where_several_lines_may_be():
    assert problem("第一行\n第二行\t\r") is None
    assert problem("第一行\n第二行", multiline=False) is not None
    assert problem("😊 ＯＫ 繁體 你必須\u3000") is None


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1e300, MAX_SECONDS * 2])
def test_times_must_be_finite_and_in_range(value):
    with pytest.raises(UnsafeInput):
        check_seconds(value, "start")
    assert check_seconds(3600.5, "start") == 3600.5


def test_walk_json_reaches_deep_values_without_recursion():
    deep: object = "ok"
    for _ in range(50_000):
        deep = [deep]
    assert walk_json(deep) is None
    assert "U+D800" in walk_json({"a": [{"b": "x\ud800"}]})
    assert "nan" in walk_json({"start": float("nan")})


# -- uploads: each crafted value is an error naming the line ---------------------------------------
@pytest.mark.parametrize(
    "start", ["4" * 400, "4" * 4301, "NaN", "Infinity", "-Infinity", "1e999", '"' + "9" * 400 + '"', "1e12"],
    ids=["400-digits", "4301-digits", "NaN", "Infinity", "-Infinity", "1e999", "400-digit-string", "1e12"],
)
def test_json_start_times_that_are_not_times(start):
    with pytest.raises(IngestError) as caught:
        parse_transcript(_raw_json_upload(start), "call.json")
    assert caught.value.line == 2 and str(caught.value).startswith("call.json:2: ")
    assert "\n" not in str(caught.value)


def test_jsonl_and_csv_times_too():
    with pytest.raises(IngestError, match=r"^call\.jsonl:2: "):
        parse_transcript(b'{"speaker":"a","text":"x"}\n{"speaker":"b","text":"y","start":NaN}\n', "call.jsonl",
                         agent_labels=["a"], customer_labels=["b"])
    with pytest.raises(IngestError, match=r"^call\.csv:3: "):
        parse_transcript(("speaker,text,start\n坐席,您好,1\n客户,你好," + "9" * 400 + "\n").encode(), "call.csv")


@pytest.mark.parametrize("where", ["text", "speaker"])
@pytest.mark.parametrize("bad", BAD_CHARS, ids=[f"U+{ord(c):04X}" for c in BAD_CHARS])
def test_unsafe_characters_in_json_turns(where, bad):
    turns = [{"speaker": "坐席", "text": "您好"}, {"speaker": "客户", "text": "你好"}]
    turns[1][where] = turns[1][where][:1] + bad + turns[1][where][1:]
    with pytest.raises(IngestError) as caught:
        parse_transcript(_json_upload(turns), "call.json")
    message = str(caught.value)
    assert caught.value.line is not None and where in message and "\n" not in message
    message.encode("utf-8")  # quotable: no lone surrogate in the message


@pytest.mark.parametrize(
    "line",
    ["[" + "1" * 400 + "] 坐席：您好", "1" * 400 + " 坐席：您好", "[00:01:" + "1" * 400 + "] 坐席：您好",
     "[" + "1" * 4301 + "] 客户：你好"],
    ids=["bracketed", "bare", "seconds", "4301-digits"],
)
@pytest.mark.parametrize("position", ["first", "later"])
def test_a_400_digit_timestamp_line_is_an_error_not_preamble(line, position):
    lines = [line, "客户：你好"] if position == "first" else ["坐席：您好", "客户：你好", line]
    with pytest.raises(IngestError) as caught:
        parse_transcript("\n".join(lines).encode(), "call.txt")
    assert caught.value.line == (1 if position == "first" else 3)


def test_ordinary_preamble_and_numbers_are_still_fine():
    text = "通话记录 2025-03-01 客服中心\n坐席：您好，订单 1234567890123 已发货\n客户：好的"
    t = parse_transcript(text.encode(), "call.txt")
    assert [turn.text for turn in t.turns] == ["您好，订单 1234567890123 已发货", "好的"]
    t = parse_transcript("[00:01:02.5] 坐席：您好\n[00:01:05] 客户：好".encode(), "call.txt")
    assert t.turns[1].start_time == 65.0


_unsafe = st.sampled_from(BAD_CHARS)
_safe_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(prefix=_safe_text, bad=_unsafe, suffix=_safe_text, fmt=st.sampled_from(["json", "jsonl", "csv"]))
def test_any_turn_with_an_unsafe_character_is_an_ingest_error(prefix, bad, suffix, fmt):
    text = prefix + bad + suffix
    if fmt == "json":
        data = _json_upload([{"speaker": "坐席", "text": text}])
    elif fmt == "jsonl":
        data = json.dumps({"speaker": "坐席", "text": text}).encode()
    else:
        if "\ud800" <= bad <= "\udfff":
            return  # not encodable in a CSV file at all (the decoder refuses it: covered elsewhere)
        data = ('speaker,text\n坐席,"' + text.replace('"', '""') + '"\n').encode("utf-8")
    try:
        parse_transcript(data, f"call.{fmt}")
    except IngestError as exc:
        str(exc).encode("utf-8")
        return
    pytest.fail(f"accepted {text!r}")


# -- huashu check ------------------------------------------------------------------------------
def test_huashu_check_refuses_unsafe_lines_and_goes_on():
    lines = [
        json.dumps({"id": "s", "text": "你必须\ud800"}),
        json.dumps({"id": "n", "text": "你必须\x00先传"}),
        '{"id": "f", "text": "你必须先传", "x": NaN}',
        json.dumps({"id": "ok", "text": "你必须先把资料传过来"}),
    ]
    run = subprocess.run([sys.executable, "-m", "analyzer.cli", "check", "-", "--no-model"],
                         input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=300)
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert [o.get("id") for o in out] == ["s", "n", "f", "ok"]
    assert all("error" in o for o in out[:3]) and out[3]["flags"]
    assert "U+D800" in out[0]["error"] and "NUL" in out[1]["error"] and "nan" in out[2]["error"]
