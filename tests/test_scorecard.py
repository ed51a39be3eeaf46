"""The handbook scorecard (analyzer/scorecard.py, data in corpora/scorecard.yaml).

Each test writes its call as text below, analyses it with the shared lexicon engine and checks the
items it is about.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from analyzer import report
from analyzer.ingest import parse_transcript
from analyzer.scorecard import (
    DEFAULT_FILE,
    Scorecard,
    ScorecardError,
    load_config,
    score,
)

REPO = Path(__file__).resolve().parents[1]
SEEDS = Path(os.environ.get("HUASHU_SEEDS", REPO.parent / "shared" / "seeds"))
IDS = ["greeting", "polite_forms", "hold", "farewell", "qibuwen", "complaint_steps", "listening", "triggers",
       "long_silences", "interruptions", "speech_rate"]


def call(engine, text: str, name: str = "call.txt"):
    t = parse_transcript(text.encode("utf-8"), name)
    return engine.analyze(t)


def items(card):
    return {item["id"]: item for item in card["items"]}


EXAMPLE = (REPO / "examples" / "call-0001.txt").read_text(encoding="utf-8")


def test_example_call_every_item_with_its_shape(engine):
    card = score(call(engine, EXAMPLE))
    assert [i["id"] for i in card["items"]] == IDS
    for item in card["items"]:
        assert set(item) >= {"id", "label_zh", "label_en", "value", "passed", "source", "detail"}
        assert item["passed"] in (True, False, None)
        assert re.match(r"^\d{3}_[0-9a-f]+\.txt: ", item["source"]), item["source"]
    got = items(card)
    assert got["greeting"]["passed"] is True and "顺达快递" in got["greeting"]["detail"]["company"]
    assert got["farewell"]["passed"] is True
    assert got["hold"]["passed"] is True and got["hold"]["detail"] == {"requests": [6], "thanked": [9]}
    assert got["polite_forms"]["detail"]["counts"]["请您稍候"] == 1
    assert got["qibuwen"]["value"] == 0 and got["qibuwen"]["passed"] is True
    assert got["triggers"]["value"] == 33.3 and got["triggers"]["passed"] is False  # 2 flags, 6 agent turns
    assert got["listening"]["detail"]["basis"] == "chars" and got["listening"]["value"] < 0.5
    steps = got["complaint_steps"]["detail"]
    assert steps["complaint_turn"] == 5  # 我要投诉
    assert steps["missing"] == ["apologise_again"] and got["complaint_steps"]["passed"] is False
    # start times only: a turn is taken to end 4 characters a second after its start; the 29 s
    # from 请您稍候 (41 s, 20 characters: ends ~46 s) to the next agent turn (70 s) is an announced hold
    assert got["long_silences"]["passed"] is True
    assert got["long_silences"]["detail"]["announced_holds"] == [{"before_turn": 7, "seconds": 24.0}]
    assert got["interruptions"]["passed"] is None and got["speech_rate"]["passed"] is None
    assert card["triggers_by_category"] == {"command": 1, "you_statement": 1}
    assert card["passed"] + card["failed"] + card["not_applicable"] == len(IDS)
    assert card["score"] == round(card["passed"] / (card["passed"] + card["failed"]), 3)


def test_report_to_dict_carries_the_scorecard_and_is_json(pipeline):
    out = report.to_dict(pipeline.analyze(parse_transcript(EXAMPLE.encode("utf-8"), "call.txt")))
    assert [i["id"] for i in out["scorecard"]["items"]] == IDS
    assert out["summary"]["satisfaction"] is None  # no sentiment on the turns
    json.dumps(out, ensure_ascii=False, allow_nan=False)


def test_traditional_call_scores_like_simplified(engine):
    simplified = score(call(engine, EXAMPLE))
    import opencc

    traditional = score(call(engine, opencc.OpenCC("s2tw").convert(EXAMPLE)))
    assert [i["passed"] for i in traditional["items"]] == [i["passed"] for i in simplified["items"]]


def test_missing_greeting_and_farewell(engine):
    got = items(score(call(engine, "坐席：喂，说吧。\n客户：我的快递没到。\n坐席：我帮您查一下。\n客户：好的。\n坐席：查好了，明天到。\n")))
    assert got["greeting"]["passed"] is False and got["greeting"]["value"] is None
    assert got["farewell"]["passed"] is False
    assert got["complaint_steps"]["passed"] is None  # no complaint, not applicable
    assert got["hold"]["passed"] is None  # no hold asked


def test_greeting_needs_the_company_named_in_config(engine, tmp_path):
    t = call(engine, "坐席：您好，这里是顺达快递，请问有什么可以帮您？\n客户：查快递。\n")
    assert items(score(t))["greeting"]["passed"] is True
    acme = tmp_path / "acme.yaml"
    acme.write_text(yaml.safe_dump({"items": [{"id": "greeting", "params": {"company_names": ["东方大峡谷"]}}]},
                                   allow_unicode=True), encoding="utf-8")
    assert items(Scorecard(load_config([acme])).score(t))["greeting"]["passed"] is False
    t2 = call(engine, "坐席：您好，東方大峽谷。\n客户：你好。\n")
    assert items(Scorecard(load_config([acme])).score(t2))["greeting"]["passed"] is True


def test_company_override_rejects_unknown_items(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("items:\n  - id: smile\n    params: {}\n", encoding="utf-8")
    with pytest.raises(ScorecardError, match="smile"):
        load_config([bad])
    broken = tmp_path / "broken.yaml"
    broken.write_text("items: [\n", encoding="utf-8")
    with pytest.raises(ScorecardError, match="YAML"):
        load_config([broken])


def test_override_changes_a_threshold_and_keeps_the_rest(tmp_path):
    strict = tmp_path / "strict.yaml"
    strict.write_text("items:\n  - id: listening\n    params: {min_customer_share: 0.8}\n", encoding="utf-8")
    config = load_config([strict])
    got = {i["id"]: i for i in config["items"]}
    assert got["listening"]["params"]["min_customer_share"] == 0.8
    assert got["greeting"] == {i["id"]: i for i in load_config()["items"]}["greeting"]
    assert [i["id"] for i in config["items"]] == IDS


COMPLAINT_IN_ORDER = """坐席：您好，这里是优家电器客服，请问有什么可以帮您？
客户：你们的师傅三天都没来装空调，我要投诉！
坐席：非常抱歉。
坐席：这是因为师傅那边排班出了问题。
坐席：我能理解您的心情，这几天热坏了吧。
坐席：我马上帮您改约今天下午上门。
坐席：再次向您致歉。
客户：行吧。
坐席：谢谢您的理解，再见。
"""


def test_complaint_steps_all_six_in_order(engine):
    got = items(score(call(engine, COMPLAINT_IN_ORDER)))["complaint_steps"]
    assert got["value"] == 6 and got["passed"] is True
    assert got["detail"]["in_order"] is True and got["detail"]["missing"] == []
    assert got["detail"]["first_turn"] == {"apologise": 2, "explain": 3, "empathise": 4, "solve": 5,
                                           "apologise_again": 6, "thank": 8}


def test_complaint_steps_out_of_order(engine):
    text = """坐席：您好，优家电器。
