"""Run a lexicon entry's own examples (LanguageTool-style self-testing rules).

Used by the test suite for the handbook and by ``huashu lexicon test`` for a company's file.
"""
from __future__ import annotations

from .engine import Engine
from .lexicon import Entry
from .rewrite import splice


def entry_problems(engine: Engine, entry: Entry) -> list[str]:
    """Everything wrong with one entry's examples; empty when the entry behaves as documented."""
    problems: list[str] = []
    for ex in entry.examples:
        flags = engine.check(ex.text)
        rules = [f.rule for f in flags]
        if rules != [entry.id]:
            found = ", ".join(f"{f.rule}「{f.text}」" for f in flags) or "nothing"
            problems.append(f"example {ex.text!r}: expected exactly {entry.id}, got {found}")
            continue
        flag = flags[0]
        if ex.span is not None and flag.text != ex.span:
            problems.append(f"example {ex.text!r}: span {flag.text!r}, expected {ex.span!r}")
        # an example's rewrite is the entry's first catalyst in place of the span and the particles
        # after it (the handbook's advice); the rewrite shown (analyzer.rewriter, clause-level) must
        # trigger nothing
        particles = engine.lexicon.checks.trailing_particles
        spliced = splice(ex.text, flag.start, flag.end, flag.suggestions[0], particles) if flag.suggestions else ex.text
        if ex.rewrite is not None and spliced != ex.rewrite:
            problems.append(f"example {ex.text!r}: rewrite {spliced!r}, expected {ex.rewrite!r}")
        again = engine.check(flag.rewrite) if flag.rewrite else []
        if again:
            problems.append(f"example {ex.text!r}: rewrite {flag.rewrite!r} still triggers {again[0].rule}")
    for text in entry.counter_examples:
        flags = engine.check(text)
        if flags:
            found = ", ".join(f"{f.rule}「{f.text}」" for f in flags)
            problems.append(f"counter-example {text!r}: expected nothing, got {found}")
    return problems
