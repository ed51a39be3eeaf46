"""The full pipeline per utterance: ``Engine.check`` (batch 1) and ``Engine.check_many`` (batch 64),
without and with the fine-tuned classifier (``Engine(model=True)``).

Same corpus as the other benches (``bench/corpus.py``). The lexicon-only rows run on a fixed
number of utterances; the model rows run within a time budget per round (a CPU forward pass
costs milliseconds), so their ``utterances`` column says how many were done. Latency is per
call: one utterance for batch 1, one batch of 64 for batch 64. When the model cannot be loaded
(no artefact in ``models/trigger/`` yet, torch missing, ...) its rows say
``model: not available`` with the reason; they fill in by themselves once it loads.

    python bench/pipeline_speed.py [--n 20000] [--model-seconds 20] [--rounds 3]
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for p in (str(REPO), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

import corpus as corpus_mod

from analyzer.engine import Engine

BATCHES = (1, 64)


@dataclass
class Row:
    model: bool
    batch: int
    available: bool = True
    reason: str = ""
    runs: list[tuple[float, int]] = field(default_factory=list)  # (seconds, utterances)
    latencies: list[float] = field(default_factory=list)  # seconds per call, all rounds

    def utt_per_s(self) -> float:
        return statistics.median(n / s for s, n in self.runs)


def load_model_engine() -> tuple[Engine | None, str]:
    """``Engine(model=True)``, initialised, or None and the one-line reason it cannot load."""
    try:
        return Engine(model=True).initialize(), ""
    except Exception as exc:  # noqa: BLE001 (ModelUnavailable, ImportError: no torch, a half-built artefact ...)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return None, f"{type(exc).__name__}: {reason[:200]}"


def _calls(engine: Engine, texts: Sequence[str], batch: int) -> list[Callable[[], object]]:
    if batch == 1:
        return [lambda t=t: engine.check(t) for t in texts]
    chunks = [list(texts[i:i + batch]) for i in range(0, len(texts), batch)]
    return [lambda c=c: engine.check_many(c) for c in chunks]


def _measure(row: Row, calls: list[Callable[[], object]], batch: int, total: int, budget: float | None) -> None:
    done = 0
    start = time.perf_counter()
    for call in calls:
        t0 = time.perf_counter()
        call()
        row.latencies.append(time.perf_counter() - t0)
        done += batch
        if budget is not None and time.perf_counter() - start > budget:
            break
    row.runs.append((time.perf_counter() - start, min(done, total)))


def run(texts: Sequence[str], rounds: int = 3, model_seconds: float = 20.0, n_lexicon: int = 20_000,
        engine: Engine | None = None, log=print) -> list[Row]:
    engine = engine or Engine().initialize()
    plain = list(texts[:n_lexicon])
    rows = [Row(False, b) for b in BATCHES]
    for r in range(rounds):
        for row in rows:
            _measure(row, _calls(engine, plain, row.batch), row.batch, len(plain), None)
            log(f"  round {r + 1}/{rounds}: no model, batch {row.batch}: {row.runs[-1][1] / row.runs[-1][0]:,.0f} utt/s")
    model_engine, reason = load_model_engine()
    model_rows = [Row(True, b, model_engine is not None, reason) for b in BATCHES]
    if model_engine is not None:
        for row in model_rows:  # warm up: first batches pay for lazy set-up
            _measure(Row(True, row.batch), _calls(model_engine, texts[:128], row.batch), row.batch, 128, 5.0)
        for r in range(rounds):
            for row in model_rows:
                # a different slice each round, so nothing is cached between rounds
                part = list(texts[n_lexicon + r * 5000:n_lexicon + (r + 1) * 5000]) or list(texts)
                _measure(row, _calls(model_engine, part, row.batch), row.batch, len(part), model_seconds)
                log(f"  round {r + 1}/{rounds}: model, batch {row.batch}: {row.runs[-1][1] / row.runs[-1][0]:,.1f} utt/s")
    else:
        log(f"  model: not available ({reason})")
    return rows + model_rows


def table(rows: list[Row]) -> str:
    lines = [
        "| pipeline | model | batch | utterances per round | utt/s | latency per call p50 (ms) | p99 (ms) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        call = "Engine.check" if row.batch == 1 else "Engine.check_many"
        model = "with model" if row.model else "lexicon only"
        if not row.available:
            lines.append(f"| {call} | model: not available | {row.batch} | - | - | - | - |")
            continue
        lat = sorted(row.latencies)
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
        n = statistics.median(n for _, n in row.runs)
        lines.append(
            f"| {call} | {model} | {row.batch} | {n:,.0f} | {row.utt_per_s():,.1f} | "
            f"{1000 * statistics.median(lat):.2f} | {1000 * p99:.2f} |"
        )
    missing = next((r.reason for r in rows if not r.available), None)
    if missing:
        lines += ["", f"model: not available: {missing}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="utterances for the lexicon-only rows")
    parser.add_argument("--model-seconds", type=float, default=20.0, help="time budget per model row and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = [u.text for u in corpus_mod.build(args.n + 3 * 5000)]
    gc.collect()
    gc.freeze()
    print(table(run(texts, args.rounds, args.model_seconds, args.n, log=lambda m: print(m, file=sys.stderr))))


if __name__ == "__main__":
    main()
