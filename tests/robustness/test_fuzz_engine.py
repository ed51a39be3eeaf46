"""Fuzzing the matcher and the engine: any text, any mix of scripts and widths, emoji, zero-width
characters, control characters, newlines.

For every flag: 0 <= start < end <= len(text); text[start:end] == flag.text; at least one
suggestion; one rewrite for the whole utterance (analyzer/rewriter.py), the same on each of its flags,
either "" (no candidate passed its checks) or a text other than the original; flags in order and not
overlapping; a known category; a confidence in [0, 1]. Customer turns are never flagged.
``check_many`` answers what ``check`` answers. The reports and ``huashu check``'s line handler
never raise on what the engine produced.
"""
from __future__ import annotations

import json
import random

import opencc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from robustness_support import fuzz

from analyzer import report
from analyzer.cli import check_lines
from analyzer.lexicon import load_categories, load_lexicon
from analyzer.model import AGENT, CUSTOMER, Transcript, Turn

_LEXICON = load_lexicon(())
_LITERALS = sorted({p.literal for e in _LEXICON.entries for p in e.patterns})
_EXAMPLES = sorted({x.text for e in _LEXICON.entries for x in e.examples} | {c for e in _LEXICON.entries
                                                                              for c in e.counter_examples})
_CATEGORIES = set(load_categories())
_SOURCES = {"lexicon", "model", "lexicon+model"}
_TO_TRADITIONAL = opencc.OpenCC("s2t").convert
_TO_TAIWAN = opencc.OpenCC("s2twp").convert

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]  # zero-width marks and the BOM
# Other invisible format characters (copy-paste from web pages and Word carries them): soft hyphen,
# LRM/RLM, bidi embeddings and isolates, invisible operators, variation selector, CGJ. normalize()
# drops them all, like the zero-width marks.
OTHER_INVISIBLE = ["\u00ad", "\u200e", "\u200f", "\u202a", "\u202c", "\u2066", "\u2061", "\u180e", "\ufe0f", "\u034f"]
ODD = ["😊", "🙏🏻", "👨‍👩‍👧", "🇨🇳", "\u0301", "\u3000", "\t", "\n", "\r\n", "\x00", "\x1b", "\x7f", "\u2028",
       "\ufffd", "\U0002a6a5", "\U000e0001", "“", "”", "「", "」", "……", "...", "~", "～", "！！", " "]


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


piece = st.one_of(
    st.sampled_from(_LITERALS),
    st.sampled_from(_EXAMPLES),
    st.sampled_from(ZERO_WIDTH + OTHER_INVISIBLE + ODD),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=6),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=6),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=4),
)


@st.composite
def utterances(draw) -> str:
    """Lexicon phrases and examples mixed with noise, then maybe Traditional, full width and
    zero-width characters sprinkled anywhere (also inside a trigger)."""
    text = "".join(draw(st.lists(piece, min_size=1, max_size=6)))
    script = draw(st.sampled_from(["as is", "as is", "traditional", "taiwan"]))
    if script == "traditional":
        text = _TO_TRADITIONAL(text)
    elif script == "taiwan":
        text = _TO_TAIWAN(text)
    if draw(st.booleans()):
        text = full_width(text) if draw(st.booleans()) else "".join(
            full_width(c) if draw(st.booleans()) else c for c in text[:40]) + text[40:]
    seed = draw(st.integers(0, 2**32))
    if seed % 3 == 0 and text:
        rng = random.Random(seed)
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            chars.insert(rng.randint(0, len(chars)), rng.choice(ZERO_WIDTH))
        text = "".join(chars)
    return text


def assert_well_formed(text: str, flags) -> None:
    previous_end = 0
    for f in flags:
        assert 0 <= f.start < f.end <= len(text), (f.start, f.end, len(text))
        assert text[f.start:f.end] == f.text
        assert f.suggestions, f"no suggestion for {f.rule}"
        assert all(isinstance(s, str) for s in f.suggestions)
        assert isinstance(f.rewrite, str) and f.rewrite != text
        assert f.rewrite == flags[0].rewrite, "one combined rewrite per utterance"
        assert f.promise in ("none", "refund", "compensation", "escalation", "callback")
        assert f.category in _CATEGORIES
        assert 0.0 <= f.confidence <= 1.0
        assert f.source in _SOURCES
        assert f.rule and f.principle
        assert f.start >= previous_end, "flags overlap or are out of order"
        previous_end = f.end
    json.dumps([f.to_dict() for f in flags], ensure_ascii=False)


