"""Trigger matching throughput: Huashu against the obvious alternatives, side by side, one run.

Every system reads the same synthetic utterances (``bench/corpus.py``: mostly clean service
lines, about one in five built around a trigger sentence; formal, chat and ASR styles; 15%
Traditional) in the same process; the systems take turns within each round, several rounds,
medians reported.

Systems
- ``huashu Engine.check``: what the CLI and the service call: normalisation (OpenCC, widths),
  Aho-Corasick over every lexicon literal, the checks (slots, antipatterns, quotes, negation,
  jieba word boundaries), flags with rewrites and their re-check.
- ``huashu matcher``: ``Engine.matches``: the same without building flags and rewrites.
- the alternatives, on the raw text, over the handbook's own phrases
  (``corpora/handbook_phrases.yaml``, the text before a slot), each answering which categories
  occur: the plain substring loop (``analyzer.evaluate.substring_baseline``, what ``huashu eval``
  compares against), one regex alternation (longest phrase first), raw pyahocorasick;
- the same three over every literal of Huashu's lexicon (all pattern variants, tens of
  thousands): what a list-based checker with Huashu's coverage would have to search. The
  substring loop and the regex are too slow for the whole corpus there: they run on its first
  utterances, within a time budget per round (``n`` says how many).
- ``jieba segmentation``: Huashu's private jieba tokenizer (lexicon words added) alone,
  ``tokenize(text, HMM=True)`` on the raw text.

Cost split: the stages of ``Engine.check`` timed one by one over the same corpus: normalisation;
Aho-Corasick alone (the automaton's ``iter`` over the normalised text); checks =
``Matcher.find`` minus Aho-Corasick; of which jieba segmentation (the utterances for which the
checks asked for tokens, segmented again alone); flags and rewrites (``Engine._flag`` for every
match, with ``detect_script``).

    python bench/matcher_speed.py [--n 200000] [--rounds 3] [--out FILE]
"""
from __future__ import annotations

import argparse
import gc
import re
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

import ahocorasick
import corpus as corpus_mod

from analyzer.engine import Engine
from analyzer.evaluate import load_handbook_phrases, substring_baseline
from analyzer.lexicon import SLOT
from analyzer.normalize import detect_script, normalize

SLOW_BUDGET_S = 8.0  # per slow system per round (substring loop / regex over all lexicon literals)
SLOW_MAX = 5000  # at most this many utterances for those


# -- the alternatives ------------------------------------------------------------------------
def handbook_phrases() -> dict[str, set[str]]:
    """phrase (the text before its slot) -> categories, as ``substring_baseline`` uses them."""
    out: dict[str, set[str]] = {}
    for category, rows in load_handbook_phrases().items():
        for row in rows or []:
            out.setdefault(row["phrase"].split(SLOT)[0], set()).add(category)
    return out


def lexicon_literals(engine: Engine) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for entry in engine.lexicon.entries:
        for pattern in entry.patterns:
            out.setdefault(pattern.literal, set()).add(entry.category)
    return out


def substring_loop(phrases: dict[str, set[str]]) -> Callable[[str], set[str]]:
    items = list(phrases.items())

    def predict(text: str) -> set[str]:
        found: set[str] = set()
        for phrase, cats in items:
            if phrase in text:
                found |= cats
        return found

    return predict


