"""The served trigger tagger (models/tagger.py: ONNX Runtime, no torch) and its vocabulary
(models/vocab.py), on the committed artefact ``models/trigger/``.

What the export promised is checked again here where it can be: the served model's decisions
against the torch reference (needs the converted base model; skipped without it), one pass giving
spans that point into the text, the same answer for a text alone or in a batch, and a load that
imports neither torch nor transformers.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from models import base
from models.tagger import ModelUnavailable, Tagger
from models.vocab import keeps, pruned_tokenizer

TRIGGER = base.Path(__file__).resolve().parents[1] / "models" / "trigger"
needs_base = pytest.mark.skipif(
    not base.is_converted(), reason=f"base model not converted in {base.base_dir()}: run `make setup-train`"
)
TEXTS = [
    "你必须先把身份证复印件传过来。",  # command
    "这事不归我们这边管",  # refusal
    "您多大年纪了？",  # privacy
    "好的，请您稍候。",  # none
    "這是公司的規定，我也沒辦法。",  # Traditional
    "亲～这个真没办法哦😅",  # chat, emoji
    "你听我说完你先别急这个是你自己填错了",  # ASR: no punctuation
    "ＯＫ，订单号Ａ１２３４５已经帮您登记好了",  # full-width
]


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load(TRIGGER)


def test_one_pass_gives_probabilities_spans_and_vectors(tagger):
    from analyzer.normalize import normalize

    texts = [normalize(t).text for t in TEXTS]
    out = tagger.run(texts)
    assert len(out) == len(texts)
    for text, o in zip(texts, out):
        assert o.probs.shape == (len(tagger.labels),) and abs(float(o.probs.sum()) - 1) < 1e-4
        assert o.tags.shape[1] == 1 + 2 * (len(tagger.labels) - 1)
        assert abs(float(np.linalg.norm(o.vector)) - 1) < 1e-3
        for category in tagger.labels[1:]:
            s, e, peak = o.span(tagger.labels, category)
            assert 0 <= s < e <= len(text) and 0 <= peak <= 2
    command = out[0]
    assert tagger.labels[int(np.argmax(command.probs))] == "command"
    s, e, _ = command.span(tagger.labels, "command")
    assert "必须" in texts[0][s:e], texts[0][s:e]  # the span is where the command is
    assert tagger.labels[int(np.argmax(out[3].probs))] == "none"


def test_a_text_alone_or_in_a_batch_gets_the_same_answer(tagger):
    together = tagger.predict_proba(TEXTS)
    alone = np.vstack([tagger.predict_proba([t]) for t in TEXTS])
    assert np.allclose(together, alone, atol=1e-4)
    assert tagger.predict_proba([]).shape == (0, len(tagger.labels))


def test_the_export_kept_the_torch_models_decisions():
    """What ``huashu train`` recorded: the shipped file is the first candidate with ≥ 99.5% of
    the torch model's decisions whose probabilities do not depend on the batch."""
    export = json.loads((TRIGGER / "trigger.json").read_text(encoding="utf-8"))["export"]

    def passes(c):
        return c["agreement"] >= export["min_agreement"] and c["batch_gap"] <= export["max_batch_gap"]

    assert export["min_agreement"] >= 0.995 and export["max_batch_gap"] <= 1e-4
    assert passes(export["candidates"][export["chosen"]])
    names = list(export["candidates"])
    assert not any(passes(export["candidates"][n]) for n in names[:names.index(export["chosen"])])


@needs_base
def test_served_decisions_match_the_torch_reference(tagger):
    from models.classifier import TriggerClassifier
    from models.data import load_corpus, split
    from models.export import MIN_AGREEMENT, decisions
    from models.tagger import softmax

    reference = TriggerClassifier.load(TRIGGER)
    s = reference.settings
    texts = [e.text for e in split(load_corpus([base.Path(p) for p in s.training["data"]]), "test")][:200]
    ref = decisions(softmax(reference.outputs(texts, 64)[0] / s.temperature), s.labels, s.thresholds)
    served = decisions(tagger.predict_proba(texts), s.labels, s.thresholds)
    assert (ref == served).mean() >= MIN_AGREEMENT


