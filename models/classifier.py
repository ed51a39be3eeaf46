"""The trigger network in torch: multilingual-e5-small's first ``layers`` layers, the top
``trained_layers`` fine-tuned, a category head over the mean-pooled last layer and a per-token
head (begin/inside/outside per category). Training builds it here; the served model is its ONNX
export (``models/tagger.py``, made and checked by ``models/export.py``), and
``TriggerClassifier`` is the reference that export is checked against (and the bench's torch row).

The artefact in ``models/trigger/`` holds only what training changed: the trained layers and the
heads (``trigger.safetensors``, fp16), plus ``trigger.json`` (``models.tagger.Settings``).
``TriggerClassifier.load()`` rebuilds the network from the converted base model in ``.cache/``
(``models.base``) and that artefact, with the tagger's pruned vocabulary (``tokenizer.json``);
nothing is downloaded. The sentiment model's training reuses ``build_network`` without the token
head and with the whole vocabulary.

Input text is normalised the way the lexicon sees it (``analyzer.normalize``: Simplified
characters, half-width punctuation), given e5's ``query: `` prefix and cut at ``max_length``
pieces. ``predict_proba`` returns calibrated probabilities (softmax of logits / temperature), one
row per text, columns in ``labels`` order (``none`` first).
"""
from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.resources import TRIGGER_DIR as ARTEFACT_DIR

from . import base
from .tagger import ModelUnavailable, Settings

WEIGHTS_FILE = "trigger.safetensors"
SETTINGS_FILE = "trigger.json"
NONE = "none"


def artefact_dir() -> Path:
    """The bundled artefact, ``models/trigger/`` (another one is passed by the caller: the
    configuration's ``model_dir``, ``HUASHU_MODEL_DIR``)."""
    return ARTEFACT_DIR



def prepare(text: str, settings: Settings) -> str:
    """The model's input: ``text`` as the lexicon sees it (the caller normalises it with
    ``analyzer.normalize``: Simplified, half-width) behind the e5 prefix."""
    return settings.prefix + text


# -- the network ---------------------------------------------------------------------------
def _torch():
    import torch

    return torch


def extended_mask(mask, dtype):
    """[batch, len] 1/0 → additive [batch, 1, 1, len] (0 where attended, a large negative elsewhere)."""
    torch = _torch()
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def run_layers(layers, hidden, ext):
    for layer in layers:
        out = layer(hidden, ext)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def prune_embeddings(encoder, kept: Sequence[int]) -> None:
    """Keep only the word-embedding rows of the tagger's vocabulary (``models/vocab.py``): new
    id ``k`` is base id ``kept[k]``."""
    torch = _torch()
    old = encoder.embeddings.word_embeddings
    new = torch.nn.Embedding(len(kept), old.embedding_dim)
    with torch.no_grad():
        new.weight.copy_(old.weight[torch.tensor(list(kept), dtype=torch.long)])
    encoder.embeddings.word_embeddings = new


def build_network(encoder, settings: Settings, token_head: bool = False):
    """The trainable network around a loaded base ``BertModel`` (see ``TriggerNet``);
    ``token_head``: the tagger's per-token head too (the sentiment model has none)."""
    torch = _torch()
    nn = torch.nn

    class TriggerNet(nn.Module):
        """embeddings → frozen lower layers → trained upper layers, then two heads on the last
        layer: ``head`` on the mean-pooled vector (the utterance's category) and ``tokens`` on
        every token (begin/inside/outside per category: the trigger's span). The third output
        is the pooled vector, L2-normalised (the nearest lexicon entry of a model-only hit).
        """

        def __init__(self):
            super().__init__()
            layers = encoder.encoder.layer
            n_lower = settings.layers - settings.trained_layers
            self.embeddings = encoder.embeddings
            self.lower = nn.ModuleList(layers[:n_lower])
            self.upper = nn.ModuleList(copy.deepcopy(layers[n_lower:settings.layers]))
            self.dropout = nn.Dropout(settings.dropout)
            self.head = nn.Linear(encoder.config.hidden_size, len(settings.labels))
            self.tokens = nn.Linear(encoder.config.hidden_size, 1 + 2 * (len(settings.labels) - 1)) if token_head else None
            for p in [*self.embeddings.parameters(), *self.lower.parameters()]:
                p.requires_grad_(False)

        def lower_forward(self, ids, mask):
            hidden = self.embeddings(input_ids=ids)
            return run_layers(self.lower, hidden, extended_mask(mask, hidden.dtype))

        def outputs_from_lower(self, hidden, mask):
            """(category logits, per-token tag logits or None, normalised pooled vector)."""
            hidden = run_layers(self.upper, hidden, extended_mask(mask, hidden.dtype))
            pooled = base.mean_pool(hidden, mask)
            logits = self.head(self.dropout(pooled))
            tags = self.tokens(self.dropout(hidden)) if self.tokens is not None else None
            return logits, tags, torch.nn.functional.normalize(pooled, dim=-1)

        def logits_from_lower(self, hidden, mask):
            return self.outputs_from_lower(hidden, mask)[0]

        def outputs(self, ids, mask):
            return self.outputs_from_lower(self.lower_forward(ids, mask), mask)

        def forward(self, ids, mask):
            return self.outputs(ids, mask)[0]

        def trained_state(self) -> dict[str, Any]:
            """Only what training changes: the upper layers and the heads."""
            return {k: v for k, v in self.state_dict().items() if k.startswith(("upper.", "head.", "tokens."))}

    return TriggerNet()