@fuzz(300)
@given(text=utterances())
def test_flags_are_well_formed(engine, text):
    flags = engine.check(text)
    assert_well_formed(text, flags)
    assert engine.check(text, CUSTOMER) == []


@fuzz(200)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=120))
def test_any_unicode_text(engine, text):
    assert_well_formed(text, engine.check(text))
    assert engine.check(text, CUSTOMER) == []


@fuzz(150)
@given(example=st.sampled_from(_EXAMPLES),
       inserts=st.lists(st.tuples(st.integers(0, 200), st.sampled_from(ZERO_WIDTH + OTHER_INVISIBLE)),
                        min_size=1, max_size=3))
def test_zero_width_characters_inside_triggers(engine, example, inserts):
    """Zero-width and other invisible characters inside a trigger change no finding, and the offsets still hold."""
    chars = list(example)
    for at, mark in inserts:
        chars.insert(at % (len(chars) + 1), mark)
    text = "".join(chars)
    flags = engine.check(text)
    assert_well_formed(text, flags)
    assert [f.rule for f in flags] == [f.rule for f in engine.check(example)]


@pytest.mark.parametrize("mark", OTHER_INVISIBLE)
def test_other_invisible_characters_inside_a_trigger(engine, mark):
    text = "你" + mark + "搞错了，这张卡不是信用卡。"
    flags = engine.check(text)
    assert_well_formed(text, flags)
    assert [f.rule for f in flags] == ["you_statement.ni-gaocuole"]


@fuzz(150)
@given(example=st.sampled_from(_EXAMPLES))
def test_full_width_and_traditional_variants_find_the_same_rules(engine, example):
    plain = [f.rule for f in engine.check(example)]
    for variant in (full_width(example), _TO_TRADITIONAL(example)):
        flags = engine.check(variant)
        assert_well_formed(variant, flags)
    assert [f.rule for f in engine.check(full_width(example))] == plain


@fuzz(100)
@given(batch=st.lists(st.tuples(utterances(), st.sampled_from([AGENT, AGENT, CUSTOMER])), max_size=8))
def test_check_many_matches_check(engine, batch):
    texts, roles = [t for t, _ in batch], [r for _, r in batch]
    many = engine.check_many(texts, roles)
    assert len(many) == len(texts)
    for text, role, flags in zip(texts, roles, many):
        assert_well_formed(text, flags)
        if role == CUSTOMER:
            assert flags == []
        assert [f.to_dict() for f in flags] == [f.to_dict() for f in engine.check(text, role)]


@fuzz(60)
@given(turns=st.lists(st.tuples(st.sampled_from([AGENT, CUSTOMER]), utterances().filter(lambda t: t.strip())),
                      min_size=1, max_size=8))
def test_transcript_reports_never_raise(pipeline, turns):
    transcript = Transcript(
        source="fuzz.txt", format="speaker-text", encoding="utf-8",
        turns=[Turn(index=i, role=r, speaker="客服" if r == AGENT else "客户", text=t.strip(), line=i + 1)
               for i, (r, t) in enumerate(turns)],
    )
    analysis = pipeline.analyze(transcript)
    for turn in transcript.turns:
        assert_well_formed(turn.text, turn.flags)
        if turn.role == CUSTOMER:
            assert turn.flags == []
    json.dumps(report.to_dict(analysis), ensure_ascii=False)
    assert isinstance(report.to_text(analysis), str)
    assert isinstance(report.to_html(analysis), str)


json_line = st.one_of(
    st.builds(lambda t, r, i: json.dumps({"id": i, "text": t, "role": r}, ensure_ascii=False),
              utterances(), st.sampled_from([AGENT, CUSTOMER, "boss", None, 3]), st.one_of(st.none(), st.text(max_size=5))),
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
                 lambda x: st.one_of(st.lists(x, max_size=3), st.dictionaries(st.sampled_from(["id", "text", "role", "x"]),
                                                                               x, max_size=4))).map(json.dumps),
    st.text(max_size=40),
)


@fuzz(200)
@given(line=json_line)
def test_cli_check_line_never_raises(pipeline, line):
    """``huashu check``'s per-line handler: a result or an error field, never an exception."""
    [result] = check_lines(pipeline, [line])
    assert isinstance(result, dict) and "id" in result
    assert ("error" in result) != ("flags" in result)
    json.dumps(result, ensure_ascii=False)


def test_cli_check_line_deeply_nested_json(pipeline):
    [result] = check_lines(pipeline, ["[" * 100_000 + "]" * 100_000])
    assert "error" in result
