"""Model throughput and latency: lexicon-only vs the baseline vs the fused engine, in one run.

Systems, all on the same synthetic utterances (``bench/corpus.py``: mostly clean service talk,
about one in five with a trigger, formal/chat/ASR, some Traditional):
- lexicon: ``Engine()`` (no model), one utterance at a time;
- baseline: the char n-gram TF-IDF + logistic regression alone (``models/trigger/baseline``);
- fused: ``Engine(model=True)`` — lexicon, the baseline gate, the transformer and fusion —
  at batch 1 (``check``) and batch 64 (``check_many``);
- transformer: ``TriggerClassifier.predict_proba`` alone at batch 64, every utterance (no gate).
Reported: utterances per second, and p50/p99 latency of one utterance (batch 1).

    python bench/model_speed.py [--n 512] [--latency 200] [--threads N] [--out bench/MODEL_RESULTS.md]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for p in (str(REPO), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

import corpus as corpus_mod

from analyzer.engine import Engine


def throughput(fn: Callable[[Sequence[str]], object], texts: Sequence[str], batch: int) -> float:
    t = time.perf_counter()
    for s in range(0, len(texts), batch):
        fn(texts[s:s + batch])
    return len(texts) / (time.perf_counter() - t)


def latencies(fn: Callable[[str], object], texts: Sequence[str]) -> tuple[float, float]:
    times = []
    for text in texts:
        t = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - t)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return statistics.median(times) * 1000, p99 * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=512, help="utterances for the throughput runs")
    ap.add_argument("--latency", type=int, default=200, help="utterances timed one by one")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the cores, at most 8)")
    ap.add_argument("--out", default=str(BENCH / "MODEL_RESULTS.md"))
    args = ap.parse_args(argv)

    from models.baseline import BaselineClassifier
    from models.classifier import artefact_dir, set_threads

    threads = set_threads(args.threads)
    load_start = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    texts = [u.text for u in corpus_mod.build(args.n)]
    one = texts[:args.latency]
    lexicon = Engine().initialize()
    fused = Engine(model=True).initialize()
    if args.threads:
        set_threads(args.threads)
    baseline = BaselineClassifier.load(artefact_dir() / "baseline")
    classifier = fused.fuser.classifier

    # warm-up, so every system starts hot
    for t in texts[:16]:
        lexicon.check(t), fused.check(t)
    baseline.predict_proba(texts[:16])
    classifier.predict_proba(texts[:16])

    rows = []

    def record(name: str, batch: int, fn_many, fn_one=None) -> None:
        ups = throughput(fn_many, texts, batch)
        p50, p99 = latencies(fn_one, one) if fn_one else (None, None)
        rows.append((name, batch, ups, p50, p99))
        print(f"{name:<34} batch {batch:>3}: {ups:>9.1f} utt/s" + (f"   p50 {p50:7.2f} ms  p99 {p99:7.2f} ms" if p50 else ""),
              flush=True)

    record("lexicon (Engine, no model)", 1, lambda b: [lexicon.check(t) for t in b], lexicon.check)
    record("baseline (TF-IDF + LR)", 1, lambda b: baseline.predict_proba(b), lambda t: baseline.predict_proba([t]))
    record("baseline (TF-IDF + LR)", 64, lambda b: baseline.predict_proba(b))
    record("fused (lexicon + gate + model)", 1, lambda b: [fused.check(t) for t in b], fused.check)
    record("fused (lexicon + gate + model)", 64, lambda b: fused.check_many(b))
    record("transformer alone, no gate", 64, lambda b: classifier.predict_proba(b, batch_size=64))

    gate = fused.fuser.policy.gate
    n_lex = [len(lexicon.check(t)) for t in texts]
    skipped = 0
    if fused.fuser.baseline is not None and gate is not None:
        p_none = fused.fuser.baseline.predict_proba(texts)[:, fused.fuser.baseline.labels_.index("none")]
        skipped = sum(fused.fuser.policy.skips(n, float(p)) for n, p in zip(n_lex, p_none))
    lines = [
        "# Model speed: lexicon vs baseline vs fused",
        "",
        (f"`python bench/model_speed.py --n {args.n} --latency {args.latency}` on {datetime.date.today().isoformat()}: "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {threads} torch threads, Python {platform.python_version()}."),
        (f"{len(texts)} synthetic utterances from `bench/corpus.py` (about one in five with a trigger); the "
        f"cascade's gate ({gate}) let {skipped} of them ({skipped / len(texts):.0%}) skip the transformer. "
        f"Latency: {len(one)} utterances, one at a time. Load average (other work on the same cores): "
        f"{load_start} at the start, {round(os.getloadavg()[0], 2) if hasattr(os, 'getloadavg') else None} at the end."),
        "",
        "| system | batch | utterances/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, batch, ups, p50, p99 in rows:
        lines.append(f"| {name} | {batch} | {ups:,.1f} | {'' if p50 is None else f'{p50:.2f}'} | "
                     f"{'' if p99 is None else f'{p99:.2f}'} |")
    lex_ups = rows[0][2]
    fused64 = next(r[2] for r in rows if r[0].startswith("fused") and r[1] == 64)
    lines += ["", (f"Fused at batch 64 runs at {fused64 / lex_ups:.4f}× the lexicon's speed: the transformer's "
                   "cost is paid for every utterance the lexicon flags or the baseline does not clear, and a "
                   "model-only hit costs one more batch (occlusion) to find its span."), ""]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
