"""Word segmentation with a private jieba tokenizer.

Segmentation is used for boundaries and context, never to find a phrase: the matcher finds
phrases on characters, then asks here whether a match cuts through a dictionary word
(``看不清楚`` must not yield ``不清楚``).

The tokenizer is our own ``jieba.Tokenizer`` (not jieba's global one), its logger is quiet, and
the lexicon's trigger words are added so they stay whole. Adding them takes seconds, so the
finished prefix dictionary (``state()``) is cached on disk with the compiled lexicon
(``analyzer.compiled``) and handed back here as ``Segmenter(words, state=...)``.
"""
from __future__ import annotations

import logging
import re
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

import jieba

jieba.setLogLevel(logging.WARNING)

_HAS_PUNCT = re.compile(r"[^\w]")


@dataclass(frozen=True)
class Tokens:
    words: tuple[tuple[str, int, int], ...]  # (word, start, end) over the normalised text
    starts: frozenset[int]
    ends: frozenset[int]


class PrefixDict:
    """jieba's prefix dictionary read back from the cache as two sorted columns (words, counts),
    answered by binary search. Building the plain dict of ~550,000 entries is the largest cost of
    a cached start, and a short run (``huashu check`` of a few lines) looks up a few thousand
    words; after ``LOOKUPS`` lookups the dict is built once and put in the tokenizer's place, so a
    long-running process pays for it once and then looks up at dict speed."""

    LOOKUPS = 50_000

    def __init__(self, words: list[str], counts: array):
        self._words, self._counts = words, counts
        self._lookups = 0
        self.owner: jieba.Tokenizer | None = None  # whose FREQ this is, to replace when built

    def _find(self, word: str) -> int:
        self._lookups += 1
        owner = self.owner
        if owner is not None and self._lookups >= self.LOOKUPS:
            self.owner = None
            owner.FREQ = self.to_dict()
        i = bisect_left(self._words, word)
        return i if i < len(self._words) and self._words[i] == word else -1

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._find(word) >= 0

    def __getitem__(self, word: str) -> int:
        i = self._find(word)
        if i < 0:
            raise KeyError(word)
        return self._counts[i]

    def get(self, word: str, default: int | None = None) -> int | None:
        i = self._find(word)
        return self._counts[i] if i >= 0 else default

    def __len__(self) -> int:
        return len(self._words)

    def to_dict(self) -> dict[str, int]:
        return dict(zip(self._words, self._counts.tolist()))


USER = "x"  # the part of speech of a word we added (the lexicon's literals), as jieba.posseg tags it


class TagTable:
    """The dictionary's parts of speech read back from the cache as two sorted columns (words,
    tags), answered by binary search: two ``split`` calls instead of building a dict of ~350,000
    entries when a process starts."""

    def __init__(self, words: list[str], tags: list[str]):
        self._words, self._tags = words, tags

    def get(self, word: str, default: str | None = None) -> str | None:
        i = bisect_left(self._words, word)
        return self._tags[i] if i < len(self._words) and self._words[i] == word else default

    def items(self):
        return zip(self._words, self._tags)


def dictionary_tags() -> dict[str, str]:
    """The part of speech of every word of jieba's dictionary (its third column: n, v, nr, ...),
    the table ``jieba.posseg`` reads. Read here once and cached with the compiled lexicon:
    ``jieba.posseg``'s own load takes ~1.5 s (its HMM tables and this table), and a word's tag is
    all the rewriter needs (``Segmenter.tagged``)."""
    tags: dict[str, str] = {}
    with jieba.Tokenizer().get_dict_file() as f:
        for raw in f:
            parts = raw.decode("utf-8").split()
            if len(parts) >= 3:
                tags[parts[0]] = parts[2]
    return tags


class Segmenter:
    """Owns one jieba tokenizer; ``initialize()`` loads it eagerly (the service does at start-up)."""

    def __init__(self, user_words: Iterable[str] = (), state: tuple[dict[str, int], int] | None = None,
                 tags=None):
        """``state``: a prefix dictionary (FREQ, total) built before by a segmenter whose
        ``user_words`` were exactly ``user_words`` (so they are taken as they are); ``tags``:
        ``dictionary_tags()``'s table, or a function that returns it (read from the cache on first
        use), else it is read from jieba's dictionary when first needed."""
        if state is None:
            self.user_words = sorted({w for w in user_words if w and not _HAS_PUNCT.search(w)})
        else:
            self.user_words = list(user_words)
        self._state = state
        self._tokenizer: jieba.Tokenizer | None = None
        self._tags = tags
        self._lock = threading.Lock()

    def initialize(self) -> Segmenter:
        with self._lock:
            if self._tokenizer is None:
                tok = jieba.Tokenizer()
                if self._state is not None:
                    tok.FREQ, tok.total = self._state
                    if isinstance(tok.FREQ, PrefixDict):
                        tok.FREQ.owner = tok
                    tok.initialized = True
                    self._state = None
                else:
                    tok.initialize()
                    for word in self.user_words:
                        tok.add_word(word)  # frequency suggested by jieba so the word stays whole
                self._core_words = frozenset(w for w in self.user_words)
                self._tokenizer = tok
        return self

    @property
    def tokenizer(self) -> jieba.Tokenizer:
        if self._tokenizer is None:
            self.initialize()
        assert self._tokenizer is not None
        return self._tokenizer

    def state(self) -> tuple[dict[str, int], int]:
        """jieba's prefix dictionary with the user words added (``FREQ``, ``total``), to cache."""
        tok = self.tokenizer
        if isinstance(tok.FREQ, PrefixDict):
            tok.FREQ = tok.FREQ.to_dict()
        return tok.FREQ, tok.total

    def cut(self, text: str) -> list[str]:
        return [w for w, _, _ in self.tokens(text).words]

    def tokens(self, text: str) -> Tokens:
        words = tuple(self.tokenizer.tokenize(text, HMM=True))
        return Tokens(words, frozenset(s for _, s, _ in words), frozenset(e for _, _, e in words))

    @property
    def tags(self) -> dict[str, str] | TagTable:
        """``dictionary_tags()`` (or the cache's ``TagTable`` of it), loaded on first use."""
        with self._lock:
            if not isinstance(self._tags, (dict, TagTable)):
                self._tags = self._tags() if callable(self._tags) else dictionary_tags()
            return self._tags

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """Each word of ``text`` (as ``tokens`` cuts it) with its part of speech: the dictionary's
        tag; ``USER`` for a word we added; for a word the HMM found (not in the dictionary), the
        tag of its last character (a Chinese compound takes its head's class: 开太高 → 高, an
        adjective), else ``USER``."""
        tags, freq = self.tags, self.tokenizer.FREQ
        out = []
        for word, _, _ in self.tokens(text).words:
            tag = tags.get(word)
            if tag is None:
                known = word in self._core_words or (freq.get(word) or 0) > 0
                tag = USER if known else tags.get(word[-1], USER)
            out.append((word, tag))
        return out

    def is_dictionary_word(self, word: str) -> bool:
        """A word jieba knows from its dictionary, not one its HMM invented or we added."""
        tok = self.tokenizer
        return len(word) > 1 and word not in self._core_words and tok.FREQ.get(word, 0) > 0

    def cuts_word(self, tokens: Tokens, start: int, end: int) -> bool:
        """True when [start, end) splits a dictionary word at either edge."""
        for word, s, e in tokens.words:
            if (s < start < e or s < end < e) and self.is_dictionary_word(word):
                return True
        return False