def prepare_for_inference(net, settings: Settings):
    """Evaluation mode, no gradients. (Dynamic int8 quantisation was tried: 2-3x faster on CPU,
    but its activation scales are per batch, so an utterance's probabilities would depend on the
    other utterances in its batch; the model runs in fp32.)"""
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


# -- the classifier ------------------------------------------------------------------------
class TriggerClassifier:
    """Load once, then ``predict_proba``; safe to share between threads (inference only)."""

    def __init__(self, net, tokenizer, settings: Settings, num_threads: int | None = None):
        self.net = net
        self.tokenizer = tokenizer
        self.settings = settings
        self.labels = list(settings.labels)
        self.num_threads = num_threads
        self._lock = threading.Lock()

    # construction ---------------------------------------------------------------------
    @classmethod
    def load(cls, artefact: str | Path | None = None, cache_dir: str | Path | None = None,
             num_threads: int | None = None) -> TriggerClassifier:
        """The base model from the cache + the trained layers from ``artefact`` (default
        ``models/trigger/``). ``ModelUnavailable`` (one clear line) when either is missing."""
        artefact = Path(artefact) if artefact else artefact_dir()
        try:
            base_path = base.require_base_model(cache_dir)
        except base.BaseModelMissing as exc:
            raise ModelUnavailable(str(exc)) from None
        settings_file, weights_file = artefact / SETTINGS_FILE, artefact / WEIGHTS_FILE
        if not settings_file.is_file() or not weights_file.is_file():
            raise ModelUnavailable(
                f"模型文件缺失 / the trained model is missing in {artefact}: run `huashu train`"
            )
        torch = _torch()
        set_threads(num_threads)
        from safetensors.torch import load_file

        try:
            settings = Settings.from_file(settings_file)
            trained = {k: v.float() for k, v in load_file(str(weights_file)).items()}
        except Exception as exc:  # noqa: BLE001 - any damage to the artefact is one clear line
            raise ModelUnavailable(f"{artefact}: 模型文件无法读取 / the trained model cannot be read "
                                   f"({type(exc).__name__}: {exc}): run `huashu train`") from None
        encoder = base.load_encoder(base_path, layers=settings.layers)
        tokenizer = base.load_tokenizer(base_path)
        if settings.vocabulary == "pruned":
            tokenizer = pruned_encoder(base_path, artefact, settings)
            prune_embeddings(encoder, tokenizer.kept)
        net = build_network(encoder, settings, token_head=settings.vocabulary == "pruned")
        missing = set(net.trained_state()) - set(trained)
        if missing:
            raise ModelUnavailable(f"{weights_file}: missing tensors {sorted(missing)[:3]}: run `huashu train`")
        net.load_state_dict(trained, strict=False)
        del torch
        return cls(prepare_for_inference(net, settings), tokenizer, settings, num_threads)

    # inference ------------------------------------------------------------------------
    def _batches(self, texts: Sequence[str], batch_size: int):
        """Tokenised batches, texts sorted by length (less padding); yields (indices, ids, mask)."""
        torch = _torch()
        enc = token_ids(self.tokenizer, texts, self.settings)
        order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
        pad = pad_id(self.tokenizer)
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            width = max(len(enc[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids[row, :len(enc[i])] = torch.tensor(enc[i])
                mask[row, :len(enc[i])] = 1
            yield idx, ids, mask

    def logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Raw (uncalibrated) logits, [len(texts), len(labels)]."""
        torch = _torch()
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not len(texts):
            return out
        with torch.inference_mode():
            for idx, ids, mask in self._batches(texts, batch_size):
                out[idx] = self.net(ids, mask).float().numpy()
        return out

    def predict_proba(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Calibrated probabilities, [len(texts), len(labels)], columns in ``labels`` order."""
        return softmax(self.logits(texts, batch_size) / self.settings.temperature)

    def outputs(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """Raw logits [n, labels], per-token tag logits (one [pieces, tags] array per text, empty
        without a token head) and the normalised pooled vectors [n, hidden]: the reference the
        ONNX export is checked against."""
        torch = _torch()
        logits = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        vectors = np.zeros((len(texts), self.net.head.in_features), dtype=np.float32)
        tags: list[np.ndarray] = [np.zeros((0, 0), dtype=np.float32)] * len(texts)
        with torch.inference_mode():
            for idx, ids, mask in self._batches(texts, batch_size):
                lg, tg, vec = self.net.outputs(ids, mask)
                logits[idx], vectors[idx] = lg.float().numpy(), vec.float().numpy()
                if tg is not None:
                    lengths = mask.sum(1).tolist()
                    for row, i in enumerate(idx):
                        tags[i] = tg[row, :lengths[row]].float().numpy()
        return logits, tags, vectors

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """The normalised mean-pooled vector of the last trained layer (the tagger's sentence vector)."""
        return self.outputs(texts, batch_size)[2]

    def threshold(self, category: str) -> float:
        return float(self.settings.thresholds.get(category, 0.5))


def token_ids(tokenizer, texts: Sequence[str], settings: Settings) -> list[list[int]]:
    """Piece ids of ``texts`` behind the prefix, cut at ``max_length``: through the tagger's
    ``models.tagger.Encoder`` (pruned vocabulary) or a transformers tokenizer (the base's)."""
    if hasattr(tokenizer, "encode") and hasattr(tokenizer, "prefix"):
        return [e.ids for e in tokenizer.encode(texts)]
    prepared = [prepare(t, settings) for t in texts]
    return tokenizer(prepared, truncation=True, max_length=settings.max_length)["input_ids"]


def pad_id(tokenizer) -> int:
    return tokenizer.pad_id if hasattr(tokenizer, "pad_id") else tokenizer.pad_token_id


def pruned_encoder(base_path: Path, artefact: Path | None, settings: Settings):
    """The tagger's tokenizer (``models.tagger.Encoder``) with ``kept``: the base ids of its
    pieces. Read from the artefact's ``tokenizer.json`` when there is one, else cut from the
    base's (``models/vocab.py``) into the artefact folder."""
    from . import vocab
    from .tagger import TOKENIZER_FILE, Encoder

    base_json = json.loads((Path(base_path) / "tokenizer.json").read_text(encoding="utf-8"))
    pruned, kept = vocab.pruned_tokenizer(base_json)
    path = Path(artefact) / TOKENIZER_FILE if artefact else None
    if path is None or not path.is_file():
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="huashu-vocab-")) / TOKENIZER_FILE
        path.write_text(json.dumps(pruned, ensure_ascii=False), encoding="utf-8")
    elif json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"] != pruned["model"]["vocab"]:
        raise ModelUnavailable(f"{path}: 词表与基础模型不符 / the vocabulary does not match the base model: run `huashu train`")
    encoder = Encoder(path, settings.prefix, settings.max_length)
    encoder.kept = kept
    encoder.path = path
    return encoder


def softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def set_threads(num_threads: int | None = None) -> int:
    """Torch intra-op threads: ``num_threads`` (the configuration's ``threads``), else the cores
    this process may use (at most 8: more rarely helps a model this small)."""
    torch = _torch()
    n = num_threads or 0
    if not n:
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            n = os.cpu_count() or 1
        n = min(n, 8)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


# -- the lexicon examples' base embeddings (for the nearest entry of a model-only hit) --------
EMBEDDINGS_FILE = "lexicon_embeddings.safetensors"


def save_lexicon_embeddings(folder: str | Path, texts: Sequence[str], vectors: np.ndarray) -> Path:
    """Store ``vectors`` (fp16) with their normalised texts, so a load need not recompute them."""
    from safetensors.numpy import save_file

    path = Path(folder) / EMBEDDINGS_FILE
    save_file({"embeddings": np.asarray(vectors, dtype=np.float16)}, str(path),
              metadata={"texts": json.dumps(list(texts), ensure_ascii=False)})
    return path


def load_lexicon_embeddings(folder: str | Path) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    path = Path(folder) / EMBEDDINGS_FILE
    if not path.is_file():
        return {}
    with safe_open(str(path), framework="np") as fh:
        texts = json.loads((fh.metadata() or {}).get("texts", "[]"))
        matrix = fh.get_tensor("embeddings").astype(np.float32)
    return dict(zip(texts, matrix))
