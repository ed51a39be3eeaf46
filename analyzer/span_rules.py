"""Span discipline for model-only flags (issue #12, item 3) and the benign contexts where the model
may veto a lexicon flag (item 4): the rules of
``corpora/lexicon/model_spans.yaml`` a span the classifier found on its own must pass, with the
lexicon's own benign checks (quotation, reported speech, negation, the agent acting next) from
``corpora/lexicon/checks.yaml``. ``SpanRules.reject(text, start, end, category)`` names the rule
a span breaks, or None; offsets are into the normalised text."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .lexicon import Checks
from .normalize import normalize
from .resources import MODEL_SPANS_FILE, read_yaml


@dataclass(frozen=True)
class SpanRules:
    fillers: frozenset[str]
    marks: frozenset[str]
    privacy_topics: tuple[str, ...]
    privacy_window: int
    blame_subjects: tuple[str, ...]
    blame_window: int
    checks: Checks
    third_parties: tuple[str, ...] = ()
    emoticon: re.Pattern[str] = re.compile(r"\[[^\[\]]{1,6}\]")
    veto_contexts: tuple[tuple[str, re.Pattern[str]], ...] = ()
    veto_reach: int = 10
    model_only_min: float = 0.0
    veto_examples: tuple[str, ...] = ()
    veto_counter_examples: tuple[str, ...] = ()
    examples: tuple[dict[str, Any], ...] = ()
    counter_examples: tuple[dict[str, Any], ...] = ()
    leading: frozenset[str] = frozenset()  # dropped from a span's start before a person
    persons: tuple[str, ...] = ()
    trim_examples: tuple[dict[str, Any], ...] = ()

    @classmethod
    def load(cls, checks: Checks, path=MODEL_SPANS_FILE) -> SpanRules:
        raw = read_yaml(path.read_text(encoding="utf-8"))
        norm = lambda words: tuple(normalize(w).text for w in words)  # noqa: E731
        return cls(
            fillers=frozenset(norm(raw["filler_words"])), marks=frozenset(raw["filler_marks"]),
            privacy_topics=norm(raw["privacy_topics"]), privacy_window=int(raw["privacy_window"]),
            blame_subjects=norm(raw["blame_subjects"]), blame_window=int(raw["blame_window"]),
            checks=checks, third_parties=norm(raw.get("third_parties") or ()), emoticon=re.compile(raw["emoticon_code"]),
            veto_contexts=tuple((name, re.compile(rx)) for name, rx in (raw.get("veto_contexts") or {}).items()),
            veto_reach=int(raw.get("veto_reach", 10)),
            model_only_min=float(raw.get("model_only_min", 0.0)),
            veto_examples=tuple(raw.get("veto_examples") or ()),
            veto_counter_examples=tuple(raw.get("veto_counter_examples") or ()),
            examples=tuple(raw.get("examples") or ()),
            counter_examples=tuple(raw.get("counter_examples") or ()),
            leading=frozenset(norm(raw.get("span_leading") or ())), persons=norm(raw.get("span_persons") or ()),
            trim_examples=tuple(raw.get("trim_examples") or ()),
        )

    def trim(self, text: str, start: int, end: int, words) -> tuple[int, int]:
        """A model-only span's edges over the normalised ``text``: leading ``span_leading`` words
        dropped while a ``span_persons`` word follows (是你自己选错了 → 你自己选错了), then the
        trailing particles (checks.yaml) dropped; at least 2 characters stay. ``words``: the
        text's (word, start, end) from the segmenter."""
        inside = [(w, ws) for w, ws, we in words if start <= ws and we <= end]
        i = 0
        while (i + 1 < len(inside) and inside[i][0] in self.leading and end - inside[i + 1][1] >= 2
               and any(text.startswith(p, inside[i + 1][1]) for p in self.persons)):
            i += 1
        if i:
            start = inside[i][1]
        return start, self.checks.shown_end(text, start, end)

    def only_fillers(self, words: str) -> bool:
        """Whether ``words`` is one character or nothing but filler words and marks."""
        core = "".join(ch for ch in self.emoticon.sub("", words) if ch not in self.marks)
        if len(core) <= 1:
            return True
        # greedy longest-first cover of the span by filler words
        longest = max(map(len, self.fillers))
        i = 0
        while i < len(core):
            for n in range(min(longest, len(core) - i), 0, -1):
                if core[i:i + n] in self.fillers:
                    i += n
                    break
            else:
                return False
        return True

    def clause(self, text: str, start: int, end: int, reach: int | None = None) -> str:
        """The clause of the normalised ``text`` that holds [start, end), at most ``reach``
        characters either side of it when given."""
        breaks = set(self.checks.clause_breaks) - {" "}
        j = end
        while j < len(text) and text[j] not in breaks and (reach is None or j < end + reach):
            j += 1
        if j < len(text) and text[j] in "?？":
            j += 1  # a question keeps its mark
        i = self._clause_start(text, start)
        if reach is not None:
            i = max(i, start - reach)
        return text[i:j].strip()

    def veto_context(self, clause: str) -> str | None:
        """The name of the benign context ``clause`` is in (where the model may veto a lexicon
        flag), or None."""
        return next((name for name, rx in self.veto_contexts if rx.search(clause)), None)

    def _clause_start(self, text: str, pos: int) -> int:
        """Back from ``pos`` to a clause break, or to the end of a condition closed by 的话 (如果商家
        不同意的话客服没办法…: the no after it is not in the condition)."""
        breaks = set(self.checks.clause_breaks) - {" "}
        i = pos
        while i > 0 and text[i - 1] not in breaks and not (i >= 2 and text[i - 2:i] == "的话"):
            i -= 1
        return i

    def reject(self, text: str, start: int, end: int, category: str) -> str | None:
        """The name of the rule the span breaks, or None when it may be shown."""
        words = text[start:end]
        if self.only_fillers(words):
            return "fillers"
        for o, c in self.checks.quote_pairs:
            left, right = text.rfind(o, 0, start), text.find(c, end)
            if left >= 0 and right >= 0 and text.find(c, left + 1) >= end:
                return "quoted"
        before = text[self._clause_start(text, start):start].rstrip()
        if before.endswith(self.checks.negators):
            return "negated"
        # a reporting verb before the span, or one the span opens with (他说不清楚)
        lead = text[self._clause_start(text, start):min(end, start + 2)]
        if any(marker in lead for marker in self.checks.reported_speech):
            return "reported"
        if category in ("refusal", "unknown"):
            acts = self.checks.followers.get("agent_acts")
            if acts is not None and acts.search(text[end:end + self.checks.follow_window]):
                return "agent_acts"
            opening = text[max(0, start - 4):min(end, start + 3)]
            if any(p in opening for p in self.third_parties):
                return "third_party"
            if dict(self.veto_contexts).get("question") is not None and \
                    dict(self.veto_contexts)["question"].search(self.clause(text, start, end, self.veto_reach)):
                return "question"
        if category == "privacy":
            near = text[max(0, start - self.privacy_window):end + self.privacy_window]
            if not any(t in near for t in self.privacy_topics):
                return "privacy_topic"
        if category == "blame":
            near = text[max(0, start - self.blame_window):end]
            if not any(s in near for s in self.blame_subjects):
                return "blame_subject"
        return None


@lru_cache(maxsize=1)
def default_rules() -> SpanRules:
    from .lexicon import load_lexicon

    return SpanRules.load(load_lexicon(()).checks)
