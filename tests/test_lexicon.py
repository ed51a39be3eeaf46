"""The generic lexicon test (LanguageTool's PatternRuleTest, for Huashu): every entry's own
examples yield exactly that entry at the stated span, with the stated rewrite, and the rewrite
triggers nothing; every counter-example yields nothing."""
from __future__ import annotations

import pytest

from analyzer.engine import Engine
from analyzer.lexicon import load_categories, load_lexicon
from analyzer.verify import entry_problems

ENTRIES = load_lexicon().entries


def test_ids_unique_and_categories_known():
    ids = [e.id for e in ENTRIES]
    assert len(ids) == len(set(ids))
    assert {e.category for e in ENTRIES} <= set(load_categories())


def test_every_category_has_entries():
    assert {e.category for e in ENTRIES} == set(load_categories())


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_entry_examples(engine: Engine, entry):
    problems = entry_problems(engine, entry)
    assert not problems, "\n".join(problems)
