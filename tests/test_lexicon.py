"""The generic lexicon test (LanguageTool's PatternRuleTest, for Huashu): every entry's own
examples must yield that entry, its counter-examples nothing, and its rewrites no trigger."""
from __future__ import annotations

import pytest

from analyzer.engine import Engine
from analyzer.lexicon import load_categories, load_lexicon

LEXICON = load_lexicon()
ENTRIES = LEXICON.entries
EXAMPLES = [(e.id, i, ex) for e in ENTRIES for i, ex in enumerate(e.examples)]
COUNTERS = [(e.id, i, c) for e in ENTRIES for i, c in enumerate(e.counter_examples)]


def test_ids_unique_and_categories_known():
    ids = [e.id for e in ENTRIES]
    assert len(ids) == len(set(ids))
    assert {e.category for e in ENTRIES} <= set(load_categories())


def test_every_category_has_entries():
    assert {e.category for e in ENTRIES} == set(load_categories())


@pytest.mark.parametrize("entry_id,n,example", EXAMPLES, ids=[f"{a}#{b}" for a, b, _ in EXAMPLES])
def test_example_is_flagged_once_by_its_entry(engine: Engine, entry_id, n, example):
    flags = engine.check(example.text)
    assert [f.rule for f in flags] == [entry_id], f"{example.text!r} gave {[(f.rule, f.text) for f in flags]}"
    flag = flags[0]
    assert example.text[flag.start:flag.end] == flag.text
    if example.span is not None:
        assert flag.text == example.span
    assert flag.suggestions and flag.principle
    if example.rewrite is not None:
        assert flag.rewrite == example.rewrite
    assert engine.check(flag.rewrite) == [], f"rewrite {flag.rewrite!r} still triggers"


@pytest.mark.parametrize("entry_id,n,text", COUNTERS, ids=[f"{a}#{b}" for a, b, _ in COUNTERS])
def test_counter_example_is_not_flagged(engine: Engine, entry_id, n, text):
    flags = engine.check(text)
    assert flags == [], f"{text!r} gave {[(f.rule, f.text) for f in flags]}"
