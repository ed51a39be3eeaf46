"""How often ``analyzer.privacy.mask_pii`` touches ordinary service talk, and how fast it is.

    python bench/mask_pii.py

Runs the masking over every labelled line of the repository (``corpora/dev/dev.jsonl`` and
``corpora/classifier/*.jsonl``: service talk written for the project, with and without numbers),
prints how many lines hold a digit or a spoken numeral, how many it changed (each one printed, to
be judged by eye: a change on a line without a personal number is a false positive), and the time
per line; then times a sentence with three numbers and one without any (best of 5 runs: the
machine may be shared).
"""
from __future__ import annotations

import json
import sys
import time
import timeit
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer.privacy import _ANY_DIGIT, mask_pii  # noqa: E402


def main() -> None:
    files = [REPO / "corpora" / "dev" / "dev.jsonl", *sorted((REPO / "corpora" / "classifier").glob("*.jsonl"))]
    texts = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                texts.append(json.loads(line)["text"])
            except (ValueError, KeyError, TypeError):
                continue
    started = time.perf_counter()
    masked = [mask_pii(t) for t in texts]
    seconds = time.perf_counter() - started
    with_digits = sum(bool(_ANY_DIGIT.search(t)) for t in texts)
    changed = [(a, b) for a, b in zip(texts, masked) if a != b]
    print(f"lines: {len(texts)}, with a digit or numeral: {with_digits}, changed: {len(changed)}, "
          f"{seconds / len(texts) * 1e6:.1f} µs per line")
    for a, b in changed:
        print(f"  {a}\n→ {b}")
    for text in ("您好，我手机是138 1234 5678，身份证11010519491231002X，订单号2025030112345678，退款138.50元。",
                 "您好，请问有什么可以帮您？这个套餐不含宽带，您看可以吗"):
        best = min(timeit.repeat(lambda: mask_pii(text), number=2000, repeat=5)) / 2000  # noqa: B023
        print(f"{best * 1e6:.1f} µs (best of 5): {text}")


if __name__ == "__main__":
    main()
