"""The served tagger: the trained torch network exported to ONNX, its weights quantised to int8,
checked against the torch model before it is written (run by ``huashu train``; again by hand with
``python -m models.export [models/trigger]``).

1. Export (``torch.onnx``, opset 17): inputs ``ids`` and ``mask`` [batch, pieces], outputs
   ``logits`` [batch, labels], ``tags`` [batch, pieces, tags], ``vector`` [batch, hidden].
2. Candidates, fastest first: the weight matrices of every layer in int8 except the feed-forward
   output (whose inputs, after GELU, have the outliers that per-batch activation scales cannot
   hold); only the frozen lower layers' in int8; none. ONNX Runtime's dynamic quantisation:
   int8 weights with per-channel scales, activations quantised per batch at run time.
3. Each candidate's decisions on the check texts (the test split) are compared with the torch
   model's, at the calibrated temperature and thresholds: the category whose probability is
   highest and passes its threshold, else none, each text in the batches it is served in. And
   each text is run alone: its probabilities must not move by more than ``MAX_BATCH_GAP`` from
   those it got in its batch (dynamic int8 quantises activations with one scale per batch, so an
   utterance's verdict would depend on its neighbours: the live path, an upload and a batch
   report must give the same call the same flags). The first candidate with at least
   ``MIN_AGREEMENT`` identical decisions and within that gap is written; the share, the largest
   probability gap to torch and the batch gap of every candidate go to ``trigger.json``
   (``export``) and the card.
4. Float weights that stay are stored in fp16 and widened once when the session starts (ONNX
   Runtime folds the Cast): the file is half the size, the arithmetic fp32.
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import base, vocab
from .classifier import Settings, TriggerClassifier
from .tagger import TAGGER_FILE, TOKENIZER_FILE, Tagger, softmax

MIN_AGREEMENT = 0.995
MAX_BATCH_GAP = 1e-4  # an utterance's probabilities alone vs in its served batch
OPSET = 17


def export_fp32(net, path: Path) -> None:
    import torch

    class Wrapped(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, ids, mask):
            return self.inner.outputs(ids, mask)

    model = Wrapped(net).eval()
    ids = torch.full((2, 12), 5, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    with torch.inference_mode():
        torch.onnx.export(
            model, (ids, mask), str(path), input_names=["ids", "mask"], output_names=["logits", "tags", "vector"],
            dynamic_axes={"ids": {0: "batch", 1: "pieces"}, "mask": {0: "batch", 1: "pieces"},
                          "logits": {0: "batch"}, "tags": {0: "batch", 1: "pieces"}, "vector": {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )


def weight_matmuls(model) -> list[str]:
    inits = {i.name for i in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and any(x in inits for x in n.input)]


def _ffn_output(name: str) -> bool:
    return "/output/dense" in name and "attention" not in name


CANDIDATES = {
    "int8": lambda names: [n for n in names if not _ffn_output(n)],
    "int8-lower": lambda names: [n for n in names if "/lower." in n and not _ffn_output(n)],
    "fp32": lambda names: [],
}


def quantise(src: Path, dst: Path, nodes: Sequence[str]) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if nodes:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, nodes_to_quantize=list(nodes),
                         per_channel=True, extra_options={"MatMulConstBOnly": True})
    else:
        onnx.save(onnx.load(str(src)), str(dst))
    half_floats(dst)


def half_floats(path: Path, min_elements: int = 4096) -> None:
    """Large fp32 initializers stored as fp16, each behind a Cast back to fp32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            continue
        array = numpy_helper.to_array(init).astype(np.float16)
        name = init.name
        init.CopyFrom(numpy_helper.from_array(array, name + "_fp16"))
        casts.append(helper.make_node("Cast", [name + "_fp16"], [name], to=TensorProto.FLOAT, name=name + "_widen"))
    for node in reversed(casts):
        graph.node.insert(0, node)
    onnx.save(model, str(path))


def decisions(probs: np.ndarray, labels: Sequence[str], thresholds: dict[str, float]) -> np.ndarray:
    """Per row: the category with the highest probability if it passes its threshold, else 0 (none)."""
    thr = np.array([1.0] + [float(thresholds.get(c, 0.5)) for c in labels[1:]])
    cats = probs[:, 1:]
    top = cats.argmax(1) + 1
    return np.where(probs[np.arange(len(probs)), top] >= thr[top], top, 0)


