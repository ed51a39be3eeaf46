"""Find lexicon triggers in normalised text.

1. Aho-Corasick over every pattern literal finds candidates on characters (never on tokens).
2. Checks drop false positives: slot constraints, the entry's antipatterns, a next step offered
   right after a refusal, quoted or reported
   customer words, a negator right before the span, and spans that cut a dictionary word.
3. Overlapping survivors are resolved leftmost-longest, then by confidence.

A candidate that a check rejected as a benign use of the trigger words (a next step offered,
quoted or reported words, a negator) is evidence too: ``find`` can report these ``Rejection``s,
and the fusion does not let the model flag their category on its own.
"""
from __future__ import annotations

import bisect

import re
from dataclasses import dataclass

import ahocorasick

from .lexicon import Entry, Lexicon, Pattern
from .segment import Segmenter, Tokens


@dataclass(frozen=True)
class Match:
    entry: Entry
    start: int  # span over the normalised text
    end: int
    literal_end: int  # end of the trigger words (== end unless the span covers the slot)
    slot: tuple[int, int] | None  # the slot's words, normalised offsets


# The checks whose rejection says "these trigger words are used benignly here". The others do
# not: a too-short slot or a span that cuts a word means "not the trigger words at all", and an
# entry's antipatterns are narrow exclusions of one literal (measured on the dev split: counting
# them as benign drops the fused F1 from 0.942 to 0.913).
BENIGN_USE = ("next_step", "quoted", "negated", "reported")


@dataclass(frozen=True)
class Rejection:
    entry: Entry
    start: int  # the candidate's trigger words, normalised offsets
    end: int
    reason: str  # one of BENIGN_USE


class Matcher:
    def __init__(self, lexicon: Lexicon, segmenter: Segmenter, automaton: ahocorasick.Automaton | None = None):
        """``automaton``: this lexicon's, built before (``analyzer.compiled`` caches it)."""
        self.lexicon = lexicon
        self.segmenter = segmenter
        checks = lexicon.checks
        self._breaks = set(checks.clause_breaks)
        self._automaton = automaton if automaton is not None else self.build_automaton(lexicon)
        self._quote_re = None
        if checks.quote_pairs:
            parts = [f"{re.escape(a)}[^{re.escape(b)}]*{re.escape(b)}" for a, b in checks.quote_pairs]
            self._quote_re = re.compile("|".join(parts))

    @staticmethod
    def build_automaton(lexicon: Lexicon) -> ahocorasick.Automaton:
        """Every pattern literal → (its length, the entries and patterns that use it)."""
        automaton = ahocorasick.Automaton()
        table: dict[str, list[tuple[Entry, Pattern]]] = {}
        for entry in lexicon.entries:
            for pattern in entry.patterns:
                table.setdefault(pattern.literal, []).append((entry, pattern))
        for literal, targets in table.items():
            automaton.add_word(literal, (len(literal), tuple(targets)))
        automaton.make_automaton()
        return automaton

    @property
    def automaton(self) -> ahocorasick.Automaton:
        return self._automaton

    @property
    def literals(self) -> list[str]:
        return list(self._automaton.keys())

    def find(self, text: str, rejected: list[Rejection] | None = None) -> list[Match]:
        """All trigger matches in normalised ``text``, non-overlapping, in order. When
        ``rejected`` is given, candidates a check rejected as a benign use are appended to it."""
        found: list[Match] = []
        ctx = _Context(self, text)
        for last, (length, targets) in self._automaton.iter(text):
            start = last + 1 - length
            for entry, pattern in targets:
                match = ctx.check(entry, pattern, start, last + 1)
                if isinstance(match, Match):
                    found.append(match)
                elif rejected is not None and match in BENIGN_USE:
                    rejected.append(Rejection(entry, start, last + 1, match))
        return _resolve(found)


