"""Draw the labelling samples of the real-text benchmark from the extracted cache.

真实语料抽样 / sampling the real-text benchmark.  Deterministic (fixed seed, sorted inputs).

Usage::

    .venv/bin/python corpora/real/extract.py --mirror /work/.mirror --out .cache/real
    .venv/bin/python corpora/real/sample.py --cache .cache/real

Writes references only to ``corpora/real/samples/*.jsonl`` (``{"ref","sha1","part","sample"}``)
and the labelling batches, with text, to ``CACHE/batches/`` (outside the repository).
Design and figures: README.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SEED = 20261203
AGENT_RANDOM = 1300
ECD_FLOOR_RANDOM = 150
AGENT_KEYWORD = 950
ECD_FLOOR_KEYWORD = 100
CUSTOMER_RANDOM = 460
CUSTOMER_CUE = 200
CUSTOMER_FLOOR = 60          # ECD and SereTOD each get at least this many random customer turns
SECOND_AGENT = 240
SECOND_CUSTOMER = 60
AGENT_BATCH = 250
CUSTOMER_BATCH = 220
CJK_RE = re.compile(r"[\u3400-\u9fff]")
SAMPLE_KEYS = ("ref", "sha1", "part", "sample")


def part_of(row: dict) -> str:
    """dev or test, by a hash of the dialogue: every turn of a dialogue lands in the same part."""
    key = f"huashu-real-part:{row['source']}:{row['ref'].split(':')[1]}:{row['dialogue']}"
    return "dev" if int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0 else "test"


def stratum(row: dict) -> str:
    return f"{row['source']}/{row['style']}"


def load_keywords(path: Path = HERE / "keywords.yaml") -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    agent = sorted({w for words in data["agent"].values() for w in words}, key=lambda w: (-len(w), w))
    return {"agent": agent, "customer": sorted(set(data["customer_negative"]), key=lambda w: (-len(w), w))}


def usable(row: dict) -> bool:
    """First occurrences only (duplicates and canned repeats are out), and some Chinese to judge."""
    return row["dup_of"] is None and bool(CJK_RE.search(row["text"]))


def allocate(pools: dict[str, list], total: int, floors: dict[str, int]) -> dict[str, int]:
    """Sizes per stratum: floors first (capped at the pool), the rest in proportion to pool sizes."""
    sizes = {k: min(len(v), floors.get(k, 0)) for k, v in pools.items()}
    rest = total - sum(sizes.values())
    free = {k: len(v) - sizes[k] for k, v in pools.items() if k not in floors}
    denom = sum(free.values()) or 1
    shares = {k: rest * n / denom for k, n in free.items()}
    for k, share in shares.items():
        sizes[k] += min(free[k], int(share))
    # hand out what rounding left, largest remainder first (ties by name: deterministic)
    left = total - sum(sizes.values())
    order = sorted(shares, key=lambda k: (-(shares[k] - int(shares[k])), k))
    while left > 0 and any(sizes[k] < len(pools[k]) for k in order):
        for k in order:
            if left > 0 and sizes[k] < len(pools[k]):
                sizes[k] += 1
                left -= 1
    return sizes


def rng_for(name: str) -> random.Random:
    """One generator per sample, so a change in one sample's size leaves the others as they are."""
    return random.Random(f"{SEED}:{name}")


def draw(rng: random.Random, rows: list[dict], total: int, floors: dict[str, int]) -> list[dict]:
    pools: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: r["ref"]):
        pools.setdefault(stratum(r), []).append(r)
    sizes = allocate(pools, total, floors)
    picked = []
    for k in sorted(pools):
        picked += rng.sample(pools[k], sizes[k])
    return picked


def has_any(text: str, words: list[str]) -> bool:
    return any(w in text for w in words)


