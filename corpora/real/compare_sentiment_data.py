"""Does the real-register sentiment corpus help? Trains the sentiment baseline (char n-gram TF-IDF +
logistic regression, ``models.sentiment_train.train_baseline``, ~1 min) twice, on
``corpora/sentiment/customer.jsonl`` alone and together with ``part-real.jsonl``, and scores both on
the customer turns of the real benchmark's dev part (macro-F1 and anger F1, the definitions of
``huashu eval --real``). Needs the real cache (see README.md).

    .venv/bin/python corpora/real/compare_sentiment_data.py [--cache .cache/real]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from analyzer.normalize import normalize  # noqa: E402
from analyzer.real_eval import _sentiment_figures, default_cache, load  # noqa: E402
from analyzer.resources import SENTIMENT_DATA, SENTIMENT_REAL_DATA  # noqa: E402
from models.sentiment_train import baseline_predict, load_data, train_baseline  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None)
    ap.add_argument("--part", default="dev")
    args = ap.parse_args()
    bench = load(args.cache or default_cache(), args.part)
    texts = [normalize(t.text).text for t in bench.customer]
    gold = [(t.label["label"], t.label["anger"]) for t in bench.customer]
    print(f"customer turns, part {args.part}: {len(texts)}")
    for name, files in (("customer.jsonl", [SENTIMENT_DATA]),
                        ("customer.jsonl + part-real.jsonl", [SENTIMENT_DATA, SENTIMENT_REAL_DATA])):
        rows = [r for f in files for r in load_data(f)]
        train = [r for r in rows if r["split"] == "train"]
        dev = [r for r in rows if r["split"] == "dev"]
        label_model, anger_model, threshold = train_baseline(train, dev, [])
        labels, anger = baseline_predict(label_model, anger_model, threshold, texts)
        macro, anger_f1 = _sentiment_figures(gold, list(zip(labels, anger)))
        print(f"baseline trained on {name:<34} train {len(train):>5}: macro-F1 {macro:.3f}, anger F1 {anger_f1:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
