"""Fusion rules (analyzer/fusion.py) with a stand-in tagger: fast, no model files needed.

The stand-in gives a category a high probability while its cue words are in the text and marks
part of the cue as the category's span (as ``models.tagger.TaggerOutput.span`` does), so the
span widening, the nearest rule and every flag's shape and offsets can be checked exactly.
The real model is exercised in tests/test_models.py and tests/test_tagger.py.
"""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from analyzer.fusion import Decision, Fuser, FusionParams, Policy
from analyzer.lexicon import load_categories
from analyzer.model import Flag
from analyzer.rewrite import to_script

LABELS = ["none", *load_categories()]
FLAG_FIELDS = {"start", "end", "text", "category", "confidence", "source", "rule", "principle",
               "suggestions", "rewrite", "promise"}
CUES = {"refusal": ("不归我们管", "不歸我們管"), "privacy": ("多大年纪", "多大年紀"), "command": ("必须",)}


class StubOutput:
    """What ``models.tagger.Tagger.run`` gives for one text: probabilities, a span, a vector."""

    def __init__(self, text, probs, vector):
        self.text, self.probs, self.vector = text, probs, vector

    def span(self, labels, category):
        for cue in CUES.get(category, ()):
            if cue in self.text:  # the cue's second and third characters: inside a word, to be widened
                s = self.text.index(cue) + 1
                return s, min(s + 2, len(self.text)), 0.9
        return None


class StubClassifier:
    labels = LABELS

    def run(self, texts, batch_size=64):
        return [StubOutput(t, p, v) for t, p, v in zip(texts, self.predict_proba(texts), self.embed(texts))]

    def predict_proba(self, texts, batch_size=32):
        out = np.full((len(texts), len(LABELS)), 0.002)  # a hit: p ≈ 0.98, above the model-only floor
        for r, text in enumerate(texts):
            hit = next((c for c, cues in CUES.items() if any(k in text for k in cues)), None)
            out[r, LABELS.index(hit or "none")] = 0.9
        return out / out.sum(1, keepdims=True)

    def embed(self, texts, batch_size=32):
        vecs = np.zeros((len(texts), 64))
        for r, text in enumerate(texts):
            for a, b in itertools.pairwise(text):
                vecs[r, hash(a + b) % 64] += 1
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)


@pytest.fixture(scope="module")
def fuser(engine):
    policy = Policy(LABELS, {c: 0.5 for c in LABELS[1:]}, FusionParams(1.0, 1.0, 0.0, 0.0), None)
    return Fuser(engine.lexicon, engine.segmenter, StubClassifier(), None, policy)


def fused(engine, fuser, text):
    return fuser.fuse_many([text], [engine.check(text)], [None])[0]


def assert_shape(text: str, flag: Flag) -> None:
    d = flag.to_dict()
    assert set(d) == FLAG_FIELDS
    assert 0 <= flag.start < flag.end <= len(text)
    assert text[flag.start:flag.end] == flag.text
    assert flag.category in load_categories()
    assert 0.0 <= flag.confidence <= 1.0
    assert flag.source in {"lexicon", "model", "lexicon+model"}
    assert flag.rule.startswith(flag.category + ".")
    assert flag.suggestions and all(isinstance(s, str) and s for s in flag.suggestions)
    # the rewrite is the whole utterance, rewritten by analyzer.rewriter, or "" when none passed its checks
    assert flag.rewrite != text and flag.promise in {"none", "refund", "compensation", "escalation", "callback"}


# -- the pure decision rules ---------------------------------------------------------------
def row(**p):
    r = np.full(len(LABELS), 0.0)
    for c, v in p.items():
        r[LABELS.index(c)] = v
    r[0] = max(0.0, 1 - r.sum())
    return r


def test_lexicon_flag_without_model_row_keeps_its_prior():
    policy = Policy(LABELS, {}, FusionParams())
    assert policy.decide([("command", 0.9)], None) == [Decision("command", 0.9, "lexicon", 0)]


def test_agreeing_model_raises_confidence_and_source():
    policy = Policy(LABELS, {"command": 0.5}, FusionParams(1.0, 1.0, 0.0))
    agree, disagree = policy.decide([("command", 0.8)], row(command=0.9)), policy.decide([("command", 0.8)], row(none=0.9))
    assert agree[0].source == "lexicon+model" and disagree[0].source == "lexicon"
    assert agree[0].confidence > 0.8 > disagree[0].confidence


def test_veto_floor_drops_a_lexicon_flag_the_model_contradicts():
    policy = Policy(LABELS, {"command": 0.5}, FusionParams(1.0, 1.0, 0.0, drop_below=0.3))
    assert policy.decide([("command", 0.8)], row(command=0.001)) == []
    assert len(policy.decide([("command", 0.8)], row(command=0.6))) == 1


def test_model_only_needs_no_lexicon_flag_and_its_threshold():
    policy = Policy(LABELS, {"refusal": 0.6, "privacy": 0.5}, FusionParams())
    assert policy.decide([], row(refusal=0.7)) == [Decision("refusal", 0.7, "model")]
    assert policy.decide([], row(refusal=0.55)) == []
    assert [d.source for d in policy.decide([("command", 0.9)], row(refusal=0.9))] == ["lexicon"]


def test_no_model_only_hit_where_the_lexicon_saw_a_benign_use():
    policy = Policy(LABELS, {"command": 0.5, "refusal": 0.5}, FusionParams())
    assert policy.decide([], row(command=0.9), benign={"command"}) == []
    assert policy.decide([], row(command=0.9), benign={"refusal"}) == [Decision("command", 0.9, "model")]
    # a lexicon flag of the same category is not affected (the lexicon itself found a real use)
    assert [d.category for d in policy.decide([("command", 0.9)], row(command=0.9), benign={"command"})] == ["command"]


