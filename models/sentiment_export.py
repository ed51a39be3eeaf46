"""The served sentiment model: the trained torch network exported to ONNX with the tagger's pruned
vocabulary, checked against the torch model before it is written (run at the end of
``huashu train-sentiment``; again from the committed weights with ``python -m models.sentiment_export``).

1. The reference: the network as it was served before ONNX (the base model converted in
   ``.cache/``, rebuilt by ``models.classifier.build_network``, the trained top layers and the head
   from ``sentiment.safetensors``; the base's whole tokenizer), ``torch_reference``.
2. Its word embeddings cut to the pieces Chinese service text uses (``models/vocab.py``): the
   pruned ``tokenizer.json`` is written into the artefact folder and the embedding matrix becomes
   ``base[kept]``, so text of those characters gives the same pieces and the same numbers.
3. Export (``torch.onnx``, opset 17): inputs ``ids`` and ``mask`` [batch, pieces], output
   ``logits`` [batch, 5] (3 label logits, 2 anger logits).
4. Candidates, smallest first: ``int8`` (ONNX Runtime's dynamic quantisation of the weight
   MatMuls, per-channel int8 weights, activations quantised per batch; the feed-forward output
   layers stay float: their inputs, after GELU, carry outliers), ``fp32`` (float arithmetic,
   large weights stored fp16 behind a Cast), ``fp32-full``. Each one is served exactly as
   ``analyzer.sentiment.FinetunedSentiment`` serves it (same tokenizer, batches, temperatures)
   over the test split; a decision is the label and the anger flag at its threshold. The first
   candidate with at least ``MIN_AGREEMENT`` identical decisions is written to ``sentiment.onnx``.
   (Smaller int8 sets were tried by hand on the shipped weights: the attention MatMuls only kept
   98.99% of the decisions, the frozen lower layers' attention only 99.24%; dynamic int8 does not
   keep this model's anger and label calls, so it ships as fp32.)
5. The report (every candidate's agreement, largest probability gap, size; the torch and ONNX
   time per 1,000 customer utterances in the same run) goes to ``sentiment.json`` (``export``) and
   the model card.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.resources import SENTIMENT_DATA
from analyzer.resources import SENTIMENT_DIR as OUT_DIR

from .tagger import TOKENIZER_FILE, default_threads

ONNX_FILE = "sentiment.onnx"
SETTINGS_FILE = "sentiment.json"
WEIGHTS_FILE = "sentiment.safetensors"
MIN_AGREEMENT = 0.995
OPSET = 17
TIMED = 1000  # customer utterances timed, torch and ONNX
LABELS = ("negative", "neutral", "positive")
REPO_ROOT = Path(__file__).resolve().parent.parent
CARD_START = "<!-- serving:start (written by `python -m models.sentiment_export`) -->"
CARD_END = "<!-- serving:end -->"


class ExportError(RuntimeError):
    """The export cannot run or no candidate keeps the torch model's decisions (one line)."""


