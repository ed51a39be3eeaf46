#!/usr/bin/env python3
"""Check corpora/sentiment/part-real.jsonl (customer lines in the real register: chat and phone ASR).

    python3 corpora/sentiment/check_part_real.py [path/to/part-real.jsonl] [--real [turns.jsonl]]

Standard library only. Reuses check.py (this folder: schema values, kind/label rules, script tables,
the NFKC letters-and-digits bigrams) and ../classifier/check_part_e.py (the Traditional-folded
similarity and the list of held-out lines). Verifies:
- fields: customer.jsonl's plus ``pattern`` and ``source``; split train/dev only, one per group;
- kind/label/anger as in check.py; asr lines without punctuation; script characters;
- the mix: at least 700 lines; negative 38-50%, neutral 30-42%, positive 15-25%; anger on 30-47% of
  the negative lines; chat and asr each at least 30%; Traditional 7-15%; 12-28% of the groups in dev;
- no duplicate text and no near duplicate (>= 0.8), no dev line at >= 0.5 to a train line of this
  file, and every line below 0.5 to every dev/test line of the classifier parts and of
  customer.jsonl and to every line of corpora/dev/dev.jsonl; every dev line below 0.5 to every
  train line of customer.jsonl.
Similarity is the larger of check.py's bigram Jaccard and check_part_e's (raw and Traditional-folded).
With ``--real``, the licence guard of check_part_e: every line below 0.5 to every unique turn of
the real-text cache (ids and sha1 printed, never the real text).
Prints the counts (quoted in the README); exits 1 on any violation.
"""
import collections
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPORA = os.path.dirname(HERE)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


cs = _load("sentiment_check", os.path.join(HERE, "check.py"))
sys.path.insert(0, os.path.join(CORPORA, "classifier"))
ce = _load("check_part_e", os.path.join(CORPORA, "classifier", "check_part_e.py"))

FIELDS = cs.FIELDS + ["pattern", "source"]
SOURCE = "authored-real-register"
SPLITS = {"train", "dev"}
MIN_LINES = 700
SHARE = {"negative": (0.38, 0.50), "neutral": (0.30, 0.42), "positive": (0.15, 0.25)}
ANGER_OF_NEGATIVE = (0.30, 0.47)
MIN_STYLE = {"chat": 0.30, "asr": 0.30}
TRAD_SHARE = (0.07, 0.15)
DEV_GROUP_SHARE = (0.12, 0.28)


def grams(text):
    """check.py's bigrams, then check_part_e's raw and Traditional-folded bigrams."""
    return (cs.bigrams(text),) + ce.grams(text)


def index(texts):
    return ce.Index(texts, grams)


def row_problems(r):
    """The problems of one record (fields already checked): messages, empty when it is fine."""
    w, t = r["id"], r["text"]
    checks = [
        (re.fullmatch(r"sr-\d{5}", str(w)), "bad id"),
        (re.fullmatch(r"sr-g\d{4}", str(r["group"])), "bad group"),
        (r["label"] in cs.LABELS, "bad label"),
        (isinstance(r["anger"], bool), "anger must be true/false"),
        (not (r["anger"] is True and r["label"] != "negative"), "anger on a non-negative line"),
        (r["kind"] in cs.KIND_LABEL and r["label"] in cs.KIND_LABEL[r["kind"]], "kind/label mismatch"),
        (not (r["kind"] == "anger" and not r["anger"]), "kind anger needs anger=true"),
        (r["script"] in cs.SCRIPTS, "bad script"),
        (r["style"] in cs.STYLES, "bad style"),
        (r["domain"] in cs.DOMAINS, "bad domain"),
        (r["split"] in SPLITS, "split must be train or dev"),
        (r["source"] == SOURCE, f"source must be {SOURCE}"),
        (isinstance(r["pattern"], str) and re.fullmatch(r"[a-z_]+", r["pattern"]), "bad pattern tag"),
        (isinstance(t, str) and 1 <= len(t) <= 80 and t == t.strip(), "text must be 1..80 characters, trimmed"),
        (not (r["style"] == "asr" and cs.PUNCT.search(t)), "asr line with punctuation"),
        (not (r["script"] == "simplified" and any(c in cs.TRAD_ONLY for c in t)),
         "simplified line with Traditional characters"),
        (not (r["script"] == "traditional" and not any(c in cs.TRAD_ONLY for c in t)),
         "traditional line without a Traditional-only character"),
        (not (r["script"] == "traditional" and any(c in cs.SIMP_ONLY for c in t)),
         "traditional line with Simplified-only characters"),
    ]
    return [f"{w}: {msg}: {t}" for ok, msg in checks if not ok]


def leak_problems(rows, limit=ce.cb.LEAK):
    """(messages, worst) for rows against every held-out line (see check_part_e.held_out_lines)."""
    held = ce.held_out_lines()
    hidx = index([h[2] for h in held])
    out, worst = [], (0.0, None, None)
    for r in rows:
        for s, j in hidx.near(grams(r["text"]), 0.0):
            if s > worst[0]:
                worst = (s, r["id"], f"{held[j][0]} {held[j][1]}")
            if s >= limit:
                out.append(f"leak ({s:.2f}): {r['id']} is too close to {held[j][0]} {held[j][1]}")
    print(f"held-out lines compared: {len(held)}; max similarity of a line here to one of them: "
          f"{worst[0]:.3f} ({worst[1]} vs {worst[2]})")
    return out, worst[0]


