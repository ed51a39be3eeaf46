"""The engine: the flags of utterances, the first component of ``analyzer.pipeline``.

Pipeline for one utterance: normalise → match (characters, then checks using jieba tokens) →
flags with offsets mapped back to the original text → rewrites that no longer trigger.
With ``model=True`` the lexicon's flags are then fused with the fine-tuned classifier
(``analyzer/fusion.py``: calibrated confidence, model-only hits, the baseline as a cheap gate).
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from pathlib import Path

from .compiled import compile_lexicon
from .lexicon import Lexicon
from .matcher import Match, Matcher, Rejection
from .model import AGENT, Flag, Transcript
from .normalize import Normalized, detect_script, normalize
from .rewrite import apply, candidate_suggestions
from .segment import Segmenter

# Characters on each side of a rewritten span that are matched again to check the rewrite.
_RECHECK_MARGIN = 40
# At most this many distinct re-check windows per utterance; an utterance packed with more flags
# than that keeps the handbook's order of suggestions for the rest, unchecked. Identical windows
# (a trigger repeated over and over) are checked once.
_RECHECK_BUDGET = 120


class Engine:
    """Built once (the lexicon compiled, jieba loaded), then shared; safe to call from threads."""

    def __init__(self, extra_lexicons: Iterable[str | Path] = (), model: bool = False, *,
                 model_dir: str | Path | None = None, cache_dir: str | Path | None = None, threads: int = 0,
                 lexicon_cache: bool = True):
        # the lexicon, its automaton and jieba's dictionary, from the on-disk cache when current
        compiled = compile_lexicon(tuple(extra_lexicons), cache_dir, lexicon_cache)
        self.lexicon: Lexicon = compiled.lexicon
        self.segmenter: Segmenter = compiled.segmenter
        self.matcher: Matcher = compiled.matcher
        self.model = model
        self.model_dir, self.cache_dir, self.threads = model_dir, cache_dir, threads
        self.fuser = None  # analyzer.fusion.Fuser, loaded by initialize() when model=True
        self.rewriter = None  # analyzer.rewriter.Rewriter, built on first use

    def initialize(self) -> Engine:
        """Load everything now (jieba, OpenCC, the classifier when ``model``) so the first request
        is as fast as the rest. With ``model=True`` and no usable model this raises
        ``models.tagger.ModelUnavailable`` (a one-line message)."""
        self.segmenter.initialize()
        if self.model and self.fuser is None:
            from .fusion import Fuser

            self.fuser = Fuser.load(self.lexicon, self.segmenter, self.model_dir, self.cache_dir,
                                    threads=self.threads)
        self.check("你必須先把資料傳過來")
        return self

    def lexicon_only(self) -> Engine:
        """A twin that answers from the lexicon alone, sharing this engine's lexicon, matcher and
        jieba dictionary (nothing is loaded twice)."""
        twin = copy.copy(self)
        twin.model, twin.fuser = False, None
        return twin

    # -- one utterance -------------------------------------------------------------------
    def matches(self, text: str, rejected: list[Rejection] | None = None,
                norm: Normalized | None = None) -> tuple[Normalized, list[Match]]:
        """The normalised text (``norm`` when the caller has it already) and its trigger matches;
        ``rejected`` collects benign uses."""
        norm = norm or normalize(text)
        return norm, self.matcher.find(norm.text, rejected)

    def check(self, text: str, role: str = AGENT, script: str | None = None) -> list[Flag]:
        """Flags for one utterance; customer turns are never flagged."""
        if role != AGENT or not text:
            return []
        return self.check_many([text], script=script)[0]

    def lexicon_check(self, text: str, script: str | None = None,
                      norm: Normalized | None = None) -> tuple[list[Flag], set[str]]:
        """The lexicon's flags, and the categories whose trigger words it found only in a use its
        checks call benign (negated, quoted, reported, followed by a next step), in one pass."""
        rejected: list[Rejection] = []
        norm, found = self.matches(text, rejected, norm)
        benign = {r.entry.category for r in rejected}
        if not found:
            return [], benign
        script = script or detect_script(text)
        rechecked: dict[tuple[str, int, int], bool] = {}  # this utterance's re-check windows
        return [self._flag(m, norm, script, rechecked) for m in found], benign

    def _lexicon_flags(self, text: str, script: str | None) -> list[Flag]:
        return self.lexicon_check(text, script)[0]

    def check_many(self, texts: Sequence[str], roles: Sequence[str] | None = None,
                   script: str | None = None, norms: Sequence[Normalized | None] | None = None) -> list[list[Flag]]:
        """Flags for many utterances at once (the classifier runs in batches); same results as
        ``check`` on each. Each agent utterance is normalised once (or ``norms`` given by the
        caller are used), and the matcher and the classifier read that one normalised text."""
        roles = roles or [AGENT] * len(texts)
        todo = [i for i, (t, r) in enumerate(zip(texts, roles)) if r == AGENT and t]
        out: list[list[Flag]] = [[] for _ in texts]
        norm_of = {i: (norms[i] if norms is not None and norms[i] is not None else normalize(texts[i])) for i in todo}
        checked = [self.lexicon_check(texts[i], script, norm_of[i]) for i in todo]
        lexicon = [flags for flags, _ in checked]
        if not self.model:
            for i, flags in zip(todo, lexicon):
                out[i] = flags
        else:
            if self.fuser is None:
                self.initialize()
            fused = self.fuser.fuse_many([texts[i] for i in todo], lexicon, [script] * len(todo),
                                         [benign for _, benign in checked], [norm_of[i] for i in todo])
            for i, flags in zip(todo, fused):
                out[i] = flags
        self._rewrite([texts[i] for i in todo], [out[i] for i in todo], script)
        return out

    def _rewrite(self, texts: Sequence[str], flags: Sequence[list[Flag]], script: str | None) -> None:
        """One checked rewrite per flagged utterance (``analyzer.rewriter``), set on each of its
        flags with the promise it makes; ``""`` where no candidate passes. With the model on, a
        candidate the model still flags is dropped too (the next one is tried)."""
        from .rewriter import Rewriter, promise_of

        if self.rewriter is None:
            self.rewriter = Rewriter(self)
        # the lexicon's engine takes the first rewrite; the model may refuse it and want the next,
        # asked for only then (one model pass per round over the utterances still without one)
        limit = 3 if self.model and self.fuser is not None else 1
        work = [(t, f) for t, f in zip(texts, flags) if f]
        options = [self.rewriter.variants(t, f, script, limit) for t, f in work]
        best = [""] * len(work)
        todo = list(range(len(work)))
        while todo:
            tried = {i: r for i in todo if (r := next(options[i], None)) is not None}
            clean = self._model_clean(list(dict.fromkeys(tried.values())))
            for i, r in tried.items():
                if clean.get(r, True):
                    best[i] = r
            todo = [i for i, r in tried.items() if not clean.get(r, True)]
        for (text, found), rewrite in zip(work, best):
            promise = promise_of(text, rewrite, self.rewriter.t)
            for f in found:
                f.rewrite, f.promise = rewrite, promise

    def _model_clean(self, rewrites: list[str]) -> dict[str, bool]:
        """Per rewrite, whether the model leaves it unflagged (all clean without the model)."""
        if not rewrites or not self.model or self.fuser is None:
            return {}
        benign = [self.lexicon_check(r)[1] for r in rewrites]
        rows = self.fuser.probabilities(rewrites, [0] * len(rewrites))
        return {r: row is None or not self.fuser.policy.decide([], row, harmless)
                for r, row, harmless in zip(rewrites, rows, benign)}

    def _flag(self, m: Match, norm: Normalized, script: str, rechecked: dict[tuple[str, int, int], bool]) -> Flag:
        start, end = norm.to_original(m.start, m.end)
        original = norm.original
        good, retriggering = [], []
        for suggestion in candidate_suggestions(m, norm, script):
            rewritten = apply(original, start, end, suggestion)
            again = self._triggers_within(rewritten, start, start + len(suggestion), rechecked)
            (retriggering if again else good).append(suggestion)
        suggestions = good or retriggering  # the handbook's advice; the rewrite is analyzer.rewriter's
        rewrite = apply(original, start, end, suggestions[0])  # a catalyst takes the particle along
        shown = self.lexicon.checks.shown_end(norm.text, m.start, m.end)  # sentence-final particles left out
        start, end = norm.to_original(m.start, shown)
        return Flag(
            start=start, end=end, text=original[start:end], category=m.entry.category,
            confidence=m.entry.confidence, source="lexicon", rule=m.entry.id,
            principle=m.entry.principle, suggestions=suggestions, rewrite=rewrite,
        )

    def _triggers_within(self, text: str, start: int, stop: int, rechecked: dict[tuple[str, int, int], bool]) -> bool:
        """Whether ``text`` has a trigger overlapping original offsets [start, stop).

        Only a window around the span is matched again (the checks look at most a clause
        around a candidate), so checking every suggestion stays linear in the utterance length;
        ``rechecked`` remembers the windows of this utterance seen so far (and bounds how many).
        """
        lo, hi = max(0, start - _RECHECK_MARGIN), min(len(text), stop + _RECHECK_MARGIN)
        key = (text[lo:hi], start - lo, stop - lo)
        if key not in rechecked:
            if len(rechecked) >= _RECHECK_BUDGET:
                return False
            norm, found = self.matches(key[0])
            spans = (norm.to_original(x.start, x.end) for x in found)
            rechecked[key] = any(key[1] < b and a < key[2] for a, b in spans)
        return rechecked[key]

    # -- a transcript --------------------------------------------------------------------
    def analyze(self, transcript: Transcript) -> Transcript:
        """Fill in the flags of every agent turn (in place, the classifier in one batch) and
        return the transcript. The rest of a call's analysis is ``analyzer.pipeline``'s."""
        transcript.script = detect_script([t.text for t in transcript.turns])
        for turn in transcript.turns:  # once per turn: the matcher, the classifier, the scorecard read it
            turn.normalized = normalize(turn.text)
        flags = self.check_many([t.text for t in transcript.turns], [t.role for t in transcript.turns],
                                transcript.script, [t.normalized for t in transcript.turns])
        for turn, found in zip(transcript.turns, flags):
            turn.flags = found
        return transcript