# -- the torch reference ---------------------------------------------------------------------
class TorchSentiment:
    """The sentiment network in torch, as it was served before ONNX: same normalisation,
    tokenizer (the base's, whole vocabulary), batches of 32 sorted by length, temperatures."""

    def __init__(self, classifier, settings: dict[str, Any], base_path: Path):
        self.classifier = classifier  # models.classifier.TriggerClassifier
        self.net = classifier.net
        self.settings = settings
        self.base_path = base_path

    def logits(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        from analyzer.normalize import normalize

        return self.classifier.logits([normalize(t).text for t in texts], batch_size)


def read_settings(folder: Path) -> dict[str, Any]:
    path = Path(folder) / SETTINGS_FILE
    if not path.is_file():
        raise ExportError(f"{path}: 缺失 / missing: run `huashu train-sentiment`")
    return json.loads(path.read_text(encoding="utf-8"))


def torch_reference(folder: str | Path | None = None, cache_dir: str | Path | None = None,
                    threads: int | None = None) -> TorchSentiment:
    """Rebuild the torch network from the converted base model and ``sentiment.safetensors``."""
    from safetensors.torch import load_file

    from . import base
    from .classifier import Settings, TriggerClassifier, build_network, set_threads

    folder = Path(folder) if folder else OUT_DIR
    settings = read_settings(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ExportError(f"{weights}: 缺失 / missing: run `huashu train-sentiment`")
    try:
        base_path = base.require_base_model(cache_dir)
    except base.BaseModelMissing as exc:
        raise ExportError(str(exc)) from None
    set_threads(threads)
    network = Settings(**{k: v for k, v in settings["network"].items() if k in Settings.__dataclass_fields__})
    net = build_network(base.load_encoder(base_path, layers=network.layers), network)
    trained = {k: v.float() for k, v in load_file(str(weights)).items()}
    missing = set(net.trained_state()) - set(trained)
    if missing:
        raise ExportError(f"{weights}: missing tensors {sorted(missing)[:3]}")
    net.load_state_dict(trained, strict=False)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return TorchSentiment(TriggerClassifier(net, base.load_tokenizer(base_path), network, threads), settings, base_path)


def calibrated(logits: np.ndarray, settings: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(label probabilities [n, 3], P(angry) [n]) at the artefact's temperatures."""
    from .tagger import softmax

    n = len(LABELS)
    probs = softmax(logits[:, :n] / float(settings["label_temperature"]))
    angry = softmax(logits[:, n:] / float(settings["anger_temperature"]))[:, 1]
    return probs, angry


def decisions(probs: np.ndarray, angry: np.ndarray, threshold: float) -> np.ndarray:
    """Per text: label index * 2 + anger flag (two texts decide alike when these are equal)."""
    return probs.argmax(1) * 2 + (angry >= threshold).astype(int)


# -- the ONNX file ---------------------------------------------------------------------------
def export_fp32(reference: TorchSentiment, kept: Sequence[int], path: Path) -> None:
    """``reference.net`` with its word embeddings cut to ``kept``, exported to ``path``."""
    import torch

    net = reference.net
    embeddings = net.embeddings
    old = embeddings.word_embeddings
    pruned = torch.nn.Embedding(len(kept), old.embedding_dim)
    with torch.no_grad():
        pruned.weight.copy_(old.weight[torch.tensor(list(kept), dtype=torch.long)])
    pruned.requires_grad_(False)

    class Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, ids, mask):
            return self.inner(ids, mask)

    ids = torch.full((2, 12), 5, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    embeddings.word_embeddings = pruned
    try:
        with torch.inference_mode():
            torch.onnx.export(
                Logits(net).eval(), (ids, mask), str(path), input_names=["ids", "mask"], output_names=["logits"],
                dynamic_axes={"ids": {0: "batch", 1: "pieces"}, "mask": {0: "batch", 1: "pieces"},
                              "logits": {0: "batch"}},
                opset_version=OPSET, dynamo=False,
            )
    finally:
        embeddings.word_embeddings = old


def weight_matmuls(model) -> list[str]:
    inits = {i.name for i in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and any(x in inits for x in n.input)]


def _ffn_output(name: str) -> bool:
    return "/output/dense" in name and "attention" not in name


CANDIDATES: dict[str, tuple[Callable[[list[str]], list[str]], bool]] = {  # name: (int8 nodes, fp16 storage)
    "int8": (lambda names: [n for n in names if not _ffn_output(n)], True),
    "fp32": (lambda names: [], True),
    "fp32-full": (lambda names: [], False),
}


def build_candidate(src: Path, dst: Path, nodes: Sequence[str], half: bool) -> None:
    import onnx

    if nodes:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, nodes_to_quantize=list(nodes),
                         per_channel=True, extra_options={"MatMulConstBOnly": True})
    else:
        onnx.save(onnx.load(str(src)), str(dst))
    if half:
        store_half(dst)


def store_half(path: Path, min_elements: int = 4096) -> None:
    """Float initializers of at least ``min_elements`` values kept as fp16 in the file, each
    widened back to fp32 by a Cast at the top of the graph (folded when the session starts)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    widen = []
    for tensor in model.graph.initializer:
        if tensor.data_type == TensorProto.FLOAT and int(np.prod(tensor.dims)) >= min_elements:
            stored = tensor.name + "__fp16"
            tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), stored))
            widen.append(helper.make_node("Cast", [stored], [stored[:-len("__fp16")]], to=TensorProto.FLOAT,
                                          name=stored + "_to_fp32"))
    for node in reversed(widen):
        model.graph.node.insert(0, node)
    onnx.save(model, str(path))


# -- data ------------------------------------------------------------------------------------
def data_files(settings: dict[str, Any]) -> list[Path]:
    named = settings.get("network", {}).get("training", {}).get("data") or ""
    files = [REPO_ROOT / p.strip() if not Path(p.strip()).is_absolute() else Path(p.strip())
             for p in named.split(",") if p.strip()]
    return [f for f in files if f.is_file()] or [SENTIMENT_DATA]


def utterances(files: Sequence[Path], split: str | None = None) -> list[str]:
    """The customer utterances of ``files`` (all, or one split), as written (the model normalises)."""
    out = []
    for path in files:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if split is None or row.get("split") == split:
                    out.append(row["text"])
    return out


# -- the export ------------------------------------------------------------------------------
def export_artefact(folder: str | Path | None = None, cache_dir: str | Path | None = None,
                    threads: int | None = None, reference: TorchSentiment | None = None,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write ``folder/tokenizer.json`` and ``folder/sentiment.onnx``, add the report to
    ``sentiment.json`` (``export``) and the card; the report."""
    import onnx
    import onnxruntime

    from analyzer.sentiment import FinetunedSentiment, clear_cache

    from . import vocab

    folder = Path(folder) if folder else OUT_DIR
    threads = threads or default_threads()
    reference = reference or torch_reference(folder, cache_dir, threads)
    settings = read_settings(folder)
    threshold = float(settings["anger_threshold"])
    files = data_files(settings)
    check = utterances(files, "test")
    if not check:
        raise ExportError(f"{', '.join(map(str, files))}: no test split to check the export on")
    timed = utterances(files)
    timed = (timed * (TIMED // max(1, len(timed)) + 1))[:TIMED]

    started = time.perf_counter()
    reference.logits(timed)
    torch_s = time.perf_counter() - started
    ref_probs, ref_angry = calibrated(reference.logits(check), settings)
    ref = decisions(ref_probs, ref_angry, threshold)

    kept = vocab.write_pruned(reference.base_path / "tokenizer.json", folder / TOKENIZER_FILE)
    report: dict[str, Any] = {
        "file": ONNX_FILE, "tokenizer": TOKENIZER_FILE, "vocabulary": len(kept), "opset": OPSET,
        "onnxruntime": onnxruntime.__version__, "date": datetime.date.today().isoformat(),
        "min_agreement": MIN_AGREEMENT, "check_texts": len(check), "check_split": "test", "candidates": {},
    }
    chosen = None
    with tempfile.TemporaryDirectory(prefix="huashu-sentiment-export-") as tmp:
        fp32 = Path(tmp) / "exported.onnx"
        export_fp32(reference, kept, fp32)
        names = weight_matmuls(onnx.load(str(fp32)))
        for name, (select, half) in CANDIDATES.items():
            path = Path(tmp) / f"{name}.onnx"
            nodes = select(names)
            build_candidate(fp32, path, nodes, half)
            served = FinetunedSentiment.from_files(path, folder / TOKENIZER_FILE, settings, threads)
            probs, angry = served.probabilities(check)
            agree = float((decisions(probs, angry, threshold) == ref).mean())
            gap = float(max(np.abs(probs - ref_probs).max(), np.abs(angry - ref_angry).max()))
            report["candidates"][name] = {
                "int8_matmuls": len(nodes), "matmuls": len(names), "agreement": round(agree, 4),
                "largest_probability_gap": round(gap, 4), "bytes": path.stat().st_size,
            }
            log(f"export {name}: {report['candidates'][name]}")
            if agree >= MIN_AGREEMENT:
                chosen = name
                started = time.perf_counter()
                served.probabilities(timed)
                onnx_s = time.perf_counter() - started
                path.replace(folder / ONNX_FILE)
                break
    if chosen is None:
        raise ExportError(f"no ONNX candidate keeps {MIN_AGREEMENT:.1%} of the torch model's decisions: "
                          f"{report['candidates']}")
    picked = report["candidates"][chosen]
    report.update({
        "variant": chosen, "agreement": picked["agreement"], "largest_probability_gap": picked["largest_probability_gap"],
        "bytes": picked["bytes"],
        "timing": {"utterances": len(timed), "threads": threads, "torch_s": round(torch_s, 2),
                   "onnx_s": round(onnx_s, 2), "machine": f"{platform.machine()}, {threads} threads"},
    })
    settings = read_settings(folder)
    settings["export"] = report
    (folder / SETTINGS_FILE).write_text(json.dumps(settings, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_card(folder / "MODEL_CARD.md", report)
    clear_cache()
    return report


# -- the model card --------------------------------------------------------------------------
def card_section(report: dict[str, Any]) -> str:
    t = report["timing"]
    lines = [
        CARD_START,
        "## Serving (ONNX Runtime)",
        "",
        (f"`analyzer/sentiment.py` serves the fine-tuned model from `{report['file']}` with ONNX Runtime "
         f"(`tokenizers` cuts the text with `{report['tokenizer']}`: e5's vocabulary pruned to the "
         f"{report['vocabulary']:,} pieces Chinese service text uses, `models/vocab.py`); serving imports "
         "neither torch nor transformers. `sentiment.safetensors` stays the source: "
         "`python -m models.sentiment_export` rebuilds the torch model from it (with the converted base "
         "model) and exports again; `huashu train-sentiment` does so at its end."),
        "",
        (f"Written on {report['date']} (onnxruntime {report['onnxruntime']}, opset {report['opset']}). "
         f"Shipped variant: **{report['variant']}**, {report['bytes'] / 1e6:.1f} MB. Checked on the "
         f"{report['check_texts']} utterances of the {report['check_split']} split against the torch model "
         f"(a decision is the label and the anger flag at its threshold; at least "
         f"{report['min_agreement']:.1%} must be identical):"),
        "",
        "| candidate | int8 MatMuls | identical decisions | largest probability gap | size |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, c in report["candidates"].items():
        lines.append(f"| {name} | {c['int8_matmuls']} of {c['matmuls']} | {c['agreement']:.2%} | "
                     f"{c['largest_probability_gap']:.4f} | {c['bytes'] / 1e6:.1f} MB |")
    lines += [
        "",
        ("`int8`: the weight MatMuls but the feed-forward outputs in int8 (per-channel weights, activations "
         "quantised per batch); `fp32`: float arithmetic, weights of 4,096 values or more stored fp16 in the "
         "file and widened once when the session starts; `fp32-full`: all fp32 (only tried when the others "
         "fall short). The first candidate at or above the bar is shipped."),
        "",
        (f"Time for {t['utterances']:,} customer utterances in the same run ({t['machine']}, batches of 32): "
         f"torch **{t['torch_s']:.1f} s**, ONNX Runtime **{t['onnx_s']:.1f} s** "
         f"({t['torch_s'] / max(t['onnx_s'], 1e-9):.1f}×)."),
        CARD_END,
    ]
    return "\n".join(lines)


def write_card(path: Path, report: dict[str, Any]) -> None:
    """Replace the serving section of the card (or put it before ``## Limitations``)."""
    section = card_section(report)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if CARD_START in text and CARD_END in text:
        head, rest = text.split(CARD_START, 1)
        text = head + section + rest.split(CARD_END, 1)[1]
    elif "## Limitations" in text:
        head, rest = text.split("## Limitations", 1)
        text = head + section + "\n\n## Limitations" + rest
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


# -- command line ----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.sentiment_export", description=__doc__.splitlines()[0])
    p.add_argument("folder", nargs="?", default=str(OUT_DIR), help="artefact folder (default models/sentiment)")
    p.add_argument("--cache-dir", default=None, help="where the converted base model lives (default .cache/huashu)")
    p.add_argument("--threads", type=int, default=0, help="threads for torch and ONNX Runtime (0: the cores, at most 8)")
    args = p.parse_args(argv)
    try:
        report = export_artefact(Path(args.folder), args.cache_dir, args.threads or None)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(card_section(report).splitlines()[1:-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
