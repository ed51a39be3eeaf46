"""Customer sentiment (analyzer/sentiment.py) and the artefact in models/sentiment/.

The model tests run when the artefact is present (``huashu train-sentiment`` writes it); the
fine-tuned model is served by ONNX Runtime (``tests/test_sentiment_onnx.py`` checks it against torch).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer import report
from analyzer.config import Config
from analyzer.pipeline import Pipeline
from analyzer.ingest import parse_transcript
from analyzer.model import AGENT, CUSTOMER
from analyzer.sentiment import (
    ARTEFACT_DIR,
    LABELS,
    BaselineSentiment,
    SentimentUnavailable,
    annotate,
    load,
)

HAVE_ARTEFACT = (ARTEFACT_DIR / "sentiment.json").is_file()
needs_artefact = pytest.mark.skipif(not HAVE_ARTEFACT, reason="no trained artefact in models/sentiment/")
DATA = Path(__file__).resolve().parents[1] / "corpora" / "sentiment" / "customer.jsonl"

CALL = """坐席：您好，顺达快递。
客户：我的包裹三天了还没到。
坐席：你搞错了吧，这个单号是昨天才揽收的。
客户：你们什么态度！我要投诉你们，太过分了！
坐席：非常抱歉，我马上帮您催促派送。
客户：好的，太感谢了！
"""
CLEAR = [("我要投诉你们，太过分了！到底还管不管？", "negative", True),
         ("请问你们周末营业吗？", "neutral", False),
         ("太好了，问题解决了，非常感谢你们！", "positive", False)]


class Fixed:
    name = "fixed"

    def __init__(self):
        self.seen = []

    def predict(self, texts):
        self.seen.extend(texts)
        return [{"label": "negative", "score": 0.8, "anger": False} for _ in texts]


def transcript():
    return parse_transcript(CALL.encode("utf-8"), "call.txt")


def test_annotate_rates_only_customer_turns():
    t, model = transcript(), Fixed()
    annotate(t, model)
    assert model.seen == [turn.text for turn in t.turns if turn.role == CUSTOMER]
    assert all(turn.sentiment is None for turn in t.turns if turn.role == AGENT)
    assert all(turn.sentiment["label"] == "negative" for turn in t.customer_turns)


def test_annotate_keeps_existing_when_asked():
    t = transcript()
    t.customer_turns[0].sentiment = {"label": "positive", "score": 1.0, "anger": False}
    model = Fixed()
    annotate(t, model, overwrite=False)
    assert t.customer_turns[0].sentiment["label"] == "positive" and len(model.seen) == 2
    assert annotate(t, None) is t


def test_load_kinds(tmp_path):
    assert load("none") is None
    with pytest.raises(SentimentUnavailable, match="unknown"):
        load("bert")
    with pytest.raises(SentimentUnavailable, match="train-sentiment"):
        load("baseline", folder=tmp_path)
    assert load("auto", folder=tmp_path) is None  # nothing there: no sentiment, no error


def check_shape(result):
    assert set(result) >= {"label", "score", "anger"} and result["label"] in LABELS
    assert isinstance(result["anger"], bool)
    assert result["score"] == max(result["probs"].values())
    assert abs(sum(result["probs"].values()) - 1) < 1e-3
    assert 0.0 <= result["anger_score"] <= 1.0


@needs_artefact
def test_baseline_clear_cases_and_both_scripts():
    model = load("baseline")
    assert isinstance(model, BaselineSentiment)
    texts = [t for t, _, _ in CLEAR]
    import opencc

    traditional = [opencc.OpenCC("s2tw").convert(t) for t in texts]
    for results in (model.predict(texts), model.predict(traditional)):
        for result, (_, label, angry) in zip(results, CLEAR):
            check_shape(result)
            assert result["label"] == label
        assert results[0]["anger"] is True and results[1]["anger"] is False


@needs_artefact
def test_baseline_reproduces_the_card_figures():
    """The shipped baseline gives exactly the test-split figures in metrics.json."""
    import hashlib

    from models.sentiment_train import evaluate

    metrics = json.loads((ARTEFACT_DIR / "metrics.json").read_text(encoding="utf-8"))
    if metrics["settings"]["network"]["training"]["data_sha256"] != hashlib.sha256(DATA.read_bytes()).hexdigest():
        pytest.skip("the labelled data changed since the artefact was trained")
    rows = [json.loads(x) for x in DATA.read_text(encoding="utf-8").splitlines() if x.strip()]
    test = [r for r in rows if r["split"] == "test"]
    results = load("baseline").predict([r["text"] for r in test])
    got = evaluate(test, [r["label"] for r in results], [r["anger"] for r in results])
    assert got == metrics["evaluation"]["baseline"]["overall"]
    card = (ARTEFACT_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"| {got['macro_f1']:.3f} |" in card


@needs_artefact
def test_satisfaction_with_the_baseline(engine):
    out = report.to_dict(Pipeline(Config(model="off", sentiment="baseline"), engine=engine).analyze(transcript()))
    moods = [turn["sentiment"] for turn in out["turns"] if turn["role"] == CUSTOMER]
    assert [m["label"] for m in moods][1:] == ["negative", "positive"]
    assert moods[1]["anger"] is True
    s = out["summary"]
    assert 0.0 <= s["satisfaction"] <= 1.0
    assert [e["customer_turn"] for e in s["escalations"]] == [3]  # after 你搞错了
    assert s["escalations"][0]["resolved"] is True
    json.dumps(out, ensure_ascii=False, allow_nan=False)


@needs_artefact
def test_finetuned_clear_cases():
    if not (ARTEFACT_DIR / "sentiment.onnx").is_file():
        pytest.skip("no sentiment.onnx (python -m models.sentiment_export)")
    model = load("finetuned")
    results = model.predict([t for t, _, _ in CLEAR])
    for result, (_, label, _) in zip(results, CLEAR):
        check_shape(result)
        assert result["label"] == label
    assert results[0]["anger"] is True and results[2]["anger"] is False
    assert load("auto").name == "finetuned"


def test_check_loads_the_auto_sentiment_model_with_the_first_customer_line():
    """``huashu check`` of agent lines never loads the sentiment model (--sentiment auto); the
    first customer line does; a model named explicitly is loaded at once."""
    from analyzer.pipeline import Utterance, build

    lazy = build(Config(model="off", sentiment="auto"), sentiment=False)
    [agent] = lazy.check([Utterance("你必须先把截图发过来", AGENT)])
    assert agent.flags and agent.sentiment is None and lazy.sentiment is None
    [customer] = lazy.check([Utterance("你们这服务太差了，我要投诉！", CUSTOMER)])
    assert lazy.sentiment is not None and customer.sentiment["label"] == "negative"
    eager = build(Config(model="off", sentiment="baseline"), sentiment=False)
    assert eager.sentiment is not None and eager.sentiment_name == "baseline"
