"""The trigger tagger as it is served: one ONNX Runtime pass gives, per utterance, the category
probabilities, every token's begin/inside/outside score for each category (the trigger's span),
and a sentence vector (the nearest lexicon entry of a model-only hit).

Built and checked by ``huashu train`` (``models/export.py``); the artefact folder
(``models/trigger/``) holds ``tagger.onnx`` (the export that kept the torch model's decisions and
a text's probabilities whatever its batch: see the card's "Served" table), ``tokenizer.json`` (e5's SentencePiece vocabulary cut to the pieces Chinese service text
uses, ``models/vocab.py``) and ``trigger.json`` (labels, temperature, thresholds, fusion, gate).
Serving needs onnxruntime, tokenizers and numpy: no torch, no transformers.

Text is read as the lexicon reads it (the caller passes ``analyzer.normalize``'s text), behind
e5's ``query: `` prefix, cut at ``max_length`` pieces. Utterances are run in batches of similar
length (less padding); a text's probabilities do not depend on its batch (the export checks it).

Tags, per token: ``0`` outside, ``1 + 2k`` begins and ``2 + 2k`` is inside a trigger of the
k-th category (``labels[k + 1]``). A category's span is the run of tokens whose begin+inside
probability for it is at least ``SPAN_MIN`` with the highest peak (else the single best token),
in characters of the text.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from . import base

TAGGER_FILE = "tagger.onnx"
TOKENIZER_FILE = "tokenizer.json"
SETTINGS_FILE = "trigger.json"
NONE = "none"
SPAN_MIN = 0.5  # begin+inside probability of a token inside a span
BATCH = 64
PAD_SLACK = 0.1  # a batch's texts are at most this much longer than its shortest (Encoder.batches)


@dataclass
class Settings:
    """Everything needed to rebuild and use the trained model (stored in ``trigger.json``)."""

    labels: list[str] = field(default_factory=list)  # "none" + the categories, set by training
    base: str = f"{base.SOURCE_PACKAGE}=={base.SOURCE_VERSION}:{base.SOURCE_FILE}"
    layers: int = 12  # encoder layers used (the base has 12)
    trained_layers: int = 4  # the top ones, fine-tuned; the rest stay as in the base
    max_length: int = 64
    prefix: str = "query: "
    dropout: float = 0.1
    temperature: float = 1.0
    thresholds: dict[str, float] = field(default_factory=dict)  # per category, on calibrated p
    fusion: dict[str, Any] = field(default_factory=dict)  # see analyzer/fusion.py
    gate: float | None = None  # baseline P(none) at or above which the transformer is skipped
    # "pruned": the tagger's vocabulary (models/vocab.py; its tokenizer.json in the artefact) and
    # a per-token head; "": the base's whole vocabulary, no token head (the sentiment model)
    vocabulary: str = ""
    export: dict[str, Any] = field(default_factory=dict)  # the ONNX file: how built, checked (models/export.py)
    training: dict[str, Any] = field(default_factory=dict)  # hyper-parameters and data, for the card

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_file(cls, path: Path) -> Settings:
        raw = json.loads(path.read_text(encoding="utf-8"))
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class ModelUnavailable(RuntimeError):
    """The model cannot be used: artefact missing or damaged, base model not converted (one
    clear line saying what to run)."""


def tag_count(labels: Sequence[str]) -> int:
    return 1 + 2 * (len(labels) - 1)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def default_threads() -> int:
    """The cores this process may use, at most 8 (more rarely helps a model this small)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


@dataclass
class Encoded:
    """One text as the tagger reads it: piece ids and each piece's characters in the text."""

    ids: list[int]
    offsets: list[tuple[int, int]]  # into the text (prefix removed); (0, 0) for <s>, </s>, the prefix


class Encoder:
    """The pruned SentencePiece tokenizer with the prefix and the length limit (training and
    serving both cut text through here)."""

    def __init__(self, tokenizer_file: str | Path, prefix: str, max_length: int):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.prefix = prefix
        self.pad_id = self.tokenizer.token_to_id("<pad>")
        if self.pad_id is None:
            raise ValueError(f"{tokenizer_file}: no <pad> piece")

    def batches(self, texts: Sequence[str], batch_size: int):
        """``texts`` cut into pieces, in batches of similar length: yields the texts' indices, the
        padded ``ids`` and ``mask`` [batch, pieces] and each text's Encoded.

        Texts are sorted by their piece count and a batch holds at most ``batch_size`` of them,
        all within ``PAD_SLACK`` of its shortest (+2 pieces): on the CPU a pass costs about its
        rows times its width and a batch of one is hardly dearer per text than a batch of 64, so
        64 mixed-length chat turns padded to the longest cost ~3x what the same turns cost in
        length-bounded batches (``python bench/model_speed.py``'s real-text column)."""
        encoded = self.encode(texts)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].ids))
        s = 0
        while s < len(order):
            limit = int(len(encoded[order[s]].ids) * (1 + PAD_SLACK)) + 2
            e = s + 1
            while e < len(order) and e - s < batch_size and len(encoded[order[e]].ids) <= limit:
                e += 1
            idx = order[s:e]
            s = e
            width = max(len(encoded[i].ids) for i in idx)
            ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encoded[i].ids)
                ids[row, :n] = encoded[i].ids
                mask[row, :n] = 1
            yield idx, ids, mask, [encoded[i] for i in idx]

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        p = len(self.prefix)
        out = []
        for enc in self.tokenizer.encode_batch([self.prefix + t for t in texts]):
            offsets = [(max(0, a - p), max(0, b - p)) if b > p and not special else (0, 0)
                       for (a, b), special in zip(enc.offsets, enc.special_tokens_mask)]
            out.append(Encoded(list(enc.ids), offsets))
        return out