def regex_alternation(phrases: dict[str, set[str]]) -> Callable[[str], set[str]]:
    rx = re.compile("|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)))

    def predict(text: str) -> set[str]:
        found: set[str] = set()
        for m in rx.finditer(text):
            found |= phrases[m.group()]
        return found

    return predict


def pyahocorasick(phrases: dict[str, set[str]]) -> Callable[[str], set[str]]:
    automaton = ahocorasick.Automaton()
    for phrase, cats in phrases.items():
        automaton.add_word(phrase, frozenset(cats))
    automaton.make_automaton()

    def predict(text: str) -> set[str]:
        found: set[str] = set()
        for _, cats in automaton.iter(text):
            found |= cats
        return found

    return predict


# -- timing ----------------------------------------------------------------------------------
def timed(fn: Callable[[str], object], texts: Sequence[str], budget: float | None = None) -> tuple[float, int, float]:
    """Wall seconds to call ``fn`` on each text (stopping after ``budget`` seconds), how many
    texts, and the CPU seconds of this process meanwhile."""
    c0, t0 = time.process_time(), time.perf_counter()
    n = 0
    if budget is None:
        for t in texts:
            fn(t)
        n = len(texts)
    else:
        for t in texts:
            fn(t)
            n += 1
            if n % 50 == 0 and time.perf_counter() - t0 > budget:
                break
    return time.perf_counter() - t0, n, time.process_time() - c0


@dataclass
class System:
    name: str
    fn: Callable[[str], object]
    phrases: str  # what it searches for
    slow: bool = False
    runs: list[tuple[float, int, float]] = field(default_factory=list)

    def per_utt(self) -> float:
        return statistics.median(s / n for s, n, _ in self.runs)

    def cpu_per_utt(self) -> float:
        return statistics.median(c / n for _, n, c in self.runs)

    def n(self) -> int:
        return min(n for _, n, _ in self.runs)


@dataclass
class MatchingResult:
    systems: list[System]
    stages: dict[str, list[float]]  # stage -> seconds per round (whole corpus)
    stage_notes: dict[str, str]
    n: int
    mb: float
    chars: int
    rounds: int
    flagged: float  # share of utterances with at least one flag
    tokenized: int  # utterances for which the checks asked jieba for tokens
    phrase_counts: dict[str, int]


def run(texts: Sequence[str], rounds: int = 3, engine: Engine | None = None, log=print) -> MatchingResult:
    engine = engine or Engine().initialize()
    hb, lits = handbook_phrases(), lexicon_literals(engine)
    tok = engine.segmenter.tokenizer
    systems = [
        System("huashu Engine.check (normalise + match + checks + rewrites)", engine.check, "lexicon"),
        System("huashu matcher (normalise + match + checks)", engine.matches, "lexicon"),
        System("plain substring loop (`substring_baseline`)", substring_baseline(), "handbook"),
        System("regex alternation", regex_alternation(hb), "handbook"),
        System("pyahocorasick", pyahocorasick(hb), "handbook"),
        System("plain substring loop", substring_loop(lits), "literals", slow=True),
        System("regex alternation", regex_alternation(lits), "literals", slow=True),
        System("pyahocorasick", pyahocorasick(lits), "literals"),
        System("jieba segmentation alone (Huashu's tokenizer, HMM)", lambda s: list(tok.tokenize(s, HMM=True)), "-"),
    ]
    for s in systems:  # warm caches (jieba's, OpenCC's, the regex compiler's) outside the clock
        timed(s.fn, texts[:200])
    stages: dict[str, list[float]] = {}
    for r in range(rounds):
        for s in systems:
            budget = SLOW_BUDGET_S if s.slow else None
            s.runs.append(timed(s.fn, texts[:SLOW_MAX] if s.slow else texts, budget))
            log(f"  round {r + 1}/{rounds}: {s.name} [{s.phrases}]: {s.runs[-1][1] / s.runs[-1][0]:,.0f} utt/s")
        for name, secs in stage_split(engine, texts).items():
            stages.setdefault(name, []).append(secs)
        log(f"  round {r + 1}/{rounds}: cost split done")
    flagged = sum(bool(engine.check(t)) for t in texts) / len(texts)
    return MatchingResult(
        systems=systems, stages=stages, stage_notes=STAGE_NOTES, n=len(texts),
        mb=sum(len(t.encode("utf-8")) for t in texts) / 1e6, chars=sum(map(len, texts)), rounds=rounds,
        flagged=flagged, tokenized=_tokenized_count, phrase_counts={"handbook": len(hb), "literals": len(lits)},
    )


STAGE_NOTES = {
    "normalisation": "`normalize()`: OpenCC (only where t2s changes something), widths, offset map",
    "Aho-Corasick": "the automaton's `iter` over the normalised text (every literal hit)",
    "checks (incl. segmentation)": "`Matcher.find` minus the Aho-Corasick line above",
    "  of which jieba segmentation": "`Segmenter.tokens` on the utterances whose checks asked for tokens",
    "flags and rewrites": "`Engine._flag` per match: offsets back, suggestions, re-check of each rewrite",
    "sum of stages": "",
    "Engine.check, measured whole": "",
}
_tokenized_count = 0


def stage_split(engine: Engine, texts: Sequence[str], chunk: int = 2000) -> dict[str, float]:
    """Seconds per stage of ``Engine.check`` over ``texts``, each stage timed on its own.

    The corpus goes through in chunks, every stage over one chunk before the next chunk, so the
    intermediate results (normalised texts, matches) never pile up: 200,000 of them alive at
    once would make the garbage collector, not Huashu, the cost being measured.
    """
    global _tokenized_count
    matcher, segmenter = engine.matcher, engine.segmenter
    automaton = matcher._automaton
    real_tokens = segmenter.tokens
    t = dict.fromkeys(("norm", "ac", "find", "seg", "flags", "check"), 0.0)
    tokenized = 0
    for lo in range(0, len(texts), chunk):
        part = texts[lo:lo + chunk]
        t0 = time.perf_counter()
        norms = [normalize(x) for x in part]
        t["norm"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        for n in norms:
            for _ in automaton.iter(n.text):
                pass
        t["ac"] += time.perf_counter() - t0

        asked: list[str] = []  # an untimed pass records which texts the checks segment

        def recording_tokens(text: str, asked: list[str] = asked):
            asked.append(text)
            return real_tokens(text)

        segmenter.tokens = recording_tokens
        try:
            for n in norms:
                matcher.find(n.text)
        finally:
            del segmenter.tokens
        tokenized += len(asked)

        t0 = time.perf_counter()
        found = [matcher.find(n.text) for n in norms]
        t["find"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        for x in asked:
            segmenter.tokens(x)
        t["seg"] += time.perf_counter() - t0

        t0 = time.perf_counter()
        for x, norm, matches in zip(part, norms, found):
            if matches:
                script = detect_script(x)
                for m in matches:
                    engine._flag(m, norm, script, {})
        t["flags"] += time.perf_counter() - t0
        del norms, found

        t0 = time.perf_counter()
        for x in part:
            engine.check(x)
        t["check"] += time.perf_counter() - t0
    _tokenized_count = tokenized
    return {
        "normalisation": t["norm"], "Aho-Corasick": t["ac"], "checks (incl. segmentation)": t["find"] - t["ac"],
        "  of which jieba segmentation": t["seg"], "flags and rewrites": t["flags"],
        "sum of stages": t["norm"] + t["find"] + t["flags"], "Engine.check, measured whole": t["check"],
    }


# -- report ----------------------------------------------------------------------------------
def tables(res: MatchingResult) -> str:
    base = next(s for s in res.systems if s.phrases == "handbook" and "substring" in s.name).per_utt()
    huashu = res.systems[0].per_utt()
    what = {"lexicon": f"Huashu's lexicon ({res.phrase_counts['literals']:,} literals + checks)",
            "handbook": f"{res.phrase_counts['handbook']} handbook phrases",
            "literals": f"{res.phrase_counts['literals']:,} lexicon literals", "-": "-"}
    lines = [
        "| system | searches for | utterances timed | utt/s | MB/s | µs/utt | CPU µs/utt | speed vs substring loop (handbook) | speed vs Huashu Engine.check |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    bytes_per_utt = res.mb * 1e6 / res.n  # the corpus average; the slow rows run on its first utterances
    for s in res.systems:
        per = s.per_utt()
        lines.append(
            f"| {s.name} | {what[s.phrases]} | {s.n():,} | {1 / per:,.0f} | {bytes_per_utt / per / 1e6:.2f} | "
            f"{1e6 * per:.1f} | {1e6 * s.cpu_per_utt():.1f} | {base / per:.3g}× | {huashu / per:.3g}× |"
        )
    lines += [
        "",
        f"Cost split of `Engine.check` (each stage timed alone over all {res.n:,} utterances; medians of {res.rounds} rounds):",
        "",
        "| stage | seconds | µs/utt | share of Engine.check | what is timed |",
        "|---|---:|---:|---:|---|",
    ]
    whole = statistics.median(res.stages["Engine.check, measured whole"])
    for name, runs in res.stages.items():
        med = statistics.median(runs)
        lines.append(f"| {name} | {med:.2f} | {1e6 * med / res.n:.1f} | {100 * med / whole:.0f}% | {res.stage_notes[name]} |")
    lines += [
        "",
        (f"{100 * res.flagged:.1f}% of the utterances get at least one flag; the checks asked jieba for tokens on "
         f"{res.tokenized:,} of them ({100 * res.tokenized / res.n:.1f}%): segmentation runs only where a candidate "
         "needs a word-boundary check."),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the tables to this file")
    args = parser.parse_args()
    texts = [u.text for u in corpus_mod.build(args.n)]
    gc.collect()
    gc.freeze()  # the corpus is long-lived: keep the collector from walking it in every timed loop
    out = tables(run(texts, args.rounds, log=lambda m: print(m, file=sys.stderr)))
    print(out)
    if args.out:
        args.out.write_text(out + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
