#!/usr/bin/env python3
"""Check corpora/classifier/part-c.jsonl (contrast material, train only).

    python3 corpora/classifier/check_part_c.py [path/to/part-c.jsonl]

Uses check_part_b's normalisation and similarity helpers. Verifies the schema and value
sets, split == train, id/group format, unique ids, no near duplicates inside part C
(bigram Jaccard >= 0.8) and no leakage: every dev/test line of part A and part B must stay
below 0.5 similarity to every part-C line. Prints counts; exits 1 on any violation.
"""
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_part_b as cb  # noqa: E402

LABELS = cb.category_labels()


def sim(a, b):
    """Larger of the raw and the normalised bigram Jaccard; a, b are (raw, norm) bigram sets."""
    return max(cb.jaccard(a[0], b[0]), cb.jaccard(a[1], b[1]))


def grams(text):
    return cb.bigrams(text), cb.bigrams(cb.normalise(text))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "part-c.jsonl")
    errors = []
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    group_label = {}
    for o in rows:
        w = o.get("id")
        if list(o) != cb.keys_for(o):
            errors.append(f"{w}: keys {list(o)} != {cb.keys_for(o)}")
            continue
        checks = [
            (re.fullmatch(r"c-\d{5}", o["id"]), "bad id"),
            (re.fullmatch(r"c-g\d{4}", o["group"]), "bad group"),
            (o["label"] in LABELS, "bad label"),
            (o["kind"] in cb.KINDS, "bad kind"),
            (o["script"] in cb.SCRIPTS, "bad script"),
            (o["style"] in cb.STYLES, "bad style"),
            (o["domain"] in cb.DOMAINS, "bad domain"),
            (o["split"] == "train", "split is not train"),
            ((o["label"] == "none") == (o["kind"] in ("hard_negative", "neutral")),
             "label/kind mismatch"),
            (cb.MIN_LEN <= len(o["text"]) <= cb.MAX_LEN, "length outside 4..60"),
            (o["text"] == o["text"].strip(), "surrounding whitespace"),
            (not (o["style"] == "asr" and cb.PUNCT.search(o["text"])), "asr with punctuation"),
            (not (o["script"] == "simplified" and any(c in cb.T2S for c in o["text"])),
             "simplified line with Traditional characters"),
            (group_label.setdefault(o["group"], o["label"]) == o["label"],
             "group has more than one label"),
        ]
        checks += [(False, msg) for msg in cb.span_problems(o)]
        errors += [f"{w}: {msg}: {o['text']}" for ok, msg in checks if not ok]
    for i, n in collections.Counter(o["id"] for o in rows).items():
        if n > 1:
            errors.append(f"id {i} used {n} times")

    N = len(rows)
    print(f"lines: {N}   groups: {len(group_label)}")
    print(cb.span_summary(rows))
    for k in ("label", "kind", "script", "style", "domain"):
        c = collections.Counter(o.get(k) for o in rows)
        print(f"{k:7s}", dict(c.most_common()))
    none = sum(o["label"] == "none" for o in rows)
    sty = collections.Counter(o["style"] for o in rows)
    print(f"none {none / N:.1%}  traditional "
          f"{sum(o['script'] == 'traditional' for o in rows) / N:.1%}  "
          f"chat {sty['chat'] / N:.1%}  asr {sty['asr'] / N:.1%}")

    g = [grams(o["text"]) for o in rows]
    ndup = 0
    for i in range(N):
        for j in range(i + 1, N):
            s = sim(g[i], g[j])
            if s >= cb.NEAR_DUP:
                ndup += 1
                errors.append(f"near-duplicate ({s:.2f}): {rows[i]['id']} {rows[i]['text']} | "
                              f"{rows[j]['id']} {rows[j]['text']}")
    print(f"near-duplicate pairs inside part C (>= {cb.NEAR_DUP}): {ndup}")

    worst = (0.0, None, None)
    for name in ("part-a.jsonl", "part-b.jsonl"):
        for line in open(os.path.join(HERE, name), encoding="utf-8"):
            h = json.loads(line)
            if h["split"] == "train":
                continue
            hg = grams(h["text"])
            for j, o in enumerate(rows):
                s = sim(hg, g[j])
                if s >= cb.LEAK:
                    errors.append(f"leak ({s:.2f}): {o['id']} is too close to a "
                                  f"{h['split']} line of {name} ({h['id']})")
                if s > worst[0]:
                    worst = (s, h["id"], o["id"])
    print(f"max leakage similarity (dev/test line of part A/B vs closest part-C line): "
          f"{worst[0]:.3f} ({worst[1]} vs {worst[2]})")

    return cb.report(errors, [])


if __name__ == "__main__":
    sys.exit(main())
