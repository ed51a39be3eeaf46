"""The fine-tuned sentiment model as served: ONNX Runtime (``analyzer/sentiment.py``) from the
artefact that ``models/sentiment_export.py`` writes.

- it keeps the torch model's decisions (label and anger flag) on the test split;
- loading and rating import neither torch nor transformers (a fresh interpreter);
- Simplified, Traditional, chat, ASR, emoji and full-width text are rated;
- a damaged or missing ``sentiment.onnx`` is one clear line, and ``auto`` falls back to the baseline.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.sentiment import (
    ARTEFACT_DIR,
    LABELS,
    ONNX_FILE,
    TOKENIZER_FILE,
    BaselineSentiment,
    FinetunedSentiment,
    SentimentUnavailable,
    load,
)

REPO = Path(__file__).resolve().parents[1]
HAVE_ONNX = (ARTEFACT_DIR / ONNX_FILE).is_file() and (ARTEFACT_DIR / "sentiment.json").is_file()
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="no sentiment.onnx (python -m models.sentiment_export)")


def check_shape(result):
    assert result["label"] in LABELS and result["model"] == "finetuned"
    assert isinstance(result["anger"], bool)
    assert result["score"] == max(result["probs"].values())
    assert abs(sum(result["probs"].values()) - 1) < 1e-3
    assert 0.0 <= result["anger_score"] <= 1.0


@needs_onnx
def test_served_onnx_keeps_the_torch_decisions_on_the_test_split():
    """The served model against the torch network it was exported from, over the test split:
    at least 99.5% identical decisions (label, and anger at its threshold), as the export promised."""
    pytest.importorskip("torch")
    from models import base, sentiment_export

    if not base.is_converted():
        pytest.skip("base model not converted (make setup-train)")
    settings = sentiment_export.read_settings(ARTEFACT_DIR)
    texts = sentiment_export.utterances(sentiment_export.data_files(settings), "test")
    assert len(texts) > 300
    reference = sentiment_export.torch_reference(ARTEFACT_DIR, threads=2)
    ref_probs, ref_angry = sentiment_export.calibrated(reference.logits(texts), settings)
    served = load("finetuned")
    assert isinstance(served, FinetunedSentiment)
    probs, angry = served.probabilities(texts)
    threshold = served.anger_threshold
    same = sentiment_export.decisions(probs, angry, threshold) == sentiment_export.decisions(ref_probs, ref_angry, threshold)
    assert same.mean() >= sentiment_export.MIN_AGREEMENT, [texts[i] for i in range(len(texts)) if not same[i]][:10]
    # what the artefact records is what is served
    recorded = settings["export"]
    assert abs(same.mean() - recorded["agreement"]) <= 0.005
    gap = max(abs(probs - ref_probs).max(), abs(angry - ref_angry).max())
    assert gap <= recorded["largest_probability_gap"] + 0.02
    # predict() gives those same probabilities, rounded
    results = served.predict(texts[:20])
    for result, p, a in zip(results, probs[:20], angry[:20]):
        check_shape(result)
        assert result["label"] == LABELS[int(p.argmax())]
        assert result["anger_score"] == round(float(a), 4)


@needs_onnx
def test_loading_and_rating_import_no_torch():
    code = (
        "import json, sys\n"
        "from analyzer import sentiment\n"
        "m = sentiment.load('auto')\n"
        "r = m.predict(['你们到底管不管？我要投诉！'])\n"
        "print(json.dumps({'model': m.name, 'label': r[0]['label'],\n"
        "                  'heavy': sorted(k for k in sys.modules if k.split('.')[0] in ('torch', 'transformers'))}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"model": "finetuned", "label": "negative", "heavy": []}


@needs_onnx
def test_scripts_styles_emoji_and_full_width():
    model = load("finetuned")
    cases = [
        ("你们到底什么态度！我要投诉，气死我了！", "negative", True),  # Simplified
        ("你們到底什麼態度！我要投訴，氣死我了！", "negative", True),  # Traditional
        ("亲 东西收到啦 超喜欢 谢谢客服小姐姐～", "positive", False),  # chat
        ("我都打了三次电话了你们到底什么时候给我解决到现在都没人管", "negative", None),  # ASR, no punctuation
        ("问题解决了太好了谢谢你们👍👍", "positive", False),  # emoji
        ("请问ＶＩＰ会员的退款几天能到账？", "neutral", False),  # full-width Latin and punctuation
    ]
    results = model.predict([t for t, _, _ in cases])
    for result, (text, label, angry) in zip(results, cases):
        check_shape(result)
        assert result["label"] == label, (text, result)
        if angry is not None:
            assert result["anger"] is angry, (text, result)
    simplified, traditional = results[0], results[1]
    assert simplified["probs"] == traditional["probs"]  # normalised alike
    only_emoji = model.predict(["😡😡😡", "🙏"])
    for result in only_emoji:
        check_shape(result)
    assert model.predict([]) == []


def _copy_artefact(tmp_path: Path) -> Path:
    folder = tmp_path / "sentiment"
    folder.mkdir()
    for name in ("sentiment.json", TOKENIZER_FILE):
        shutil.copy(ARTEFACT_DIR / name, folder / name)
    shutil.copytree(ARTEFACT_DIR / "baseline", folder / "baseline")
    return folder


@needs_onnx
@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_damaged_or_missing_onnx_is_one_line_and_auto_falls_back(tmp_path, damage):
    folder = _copy_artefact(tmp_path)
    if damage == "garbage":
        (folder / ONNX_FILE).write_bytes("这不是模型 / not a model\n".encode() * 100)
    elif damage == "truncated":
        data = (ARTEFACT_DIR / ONNX_FILE).read_bytes()
        (folder / ONNX_FILE).write_bytes(data[: len(data) // 3])
    with pytest.raises(SentimentUnavailable) as info:
        load("finetuned", folder=folder)
    message = str(info.value)
    assert "\n" not in message and "models.sentiment_export" in message
    assert ("cannot be read" if damage != "missing" else "missing") in message
    assert ONNX_FILE in message
    fallback = load("auto", folder=folder)
    assert isinstance(fallback, BaselineSentiment)
    assert fallback.predict(["我要投诉你们！"])[0]["model"] == "baseline"


@needs_onnx
def test_cli_names_the_damaged_model_in_one_line(tmp_path):
    folder = _copy_artefact(tmp_path)
    (folder / ONNX_FILE).write_bytes(b"\x00\x01broken")
    line = json.dumps({"id": 1, "text": "你们到底管不管！", "role": "customer"}, ensure_ascii=False)
    env = {**os.environ, "HUASHU_SENTIMENT_DIR": str(folder), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "analyzer.cli", "check", "--no-model", "--sentiment", "finetuned"],
                         input=line + "\n", cwd=REPO, capture_output=True, text=True, timeout=120, env=env,
                         check=False)
    assert out.returncode == 2
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 1 and "Traceback" not in out.stderr
    assert "sentiment.onnx" in errors[0] and "情绪模型无法读取" in errors[0]
    assert out.stdout == ""
