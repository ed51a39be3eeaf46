"""The span rules for model-only flags (corpora/lexicon/model_spans.yaml): every example is kept,
every counter-example dropped, and the fuser applies them."""
from __future__ import annotations

import pytest

from analyzer.normalize import normalize
from analyzer.span_rules import default_rules

RULES = default_rules()


def _span(item: dict) -> tuple[str, int, int]:
    text = normalize(item["text"]).text
    span = normalize(item["span"]).text
    start = text.find(span)
    assert start >= 0, f"{item['span']!r} is not in {item['text']!r}"
    return text, start, start + len(span)


def test_the_file_has_examples_and_counter_examples_for_every_rule():
    assert len(RULES.examples) >= 5 and len(RULES.counter_examples) >= 8
    kinds = {RULES.reject(*_span(c), c["category"]) for c in RULES.counter_examples}
    assert {"fillers", "privacy_topic", "blame_subject", "agent_acts", "reported", "quoted"} <= kinds


@pytest.mark.parametrize("item", RULES.examples, ids=lambda i: i["text"])
def test_example_is_kept(item):
    assert RULES.reject(*_span(item), item["category"]) is None


@pytest.mark.parametrize("item", RULES.counter_examples, ids=lambda i: i["text"])
def test_counter_example_is_dropped(item):
    assert RULES.reject(*_span(item), item["category"]) is not None


@pytest.mark.parametrize("words", ["呢", "亲亲", "好的呢亲亲~", "嗯嗯对对对", "不好意思哈", "[玫瑰]亲"])
def test_fillers_alone_are_no_span(words):
    assert RULES.only_fillers(normalize(words).text)


@pytest.mark.parametrize("words", ["退不了", "你必须", "不清楚", "您多大了", "亲，这个真的改不了"])
def test_trigger_words_are_not_fillers(words):
    assert not RULES.only_fillers(normalize(words).text)


def test_traditional_and_full_width_text_is_read_normalised():
    text = normalize("先生您結婚了嗎？").text
    start = text.find("您结婚了吗")
    assert RULES.reject(text, start, start + 5, "privacy") is None
    text = normalize("親親，在的哦～").text
    assert RULES.reject(text, 0, 2, "dismissive") == "fillers"


@pytest.mark.parametrize("clause", RULES.veto_examples)
def test_veto_context_example(clause):
    assert RULES.veto_context(normalize(clause).text) is not None


@pytest.mark.parametrize("clause", RULES.veto_counter_examples)
def test_veto_counter_example(clause):
    assert RULES.veto_context(normalize(clause).text) is None


def test_clause_is_the_one_holding_the_span():
    text = normalize("好的亲，这个退不了哦，您看可以吗？").text
    start = text.find("退不了")
    assert RULES.clause(text, start, start + 3) == "这个退不了哦"
    start = text.find("可以")
    assert RULES.clause(text, start, start + 2) == "您看可以吗?"


def test_the_model_may_veto_a_lexicon_flag_only_in_a_listed_context():
    from analyzer.fusion import FusionParams, Policy

    policy = Policy(["none", "refusal"], {"refusal": 0.5}, FusionParams(drop_below=0.4))
    probs = __import__("numpy").array([0.99, 0.01])
    assert policy.decide([("refusal", 0.6)], probs, vetoable=[True]) == []
    kept = policy.decide([("refusal", 0.6)], probs, vetoable=[False])
    assert [d.category for d in kept] == ["refusal"] and kept[0].confidence < 0.4


@pytest.mark.parametrize("item", RULES.trim_examples, ids=lambda i: i["text"])
def test_trim_example(item, engine):
    """A model-only span's edges (``SpanRules.trim``): the copula or filler before a person and
    the trailing particles go, what carries the trigger stays."""
    text, start, end = _span(item)
    words = engine.segmenter.tokens(text).words
    s, e = RULES.trim(text, start, end, words)
    assert text[s:e] == normalize(item["shown"]).text


def test_a_condition_closed_by_dehua_is_not_the_context_of_the_no_after_it():
    """如果…的话 ends a clause: the model may not veto the no that follows it as a 'condition'."""
    text = normalize("要是商家不同意的话客服没办法直接给您退款").text
    start = text.index("没办法")
    clause = RULES.clause(text, start, len(text), RULES.veto_reach)
    assert clause == "客服没办法直接给您退款" and RULES.veto_context(clause) is None
    inside = normalize("如果没办法退的话我再帮您问问").text
    s = inside.index("没办法")
    assert RULES.veto_context(RULES.clause(inside, s, s + 3, RULES.veto_reach)) == "condition"
