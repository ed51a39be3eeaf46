"""Customer sentiment per turn: ``{"label", "score", "anger"}`` (docs/interfaces.md), extended with
``probs`` (the three label probabilities), ``anger_score`` (P(angry)) and ``model``.

``label`` is negative / neutral / positive, ``score`` the probability of that label, ``anger``
whether P(angry) reaches the threshold chosen on the dev split. Only customer turns are rated:
``annotate`` leaves agent turns alone, ``predict`` rates whatever it is given.

Two models, both trained by ``huashu train-sentiment`` (``models/sentiment_train.py``) into
``models/sentiment/`` (``MODEL_CARD.md`` has their figures):

- ``baseline``: char 1–3-gram TF-IDF + logistic regression, one for the label, one for anger
  (numpy only, fast);
- ``finetuned``: multilingual-e5-small with its top layers and a two-task head trained
  (``models.classifier``'s network; needs torch and the converted base model in ``.cache/``).

``load("auto")`` gives the fine-tuned model when it can be built, else the baseline, else None
(no artefact: turns keep ``sentiment: null``, and ``summary.satisfaction`` stays null).
``load(kind, folder)`` reads another artefact folder (``Config.sentiment_dir``, ``HUASHU_SENTIMENT_DIR``).
"""
from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .model import CUSTOMER, HuashuError, Transcript
from .normalize import normalize
from .resources import SENTIMENT_DIR as ARTEFACT_DIR

LABELS = ("negative", "neutral", "positive")
KINDS = ("auto", "baseline", "finetuned", "none")


class SentimentUnavailable(HuashuError):
    """The requested sentiment model cannot be loaded (one line saying what to run)."""


def artefact_dir() -> Path:
    """The bundled artefact (another one is passed by the caller: ``Config.sentiment_dir``)."""
    return ARTEFACT_DIR


def _settings(folder: Path) -> dict[str, Any]:
    path = folder / "sentiment.json"
    if not path.is_file():
        raise SentimentUnavailable(f"情绪模型缺失 / the sentiment model is missing in {folder}: run `huashu train-sentiment`")
    return json.loads(path.read_text(encoding="utf-8"))


def _result(probs, p_angry: float, threshold: float, name: str) -> dict[str, Any]:
    best = int(probs.argmax())
    return {
        "label": LABELS[best],
        "score": round(float(probs[best]), 4),
        "anger": bool(p_angry >= threshold),
        "anger_score": round(float(p_angry), 4),
        "probs": {label: round(float(p), 4) for label, p in zip(LABELS, probs)},
        "model": name,
    }


class BaselineSentiment:
    """Two TF-IDF + logistic-regression models (label, anger) as plain arrays; numpy only."""

    name = "baseline"

    def __init__(self, label_model, anger_model, anger_threshold: float):
        self.label_model = label_model
        self.anger_model = anger_model
        self.anger_threshold = anger_threshold

    @classmethod
    def load(cls, folder: str | Path | None = None, cache_dir: str | Path | None = None) -> BaselineSentiment:
        from models.baseline import BaselineClassifier

        folder = Path(folder) if folder else artefact_dir()
        settings = _settings(folder)
        try:
            label = BaselineClassifier.load(folder / "baseline" / "label")
            anger = BaselineClassifier.load(folder / "baseline" / "anger")
        except OSError:
            raise SentimentUnavailable(f"{folder}/baseline: 缺失 / missing: run `huashu train-sentiment`") from None
        if tuple(label.labels_) != LABELS:
            raise SentimentUnavailable(f"{folder}: unexpected labels {label.labels_}")
        return cls(label, anger, float(settings["baseline"]["anger_threshold"]))

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        if not texts:
            return []
        texts = [normalize(t).text for t in texts]  # the models read text as the lexicon sees it
        probs = self.label_model.predict_proba(texts)
        angry = self.anger_model.predict_proba(texts)[:, 1]
        return [_result(p, a, self.anger_threshold, self.name) for p, a in zip(probs, angry)]


