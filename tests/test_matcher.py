"""Behaviour of the engine on single utterances: the documented flag shape, offsets into the
original text for every script and style, the taxonomy's hard negatives, company lexicons."""
from __future__ import annotations

import pytest

from analyzer.engine import Engine
from analyzer.evaluate import load_handbook_phrases
from analyzer.lexicon import LexiconError


def test_documented_flag_shape(engine: Engine):
    [flag] = engine.check("你必须先把身份证复印件传过来。")
    assert (flag.start, flag.end, flag.text) == (0, 3, "你必须")
    assert flag.category == "command" and flag.source == "lexicon"
    assert flag.suggestions[0] == "请您"
    assert flag.rewrite == "请您先把身份证复印件传过来。"
    assert 0 < flag.confidence <= 1 and flag.principle and flag.rule.startswith("command.")


def test_customer_turns_are_not_flagged(engine: Engine):
    assert engine.check("你搞错了吧！", role="customer") == []
    assert engine.check("你搞错了吧！", role="agent") != []


@pytest.mark.parametrize(
    "text",
    [
        "您不必担心，我来处理。",
        "我不能让您白跑一趟，我现在就帮您办。",
        "这不是问题，我马上处理。",
        "您知道的真多！",
        "不知道您是在什么程序里看到的这个提示？",
        "无法开机是吗？我教您强制重启。",
        "这款没有WiFi功能，但是支持蓝牙。",
        "按三包规定，七天内可以退的。",
        "您说“你们搞错了”，我理解，我这就核对。",
        "不是您搞错了，是我们系统有延迟。",
        "我们不管多晚都会把问题处理完。",
        "字太小我看不清楚，麻烦您再拍一张。",
    ],
)
def test_taxonomy_hard_negatives(engine: Engine, text):
    assert engine.check(text) == [], [(f.rule, f.text) for f in engine.check(text)]


def test_traditional_offsets_and_suggestions_in_traditional(engine: Engine):
    text = "您好，你必須先把身分證影本傳過來。"
    [flag] = engine.check(text)
    assert text[flag.start:flag.end] == flag.text == "你必須"
    assert flag.suggestions[0] == "請您"
    assert flag.rewrite == "您好，請您先把身分證影本傳過來。"


@pytest.mark.parametrize(
    "text,span,category",
    [
        ("嗯那个你必须先去营业厅办理一下才行", "你必须", "command"),  # ASR, no punctuation
        ("亲😊你搞错了哦～单号不是这个", "你搞错了", "you_statement"),  # chat, emoji; the span leaves the particle out
        ("ＯＫ！你搞錯了，這張卡不是信用卡", "你搞錯了", "you_statement"),  # full-width + Traditional
        ("這是公司的規定", "這是公司的規定", "us_vs_them"),
    ],
)
def test_styles_and_scripts(engine: Engine, text, span, category):
    flags = engine.check(text)
    assert [(f.text, f.category) for f in flags] == [(span, category)]
    assert text[flags[0].start:flags[0].end] == span


HANDBOOK = [(c, row["phrase"], row["sentence"]) for c, rows in load_handbook_phrases().items() for row in rows or []]


@pytest.mark.parametrize("category,phrase,sentence", HANDBOOK, ids=[p for _, p, _ in HANDBOOK])
def test_every_handbook_phrase_is_flagged(engine: Engine, category, phrase, sentence):
    flags = engine.check(sentence)
    assert category in {f.category for f in flags}, [(f.rule, f.text) for f in flags]
    for f in flags:  # the rewritten span triggers nothing (other flags of the sentence may remain)
        stop = f.start + len(f.suggestions[0])
        again = [(g.rule, g.text) for g in engine.check(f.rewrite) if g.start < stop and f.start < g.end]
        assert again == [], f.rewrite


def test_company_lexicon_adds_entries(tmp_path):
    company = tmp_path / "acme.yaml"
    company.write_text(
        """entries:
  - id: refusal.acme-buguiwoguan
    category: refusal
    principle: 负起责任：告诉顾客我们能做什么
    patterns: ["这(个|)不归我管"]
    catalysts: ["我来帮您联系负责的同事"]
    examples: [这不归我管。, 这个不归我管啊, 這不歸我管]
    counter_examples: [这事归我管，您放心, 不归我管的事我也会帮您转达]
""",
        encoding="utf-8",
    )
    engine = Engine([company]).initialize()
    assert [f.rule for f in engine.check("这个不归我管，您找别人")] == ["refusal.acme-buguiwoguan"]


def test_company_lexicon_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("entries:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"bad\.yaml:\d+"):
        Engine([bad])
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        "entries:\n  - id: you_statement.ni-gaocuole\n    category: you_statement\n    principle: x\n"
        "    patterns: [abc]\n    catalysts: [d]\n    examples: [abc1, abc2, abc3]\n    counter_examples: [x, y]\n",
        encoding="utf-8",
    )
    with pytest.raises(LexiconError, match="duplicate id"):
        Engine([dup])