def test_loading_and_running_imports_no_torch():
    code = ("import sys, json; from models.tagger import Tagger; t = Tagger.load(sys.argv[1]); "
            "t.run(['你必须先登记']); print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('torch', 'transformers'))))")
    r = subprocess.run([sys.executable, "-c", code, str(TRIGGER)], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_a_damaged_artefact_is_one_clear_line(tmp_path):
    for name in ("trigger.json", "tokenizer.json"):
        (tmp_path / name).write_bytes((TRIGGER / name).read_bytes())
    with pytest.raises(ModelUnavailable, match="tagger.onnx"):
        Tagger.load(tmp_path)
    (tmp_path / "tagger.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelUnavailable, match="huashu train") as info:
        Tagger.load(tmp_path)
    assert "\n" not in str(info.value)


# -- the vocabulary --------------------------------------------------------------------------
def test_pruning_keeps_chinese_service_pieces_and_drops_other_scripts():
    assert keeps("我们") and keeps("▁您好") and keeps("，") and keeps("😅") and keeps("App") and keeps("▁OK")
    assert not keeps("▁première") and not keeps("▁ölçü") and not keeps("Windows") and not keeps("привет")


@needs_base
def test_chinese_text_is_cut_into_the_same_pieces_as_by_the_whole_vocabulary():
    """Pieces of Chinese text (ideographs, punctuation, emoji, short Latin runs) are the base's;
    a longer Latin or digit run is spelt from shorter pieces, never <unk>."""
    from tokenizers import Tokenizer

    full_json = json.loads((base.base_dir() / "tokenizer.json").read_text(encoding="utf-8"))
    pruned_json, kept = pruned_tokenizer(full_json)
    full = Tokenizer.from_str(json.dumps(full_json))
    pruned = Tokenizer.from_str(json.dumps(pruned_json))
    assert len(kept) < len(full_json["model"]["vocab"]) / 4
    for text in TEXTS + ["【客服】您好～订单已发货，预计3天到👍"]:
        a, b = full.encode("query: " + text), pruned.encode("query: " + text)
        assert [kept[i] for i in b.ids] == a.ids, (a.tokens, b.tokens)
    spelt = pruned.encode("query: 单号SF1234567890，Windows电脑").tokens
    assert "<unk>" not in spelt and "".join(spelt).count("1234567890") == 1
    assert pruned_json == json.loads((TRIGGER / "tokenizer.json").read_text(encoding="utf-8")) or \
        [p for p, _ in pruned_json["model"]["vocab"]] == \
        [p for p, _ in json.loads((TRIGGER / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]]


def test_batches_hold_texts_of_similar_length(tagger):
    """``Encoder.batches``: every text once, at most ``batch_size`` per batch, each batch within
    ``PAD_SLACK`` (+2 pieces) of its shortest, so mixed chat turns are not padded to the longest."""
    from models.tagger import PAD_SLACK

    texts = ["好的", "请您稍候", *TEXTS, "亲" * 60, "您好，这边帮您查询一下物流信息，请您稍等一下哦", "嗯"] * 5
    seen = []
    for idx, ids, mask, encoded in tagger.encoder.batches(texts, 8):
        lengths = [len(e.ids) for e in encoded]
        assert len(idx) <= 8 and ids.shape == mask.shape == (len(idx), max(lengths))
        assert max(lengths) <= int(min(lengths) * (1 + PAD_SLACK)) + 2
        assert [int(m.sum()) for m in mask] == lengths
        seen += idx
    assert sorted(seen) == list(range(len(texts)))
    outputs = tagger.run(texts, batch_size=8)
    alone = [tagger.run([t])[0] for t in texts[:len(TEXTS) + 5]]
    for a, b in zip(alone, outputs):
        assert np.abs(a.probs - b.probs).max() < 1e-4
