"""Fusion: the lexicon's flags and the classifier's probabilities become one verdict per utterance.

Inputs per agent utterance: the lexicon flags (``Engine`` without a model: span, rule, prior
``confidence`` of the entry) and the model's calibrated probabilities ``p[c]`` for the 11 labels
(``none`` + the 10 categories): ``p = w * p_transformer + (1 - w) * p_baseline``, the tagger
(``models.tagger``: the fine-tuned encoder, served by ONNX Runtime, temperature-scaled) mixed with the char n-gram baseline
(``models.baseline``, temperature-scaled), ``w`` chosen on the dev split by log-loss
(``fusion.model_weight``; 1 = the transformer alone).

Rules
1. Cascade. The lexicon runs first. An utterance with no lexicon flag whose baseline
   (``models.baseline``, char n-gram TF-IDF + logistic regression) gives ``P(none) >= gate`` is
   not sent to the transformer: it gets no flag. ``gate`` is chosen on the dev split so that no
   dev utterance the model finds correctly is skipped (``trigger.json``, ``gate``; ``None`` = off).
   Utterances with a lexicon flag always go to the transformer (their confidence needs it).
2. A lexicon flag keeps its span, text, rule, principle, suggestions and rewrite. Its confidence
   becomes ``sigmoid(a * logit(prior) + b * logit(p[category]) + c)``: a logistic regression
   fitted on the lexicon flags of the calibration (dev) split, target "the flag's category is the
   utterance's gold label"; ``a, b, c`` are stored in ``trigger.json`` (``fusion``).
   Its source is ``"lexicon+model"`` when ``p[category] >= threshold[category]``, else
   ``"lexicon"``. A lexicon flag whose fused confidence is below ``fusion.drop_below`` (chosen on
   the dev split; 0 keeps every lexicon flag) is dropped (the model vetoes it) only when it stands
   in one of the benign contexts listed in ``corpora/lexicon/model_spans.yaml`` (a question, a
   condition, a warning before an irreversible step, the agent's own mistake, a product fact);
   elsewhere it keeps its (low) fused confidence.
3. A model-only hit: when no lexicon flag remains in the utterance, the category ``c != none``
   with the highest ``p[c]`` becomes a flag if ``p[c] >= threshold[c]`` (per-category thresholds
   chosen on the dev split) and ``p[c] >= model_only_min`` (``corpora/lexicon/model_spans.yaml``,
   chosen on the real dev part) and the lexicon did not find ``c``'s trigger words in a benign use
   (negated, quoted, reported, followed by a next step: ``analyzer.matcher.BENIGN_USE``; the
   utterance 这一步不是你必须做的 gets no ``command`` flag from the model). Its confidence is
   ``p[c]``, its source ``"model"``; its span must pass ``analyzer.span_rules`` (not only
   particles or endearments, not reported or quoted, no action of the agent after a no, a 七不问
   topic for privacy, the customer at fault for blame) or there is no flag; and
   - span: the tagger's own (``models.tagger``: the same pass that gave ``p`` marks, per piece,
     where a trigger of each category begins and continues): the run of pieces marked for ``c``
     with the highest score, widened to whole jieba words and trimmed of punctuation (the first
     clause when nothing is marked); when the rule's catalysts move the slot
     (``我这边暂时没有权限……，不过……``) the span runs on to the clause end, as the lexicon's own
     flags for such entries do, and the slot is left empty;
   - rule: the lexicon entry of category ``c`` whose examples are nearest to the utterance
     (cosine of the tagger's sentence vectors, from the same pass; the examples' vectors are read
     from ``models/trigger/lexicon_embeddings``, the few missing ones computed once per load);
   - principle and suggestions: that entry's principle and catalysts, in the utterance's script
     (``analyzer.rewrite.to_script``); rewrite: the utterance with the span replaced by the first.
4. Offsets always point into the ORIGINAL text (spans are found on the normalised text and mapped
   back with ``Normalized.to_original``); every flag has the shape of ``docs/interfaces.md``.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .lexicon import SLOT, Entry
from .model import Flag
from .normalize import Normalized, detect_script, normalize
from .rewrite import apply, to_script
from .span_rules import SpanRules

if TYPE_CHECKING:  # pragma: no cover
    from .lexicon import Lexicon
    from .segment import Segmenter

NONE = "none"
_EPS = 1e-4
_PUNCT = set("。！？!?；;，,、：:…~～ \n\t\"'“”‘’()（）[]【】《》<>")


def logit(p: float) -> float:
    p = min(max(float(p), _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class FusionParams:
    """The calibrated combination (rule 2) and the veto floor; stored in ``trigger.json``."""

    coef_prior: float = 1.0
    coef_model: float = 1.0
    intercept: float = 0.0
    drop_below: float = 0.0
    model_weight: float = 1.0  # p = w * transformer + (1 - w) * baseline (both calibrated)
    baseline_temperature: float = 1.0

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> FusionParams:
        raw = raw or {}
        return cls(**{k: float(v) for k, v in raw.items() if k in cls.__dataclass_fields__})

    def combine(self, prior: float, p_model: float) -> float:
        return sigmoid(self.coef_prior * logit(prior) + self.coef_model * logit(p_model) + self.intercept)


@dataclass
class Decision:
    """What the fusion decided for one flag, before spans and suggestions are built."""

    category: str
    confidence: float
    source: str  # "lexicon", "lexicon+model" or "model"
    lexicon_index: int | None = None  # which lexicon flag, None for a model-only hit


@dataclass
class Policy:
    """The decision rules' parameters (all from ``trigger.json``)."""

    labels: list[str]
    thresholds: dict[str, float]
    params: FusionParams = field(default_factory=FusionParams)
    gate: float | None = None
    model_only_min: float = 0.0  # a model-only flag needs at least this (corpora/lexicon/model_spans.yaml)

    def threshold(self, category: str) -> float:
        return float(self.thresholds.get(category, 0.5))

    def decide(self, lexicon: Sequence[tuple[str, float]], probs: np.ndarray | None,
               benign: Collection[str] = (), vetoable: Sequence[bool] | None = None) -> list[Decision]:
        """Rules 2 and 3 for one utterance. ``lexicon``: (category, prior) per lexicon flag;
        ``probs``: the classifier's calibrated row, or None when the cascade skipped it;
        ``benign``: categories whose trigger words the lexicon found in a benign use;
        ``vetoable``: per lexicon flag, whether it stands in a benign context where the model may
        drop it (``analyzer.span_rules``); None: everywhere (the rule before issue #12)."""
        out: list[Decision] = []
        col = {c: i for i, c in enumerate(self.labels)}
        for i, (category, prior) in enumerate(lexicon):
            if probs is None:
                out.append(Decision(category, float(prior), "lexicon", i))
                continue
            p = float(probs[col[category]]) if category in col else 0.0
            conf = self.params.combine(prior, p)
            if conf < self.params.drop_below and (vetoable is None or vetoable[i]):
                continue
            source = "lexicon+model" if p >= self.threshold(category) else "lexicon"
            out.append(Decision(category, round(conf, 4), source, i))
        if out or probs is None:
            return out
        best, best_p = None, -1.0
        for c, i in col.items():
            if c != NONE and probs[i] > best_p:
                best, best_p = c, float(probs[i])
        if best is not None and best_p >= max(self.threshold(best), self.model_only_min) and best not in benign:
            out.append(Decision(best, round(best_p, 4), "model"))
        return out

    def skips(self, lexicon_flags: int, p_none_baseline: float | None) -> bool:
        """Rule 1: whether the cascade skips the transformer for this utterance."""
        return (lexicon_flags == 0 and self.gate is not None and p_none_baseline is not None
                and p_none_baseline >= self.gate)