@dataclass
class TaggerOutput:
    """What one pass gives for one text."""

    probs: np.ndarray  # calibrated, [labels]
    tags: np.ndarray  # per piece, [pieces, tags] (probabilities)
    offsets: list[tuple[int, int]]
    vector: np.ndarray  # L2-normalised sentence vector

    def span(self, labels: Sequence[str], category: str) -> tuple[int, int, float] | None:
        """The ``category``'s span in the text's characters and its peak score (None when the
        category has no tag column or the text no piece)."""
        k = list(labels).index(category) - 1
        if k < 0 or not len(self.tags):
            return None
        score = self.tags[:, 1 + 2 * k] + self.tags[:, 2 + 2 * k]
        real = np.array([b > a for a, b in self.offsets])
        score = np.where(real, score, 0.0)
        if not real.any():
            return None
        runs, start = [], None
        for i, s in enumerate(score):
            if s >= SPAN_MIN and start is None:
                start = i
            if (s < SPAN_MIN or i == len(score) - 1) and start is not None:
                end = i + 1 if s >= SPAN_MIN else i
                runs.append((start, end))
                start = None
        if runs:
            a, b = max(runs, key=lambda r: float(score[r[0]:r[1]].max()))
        else:
            a = int(np.argmax(score))
            b = a + 1
        peak = float(score[a:b].max())
        pieces = [self.offsets[i] for i in range(a, b) if self.offsets[i][1] > self.offsets[i][0]]
        return pieces[0][0], pieces[-1][1], peak


class Tagger:
    """Load once per process (``Tagger.load`` caches by folder); ``run`` is thread-safe."""

    _loaded: ClassVar[dict[tuple[str, int], Tagger]] = {}
    _load_lock = threading.Lock()

    def __init__(self, session, encoder: Encoder, settings, threads: int):
        self.session = session
        self.encoder = encoder
        self.settings = settings
        self.labels = list(settings.labels)
        self.threads = threads
        self.temperature = float(settings.temperature or 1.0)

    @classmethod
    def load(cls, folder: str | Path, threads: int | None = None) -> Tagger:
        folder = Path(folder)
        threads = threads or default_threads()
        key = (str(folder.resolve()), threads)
        with cls._load_lock:
            if key not in cls._loaded:
                cls._loaded[key] = cls._build(folder, threads)
            return cls._loaded[key]

    @classmethod
    def _build(cls, folder: Path, threads: int) -> Tagger:
        files = [folder / SETTINGS_FILE, folder / TAGGER_FILE, folder / TOKENIZER_FILE]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise ModelUnavailable(f"模型文件缺失 / the trained tagger is missing in {folder} "
                                    f"({', '.join(missing)}): run `huashu train`")
        try:
            import onnxruntime as ort

            settings = Settings.from_file(folder / SETTINGS_FILE)
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(str(folder / TAGGER_FILE), options, providers=["CPUExecutionProvider"])
            encoder = Encoder(folder / TOKENIZER_FILE, settings.prefix, settings.max_length)
        except Exception as exc:  # noqa: BLE001 - any damage to the artefact is one clear line
            raise ModelUnavailable(f"{folder}: 模型文件无法读取 / the trained tagger cannot be read "
                                    f"({type(exc).__name__}: {str(exc)[:200]}): run `huashu train`") from None
        return cls(session, encoder, settings, threads)

    # inference -----------------------------------------------------------------------------
    def run(self, texts: Sequence[str], batch_size: int = BATCH) -> list[TaggerOutput]:
        """One pass over ``texts`` (normalised), in batches of similar length."""
        out: list[TaggerOutput | None] = [None] * len(texts)
        for idx, ids, mask, encoded in self.encoder.batches(texts, batch_size):
            logits, tags, vectors = self.session.run(None, {"ids": ids, "mask": mask})
            probs = softmax(logits / self.temperature)
            tag_probs = softmax(tags)
            for row, (i, e) in enumerate(zip(idx, encoded)):
                out[i] = TaggerOutput(probs[row], tag_probs[row, :len(e.ids)], e.offsets, vectors[row])
        return out  # type: ignore[return-value]

    def predict_proba(self, texts: Sequence[str], batch_size: int = BATCH) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return np.stack([o.probs for o in self.run(texts, batch_size)])

    def embed(self, texts: Sequence[str], batch_size: int = BATCH) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([o.vector for o in self.run(texts, batch_size)])

    def threshold(self, category: str) -> float:
        return float(self.settings.thresholds.get(category, 0.5))

