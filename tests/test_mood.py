"""The customer's mood over a call (analyzer/mood.py): series, escalations, satisfaction.

Sentiment is set by hand on the turns here, so these tests pin the formula, not a model.
"""
from __future__ import annotations

import pytest

from analyzer.ingest import parse_transcript
from analyzer.mood import MoodParams, course, mood_of, satisfaction

NEG = {"label": "negative", "score": 0.8, "anger": False}
ANGRY = {"label": "negative", "score": 0.9, "anger": True}
NEUTRAL = {"label": "neutral", "score": 0.7, "anger": False}
POS = {"label": "positive", "score": 0.9, "anger": False}

CALL = """坐席：您好，顺达快递。
客户：我的包裹还没到。
坐席：你搞错了吧，这个单号是昨天才揽收的。
客户：不可能，我上周就下单了！
坐席：你必须先把下单截图发过来。
客户：我要投诉你们！
坐席：非常抱歉，我马上帮您催。
客户：好吧，谢谢。
"""


def analysed(engine, sentiments):
    t = engine.analyze(parse_transcript(CALL.encode("utf-8"), "call.txt"))
    for turn, s in zip(t.customer_turns, sentiments):
        turn.sentiment = s
    return t


def test_mood_of_a_turn():
    assert mood_of(None) is None
    assert mood_of(POS) == 0.9 and mood_of(NEG) == -0.8 and mood_of(NEUTRAL) == 0.0
    assert mood_of({"label": "negative", "score": 0.5, "anger": False,
                    "probs": {"negative": 0.5, "neutral": 0.2, "positive": 0.3}}) == pytest.approx(-0.2)


def test_no_sentiment_no_satisfaction(engine):
    t = analysed(engine, [])
    out = course(t)
    assert out == {"series": [], "escalations": [], "satisfaction": None}


def test_series_escalations_and_satisfaction(engine):
    t = analysed(engine, [NEUTRAL, NEG, ANGRY, POS])
    out = course(t, MoodParams())
    assert [p["turn"] for p in out["series"]] == [1, 3, 5, 7]
    assert [p["mood"] for p in out["series"]] == [0.0, -0.8, -0.9, 0.9]
    assert [p["smoothed"] for p in out["series"]] == [0.0, -0.4, -0.65, 0.125]
    assert out["series"][0]["position"] == round(1 / 7, 3)
    # Two escalations: after turn 2 (你搞错了, mood 0 → -0.8) and after turn 4 (你必须, customer angry)
    e1, e2 = out["escalations"]
    assert (e1["customer_turn"], e1["agent_turns"], e1["drop"], e1["anger"]) == (3, [2], 0.8, False)
    assert e1["flags"][0]["category"] == "you_statement"
    assert (e2["customer_turn"], e2["agent_turns"], e2["anger"]) == (5, [4], True)
    assert e2["flags"][0]["rule"] == "command.ni-bixu"
    assert e1["resolved"] and e2["resolved"]  # the last turn is back above both
    # weights 1, 5/3, 7/3, 3 (end_weight 3); one angry turn of four, last not angry, all resolved
    w = [1, 5 / 3, 7 / 3, 3]
    m = [0.0, -0.8, -0.9, 0.9]
    expected = (1 + sum(a * b for a, b in zip(w, m)) / sum(w)) / 2 - 0.2 * 1 / 4
    assert out["satisfaction"] == round(expected, 3)


def test_the_end_of_the_call_counts_most(engine):
    happy_end = satisfaction(analysed(engine, [NEG, NEG, NEUTRAL, POS]))
    sad_end = satisfaction(analysed(engine, [POS, NEUTRAL, NEG, NEG]))
    assert happy_end > 0.5 > sad_end


def test_unresolved_escalation_and_final_anger_penalised(engine):
    cross = {"label": "negative", "score": 0.3, "anger": True}
    resolved = course(analysed(engine, [NEUTRAL, NEUTRAL, ANGRY, NEUTRAL]))
    unresolved = course(analysed(engine, [NEUTRAL, NEUTRAL, ANGRY, cross]))
    assert resolved["escalations"][-1]["resolved"] and not unresolved["escalations"][-1]["resolved"]
    p = MoodParams()
    # the same turns 1-3; the last: 0 vs -0.3 (weight 3 of 8), plus anger share, final anger, unresolved
    gap = (3 * 0.3 / 8) / 2 + p.anger_penalty * 1 / 4 + p.final_anger_penalty + p.unresolved_penalty
    assert resolved["satisfaction"] - unresolved["satisfaction"] == pytest.approx(gap, abs=1e-3)


def test_no_escalation_without_a_trigger(engine):
    t = engine.analyze(parse_transcript("坐席：您好。\n客户：还行。\n坐席：好的，我帮您查。\n客户：气死我了！\n".encode(), "c.txt"))
    t.customer_turns[0].sentiment, t.customer_turns[1].sentiment = POS, ANGRY
    out = course(t)
    assert out["escalations"] == [] and out["satisfaction"] is not None


def test_satisfaction_is_clipped_to_0_1(engine):
    worst = course(analysed(engine, [ANGRY, ANGRY, ANGRY, ANGRY]))
    best = course(analysed(engine, [{"label": "positive", "score": 1.0, "anger": False}] * 4))
    assert worst["satisfaction"] == 0.0 and best["satisfaction"] == 1.0


def test_parameters_come_from_the_scorecard_file(tmp_path, monkeypatch):
    f = tmp_path / "acme.yaml"
    f.write_text("mood:\n  end_weight: 5\n", encoding="utf-8")
    assert MoodParams.from_config([str(f)]).end_weight == 5.0
    assert MoodParams.from_config().end_weight == 3.0
