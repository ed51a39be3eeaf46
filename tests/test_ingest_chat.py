"""Chat exports (issue #15): bracketed speaker labels, header-line exports (enterprise WeChat,
Qianniu, QQ), the two-party rule, and the call metadata each yields (agent, start, channel).

The export files are under tests/data/exports/ (written for these tests); small cases are inline.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.callmeta import (
    agent_key,
    agent_label,
    call_meta,
    channel_of,
    name_in_label,
    parse_started_at,
)
from analyzer.ingest import parse_transcript, read_transcript
from analyzer.model import AGENT, CUSTOMER, IngestError

A, C = AGENT, CUSTOMER
EXPORTS = Path(__file__).parent / "data" / "exports"


def turns(t):
    return [(x.role, x.speaker, x.text, x.start_time, x.line) for x in t.turns]


def meta(t, **kw):
    return call_meta(t, channel_of(t)[0], timezone=kw.pop("timezone", "Asia/Shanghai"), **kw)


# -- header-line exports ---------------------------------------------------------------------
def test_enterprise_wechat_export():
    t = read_transcript(EXPORTS / "wecom.txt")
    assert turns(t) == [
        (A, "客服小林", "您好，我是客服小林，工号1234，很高兴为您服务😊", 0.0, 2),
        (C, "王女士", "我的快递三天了还没到！！单号ＳＦ１２３４５", 31.0, 5),
        (A, "客服小林", "您别着急，我马上帮您查一下", 80.0, 9),
    ]
    m = meta(t)
    assert m["agent"] == {"name": "小林", "employee_id": "1234"}
    assert m["started_at"] == "2025-03-30T14:03:10+08:00"
    assert m["channel"] == "chat" and "chat export" in m["evidence"]["channel"]


def test_qianniu_export_traditional_shop_agent_and_two_party_rule():
    t = read_transcript(EXPORTS / "qianniu_trad.txt")
    assert [(x.role, x.speaker) for x in t.turns] == [
        (A, "華為官方旗艦店:小美"), (C, "tb_88771"), (A, "華為官方旗艦店:小美")]
    assert t.turns[0].text == "親，在的哦～有什麼可以幫您？🌸"  # as written: Traditional, emoji
    m = meta(t)
    assert m["agent"] == {"name": "小美", "employee_id": None}
    assert m["started_at"] == "2025-03-30T14:03:10+08:00"
    assert m["channel"] == "chat"


def test_qq_export_time_only_headers_dated_by_a_date_line():
    t = read_transcript(EXPORTS / "qq.txt")
    assert turns(t) == [
        (A, "小美(在线客服)", "亲，您好～", 0.0, 2),
        (C, "🐱小猫咪", "在吗？我想退货", 48.0, 4),
        (A, "小美(在线客服)", "在的亲，请提供订单号", 90.0, 6),
    ]
    m = meta(t, timezone="Europe/Berlin")  # a time without an offset is in the configured zone
    assert m["started_at"] == "2025-03-30T14:03:10+02:00"
    assert m["agent"]["name"] == "小美" and m["channel"] == "chat"


def test_header_with_time_first():
    data = "2025-03-30 14:03:10 小美(在线客服)\n您好\n2025-03-30 14:03:25 张三\n在吗\n".encode()
    t = parse_transcript(data, "qq.txt")
    assert [(x.role, x.speaker, x.text, x.start_time) for x in t.turns] == [
        (A, "小美(在线客服)", "您好", 0.0), (C, "张三", "在吗", 15.0)]


def test_a_message_ending_in_a_clock_time_is_not_a_header():
    data = "客服小林 2025-03-30 14:03:10\n我们明天 14:00 上门\n客户 2025-03-30 14:04:10\n好的\n".encode()
    t = parse_transcript(data, "wecom.txt")
    assert [x.text for x in t.turns] == ["我们明天 14:00 上门", "好的"]


# -- bracketed labels ------------------------------------------------------------------------
def test_bracket_labels_with_name_and_time():
    t = read_transcript(EXPORTS / "bracket_named.txt")
    assert turns(t) == [
        (A, "客服 小林", "您好，请问有什么可以帮您？", 14 * 3600 + 3 * 60 + 10.0, 1),
        (C, "客户", "我想改一下收货地址", 14 * 3600 + 3 * 60 + 40.0, 2),
        (A, "客服 小林", "好的，请您提供新地址", 14 * 3600 + 4 * 60 + 15.0, 3),
    ]
    m = meta(t)
    assert m["agent"] == {"name": "小林", "employee_id": None}
    assert m["started_at"] is None  # times without a date: no start


def test_bracket_labels_traditional_fullwidth_colon_and_continuation():
    t = read_transcript(EXPORTS / "bracket_plain_trad.txt")
    assert turns(t) == [
        (A, "客服", "您好，工號5678為您服務。", None, 1),
        (C, "客戶", "我要投訴！！　你們的網速太慢了", None, 2),
        (A, "客服", "你必須先重啟路由器再看看", None, 3),
    ]
    m = meta(t)
    assert m["agent"] == {"name": None, "employee_id": "5678"}
    assert agent_key(m["agent"]) == "id:5678"


def test_two_party_rule_in_a_bracket_export():
    t = read_transcript(EXPORTS / "two_party.txt")
    assert [(x.role, x.speaker) for x in t.turns] == [(A, "客服-小林"), (C, "张先生"), (A, "客服-小林")]
    assert meta(t)["agent"]["name"] == "小林"


def test_two_party_rule_when_the_customer_side_is_known():
    t = parse_transcript("客户：我要退款\n小王：好的，我来处理\n".encode(), "t.txt")
    assert [x.role for x in t.turns] == [C, A]


def test_no_recognisable_side_names_the_line_and_what_was_expected():
    with pytest.raises(IngestError) as info:
        parse_transcript("\n小林：你好\n老王：嗯\n".encode(), "chat.txt")
    message = str(info.value)
    assert info.value.line == 2 and message.startswith("chat.txt:2: 无法判断说话人“小林”的角色")
    assert "须有一方能认出" in message and "in a two-party export one side must be" in message
    assert message.index("须有一方") < message.index("two-party")  # 中文 first


def test_three_speakers_one_unknown_is_still_an_error():
    with pytest.raises(IngestError) as info:
        parse_transcript("【客服】您好\n【客户】你好\n【张女士】我要投诉\n".encode(), "t.txt")
    assert info.value.line == 3 and "张女士" in str(info.value)


@pytest.mark.parametrize("line", ["[00:00:01] 坐席：您好", "【00:00:01】坐席：您好", "2025-03-01 10:02:11 小李(客服)：您好"])
def test_timestamped_colon_lines_stay_colon_lines(line):
    t = parse_transcript(f"{line}\n客户：你好\n".encode(), "t.txt")
    assert t.meta["layout"] == "colon" and t.turns[0].role == A and t.turns[0].text == "您好"


# -- the agent, the start, the channel -------------------------------------------------------
@pytest.mark.parametrize(("label", "name"), [
    ("客服 小林", "小林"), ("客服-小林", "小林"), ("客服小林", "小林"), ("在线客服(小美)", "小美"),
    ("小美(在线客服)", "小美"), ("某某旗舰店:小美", "小美"), ("小陳(客服)", "小陈"), ("工号1234", None),
    ("坐席", None), ("Agent", None), ("客服007", None), ("小林(工号1234)", "小林"),
])
def test_name_in_label(label, name):
    assert name_in_label(label) == name


@pytest.mark.parametrize(("text", "name", "employee_id"), [
    ("您好，我是客服小林，很高兴为您服务", "小林", None),
    ("您好，我是在線客服小美～", "小美", None),
    ("您好，工号1234为您服务", None, "1234"),
    ("我是说这个不行", None, None),
])
def test_self_introduction(text, name, employee_id):
    t = parse_transcript(f"坐席：{text}\n客户：好\n".encode(), "t.txt")
    assert meta(t)["agent"] == {"name": name, "employee_id": employee_id}


def test_agent_key_one_rule():
    assert agent_key({"name": "小林", "employee_id": "1234"}) == "id:1234"
    assert agent_key({"name": "小林", "employee_id": None}) == "name:小林"
    assert agent_key({"name": "小陳", "employee_id": None}) == "name:小陈"
    for bare in ("坐席", "客服", "agent", "Agent", "", None):
        assert agent_key({"name": bare, "employee_id": None}) is None
    assert agent_key(None) is None
    assert agent_label({"name": "小林", "employee_id": "1234"}) == "小林（工号1234）"
    assert agent_label({"name": None, "employee_id": "1234"}) == "工号1234"


def test_jsonl_call_with_ts_offsets_is_a_call_and_chat_json_is_a_chat():
    call = "\n".join([
        '{"speaker": "坐席", "text": "喂，您好，请问有什么可以帮您", "ts": "00:00:02"}',
        '{"speaker": "客户", "text": "我的宽带断了", "ts": "00:00:07"}',
        '{"speaker": "坐席", "text": "请您稍等，我帮您查一下", "ts": "00:00:12"}',
    ]).encode()
    t = parse_transcript(call, "call.jsonl")
    assert [x.start_time for x in t.turns] == [2.0, 7.0, 12.0]
    channel, evidence = channel_of(t)
    assert channel == "call" and any("offsets" in e for e in evidence)
    chat = "\n".join([
        '{"speaker": "客服", "text": "亲，在的哦", "ts": "2025-03-30T14:03:10+08:00"}',
        '{"speaker": "买家", "text": "发货了吗", "ts": "2025-03-30T14:05:10+08:00"}',
    ]).encode()
    t = parse_transcript(chat, "chat.jsonl")
    assert channel_of(t)[0] == "chat"
    assert meta(t, timezone="UTC")["started_at"] == "2025-03-30T14:03:10+08:00"  # its own offset kept


def test_a_chat_is_not_scored_as_a_phone_call():
    from analyzer.scorecard import Scorecard

    t = read_transcript(EXPORTS / "wecom.txt")
    card = Scorecard().score(t, "auto")
    assert card["channel"] == "chat"
    items = {i["id"]: i for i in card["items"]}
    assert items["speech_rate"]["passed"] is None  # no speech items in a chat


def test_given_metadata_overrides_the_transcript():
    t = read_transcript(EXPORTS / "wecom.txt")
    m = meta(t, given={"agent_name": "林晓", "employee_id": "9001", "started_at": "2025-04-01 09:00"})
    assert m["agent"] == {"name": "林晓", "employee_id": "9001"}
    assert m["started_at"] == "2025-04-01T09:00:00+08:00"
    assert m["evidence"]["agent"] == "given" and m["evidence"]["started_at"] == "given"
    with pytest.raises(ValueError, match="start time must be ISO 8601"):
        parse_started_at("yesterday")


def test_huashu_analyze_json_has_the_call_block_and_takes_a_meta_file(tmp_path):
    import json
    import os
    import subprocess
    import sys

    meta = tmp_path / "meta.csv"
    meta.write_text("file,agent,employee_id,channel\nwecom.txt,林晓,9001,call\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUASHU_")}
    repo = Path(__file__).resolve().parents[1]

    def analyze(*extra):
        r = subprocess.run([sys.executable, "-m", "analyzer.cli", "analyze", str(EXPORTS / "wecom.txt"), "--no-model",
                            "--sentiment", "none", "--format", "json", *extra],
                           capture_output=True, text=True, timeout=300, env=env, cwd=repo)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    call = analyze()["call"]
    assert call["agent"] == {"name": "小林", "employee_id": "1234"}
    assert (call["started_at"], call["channel"]) == ("2025-03-30T14:03:10+08:00", "chat")
    out = analyze("--meta", str(meta))
    assert out["call"]["agent"] == {"name": "林晓", "employee_id": "9001"}
    assert out["call"]["channel"] == out["scorecard"]["channel"] == "call"  # given: scored as a call
    assert out["call"]["evidence"]["agent"] == "given"
