"""The fast baseline: character 1–3-gram TF-IDF + logistic regression (class_weight balanced).

Trained with scikit-learn, shipped as plain arrays: ``vocabulary.json`` (n-gram → column) and
``baseline.safetensors`` (``idf``, ``coef``, ``intercept``), reloaded into a small numpy predictor.
No pickle. The predictor reproduces scikit-learn's ``TfidfVectorizer(analyzer="char")`` (lower
case, runs of whitespace → one space, raw counts × idf, L2 norm) and the multinomial softmax;
``fit`` checks that both agree on the training texts.

Texts come normalised by the caller (``analyzer.normalize``: Simplified, half-width), like the
lexicon's input; this module imports nothing from the analyzer.
"""
from __future__ import annotations

import inspect
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

VOCAB_FILE = "vocabulary.json"
WEIGHTS_FILE = "baseline.safetensors"
_WS = re.compile(r"\s\s+")


class BaselineClassifier:
    """scikit-learn contract: ``__init__`` stores parameters, ``fit`` learns and returns self,
    learned state ends in ``_``; ``predict_proba``; ``save``/``load`` as plain arrays."""

    def __init__(self, ngram_min: int = 1, ngram_max: int = 3, C: float = 10.0, min_df: int = 1,
                 sublinear_tf: bool = True, max_iter: int = 3000):
        self.ngram_min = ngram_min
        self.ngram_max = ngram_max
        self.C = C
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.max_iter = max_iter

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in inspect.signature(self.__init__).parameters}

    # training (scikit-learn) ------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[str], label_order: Sequence[str] | None = None):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        prepared = [_prepare(t) for t in texts]
        vec = TfidfVectorizer(analyzer="char", ngram_range=(self.ngram_min, self.ngram_max),
                              min_df=self.min_df, sublinear_tf=self.sublinear_tf, dtype=np.float64)
        x = vec.fit_transform(prepared)
        order = list(label_order) if label_order else sorted(set(labels))
        y = np.array([order.index(label) for label in labels])
        lr = LogisticRegression(C=self.C, class_weight="balanced", max_iter=self.max_iter, random_state=0)
        lr.fit(x, y)
        present = list(lr.classes_)
        coef = np.zeros((len(order), x.shape[1]), dtype=np.float64)
        intercept = np.full(len(order), -30.0)  # a label absent from training is never predicted
        if len(present) == 2:  # binary: sklearn keeps one row
            coef[present[1]], intercept[present[1]] = lr.coef_[0], lr.intercept_[0]
            coef[present[0]], intercept[present[0]] = 0.0, 0.0
        else:
            for row, cls in enumerate(present):
                coef[cls], intercept[cls] = lr.coef_[row], lr.intercept_[row]
        self.labels_ = order
        self.vocabulary_ = {k: int(v) for k, v in vec.vocabulary_.items()}
        self.idf_ = vec.idf_.astype(np.float32)
        self.coef_ = coef.astype(np.float32)
        self.intercept_ = intercept.astype(np.float32)
        ours = self.predict_proba(texts[:200])
        theirs = np.zeros_like(ours)
        theirs[:, present] = lr.predict_proba(x[:200])
        if not np.allclose(ours, theirs, atol=1e-3):
            raise AssertionError("baseline: numpy predictor disagrees with scikit-learn")
        return self

    # inference (numpy only) -------------------------------------------------------------
    def features(self, texts: Sequence[str]):
        """TF-IDF rows as (row indices, column indices, values), L2-normalised."""
        rows, cols, vals = [], [], []
        vocab, n_min, n_max = self.vocabulary_, self.ngram_min, self.ngram_max
        for r, text in enumerate(texts):
            doc = _prepare(text)
            counts: dict[int, int] = {}
            for n in range(n_min, min(n_max, len(doc)) + 1):
                for i in range(len(doc) - n + 1):
                    j = vocab.get(doc[i:i + n])
                    if j is not None:
                        counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            js = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            if self.sublinear_tf:
                tf = 1.0 + np.log(tf)
            v = tf * self.idf_[js]
            v /= np.linalg.norm(v) or 1.0
            rows.append(np.full(len(js), r))
            cols.append(js)
            vals.append(v)
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        rows, cols, vals = self.features(texts)
        scores = np.tile(self.intercept_, (len(texts), 1)).astype(np.float32)
        if len(rows):
            np.add.at(scores, rows, vals[:, None] * self.coef_[:, cols].T)
        return scores

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        s = self.decision_function(texts)
        s -= s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.labels_[i] for i in self.predict_proba(texts).argmax(axis=1)]

    # plain-array persistence ------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"params": self.get_params(), "labels": self.labels_, "vocabulary": self.vocabulary_}
        (folder / VOCAB_FILE).write_text(json.dumps(meta, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        save_file({"idf": self.idf_, "coef": self.coef_, "intercept": self.intercept_}, str(folder / WEIGHTS_FILE))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> BaselineClassifier:
        from safetensors.numpy import load_file

        folder = Path(folder)
        meta = json.loads((folder / VOCAB_FILE).read_text(encoding="utf-8"))
        model = cls(**meta["params"])
        arrays = load_file(str(folder / WEIGHTS_FILE))
        model.labels_ = list(meta["labels"])
        model.vocabulary_ = {k: int(v) for k, v in meta["vocabulary"].items()}
        model.idf_, model.coef_, model.intercept_ = arrays["idf"], arrays["coef"], arrays["intercept"]
        return model


def _prepare(text: str) -> str:
    """What the vectoriser sees: the text (normalised by the caller, ``analyzer.normalize``), lower
    case, whitespace runs collapsed."""
    return _WS.sub(" ", text.lower())
