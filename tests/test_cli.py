"""The real ``huashu`` command, run as a subprocess, as a user would."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import pytest


def huashu(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analyzer.cli", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def test_check_jsonl_in_order_with_errors_per_line():
    lines = [
        json.dumps({"id": "u1", "text": "你必须先把身份证复印件传过来。"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "u3", "role": "agent"}),
        json.dumps({"id": "c4", "text": "你们搞错了吧！", "role": "customer"}, ensure_ascii=False),
        json.dumps({"id": "u5", "text": "您好，请问有什么可以帮您？"}, ensure_ascii=False),
    ]
    r = huashu("check", "-", stdin="\n".join(lines) + "\n")
    assert r.returncode == 1
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [o["id"] for o in out] == ["u1", None, "u3", "c4", "u5"]
    assert out[0]["flags"][0]["rewrite"] == "请您先把身份证复印件传过来。"
    assert "error" in out[1] and "error" in out[2]
    assert out[3]["flags"] == [] and out[4]["flags"] == []
    assert "-:2:" in r.stderr and "-:3:" in r.stderr and "Traceback" not in r.stderr


def test_check_all_good_exits_zero(tmp_path):
    f = tmp_path / "u.jsonl"
    f.write_text(json.dumps({"id": "a", "text": "好的，请您稍候。"}, ensure_ascii=False) + "\n", encoding="utf-8")
    r = huashu("check", str(f))
    assert r.returncode == 0 and json.loads(r.stdout) == {"id": "a", "flags": [], "sentiment": None}


def test_check_empty_input_is_an_error():
    r = huashu("check", "-", stdin="\n")
    assert r.returncode == 2 and "empty input" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def _assert_offsets(doc: dict) -> list[dict]:
    flags = []
    for turn in doc["turns"]:
        for f in turn["flags"]:
            assert turn["role"] == "agent"
            assert turn["text"][f["start"]:f["end"]] == f["text"]
            flags.append(f)
    return flags


def test_analyze_traditional_big5_transcript(tmp_path):
    text = "坐席：您好，請問有什麼可以幫您？\n客戶：我的帳單怎麼多扣了一百塊\n坐席：你搞錯了，那是上個月的月租。\n"
    f = tmp_path / "call-big5.txt"
    f.write_bytes(text.encode("big5"))
    r = huashu("analyze", str(f), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["format"], doc["encoding"], doc["script"]) == ("speaker-text", "big5", "traditional")
    [flag] = _assert_offsets(doc)
    assert flag["text"] == "你搞錯了" and flag["category"] == "you_statement"
    assert doc["turns"][2]["text"].startswith("你搞錯了") and (flag["start"], flag["end"]) == (0, 4)
    assert doc["summary"]["agent_turns"] == 2 and doc["summary"]["flags"] == 1


def test_analyze_gb18030_csv(tmp_path):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["speaker", "text", "start", "end"])
    w.writerow(["客服", "您好，请问有什么可以帮您？", "0", "3.5"])
    w.writerow(["客户", "我要改收货地址", "4", "6"])
    w.writerow(["客服", "地址改不了，你必须先取消订单，再重新下单", "7", "12"])
    f = tmp_path / "chat.csv"
    f.write_bytes(buf.getvalue().encode("gb18030"))
    r = huashu("analyze", str(f))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["format"], doc["encoding"]) == ("csv", "gb18030")
    flags = _assert_offsets(doc)
    assert "你必须" in [f["text"] for f in flags]
    assert doc["turns"][2]["start_time"] == 7.0


def test_analyze_text_and_html(tmp_path):
    r = huashu("analyze", "examples/call-0001.txt", "--format", "text")
    assert r.returncode == 0 and "【你搞错了】" in r.stdout and "→" in r.stdout
    out = tmp_path / "call.html"
    r = huashu("analyze", "examples/call-0001.txt", "--format", "html", "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert r.returncode == 0 and "<mark" in page and "请您" in page
    # self-contained: nothing loaded, and links only within the page (the mood chart's trigger marks)
    assert "src=" not in page
    assert all(h.startswith("#") for h in re.findall(r"""href=['"]([^'"]*)""", page))


@pytest.mark.parametrize(
    "content,expect",
    [
        (b"", "empty"),
        (bytes(range(256)) * 8, "encoding"),
        ("张女士：你好\n小王：您好\n".encode(), ":1:"),  # no side recognisable (the two-party rule needs one)
    ],
)
def test_analyze_errors_are_one_line(tmp_path, content, expect):
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    r = huashu("analyze", str(f))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.txt" in lines[0] and "Traceback" not in r.stderr
    assert expect in lines[0].lower() or expect in lines[0]


def test_agent_label_option(tmp_path):
    f = tmp_path / "call.txt"
    f.write_text("张女士：我的快递呢\n小王：你搞错了，还没发货\n", encoding="utf-8")
    r = huashu("analyze", str(f), "--agent-label", "小王", "--customer-label", "张女士")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [t["role"] for t in doc["turns"]] == ["customer", "agent"] and doc["summary"]["flags"] == 1


def test_missing_file():
    r = huashu("analyze", "no/such/file.txt")
    assert r.returncode == 2 and "no/such/file.txt" in r.stderr and "Traceback" not in r.stderr


def test_eval_prints_both_systems(tmp_path):
    data = tmp_path / "d.jsonl"
    rows = [
        {"id": "1", "text": "你必须先交押金。", "label": "command"},
        {"id": "2", "text": "您不必担心。", "label": "none", "kind": "hard_negative"},
        {"id": "3", "text": "你搞錯了", "label": "you_statement"},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    r = huashu("eval", "--data", str(data), "--format", "json", "--no-model")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert set(res["systems"]) == {"huashu", "substring"}
    assert res["systems"]["huashu"]["overall"]["recall"] == 1.0
    assert res["systems"]["substring"]["overall"]["recall"] == pytest.approx(0.5)  # misses Traditional


def test_eval_grades_spans_and_rewrites_and_adds_the_fused_system(tmp_path):
    data = tmp_path / "d.jsonl"
    rows = [
        {"id": "1", "text": "你必须先交押金。", "label": "command", "span": "你必须"},
        {"id": "2", "text": "好的亲，你搞错了，这是两张卡", "label": "you_statement", "span": "你搞错了"},
        {"id": "3", "text": "您不必担心。", "label": "none", "kind": "hard_negative"},
    ]
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    r = huashu("eval", "--data", str(data), "--format", "json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert set(res["systems"]) == {"huashu", "fused", "substring"}
    for name in ("huashu", "fused"):
        spans = res["systems"][name]["span_quality"]
        assert spans["found_with_span"] == 2 and spans["exact"] == 1.0
        rewrites = res["systems"][name]["rewrite_quality"]
        assert rewrites["flags"] == 2 and rewrites["no_longer_triggers"] == 1.0
        assert rewrites["flags_with_slot"] == 1 and rewrites["keeps_slot_words"] == 1.0  # 先交押金 kept
    text = huashu("eval", "--data", str(data), "--no-model").stdout
    assert "spans (2 found positives with a gold span): exact 1.000" in text


def test_eval_refuses_a_span_that_is_not_in_the_text(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"text": "你必须先交押金。", "label": "command", "span": "您必须"}, ensure_ascii=False),
                    encoding="utf-8")
    r = huashu("eval", "--data", str(data), "--no-model")
    assert r.returncode != 0 and "d.jsonl:1" in r.stderr and "Traceback" not in r.stderr