客户：我要投诉你们，太过分了！
坐席：我马上帮您改约今天下午上门。
坐席：这是因为师傅排班出了问题。
坐席：非常抱歉，给您添麻烦了。
坐席：感谢您的耐心，再见。
"""
    got = items(score(call(engine, text)))["complaint_steps"]
    assert got["detail"]["in_order"] is False and got["passed"] is False
    assert got["detail"]["first_turn"]["solve"] == 2 and got["detail"]["first_turn"]["apologise"] == 4


def test_anger_in_sentiment_makes_a_complaint(engine):
    t = call(engine, "坐席：您好，优家电器。\n客户：你们怎么回事！\n坐席：抱歉。\n")
    assert items(score(t))["complaint_steps"]["passed"] is None
    t.turns[1].sentiment = {"label": "negative", "score": 0.9, "anger": True}
    assert items(score(t))["complaint_steps"]["detail"]["complaint_turn"] == 1


def test_qibuwen_from_privacy_flags(engine):
    t = call(engine, "坐席：您好，优家珠宝。\n客户：我想看看戒指。\n坐席：您结婚了吗？这款对戒卖得特别好。\n客户：这跟你有关系吗？\n")
    got = items(score(t))["qibuwen"]
    assert got["value"] == 1 and got["passed"] is False
    assert got["detail"]["asked"][0]["topic"] == "婚姻" and got["detail"]["asked"][0]["turn"] == 2


TIMED = """speaker,text,start,end
坐席,您好，这里是云联通信客服，请问有什么可以帮您？,0.0,5.0
客户,我家宽带从昨天晚上开始就连不上了，一直闪红灯，重启也没有用。,5.5,13.0
坐席,好的您别着急，,12.0,13.5
客户,你听我说完，我明天还要用网开会。,13.6,17.0
坐席,明白，我帮您查一下线路。,17.5,20.0
坐席,查到了，是光猫故障，我马上给您派师傅，今天下午上门。,45.0,52.0
客户,好的，谢谢。,52.5,54.0
坐席,感谢您的来电，再见。,54.5,56.5
"""


def test_timed_call_silences_interruptions_speech_rate(engine):
    card = score(call(engine, TIMED, "call.csv"))
    got = items(card)
    assert card["channel"] == "call"
    assert got["interruptions"]["value"] == 1 and got["interruptions"]["passed"] is False
    assert got["interruptions"]["detail"]["agent_interrupts"] == [2]
    assert got["long_silences"]["value"] == 1  # 25 s of dead air before turn 5, not announced
    assert got["long_silences"]["detail"]["silences"] == [{"before_turn": 5, "seconds": 25.0, "announced_hold": False}]
    rate = got["speech_rate"]
    chars = rate["detail"]["chars"]
    assert rate["detail"]["seconds"] == 5.0 + 1.5 + 2.5 + 7.0 + 2.0
    assert rate["value"] == round(60 * chars / 18.0, 1)
    assert got["listening"]["detail"]["basis"] == "time"
    assert got["listening"]["value"] == round((7.5 + 3.4 + 1.5) / (7.5 + 3.4 + 1.5 + 18.0), 3)


def test_announced_hold_is_not_a_silence(engine):
    text = TIMED.replace("明白，我帮您查一下线路。", "明白，请您稍候，我帮您查一下线路。")
    got = items(score(call(engine, text, "call.csv")))
    assert got["long_silences"]["passed"] is True
    assert got["long_silences"]["detail"]["announced_holds"] == [{"before_turn": 5, "seconds": 25.0}]
    assert got["hold"]["passed"] is False  # asked to wait, never thanked for it


def test_chat_has_no_speech_items(engine):
    rows = [{"speaker": "客服", "text": "亲，您好，欢迎光临优家旗舰店", "start": "2025-03-01 10:00:00"},
            {"speaker": "买家", "text": "这个有货吗", "start": "2025-03-01 10:00:30"},
            {"speaker": "客服", "text": "有的亲，今天下单明天发货", "start": "2025-03-01 10:03:30"},
            {"speaker": "买家", "text": "好的谢谢", "start": "2025-03-01 10:04:00"},
            {"speaker": "客服", "text": "感谢您的支持，再见", "start": "2025-03-01 10:04:10"}]
    t = engine.analyze(parse_transcript(json.dumps(rows, ensure_ascii=False).encode(), "chat.json"))
    card = score(t)
    got = items(card)
    assert card["channel"] == "chat"
    assert got["speech_rate"]["passed"] is None and got["interruptions"]["passed"] is None
    assert got["long_silences"]["detail"]["threshold_s"] == 120.0
    assert got["long_silences"]["value"] == 1  # 3 minutes before the agent answered
    assert got["greeting"]["passed"] is True
    assert items(Scorecard().score(t, channel="call"))["long_silences"]["detail"]["threshold_s"] == 10.0


def test_no_timestamps_means_null_time_items(engine):
    got = items(score(call(engine, "坐席：您好，顺达快递。\n客户：查快递。\n坐席：好的，再见。\n")))
    for item in ("long_silences", "interruptions", "speech_rate"):
        assert got[item]["value"] is None and got[item]["passed"] is None


def test_every_source_quotes_its_seed_verbatim():
    if not SEEDS.is_dir():
        pytest.skip(f"seeds not present at {SEEDS}")
    config = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    quotes = []
    for item in config["items"]:
        assert item["source"], item["id"]
        quotes += [(s["seed"], s["line"]) for s in item["source"]]
        for step in item.get("params", {}).get("steps", []):
            quotes.append(("000_2fadcbd4ccd016d0.txt", step["line"]))
    for seed, line in quotes:
        text = (SEEDS / seed).read_text(encoding="utf-8")
        assert line in text, (seed, line)
