"""Clause-level rewrites by category (issue #14): one checked rewrite per utterance.

The lexicon's catalysts are advice (``Flag.suggestions``); the rewrite shown to the agent
(``Flag.rewrite``) is built here, from the transformations kept as data in
``corpora/rewrites/transforms.yaml``:

1. Each flag's trigger is widened to its clause (punctuation; in ASR text without punctuation,
   the trigger and the particles after it, on jieba word boundaries). The category's rules, in
   order, propose new text for that clause: a regular expression whose match is replaced while the
   rest of the clause (the slot, the object, the facts) is kept, or, when the trigger stands alone
   in its clause, a phrase in place of the whole clause; optionally a next step after it.
2. Several triggers in one utterance are rewritten one after the other (last first, so earlier
   offsets stay valid) into ONE rewrite; triggers the result still holds are handled in a further
   round.
3. Every candidate is checked, and dropped when it fails: it must not cut a jieba word; it must
   keep every content word of the original outside the triggers (jieba parts of speech: nouns,
   numbers, names, ids); no dangling request (请您，), no doubled punctuation, no stacked phrases,
   length within bounds; the lexicon (and, in ``Engine``, the model when it is on) must flag
   nothing in the result. When no candidate passes, there is no rewrite (``""``) and the
   handbook's catalysts remain the advice.
4. ``promise_of`` says what a rewrite commits the agent to (refund, compensation, escalation,
   callback) that the original did not: ``"none"`` is a safe default, anything else needs the
   agent to confirm it.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .lexicon import SLOT
from .model import Flag, HuashuError
from .normalize import Normalized, detect_script, normalize
from .resources import TRANSFORMS_FILE, read_yaml

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Engine

NO_PROMISE = "none"
_BREAKS = set("，,。!！?？;；\n ～~…")
_TRAILING = "吧啊呢呀啦了哦哈嘛的哟噢~～ "  # particles a rewrite may drop from the end of a slot
_SENTENCE_END = set("。!！?？\n")
_TEMPLATE = re.compile(r"\{(\w+)\}")
# tokens after which a clause may go on without punctuation (ASR): the rewrite inserts "，"
_CONTINUES = ("那个", "这个", "所以", "因为", "但是", "不过", "你", "您", "我", "我们", "现在", "这", "那",
              "然后", "而且", "要不")


class TransformError(HuashuError):
    pass


@dataclass(frozen=True)
class RuleExample:
    text: str
    rewrites: tuple[str, ...] = ()  # acceptable outputs (examples)
    span: str | None = None  # the trigger, for a text the lexicon alone does not flag
    never: tuple[str, ...] = ()  # outputs that must not appear (counter-examples)


@dataclass
class Rule:
    id: str
    category: str
    kind: str  # "regex" or "clause"
    find: re.Pattern[str] | None
    to: list[str]
    catalysts: bool = False
    then: list[str] = field(default_factory=list)
    tail: tuple[re.Pattern[str], str] | None = None
    sep_before: bool = False
    keep_facts: bool = False  # clause: only when the trigger holds no content word
    when: re.Pattern[str] | None = None  # only for triggers whose (normalised) text this matches
    after_topic: bool = False  # clause: words before the trigger are kept as its topic (X，phrase)
    prefix: str = ""  # regex: put at the clause start (after fillers)
    subject: re.Pattern[str] | None = None  # clause: words before the trigger replaced with it
    swallow: re.Pattern[str] | None = None  # clause: words after the trigger replaced with it
    then_at: str = "clause"  # where `then` goes: after the clause, or at the end of the sentence
    examples: list[RuleExample] = field(default_factory=list)
    counter_examples: list[RuleExample] = field(default_factory=list)


@dataclass
class Checks:
    dangling: re.Pattern[str]
    doubled_punct: re.Pattern[str]
    stacked: list[re.Pattern[str]]
    max_added: int
    min_ratio: float
    content_pos: frozenset[str]
    not_content: frozenset[str]


@dataclass
class Transforms:
    rules: dict[str, list[Rule]]
    particles: re.Pattern[str]
    fillers: re.Pattern[str]
    fillers_prefix: re.Pattern[str]  # the fillers at a clause start
    vocatives: re.Pattern[str]
    checks: Checks
    promises: dict[str, list[str]]
    file: str


def _regex(raw: Any, where: str) -> re.Pattern[str]:
    try:
        return re.compile(str(raw))
    except re.error as exc:
        raise TransformError(f"{where}: 正则错误 / bad regex: {exc}") from None


def _parse_rule(raw: Any, category: str, where: str) -> Rule:
    if not isinstance(raw, dict) or "id" not in raw:
        raise TransformError(f"{where}: 规则须为含 id 的映射 / a rule is a mapping with an id")
    where = f"{where}: {raw['id']}"
    kind = raw.get("kind")
    if kind not in ("regex", "clause"):
        raise TransformError(f"{where}: kind 须为 regex 或 clause / kind must be regex or clause")
    if kind == "regex" and "find" not in raw:
        raise TransformError(f"{where}: regex 规则须有 find / a regex rule needs find")
    to = [str(t) for t in raw.get("to") or []]
    if not to and not raw.get("catalysts"):
        raise TransformError(f"{where}: 没有改写 / no replacement (to)")
    tail = raw.get("tail")
    examples = [RuleExample(str(e["text"]), tuple(e.get("rewrite") or ()), span=e.get("span")) for e in raw.get("examples") or []]
    counters = [RuleExample(str(e["text"]), never=tuple(e.get("not") or ())) for e in raw.get("counter_examples") or []]
    if len(examples) < 1 or len(counters) < 1 or any(not e.rewrites for e in examples):
        raise TransformError(f"{where}: 至少 1 个例句（含可接受改写）和 1 个反例 / needs an example with "
                             "acceptable rewrites and a counter-example")
    return Rule(
        id=str(raw["id"]), category=category, kind=kind,
        find=_regex(raw["find"], where) if kind == "regex" else None, to=to,
        catalysts=bool(raw.get("catalysts")), then=[str(t) for t in raw.get("then") or []],
        tail=(_regex(tail[0], where), str(tail[1])) if tail else None,
        sep_before=bool(raw.get("sep_before")), keep_facts=bool(raw.get("keep_facts")),
        when=_regex(raw["when"], where) if raw.get("when") else None, after_topic=bool(raw.get("after_topic")),
        prefix=str(raw.get("prefix") or ""), then_at=str(raw.get("then_at") or "clause"),
        subject=_regex(raw["subject"], where) if raw.get("subject") else None,
        swallow=_regex(raw["swallow"], where) if raw.get("swallow") else None, examples=examples, counter_examples=counters,
    )


# The whole-utterance rewrite re-checks every candidate with the engine, so its cost grows with the
# utterance and its triggers; past these bounds (far beyond one agent turn: /v1/suggest accepts
# 2,000 characters) no rewrite is offered and the catalysts' advice stays
# (tests/robustness/test_load_suggest.py holds the worst case to its CPU budget).
MAX_CHARS = 300
MAX_FLAGS = 6


@lru_cache(maxsize=4)
def load_transforms(path: str | None = None) -> Transforms:
    """The transformations file (default ``corpora/rewrites/transforms.yaml``)."""
    file = Path(path) if path else TRANSFORMS_FILE
    try:
        data = read_yaml(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TransformError(f"{file}: 无法读取 / cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TransformError(f"{file}{':' + str(mark.line + 1) if mark else ''}: YAML 格式错误 / invalid YAML") from None
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise TransformError(f"{file}: 须含 categories 映射 / needs a 'categories' mapping")
    c = data.get("checks") or {}
    checks = Checks(
        dangling=_regex(c.get("dangling", "(?!)"), f"{file}: checks.dangling"),
        doubled_punct=_regex(c.get("doubled_punct", "(?!)"), f"{file}: checks.doubled_punct"),
        stacked=[_regex(s, f"{file}: checks.stacked") for s in c.get("stacked") or []],
        max_added=int(c.get("max_added", 40)), min_ratio=float(c.get("min_ratio", 0.5)),
        content_pos=frozenset(c.get("content_pos") or ()), not_content=frozenset(c.get("not_content") or ()),
    )
    rules = {cat: [_parse_rule(r, cat, f"{file}: {cat}") for r in raw or []]
             for cat, raw in data["categories"].items()}
    return Transforms(
        rules=rules, particles=_regex(data.get("particles", ""), f"{file}: particles"),
        fillers=_regex(data.get("fillers", "^$"), f"{file}: fillers"),
        fillers_prefix=_regex(data.get("openers", ""), f"{file}: openers"),
        vocatives=_regex(data.get("vocatives", "(?!)"), f"{file}: vocatives"), checks=checks,
        promises={k: [normalize(w).text for w in v] for k, v in (data.get("promises") or {}).items()},
        file=str(file),
    )


def promise_of(original: str, rewrite: str, transforms: Transforms | None = None) -> str:
    """What ``rewrite`` commits the agent to that ``original`` did not (``"none"``: a safe default)."""
    if not rewrite:
        return NO_PROMISE
    t = transforms or load_transforms()
    before, after = normalize(original).text, normalize(rewrite).text
    for kind, words in t.promises.items():
        if any(w in after and w not in before for w in words):
            return kind
    return NO_PROMISE


@dataclass
class Candidate:
    text: str  # the whole utterance after this change
    start: int  # the new text's region in ``text`` (original offsets)
    end: int
    rule: str


class Rewriter:
    """Builds the one rewrite of an utterance; shared by threads (the parts of speech come from
    the engine's segmenter, ``Segmenter.tagged``)."""

    def __init__(self, engine: Engine, transforms: Transforms | None = None):
        self.engine = engine
        self.t = transforms or load_transforms()

    # -- content words -------------------------------------------------------------------
    def content_words(self, text: str, spans: Sequence[tuple[int, int]] = ()) -> list[str]:
        """The content words of ``text`` (normalised) outside ``spans`` (original offsets)."""
        norm = normalize(text)
        out: list[str] = []
        pos = 0
        for word, flag in self.engine.segmenter.tagged(norm.text):
            s, e = pos, pos + len(word)
            pos = e
            if not word.strip() or word in self.t.checks.not_content:
                continue
            content = flag in self.t.checks.content_pos or any(ch.isdigit() for ch in word) or \
                (word.isascii() and word.isalnum())
            if not content:
                continue
            os_, oe = norm.to_original(s, e)
            if any(a < oe and os_ < b for a, b in spans):
                continue
            if word not in out:
                out.append(word)
        return out

    def slot_words(self, text: str) -> list[str]:
        """The slots of the lexicon's matches (你必须【先交押金】), kept whole by every rewrite."""
        norm, found = self.engine.matches(text)
        out = []
        for m in found:
            if m.slot and m.slot[0] < m.slot[1]:
                words = norm.text[m.slot[0]:m.slot[1]].rstrip(_TRAILING)
                if words:
                    out.append(words)
        return out

    # -- one utterance -------------------------------------------------------------------
    def rewrites(self, text: str, flags: Sequence[Flag], script: str | None = None, limit: int = 3) -> list[str]:
        """Up to ``limit`` whole-utterance rewrites handling every flag, best first, each passing
        the checks (the lexicon's; the model's is the engine's). Empty when none passes."""
        return list(self.variants(text, flags, script, limit))

    def variants(self, text: str, flags: Sequence[Flag], script: str | None = None, limit: int = 3):
        """``rewrites``, built one at a time as they are asked for (the engine asks for the next
        only when the model refuses the last)."""
        if not flags or len(text) > MAX_CHARS or len(flags) > MAX_FLAGS:
            return  # beyond what an agent says in one turn: the advice stays, no rewrite
        script = script or detect_script(text)
        # a model-only flag's span is where the classifier looked, not a matched phrase: the words
        # inside it are kept too (a rewrite may not drop a clause the span happened to cover)
        spans = [(f.start, f.end) for f in flags if f.source != "model"]
        keep = self.content_words(text, spans) + self.slot_words(text)
        seen: set[str] = set()
        for variant in range(limit):
            done = self._one(text, flags, script, keep, variant)
            if done and done not in seen:
                seen.add(done)
                yield done

    def _one(self, text: str, flags: Sequence[Flag], script: str, keep: list[str], variant: int) -> str | None:
        cur = text
        todo = sorted(((f.start, f.end, f.category, f.rule) for f in flags), reverse=True)
        for _round in range(3):
            for start, end, category, rule in todo:
                if cur[start:end] == "":
                    continue
                choice = None
                others = [(s, e) for s, e, _, _ in todo if (s, e) != (start, end) and e <= len(cur)]
                pending = [cur[s:e] for s, e in others if s < start]
                passing = [c for c in self.candidates(cur, start, end, category, rule, script, others)
                           if self.passes(text, c, keep, pending)]
                if passing:
                    choice = passing[min(variant, len(passing) - 1)]
                if choice is None:
                    return None
                cur = choice.text
            norm, found = self.engine.matches(cur)
            if not found:
                return cur if self.final_ok(text, cur, keep) else None
            todo = []
            for m in sorted(found, key=lambda m: -m.start):
                s, e = norm.to_original(m.start, m.end)
                todo.append((s, e, m.entry.category, m.entry.id))
        return None

    # -- candidates ----------------------------------------------------------------------
    def candidates(self, text: str, start: int, end: int, category: str, rule_id: str, script: str,
                   others: Sequence[tuple[int, int]] = ()) -> list[Candidate]:
        """Every rewrite of the clause holding ``text[start:end]`` the category's rules propose.
        ``others``: the other triggers' spans; in text without punctuation (ASR) a trigger ends the
        clause of the one after it."""
        norm = normalize(text)
        nt = norm.text
        ns, ne = _to_norm(norm, start, end)
        if ns >= ne:
            return []
        cs, ce = ns, ne
        while cs > 0 and nt[cs - 1] not in _BREAKS:
            cs -= 1
        while ce < len(nt) and nt[ce] not in _BREAKS:
            ce += 1
        for a, b in others:
            oa, ob = _to_norm(norm, a, b)
            if cs <= oa and ob <= ns:  # an earlier trigger in this clause: the clause starts after it
                cs = self.t.particles.match(nt, ob, ns).end()
            elif ne <= oa and oa < ce:
                ce = oa
        tokens = self.engine.segmenter.tokens(nt)
        bounds = tokens.starts | tokens.ends | {0, len(nt)}
        sep = _separator(text)
        out: list[Candidate] = []
        entry = self.engine.lexicon.by_id().get(rule_id) if self.engine.lexicon else None
        for rule in self.t.rules.get(category, []):
            if rule.when is not None and not rule.when.search(nt[ns:ne]):
                continue
            if rule.kind == "regex":
                for m in rule.find.finditer(nt, cs, ce):
                    if not (m.start() < ne and ns < m.end()) or m.start() == m.end():
                        continue
                    if self.engine.segmenter.cuts_word(tokens, m.start(), m.end()):
                        continue  # never inside a dictionary word (jieba)
                    for template in rule.to:
                        out += self._regex_candidate(norm, m, template, rule, script, sep, cs, ce)
            else:
                out += self._clause_candidates(norm, ns, ne, cs, ce, rule, entry, script, sep, bounds, tokens)
        return out

    def _fill(self, norm: Normalized, m: re.Match[str], template: str, script: str, sep: str) -> str:
        parts, pos = [], 0
        for g in _TEMPLATE.finditer(template):
            parts.append(_lit(template[pos:g.start()], script, sep))
            name = g.group(1)
            s, e = m.span() if name == "match" else m.span(name) if name in m.groupdict() else (-1, -1)
            parts.append(_orig(norm, s, e) if s >= 0 else "")
            pos = g.end()
        parts.append(_lit(template[pos:], script, sep))
        return "".join(parts)

    def _regex_candidate(self, norm: Normalized, m: re.Match[str], template: str, rule: Rule, script: str,
                         sep: str, cs: int, ce: int) -> list[Candidate]:
        nt = norm.text
        new = self._fill(norm, m, template, script, sep)
        before = nt[cs:m.start()]
        if rule.sep_before and before and not self.t.fillers.match(before):
            new = sep + new
        pieces = [(m.start(), m.end(), new)]
        if rule.prefix:
            lead = self.t.fillers_prefix.match(nt, cs, m.start()).end()
            pieces.append((lead, lead, _lit(rule.prefix, script, sep)))
        after = m.end()
        if m.end() < ce and not self.t.particles.fullmatch(nt[m.end():m.end() + 1]) and \
                any(nt.startswith(w, m.end()) for w in ("所以", "因此", "导致", "才", "然后")):
            pieces[0] = (m.start(), m.end(), new + sep)
        pieces.sort(key=lambda p: (p[0], p[1]))
        if rule.tail:
            rx, repl = rule.tail
            t = rx.search(nt, after, ce + 1 if ce < len(nt) else ce)
            if t and t.end() >= ce:
                pieces.append((t.start(), t.end(), _lit(repl, script, sep)))
                ce = max(ce, t.end())
        outs = []
        thens = rule.then or [""]
        for then in thens:
            extra = list(pieces)
            if then:
                at = ce
                if rule.then_at == "sentence":  # after the sentence's last clause: the facts first
                    while at < len(nt) and nt[at] not in _SENTENCE_END:
                        at += 1
                    while at > ce and nt[at - 1] in _BREAKS:
                        at -= 1
                extra.append((at, at, sep + _lit(then, script, sep)))
            text, region = _splice(norm, extra)
            outs.append(Candidate(text, region[0], region[1], rule.id))
        return outs

    def _clause_candidates(self, norm: Normalized, ns: int, ne: int, cs: int, ce: int, rule: Rule, entry,
                           script: str, sep: str, bounds: set[int], tokens) -> list[Candidate]:
        nt = norm.text
        lead = ""
        if rule.subject is not None and cs < ns and rule.subject.fullmatch(nt[cs:ns]):
            ns = cs  # 我们这边【没办法】: the subject goes with the trigger
        elif not self.t.fillers.match(nt[cs:ns]):
            if not rule.after_topic or ns not in bounds:
                return []
            lead = sep  # the words before the trigger stay, as its topic
        if rule.keep_facts and self.content_words(nt[ns:ne]):
            return []  # the trigger itself states a fact (我不能给您退款): not replaced wholesale
        pe = self.t.particles.match(nt, ne, ce).end()
        if rule.swallow is not None:  # words after the trigger that belong to it (做不了【这个】)
            pe = self.t.particles.match(nt, rule.swallow.match(nt, pe, ce).end() if rule.swallow.match(nt, pe, ce) else pe, ce).end()
        voc = self.t.vocatives.match(nt, pe, ce)
        add_sep = ""
        if voc and voc.end() == ce:
            pass  # 亲 / 女士 after the trigger: kept
        elif pe < ce:  # the clause goes on without punctuation (ASR): only on a word boundary
            asr = not any(ch in _BREAKS for ch in nt.strip())
            if pe not in bounds or self.engine.segmenter.cuts_word(tokens, ns, pe) or \
                    not (asr or any(nt.startswith(w, pe) for w in _CONTINUES)):
                return []
            add_sep = sep
        phrases = []
        if rule.catalysts and entry is not None and not any(p.tail_slot for p in entry.patterns):
            phrases += [c for c in entry.catalysts if SLOT not in c]  # a slot's catalysts need the slot
        phrases += rule.to
        outs = []
        for phrase in dict.fromkeys(phrases):
            new = lead + _lit(phrase, script, sep) + add_sep
            text, region = _splice(norm, [(ns, pe, new)])
            outs.append(Candidate(text, region[0], region[1], rule.id))
        return outs

    # -- checks --------------------------------------------------------------------------
    def problems(self, original: str, rewrite: str, keep: Sequence[str] | None = None) -> list[str]:
        """Everything the automatic checks find wrong with ``rewrite`` of ``original`` (no engine
        re-run: that is ``passes``/``final_ok``)."""
        c = self.t.checks
        out = []
        if keep is None:
            keep = []
        new = normalize(rewrite).text
        old = normalize(original).text
        missing = [w for w in keep if w not in new]
        if missing:
            out.append("content: " + "、".join(missing))
        if len(c.dangling.findall(new)) > len(c.dangling.findall(old)):
            out.append("dangling request")
        if len(c.doubled_punct.findall(new)) > len(c.doubled_punct.findall(old)):
            out.append("doubled punctuation")
        for rx in c.stacked:
            if len(rx.findall(new)) > len(rx.findall(old)):
                out.append("stacked phrases")
                break
        if len(rewrite) > len(original) + c.max_added or len(rewrite) < c.min_ratio * len(original):
            out.append("length")
        return out

    def passes(self, original: str, cand: Candidate, keep: Sequence[str], pending: Sequence[str] = ()) -> bool:
        """The checks, and no trigger in the changed region but the words of ``pending`` ones
        (other triggers of the utterance, rewritten next)."""
        if self.problems(original, cand.text, keep):
            return False
        norm, found = self.engine.matches(cand.text)
        for m in found:
            s, e = norm.to_original(m.start, m.end)
            if s < cand.end and cand.start < e and cand.text[s:e] not in pending:
                return False
        return True

    def final_ok(self, original: str, rewrite: str, keep: Sequence[str]) -> bool:
        return rewrite != original and not self.problems(original, rewrite, keep)


def rule_problems(engine: Engine, rule: Rule) -> list[str]:
    """Everything wrong with one rule's examples (the engine's rewrite of each example is one of its
    acceptable outputs) and counter-examples (no rewrite of them contains a forbidden output)."""
    problems = []
    for ex in rule.examples:
        if ex.span is not None:
            start = ex.text.find(ex.span)
            if start < 0:
                problems.append(f"example {ex.text!r}: span {ex.span!r} not in the text")
                continue
            flag = Flag(start, start + len(ex.span), ex.span, rule.category, 1.0, "example", "", "", [], "")
            engine.check("")  # the rewriter is built on first use
            rewriter = engine.rewriter or Rewriter(engine)
            engine.rewriter = rewriter
            got = (rewriter.rewrites(ex.text, [flag]) or [""])[0]
        else:
            flags = engine.check(ex.text)
            if not flags:
                problems.append(f"example {ex.text!r}: the lexicon flags nothing (give a span)")
                continue
            got = flags[0].rewrite
        if got not in ex.rewrites:
            problems.append(f"example {ex.text!r}: rewrite {got!r}, expected one of {list(ex.rewrites)}")
    for ex in rule.counter_examples:
        for f in engine.check(ex.text):
            bad = [n for n in ex.never if n and n in f.rewrite]
            if bad:
                problems.append(f"counter-example {ex.text!r}: rewrite {f.rewrite!r} holds {bad[0]!r}")
    return problems


def _to_norm(norm: Normalized, start: int, end: int) -> tuple[int, int]:
    """Original offsets → normalised offsets (the characters wholly inside)."""
    ns = next((i for i, s in enumerate(norm.starts) if s >= start), len(norm.text))
    ne = ns
    while ne < len(norm.text) and norm.ends[ne] <= end:
        ne += 1
    return ns, ne


def _orig(norm: Normalized, s: int, e: int) -> str:
    if s >= e:
        return ""
    a, b = norm.to_original(s, e)
    return norm.original[a:b]


def _opos(norm: Normalized, i: int) -> int:
    """Original offset of normalised position ``i`` (a boundary)."""
    return norm.starts[i] if i < len(norm.text) else len(norm.original)


def _splice(norm: Normalized, pieces: list[tuple[int, int, str]]) -> tuple[str, tuple[int, int]]:
    """Replace normalised ranges by new text, keeping the original text elsewhere; returns the
    new utterance and the changed region in it (from the first piece's start to the last's end)."""
    out, pos, lo, hi = [], 0, None, 0
    original = norm.original
    for s, e, new in sorted(pieces, key=lambda p: (p[0], p[1])):
        os_, oe = _opos(norm, s), (_opos(norm, e) if e > s else _opos(norm, s))
        if os_ < pos:
            continue
        out.append(original[pos:os_])
        start_here = sum(len(x) for x in out)
        lo = start_here if lo is None else lo
        out.append(new)
        hi = start_here + len(new)
        pos = oe
    out.append(original[pos:])
    return "".join(out), (lo or 0, hi)


@lru_cache(maxsize=1)
def _s2tw():
    import opencc

    return opencc.OpenCC("s2tw")


def _lit(phrase: str, script: str, sep: str) -> str:
    """A phrase of the data in the utterance's script (Traditional: Taiwan forms, 核對 not 覈對),
    with its commas as the utterance's."""
    text = _s2tw().convert(phrase) if script == "traditional" else phrase
    return text.replace("，", sep)


def _separator(text: str) -> str:
    """How this utterance separates clauses: "，", "," (half-width text) or, in ASR text without
    punctuation, a space."""
    if "，" in text or "。" in text or "？" in text or "！" in text:
        return "，"
    if any(ch in text for ch in ",.?!;"):
        return ","
    return "，" if len(text) < 6 else " "