@pytest.mark.parametrize(("text", "benign"), [
    ("这一步不是你必须做的哦，跳过也能正常使用～", {"command"}),  # negated
    ("这一步不是你必須做的喔", {"command"}),  # Traditional, negated
    ("您刚才说“你必须先付款”是吗？", {"command"}),  # quoted
    ("你必须先付款", set()),  # a real trigger is no benign use
    ("好的，我马上帮您查一下", set()),
])
def test_benign_categories(engine, text, benign):
    flags, found_benign = engine.lexicon_check(text)
    assert found_benign == benign
    assert [f.to_dict() for f in flags] == [f.to_dict() for f in engine.check(text)]


def test_gate_only_skips_utterances_without_lexicon_flags():
    policy = Policy(LABELS, {}, FusionParams(), gate=0.9)
    assert policy.skips(0, 0.95) and not policy.skips(0, 0.5) and not policy.skips(1, 0.99)
    assert not Policy(LABELS, {}, FusionParams(), gate=None).skips(0, 0.999)


# -- flags built by the fuser --------------------------------------------------------------
def test_lexicon_flag_is_kept_with_fused_confidence(engine, fuser):
    text = "你必须先把身份证复印件传过来。"
    [lex] = engine.check(text)
    [flag] = fused(engine, fuser, text)
    assert_shape(text, flag)
    assert (flag.start, flag.end, flag.rule, flag.suggestions, flag.rewrite) == (
        lex.start, lex.end, lex.rule, lex.suggestions, lex.rewrite)
    assert flag.source == "lexicon+model" and flag.confidence > lex.confidence


def test_lexicon_only_when_model_disagrees(engine, fuser):
    text = "这是公司的规定。"
    flags = fused(engine, fuser, text)
    assert flags and all(f.source == "lexicon" for f in flags)
    for f in flags:
        assert_shape(text, f)


def test_model_only_hit_gets_span_rule_and_rewrite(engine, fuser):
    text = "这个事情不归我们管，你问别人吧"
    flags = fuser.fuse_many([text], [[]], [None])[0]  # as if the lexicon had found nothing
    [flag] = flags
    assert_shape(text, flag)
    assert flag.source == "model" and flag.category == "refusal"
    # the tagger marked 归我 (inside 不归 and 我们): widened to whole words, never a cut word
    assert "归我" in flag.text and flag.text in {"不归我们", "不归我们管"}, flag.text
    assert flag.rule in {e.id for e in engine.lexicon.entries if e.category == "refusal"}


def test_model_only_offsets_point_into_traditional_original(engine, fuser):
    text = "請問您今年多大年紀了？"
    [flag] = fuser.fuse_many([text], [[]], [None])[0]
    assert_shape(text, flag)
    assert flag.category == "privacy" and flag.source == "model"
    entry = engine.lexicon.by_id()[flag.rule]
    assert flag.suggestions[0] == to_script(entry.catalysts[0].replace("……", ""), "traditional")


def test_no_flag_on_clean_text(engine, fuser):
    assert fused(engine, fuser, "好的，请您稍候。") == []


def test_gate_skips_the_classifier(engine):
    class Sure:  # a baseline certain that nothing is wrong
        labels_ = LABELS

        def decision_function(self, texts):
            return np.tile(np.eye(len(LABELS))[0] * 20, (len(texts), 1))

    calls = []

    class Counting(StubClassifier):
        def run(self, texts, batch_size=64):
            calls.append(len(texts))
            return super().run(texts, batch_size)

    policy = Policy(LABELS, {c: 0.5 for c in LABELS[1:]}, FusionParams(), gate=0.9)
    gated = Fuser(engine.lexicon, engine.segmenter, Counting(), Sure(), policy)
    texts = ["好的，请您稍候。", "你必须先登记。"]
    out = gated.fuse_many(texts, [engine.check(t) for t in texts], [None, None])
    assert out[0] == [] and out[1] and calls == [1]  # only the lexicon-flagged one reached it


def test_engine_without_model_is_the_lexicon(engine):
    texts = ["你必须先把身份证复印件传过来。", "好的，请您稍候。", "這是公司的規定", ""]
    assert engine.check_many(texts) == [engine.check(t) for t in texts]
    assert engine.check_many(texts, ["customer"] * 4) == [[], [], [], []]


def test_span_and_rewrite_quality_measure_what_they_say(engine):
    from analyzer.evaluate import Item, rewrite_quality, span_quality

    items = [Item("1", "你必须先交押金。", "command", span="你必须"),
             Item("2", "这个嘛你必须先交押金。", "command", span="你必须先交押金"),  # the flag covers 3 of 7
             Item("3", "您不必担心。", "none")]
    q = span_quality(items, engine.check)
    assert q == {"found_with_span": 2, "exact": 0.5, "overlap_half": 0.5, "mean_iou": round((1 + 3 / 7) / 2, 3)}
    r = rewrite_quality(engine, items, engine.check)
    assert r == {"flags": 2, "with_rewrite": 1.0, "no_longer_triggers": 1.0, "flags_with_slot": 2,
                 "keeps_slot_words": 1.0}

    def stubborn(text: str) -> list:  # a system whose rewrites change nothing: they still trigger
        return [replace(f, rewrite=text) for f in engine.check(text)]

    assert rewrite_quality(engine, items, stubborn)["no_longer_triggers"] == 0.0