def main():
    path, real = ce.cli_args(sys.argv[1:], os.path.join(HERE, "part-real.jsonl"))
    rows, errors = ce.read_rows(path, FIELDS)
    group_split = {}
    for r in rows:
        errors += row_problems(r)
        if group_split.setdefault(r["group"], r["split"]) != r["split"]:
            errors.append(f"group {r['group']}: lines in more than one split")
    for i, c in collections.Counter(r["id"] for r in rows).items():
        if c > 1:
            errors.append(f"id {i} used {c} times")
    seen = {}
    for r in rows:
        if r["text"] in seen:
            errors.append(f"duplicate text: {seen[r['text']]} and {r['id']}")
        seen.setdefault(r["text"], r["id"])

    N = len(rows)
    C = collections.Counter
    lab = C(r["label"] for r in rows)
    neg = [r for r in rows if r["label"] == "negative"]
    angry = sum(r["anger"] for r in neg)
    pct = lambda a, b: a / b if b else 0.0
    print(f"file: {path}\nlines: {N}   groups: {len(group_split)}")
    print("label: " + "  ".join(f"{k} {lab[k]} ({pct(lab[k], N):.1%})" for k in cs.LABELS))
    print(f"anger: {angry} of {len(neg)} negative lines ({pct(angry, len(neg)):.1%})")
    print("kind:  " + "  ".join(f"{k} {v}" for k, v in C(r["kind"] for r in rows).most_common()))
    for k in ("style", "script", "domain", "split"):
        print(f"{k + ':':8s}" + "  ".join(f"{a} {b}" for a, b in C(r[k] for r in rows).most_common()))
    print("pattern: " + "  ".join(f"{a} {b}" for a, b in C(r["pattern"] for r in rows).most_common()))
    gs = C(group_split.values())
    dev_groups = pct(gs["dev"], len(group_split))
    trad = pct(sum(r["script"] == "traditional" for r in rows), N)
    print(f"traditional {trad:.1%}  dev groups {dev_groups:.1%}")
    for s in sorted(SPLITS):
        sub = [r for r in rows if r["split"] == s]
        print(f"  {s:5s} " + "  ".join(f"{k} {sum(r['label'] == k for r in sub)}" for k in cs.LABELS)
              + f"  anger {sum(r['anger'] for r in sub)}")
    if N < MIN_LINES:
        errors.append(f"{N} lines < {MIN_LINES}")
    for k, (lo, hi) in SHARE.items():
        if not lo <= pct(lab[k], N) <= hi:
            errors.append(f"{k} share {pct(lab[k], N):.1%} outside {lo:.0%}..{hi:.0%}")
    if not ANGER_OF_NEGATIVE[0] <= pct(angry, len(neg)) <= ANGER_OF_NEGATIVE[1]:
        errors.append(f"anger share of negatives {pct(angry, len(neg)):.1%} outside {ANGER_OF_NEGATIVE}")
    for k, m in MIN_STYLE.items():
        if pct(sum(r["style"] == k for r in rows), N) < m:
            errors.append(f"{k} share below {m:.0%}")
    if not TRAD_SHARE[0] <= trad <= TRAD_SHARE[1]:
        errors.append(f"traditional share {trad:.1%} outside {TRAD_SHARE}")
    if not DEV_GROUP_SHARE[0] <= dev_groups <= DEV_GROUP_SHARE[1]:
        errors.append(f"dev share of groups {dev_groups:.1%} outside {DEV_GROUP_SHARE}")
    for s in SPLITS:
        for k in cs.LABELS:
            if not any(r["split"] == s and r["label"] == k for r in rows):
                errors.append(f"no {k} line in {s}")

    idx = index([r["text"] for r in rows])
    ndup = nsplit = 0
    for i, r in enumerate(rows):
        for s, j in idx.near(idx.grams[i], ce.cb.LEAK):
            if j <= i:
                continue
            if s >= ce.cb.NEAR_DUP:
                ndup += 1
                errors.append(f"near-duplicate ({s:.2f}): {r['id']} {r['text']} | {rows[j]['id']} {rows[j]['text']}")
            if r["split"] != rows[j]["split"]:
                nsplit += 1
                errors.append(f"dev line close to a train line ({s:.2f}): {r['id']} | {rows[j]['id']}")
    print(f"near-duplicate pairs (>= {ce.cb.NEAR_DUP}): {ndup}")
    print(f"dev/train pairs inside this file at >= {ce.cb.LEAK}: {nsplit}")
    train = [("customer.jsonl", r["id"], r["text"])
             for r in map(json.loads, open(os.path.join(HERE, "customer.jsonl"), encoding="utf-8"))
             if r["split"] == "train"]
    ce.dev_vs_train_report(rows, train, errors, index)
    errors += leak_problems(rows)[0]
    if real:
        ce.real_guard(rows, real, errors, index)
    return ce.cb.report(errors, [])


if __name__ == "__main__":
    sys.exit(main())