class _Context:
    """Per-text state computed lazily: tokens, quoted regions, antipattern hits."""

    def __init__(self, matcher: Matcher, text: str):
        self.m = matcher
        self.text = text
        self._tokens: Tokens | None = None
        self._quoted: list[tuple[int, int]] | None = None
        self._anti: dict[str, list[tuple[int, int]]] = {}
        self._clause_starts: list[int] | None = None
        self._word_starts: list[int] | None = None

    def tokens(self) -> Tokens:
        if self._tokens is None:
            self._tokens = self.m.segmenter.tokens(self.text)
        return self._tokens

    def quoted(self) -> list[tuple[int, int]]:
        if self._quoted is None:
            rx = self.m._quote_re
            self._quoted = [(q.start(), q.end()) for q in rx.finditer(self.text)] if rx else []
        return self._quoted

    def antipattern_spans(self, entry: Entry) -> list[tuple[int, int]]:
        spans = self._anti.get(entry.id)
        if spans is None:
            spans = [(a.start(), a.end()) for rx in entry.antipatterns for a in rx.finditer(self.text)]
            self._anti[entry.id] = spans
        return spans

    def clause_start(self, pos: int) -> int:
        """Where the clause holding ``pos`` begins (after the last clause break before it)."""
        if self._clause_starts is None:  # once per text: a text dense with candidates stays linear
            starts, current, breaks = [0], 0, self.m._breaks
            for i, ch in enumerate(self.text, start=1):
                if ch in breaks:
                    current = i
                starts.append(current)
            self._clause_starts = starts
        return self._clause_starts[pos]

    def slot_after(self, pos: int, limit: int) -> tuple[int, int]:
        """The rest of the clause after ``pos`` (at most ``limit`` characters).

        Punctuation ends a clause; so does a space between two Chinese characters, which is how
        chat and ASR text separate phrases (a space beside Latin letters or digits does not).
        """
        text, breaks = self.text, self.m._breaks - {" "}
        i = pos
        while i < len(text) and text[i] == " ":
            i += 1
        j = i
        while j < len(text) and text[j] not in breaks and j - i < limit:
            if text[j] == " " and j > i and _is_cjk(text[j - 1]) and j + 1 < len(text) and _is_cjk(text[j + 1]):
                break
            j += 1
        while j > i and text[j - 1] == " ":
            j -= 1
        return i, j

    def word_end(self, pos: int) -> int:
        """``pos``, or the end of the dictionary word it falls inside: a slot cut short by its
        length limit (配送时|间) takes the rest of the word, never half of it."""
        words = self.tokens().words
        if self._word_starts is None:
            self._word_starts = [s for _, s, _ in words]
        i = bisect.bisect_left(self._word_starts, pos) - 1  # the last word starting before pos
        if i >= 0:
            word, s, e = words[i]
            if s < pos < e and self.m.segmenter.is_dictionary_word(word):
                return e
        return pos

    def check(self, entry: Entry, pattern: Pattern, start: int, lit_end: int) -> Match | str:
        """The match, or the name of the check that rejects the candidate."""
        text, checks = self.text, self.m.lexicon.checks
        slot = None
        end = lit_end
        if pattern.tail_slot:
            s0, s1 = self.slot_after(lit_end, entry.slot.max)
            words = text[s0:s1]
            if len(words) < entry.slot.min or words.startswith(entry.slot.not_start):
                return "slot"
        if any(a < lit_end and start < b for a, b in self.antipattern_spans(entry)):
            return "antipattern"
        if pattern.tail_slot:
            if entry.boundary and s1 - s0 >= entry.slot.max:  # cut by the length limit, maybe mid-word
                s1 = self.word_end(s1)
            slot = (s0, s1)
            if entry.span_covers_slot:
                end = s1
        if entry.unless_followed_by:
            # after the trigger words, and after the slot too when the span covers it
            stop = text.find("\n", end)
            window = text[end:min(end + checks.follow_window, len(text) if stop < 0 else stop)]
            if any(checks.followers[name].search(window) for name in entry.unless_followed_by):
                return "next_step"
        if any(a < start and lit_end <= b for a, b in self.quoted()):
            return "quoted"
        before = text[self.clause_start(start):start].rstrip()
        if before.endswith(checks.negators):
            return "negated"
        if any(marker in before for marker in checks.reported_speech):
            return "reported"
        if entry.boundary and self.m.segmenter.cuts_word(self.tokens(), start, lit_end):
            return "cuts_word"
        return Match(entry, start, end, lit_end, slot)


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _resolve(found: list[Match]) -> list[Match]:
    """Keep non-overlapping matches: leftmost, then longest trigger words, then most confident."""
    found.sort(key=lambda m: (m.start, -(m.literal_end - m.start), -m.entry.confidence, m.entry.id))
    kept: list[Match] = []
    for m in found:
        if kept and m.start < kept[-1].end:
            prev = kept[-1]
            # a longer trigger starting inside the previous one wins over it
            if (m.literal_end - m.start) > (prev.literal_end - prev.start) and m.literal_end > prev.literal_end:
                kept[-1] = m
            continue
        kept.append(m)
    return kept