def build(rows: list[dict], keywords: dict) -> dict[str, list[dict]]:
    for r in rows:
        r["part"] = part_of(r)
    agent = [r for r in rows if r["role"] == "agent" and usable(r)]
    customer = [r for r in rows if r["role"] == "customer" and usable(r)]
    seretod_agent = sum(1 for r in agent if r["source"] == "seretod")
    random_agent = draw(rng_for("agent-random"), agent, AGENT_RANDOM,
                        {"ecd/chat": ECD_FLOOR_RANDOM, "seretod/asr": seretod_agent})
    taken = {r["ref"] for r in random_agent}
    kw_pool = [r for r in agent if r["ref"] not in taken and has_any(r["text"], keywords["agent"])]
    keyword_agent = draw(rng_for("agent-keyword"), kw_pool, AGENT_KEYWORD, {"ecd/chat": ECD_FLOOR_KEYWORD})
    random_customer = draw(rng_for("customer-random"), customer, CUSTOMER_RANDOM,
                           {"ecd/chat": CUSTOMER_FLOOR, "seretod/asr": CUSTOMER_FLOOR})
    taken = {r["ref"] for r in random_customer}
    cue_pool = [r for r in customer if r["ref"] not in taken and has_any(r["text"], keywords["customer"])]
    cue_customer = draw(rng_for("customer-cue"), cue_pool, CUSTOMER_CUE, {})
    samples = {
        "agent-random": random_agent, "agent-keyword": keyword_agent,
        "customer-random": random_customer, "customer-cue": cue_customer,
    }
    for name, picked in samples.items():
        for r in picked:
            r["sample"] = name
    both_agent = sorted(random_agent + keyword_agent, key=lambda r: r["ref"])
    both_customer = sorted(random_customer + cue_customer, key=lambda r: r["ref"])
    samples["second-agent"] = rng_for("second-agent").sample(both_agent, SECOND_AGENT)
    samples["second-customer"] = rng_for("second-customer").sample(both_customer, SECOND_CUSTOMER)
    for name in samples:
        samples[name] = sorted(samples[name], key=lambda r: r["ref"])
    return samples


def shuffled(rows: list[dict]) -> list[dict]:
    """Batch order: by a hash of the ref, so every batch mixes sources, styles and samples."""
    return sorted(rows, key=lambda r: hashlib.sha1(("batch:" + r["ref"]).encode()).hexdigest())


def write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_batches(out: Path, prefix: str, rows: list[dict], size: int) -> list[tuple[str, int]]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{prefix}-*.jsonl"):
        old.unlink()
    rows = shuffled(rows)
    made = []
    for i in range(-(-len(rows) // size)):
        chunk = rows[i * size:(i + 1) * size]
        name = f"{prefix}-{i + 1:02d}.jsonl"
        write_jsonl(out / name, ({
            "ref": r["ref"], "sha1": r["sha1"], "part": r["part"], "sample": r["sample"],
            "role": r["role"], "source": r["source"], "style": r["style"],
            "context": r["context"], "text": r["text"]} for r in chunk))
        made.append((name, len(chunk)))
    return made


def report(samples: dict[str, list[dict]]) -> str:
    lines = ["sample           source/style    dev  test  total"]
    for name, rows in samples.items():
        c = Counter((stratum(r), r["part"]) for r in rows)
        for st in sorted({stratum(r) for r in rows}):
            lines.append(f"{name:16} {st:14} {c[st, 'dev']:4} {c[st, 'test']:5} {c[st, 'dev'] + c[st, 'test']:6}")
        d = sum(1 for r in rows if r["part"] == "dev")
        lines.append(f"{name:16} {'ALL':14} {d:4} {len(rows) - d:5} {len(rows):6}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="真实语料抽样 / draw the real-text samples")
    ap.add_argument("--cache", default=os.environ.get("HUASHU_REAL_CACHE", ".cache/real"))
    ap.add_argument("--samples", default=str(HERE / "samples"), help="where the reference files go")
    args = ap.parse_args(argv)
    cache = Path(args.cache)
    turns = cache / "turns.jsonl"
    if not turns.exists():
        print(f"错误 / error: {turns}: missing, run extract.py first / 缺少缓存，请先运行 extract.py",
              file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in turns.open(encoding="utf-8")]
    keywords = load_keywords()
    samples = build(rows, keywords)
    out = Path(args.samples)
    out.mkdir(parents=True, exist_ok=True)
    for name, picked in samples.items():
        write_jsonl(out / f"{name}.jsonl", ({k: r[k] for k in SAMPLE_KEYS} for r in picked))
    batches = cache / "batches"
    made = write_batches(batches, "agent", samples["agent-random"] + samples["agent-keyword"], AGENT_BATCH)
    made += write_batches(batches, "customer", samples["customer-random"] + samples["customer-cue"],
                          CUSTOMER_BATCH)
    made += write_batches(batches, "second", samples["second-agent"] + samples["second-customer"],
                          SECOND_AGENT + SECOND_CUSTOMER)
    print(report(samples))
    cust = samples["customer-random"] + samples["customer-cue"]
    cue_in_random = sum(1 for r in samples["customer-random"] if has_any(r["text"], keywords["customer"]))
    print(f"customer turns: {len(cust)}; random {len(samples['customer-random'])} "
          f"({len(samples['customer-random']) / len(cust):.0%}), negative-cue {len(samples['customer-cue'])} "
          f"({len(samples['customer-cue']) / len(cust):.0%}); cue words also in "
          f"{cue_in_random} of the random ones")
    kw_in_random = sum(1 for r in samples["agent-random"] if has_any(r["text"], keywords["agent"]))
    print(f"agent random turns holding a keyword: {kw_in_random} of {len(samples['agent-random'])}")
    for name, n in made:
        print(f"{batches / name}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
