"""The model-only floor (``model_only_min`` in corpora/lexicon/model_spans.yaml), swept on the real
dev part and the authored dev set side by side: for each floor, the real dev part's precision, clear
recall and false-flag rate on random clean turns (definitions of ``huashu eval --real``), and
corpora/dev/dev.jsonl's detection F1 and hard-negative false positives. The fused system runs once
with the floor off and every model-only flag's probability is kept, so the sweep itself is free.

    .venv/bin/python bench/model_only_floor.py [--cache .cache/real]    # ~10 min on 2 cores

Reads the dev part only (never the test part). Needs the real cache (corpora/real/README.md).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzer.config import Config  # noqa: E402
from analyzer.pipeline import Utterance, build  # noqa: E402
from analyzer.real_eval import default_cache, flags_of, load  # noqa: E402

FLOORS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None)
    args = ap.parse_args()
    pipeline = build(Config().with_(model="on", sentiment="none"))
    pipeline.engine.fuser.policy.model_only_min = 0.0  # the floor off: every model-only flag kept
    items = [json.loads(x) for x in (ROOT / "corpora" / "dev" / "dev.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    authored = [(it["label"], it.get("kind"), r.flags)
                for it, r in zip(items, pipeline.check([Utterance(it["text"], "agent") for it in items]))]
    bench = load(args.cache or default_cache(), "dev")
    real = list(zip(bench.agent, flags_of(pipeline, bench.agent, context=True)))
    clear = sum(t.label["grade"] == "clear" for t, _ in real)
    random_none = sum(t.label["grade"] == "none" and t.sample.endswith("random") for t, _ in real)
    print(f"real dev part: {len(real)} agent turns ({clear} clear, {random_none} random clean); "
          f"corpora/dev/dev.jsonl: {len(authored)} utterances")
    print(f"{'floor':>6} | {'real precision':>15} {'clear recall':>13} {'false flags':>12} | "
          f"{'authored detection F1':>22} {'HN FPs':>7}")
    for floor in FLOORS:
        def shown(flags):
            return [f for f in flags if f.source != "model" or f.confidence >= floor]
        tp = fp = fn = hn = 0
        for label, kind, flags in authored:
            hit, pos = bool(shown(flags)), label != "none"
            tp, fp, fn = tp + (hit and pos), fp + (hit and not pos), fn + (pos and not hit)
            hn += hit and not pos and kind == "hard_negative"
        rtp = rfp = rclear = rff = 0
        for t, flags in real:
            if shown(flags):
                grade = t.label["grade"]
                rtp, rfp = rtp + (grade != "none"), rfp + (grade == "none")
                rclear += grade == "clear"
                rff += grade == "none" and t.sample.endswith("random")
        print(f"{floor:>6} | {rtp / max(rtp + rfp, 1):>9.3f} {rtp:>2}/{rtp + rfp:<3} {rclear / clear:>13.3f} "
              f"{rff / random_none:>12.3f} | {2 * tp / (2 * tp + fp + fn):>22.3f} {hn:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
