#!/usr/bin/env python3
"""Score the committed sentiment models on part-real.jsonl (default: its dev split).

    .venv/bin/python corpora/sentiment/score_part_real.py [--split dev|train|all] [--data PATH]

Prints macro-F1 over negative/neutral/positive and anger F1 for the baseline and the fine-tuned
model (models/sentiment/), overall and per style. A "before" figure: the models were not trained
on this file. Needs the artefacts in models/sentiment/ (about a minute of CPU).
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sklearn.metrics import f1_score  # noqa: E402

from analyzer import sentiment  # noqa: E402

LABELS = ["negative", "neutral", "positive"]


def scores(rows, out):
    y, p = [r["label"] for r in rows], [o["label"] for o in out]
    ya, pa = [r["anger"] for r in rows], [bool(o.get("anger")) for o in out]
    return (f1_score(y, p, average="macro", labels=LABELS, zero_division=0),
            f1_score(ya, pa, zero_division=0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).with_name("part-real.jsonl")))
    ap.add_argument("--split", default="dev", choices=("dev", "train", "all"))
    args = ap.parse_args()
    rows = [json.loads(x) for x in Path(args.data).read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if args.split == "all" or r["split"] == args.split]
    print(f"{args.data} ({args.split}): {len(rows)} lines")
    for kind in ("baseline", "finetuned"):
        out = sentiment.load(kind).predict([r["text"] for r in rows])
        macro, anger = scores(rows, out)
        print(f"{kind:9s} all   n {len(rows):4d}  macro-F1 {macro:.3f}  anger F1 {anger:.3f}")
        for style in ("chat", "asr"):
            idx = [i for i, r in enumerate(rows) if r["style"] == style]
            if idx:
                m, a = scores([rows[i] for i in idx], [out[i] for i in idx])
                print(f"{kind:9s} {style:5s} n {len(idx):4d}  macro-F1 {m:.3f}  anger F1 {a:.3f}")


if __name__ == "__main__":
    main()