def export_artefact(reference: TriggerClassifier, settings: Settings, out_dir: Path,
                    check_texts: Sequence[str], log=print) -> dict[str, Any]:
    """Write ``out_dir/tagger.onnx`` (``out_dir`` already holds ``tokenizer.json`` and the
    settings' ``trigger.json``); the report that goes to ``settings.export``."""
    import onnx

    out_dir = Path(out_dir)
    logits, _, _ = reference.outputs(list(check_texts), batch_size=64)
    ref_probs = softmax(logits / settings.temperature)
    ref = decisions(ref_probs, settings.labels, settings.thresholds)
    report: dict[str, Any] = {"min_agreement": MIN_AGREEMENT, "max_batch_gap": MAX_BATCH_GAP,
                              "check_texts": len(check_texts), "candidates": {}}
    with tempfile.TemporaryDirectory(prefix="huashu-export-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        export_fp32(reference.net, fp32)
        names = weight_matmuls(onnx.load(str(fp32), load_external_data=False))
        chosen = None
        for name, select in CANDIDATES.items():
            path = Path(tmp) / f"{name}.onnx"
            nodes = select(names)
            quantise(fp32, path, nodes)
            tagger = _tagger(path, out_dir, settings)
            started = time.perf_counter()
            probs = tagger.predict_proba(list(check_texts))
            seconds = time.perf_counter() - started
            alone = np.vstack([tagger.predict_proba([t]) for t in check_texts]) if len(ref) else probs
            agree = float((decisions(probs, settings.labels, settings.thresholds) == ref).mean()) if len(ref) else 1.0
            batch_gap = float(np.abs(alone - probs).max()) if len(ref) else 0.0
            report["candidates"][name] = {
                "int8_matmuls": len(nodes), "matmuls": len(names), "agreement": round(agree, 4),
                "largest_probability_gap": round(float(np.abs(probs - ref_probs).max()) if len(ref) else 0.0, 4),
                "batch_gap": float(f"{batch_gap:.2g}"),
                "size_mb": round(path.stat().st_size / 2**20, 1), "seconds": round(seconds, 2),
            }
            log(f"export {name}: {report['candidates'][name]}")
            if agree >= MIN_AGREEMENT and batch_gap <= MAX_BATCH_GAP:
                chosen = name
                path.replace(out_dir / TAGGER_FILE)
                break
        if chosen is None:  # cannot happen with fp32 unless the export itself is wrong
            raise RuntimeError(f"export: no candidate keeps {MIN_AGREEMENT:.1%} of the torch model's decisions "
                               f"and its batch independence: {report['candidates']}")
    report["chosen"] = chosen
    Tagger._loaded.clear()
    return report


def _tagger(path: Path, folder: Path, settings: Settings) -> Tagger:
    import onnxruntime as ort

    from .tagger import TOKENIZER_FILE, Encoder, default_threads

    options = ort.SessionOptions()
    options.intra_op_num_threads = default_threads()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return Tagger(session, Encoder(folder / TOKENIZER_FILE, settings.prefix, settings.max_length), settings,
                  default_threads())


def main(argv: Sequence[str] | None = None) -> int:
    """Export again from the artefact's torch weights (the base model converted in .cache)."""
    import json

    from analyzer.resources import TRIGGER_DIR

    from .data import load_corpus, split

    argv = list(sys.argv[1:] if argv is None else argv)
    folder = Path(argv[0]) if argv else TRIGGER_DIR
    # the vocabulary as models/vocab.py cuts it today (the trained weights hold no embeddings)
    base_path = base.require_base_model()
    vocab.write_pruned(Path(base_path) / "tokenizer.json", folder / TOKENIZER_FILE)
    reference = TriggerClassifier.load(folder)
    settings = reference.settings
    test = [e.text for e in split(load_corpus([Path(p) for p in settings.training.get("data", [])] or None), "test")]
    report = export_artefact(reference, settings, folder, test)
    settings.export = report
    (folder / "trigger.json").write_text(settings.to_json(), encoding="utf-8")
    write_lexicon_embeddings(folder)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


def write_lexicon_embeddings(folder: Path, threads: int | None = None) -> None:
    """The served tagger's sentence vectors of every lexicon example (the nearest entry of a
    model-only hit), stored so that a load need not compute them."""
    from analyzer.engine import Engine
    from analyzer.normalize import normalize

    from .classifier import save_lexicon_embeddings

    served = Tagger.load(folder, threads)
    lexicon = Engine().lexicon
    texts = sorted({normalize(x.text).text for e in lexicon.entries for x in e.examples})
    save_lexicon_embeddings(folder, texts, served.embed(texts))


if __name__ == "__main__":
    raise SystemExit(main())
