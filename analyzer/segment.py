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


class Segmenter:
    """Owns one jieba tokenizer; ``initialize()`` loads it eagerly (the service does at start-up)."""

    def __init__(self, user_words: Iterable[str] = (), state: tuple[dict[str, int], int] | None = None):
        """``state``: a prefix dictionary (FREQ, total) built before by a segmenter whose
        ``user_words`` were exactly ``user_words`` (so they are taken as they are)."""
        if state is None:
            self.user_words = sorted({w for w in user_words if w and not _HAS_PUNCT.search(w)})
        else:
            self.user_words = list(user_words)
        self._state = state
        self._tokenizer: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    def initialize(self) -> Segmenter:
        with self._lock:
            if self._tokenizer is None:
                tok = jieba.Tokenizer()
                if self._state is not None:
                    tok.FREQ, tok.total = self._state
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
        return tok.FREQ, tok.total

    def cut(self, text: str) -> list[str]:
        return [w for w, _, _ in self.tokens(text).words]

    def tokens(self, text: str) -> Tokens:
        words = tuple(self.tokenizer.tokenize(text, HMM=True))
        return Tokens(words, frozenset(s for _, s, _ in words), frozenset(e for _, _, e in words))

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