# -- the fuser (used by Engine when model=True) ----------------------------------------------
class Fuser:
    """Owns the classifier and the baseline; turns lexicon flags into fused flags."""

    def __init__(self, lexicon: Lexicon, segmenter: Segmenter, classifier, baseline, policy: Policy,
                 lexicon_embeddings=None):
        self.lexicon = lexicon
        self.segmenter = segmenter
        self.classifier = classifier
        self.baseline = baseline
        self.policy = policy
        self._stored_embeddings = lexicon_embeddings or {}
        self._entry_vectors: dict[str, tuple[list[Entry], np.ndarray, np.ndarray]] | None = None
        self.span_rules = SpanRules.load(lexicon.checks)
        policy.model_only_min = max(policy.model_only_min, self.span_rules.model_only_min)

    @classmethod
    def load(cls, lexicon: Lexicon, segmenter: Segmenter, artefact=None, cache_dir=None, classifier=None,
             threads: int | None = None) -> Fuser:
        """From the artefact folder (default ``models/trigger/``): the ONNX tagger
        (``models.tagger``, one session per process), the baseline and the stored lexicon
        embeddings; ``classifier``: a tagger already loaded; ``lexicon`` and ``segmenter``: the
        engine's, for spans and the nearest rule. (``cache_dir`` is not needed any more: the
        tagger's artefact holds its whole network.)"""
        from pathlib import Path

        from models.baseline import BaselineClassifier
        from models.classifier import artefact_dir, load_lexicon_embeddings
        from models.tagger import ModelUnavailable, Tagger

        folder = Path(artefact) if artefact else artefact_dir()
        try:
            classifier = classifier or Tagger.load(folder, threads or None)
            s = classifier.settings
            policy = Policy(list(s.labels), dict(s.thresholds), FusionParams.from_dict(s.fusion), s.gate)
            needs_baseline = s.gate is not None or policy.params.model_weight < 1
            baseline = BaselineClassifier.load(folder / "baseline") if needs_baseline else None
            if baseline is not None and baseline.labels_ != policy.labels:
                raise ValueError("the baseline's labels differ from the classifier's")
            stored = load_lexicon_embeddings(folder)
        except ModelUnavailable:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged or partial artefact
            raise ModelUnavailable(f"{folder}: 模型文件损坏 / the trained model cannot be read ({exc}): "
                                   f"run `huashu train`") from None
        return cls(lexicon, segmenter, classifier, baseline, policy, stored)

    # one batch of utterances ------------------------------------------------------------
    def fuse_many(self, texts: Sequence[str], lexicon_flags: Sequence[list[Flag]],
                  scripts: Sequence[str | None], benign: Sequence[Collection[str]] | None = None,
                  norms: Sequence[Normalized] | None = None) -> list[list[Flag]]:
        """``norms``: the texts normalised (the engine's, computed once per utterance)."""
        norms = norms if norms is not None else [normalize(t) for t in texts]
        probs, passes = self.run([n.text for n in norms], [len(f) for f in lexicon_flags])
        benign = benign if benign is not None else [()] * len(texts)
        out = []
        for text, norm, flags, row, tagged, script, harmless in zip(texts, norms, lexicon_flags, probs, passes,
                                                                     scripts, benign):
            vetoable = [self.span_rules.veto_context(self._flag_clause(norm, f)) is not None for f in flags]
            decisions = self.policy.decide([(f.category, f.confidence) for f in flags], row, harmless, vetoable)
            fused = (self._flag(text, norm, flags, d, script, tagged) for d in decisions)
            out.append([f for f in fused if f is not None])
        return out

    def run(self, texts: Sequence[str], n_lexicon: Sequence[int]) -> tuple[list[np.ndarray | None], list]:
        """Rule 1 and one tagger pass (``texts`` normalised): per text the mixture's row and the
        tagger's output (``models.tagger.TaggerOutput``: spans, sentence vector), both None where
        the gate skips the tagger."""
        run = list(range(len(texts)))
        p_base = self._baseline_proba(texts)
        if p_base is not None and self.policy.gate is not None:
            none = self.policy.labels.index(NONE)
            run = [i for i in run if not self.policy.skips(n_lexicon[i], float(p_base[i, none]))]
        rows: list[np.ndarray | None] = [None] * len(texts)
        passes: list = [None] * len(texts)
        if run:
            outputs = self.classifier.run([texts[i] for i in run])
            probs = self._mix(np.stack([o.probs for o in outputs]), None if p_base is None else p_base[run])
            for i, row, output in zip(run, probs, outputs):
                rows[i], passes[i] = row, output
        return rows, passes

    def probabilities(self, texts: Sequence[str], n_lexicon: Sequence[int],
                      normalized: bool = False) -> list[np.ndarray | None]:
        """The model's rows (rule 1 and the mixture), None where the gate skips the tagger.
        The models read text as the lexicon sees it: ``texts`` are normalised here unless they are."""
        texts = texts if normalized else [normalize(t).text for t in texts]
        return self.run(texts, n_lexicon)[0]

    def model_proba(self, texts: Sequence[str], normalized: bool = False) -> np.ndarray:
        """The mixture's probabilities for every text (no gate)."""
        texts = texts if normalized else [normalize(t).text for t in texts]
        return self._mix(self.classifier.predict_proba(texts), self._baseline_proba(texts))

    def _baseline_proba(self, texts: Sequence[str]) -> np.ndarray | None:
        if self.baseline is None or not len(texts):
            return None
        scores = self.baseline.decision_function(texts) / self.policy.params.baseline_temperature
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def _mix(self, p_model: np.ndarray, p_base: np.ndarray | None) -> np.ndarray:
        w = self.policy.params.model_weight
        return p_model if p_base is None or w >= 1 else w * p_model + (1 - w) * p_base

    def _flag_clause(self, norm: Normalized, flag: Flag) -> str:
        """The normalised clause holding a lexicon flag (its offsets are into the original)."""
        s = next((i for i, o in enumerate(norm.starts) if o >= flag.start), len(norm.text))
        e = next((i for i, o in enumerate(norm.ends) if o >= flag.end), len(norm.text) - 1) + 1
        return self.span_rules.clause(norm.text, s, max(s, e), self.span_rules.veto_reach)

    def _flag(self, text: str, norm: Normalized, lexicon_flags: list[Flag], d: Decision,
              script: str | None, tagged=None) -> Flag | None:
        if d.lexicon_index is not None:
            f = lexicon_flags[d.lexicon_index]
            return Flag(f.start, f.end, f.text, f.category, d.confidence, d.source, f.rule, f.principle,
                        list(f.suggestions), f.rewrite)
        return self.model_flag(text, d.category, d.confidence, script, norm, tagged)

    # model-only hits ----------------------------------------------------------------------
    def model_flag(self, text: str, category: str, confidence: float, script: str | None,
                   norm: Normalized | None = None, tagged=None) -> Flag | None:
        """The flag, or None when its span breaks a rule of ``analyzer.span_rules`` (particles
        only, reported or quoted words, a no the agent follows with an action, a privacy
        question with no 七不问 topic, blame with no customer at fault)."""
        script = script or detect_script(text)
        norm = norm or normalize(text)
        tagged = tagged or self.classifier.run([norm.text])[0]
        s, e = self.tagged_span(norm, tagged, category)
        if self.span_rules.reject(norm.text, s, e, category):
            return None
        entry = self.nearest_entry(norm.text, category, tagged.vector)
        if entry.span_covers_slot:  # its catalysts take the rest of the clause along (它的槽位在中间)
            e = max(e, self._clause_end(norm.text, e))
        start, end = norm.to_original(s, e)
        suggestions = []
        for catalyst in entry.catalysts:
            option = to_script(catalyst.replace(SLOT, ""), script)
            if option and option not in suggestions:
                suggestions.append(option)
        return Flag(
            start=start, end=end, text=text[start:end], category=category, confidence=confidence,
            source="model", rule=entry.id, principle=entry.principle, suggestions=suggestions,
            rewrite=apply(text, start, end, suggestions[0]) if suggestions else text,
        )

    def _clause_end(self, text: str, pos: int) -> int:
        breaks = set(self.lexicon.checks.clause_breaks) - {" "} | {"\n"}
        while pos < len(text) and text[pos] not in breaks:
            pos += 1
        return _trim(text, 0, pos)[1] if pos else pos

    def clauses(self, text: str) -> list[tuple[int, int]]:
        """The clauses of a normalised text (between clause breaks, punctuation trimmed)."""
        breaks = set(self.lexicon.checks.clause_breaks) | set("\n")
        out, start = [], 0
        for i, ch in enumerate(text + "。"):
            if i == len(text) or ch in breaks:
                s, e = _trim(text, start, i)
                if s < e:
                    out.append((s, e))
                start = i + 1
        return out

    def tagged_span(self, norm: Normalized, tagged, category: str) -> tuple[int, int]:
        """Rule 3's span over the normalised text: the tagger's run of pieces for ``category``
        (``models.tagger.TaggerOutput.span``), widened to whole jieba words (a span never cuts a
        word), trimmed of punctuation and of the edge words ``SpanRules.trim`` drops (是你… →
        你…, …啊); the whole first clause when the tagger marks nothing."""
        text = norm.text
        clauses = self.clauses(text)
        found = tagged.span(self.policy.labels, category) if tagged is not None else None
        if found is None:
            return clauses[0] if clauses else (0, len(text))
        s, e = _trim(text, found[0], found[1])
        words = self.segmenter.tokens(text).words
        for _, ws, we in words:
            if ws < s < we:
                s = ws
            if ws < e < we:
                e = we
        s, e = _trim(text, s, e)
        s, e = self.span_rules.trim(text, s, e, words)
        if s >= e:
            return next((c for c in clauses if c[0] <= found[0] < c[1]), clauses[0] if clauses else (0, len(text)))
        return s, e

    def _vectors(self) -> dict[str, tuple[list[Entry], np.ndarray, np.ndarray]]:
        """Per category: its entries, each example's embedding, and the example → entry index."""
        if self._entry_vectors is None:
            examples = [(e, normalize(x.text).text) for e in self.lexicon.entries for x in e.examples]
            missing = sorted({t for _, t in examples if t not in self._stored_embeddings})
            computed = dict(zip(missing, self.classifier.embed(missing))) if missing else {}
            table = {**self._stored_embeddings, **computed}
            by_cat: dict[str, tuple[list[Entry], list[np.ndarray], list[int]]] = {}
            for entry, t in examples:
                entries, vecs, owner = by_cat.setdefault(entry.category, ([], [], []))
                if not entries or entries[-1] is not entry:
                    entries.append(entry)
                vecs.append(table[t])
                owner.append(len(entries) - 1)
            self._entry_vectors = {c: (es, np.stack(vs), np.array(ow)) for c, (es, vs, ow) in by_cat.items()}
        return self._entry_vectors

    def nearest_entry(self, normalized_text: str, category: str, vector: np.ndarray | None = None) -> Entry:
        """The lexicon entry of ``category`` whose examples' sentence vectors are nearest to the
        text's (``vector``: the tagger's, from the pass that found the flag)."""
        vectors = self._vectors()
        if category not in vectors:  # a category no loaded entry has: search them all
            entries = [e for es, _, _ in vectors.values() for e in es]
            vecs = np.concatenate([v for _, v, _ in vectors.values()])
            offsets = np.cumsum([0] + [len(es) for es, _, _ in vectors.values()])
            owner = np.concatenate([o + k for (_, _, o), k in zip(vectors.values(), offsets)])
        else:
            entries, vecs, owner = vectors[category]
        q = vector if vector is not None else self.classifier.embed([normalized_text])[0]
        return entries[int(owner[int(np.argmax(vecs @ q))])]


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s] in _PUNCT:
        s += 1
    while e > s and text[e - 1] in _PUNCT:
        e -= 1
    return s, e