class FinetunedSentiment:
    """e5-small with trained top layers and a 5-output head (3-way label + 2-way anger)."""

    name = "finetuned"

    def __init__(self, classifier, settings: dict[str, Any]):
        self.classifier = classifier  # models.classifier.TriggerClassifier: tokenising, batching, logits
        self.label_temperature = float(settings["label_temperature"])
        self.anger_temperature = float(settings["anger_temperature"])
        self.anger_threshold = float(settings["anger_threshold"])
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: str | Path | None = None, cache_dir: str | Path | None = None,
             num_threads: int | None = None) -> FinetunedSentiment:
        folder = Path(folder) if folder else artefact_dir()
        settings = _settings(folder)  # first: a missing artefact costs no torch import
        weights = folder / "sentiment.safetensors"
        if not weights.is_file():
            raise SentimentUnavailable(f"{weights}: 缺失 / missing: run `huashu train-sentiment`")
        try:
            from safetensors.torch import load_file

            from models import base
            from models.classifier import (
                Settings,
                TriggerClassifier,
                build_network,
                set_threads,
            )
        except ImportError as exc:
            raise SentimentUnavailable(f"缺少依赖 / missing dependency for the fine-tuned model: {exc.name}") from None
        try:
            base_path = base.require_base_model(cache_dir)
        except base.BaseModelMissing as exc:
            raise SentimentUnavailable(str(exc)) from None
        set_threads(num_threads)
        network = Settings(**{k: v for k, v in settings["network"].items() if k in Settings.__dataclass_fields__})
        net = build_network(base.load_encoder(base_path, layers=network.layers), network)
        trained = {k: v.float() for k, v in load_file(str(weights)).items()}
        missing = set(net.trained_state()) - set(trained)
        if missing:
            raise SentimentUnavailable(f"{weights}: missing tensors {sorted(missing)[:3]}")
        net.load_state_dict(trained, strict=False)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        return cls(TriggerClassifier(net, base.load_tokenizer(base_path), network, num_threads), settings)

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[dict[str, Any]]:
        from models.classifier import softmax

        if not texts:
            return []
        with self._lock:
            logits = self.classifier.logits([normalize(t).text for t in texts], batch_size)
        n = len(LABELS)
        probs = softmax(logits[:, :n] / self.label_temperature)
        angry = softmax(logits[:, n:] / self.anger_temperature)[:, 1]
        return [_result(p, a, self.anger_threshold, self.name) for p, a in zip(probs, angry)]


def load(kind: str = "auto", folder: str | Path | None = None, cache_dir: str | Path | None = None):
    """The sentiment model: ``finetuned``, ``baseline``, ``auto`` (the fine-tuned one if it can be
    built, else the baseline, else None) or ``none`` (None). Asking for one by name that cannot be
    loaded raises ``SentimentUnavailable``."""
    if kind not in KINDS:
        raise SentimentUnavailable(f"未知的情绪模型 / unknown sentiment model {kind!r} (one of {', '.join(KINDS)})")
    if kind == "none":
        return None
    if kind == "baseline":
        return _cached(BaselineSentiment, folder, cache_dir)
    if kind == "finetuned":
        return _cached(FinetunedSentiment, folder, cache_dir)
    for cls in (FinetunedSentiment, BaselineSentiment):
        try:
            return _cached(cls, folder, cache_dir)
        except (SentimentUnavailable, ImportError, OSError, KeyError, ValueError):
            continue
    return None


_LOADED: dict[tuple[str, str], Any] = {}
_LOAD_LOCK = threading.Lock()


def _cached(cls, folder: str | Path | None, cache_dir: str | Path | None = None):
    """One instance per model and folder in a process (a batch worker, the service, a test run)."""
    key = (cls.name, str(Path(folder).resolve() if folder else artefact_dir().resolve()), str(cache_dir))
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = cls.load(folder, cache_dir)
        return _LOADED[key]


def annotate(t: Transcript, model, overwrite: bool = True) -> Transcript:
    """Rate every customer turn (in one batch); agent turns are left alone. With
    ``overwrite=False`` turns that already carry sentiment keep it."""
    if model is None:
        return t
    turns = [turn for turn in t.turns if turn.role == CUSTOMER and turn.text and (overwrite or turn.sentiment is None)]
    if turns:
        for turn, result in zip(turns, model.predict([turn.text for turn in turns])):
            turn.sentiment = result
    return t


def rate_many(model, texts: Sequence[str], roles: Sequence[str]) -> list[dict[str, Any] | None]:
    """Sentiment for the customer utterances among ``texts`` (one batch), None for the others
    (and for all of them without a model): what ``huashu check`` writes per line."""
    out: list[dict[str, Any] | None] = [None] * len(texts)
    todo = [i for i, (text, role) in enumerate(zip(texts, roles)) if role == CUSTOMER and text]
    if model is not None and todo:
        for i, result in zip(todo, model.predict([texts[i] for i in todo])):
            out[i] = result
    return out
