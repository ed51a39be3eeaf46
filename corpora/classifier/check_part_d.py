#!/usr/bin/env python3
"""Check corpora/classifier/part-d.jsonl (authored lines in the register of real e-commerce and
delivery chat: 亲/亲亲/呢/哦/~/emoji, short turns; issue 12).

    python3 corpora/classifier/check_part_d.py [path/to/part-d.jsonl] [--real [turns.jsonl]]

Verifies:
- schema: keys ``id, text, label, [span], kind, script, style, domain, group, split, pattern,
  source`` in that order; ``span`` on every positive and on no negative; labels are the ids of
  ``corpora/categories.yaml`` plus ``none``; split is train or dev only (the real-text benchmark
  is the test); ``source`` is ``authored-real-register``; one split per group (a group is a line
  and its variants, a positive and its near-miss twin may share one);
- spans: a substring of the text, at least two characters, not only particles, endearments or
  punctuation (亲, 亲亲, 呢, 哦, ~ …);
- the mix: at least MIN_LINES lines, label none at least MIN_NONE_SHARE, each listed pattern
  family present in train and in dev;
- similarity (character-bigram Jaccard, the larger of raw text and text folded to Simplified
  without punctuation, as check_part_b): no near duplicates inside part D (>= 0.8), and every
  part-D line below 0.5 to every dev/test line of parts A-C and to every line of
  ``corpora/dev/dev.jsonl``.
With ``--real`` it also checks that no line is 0.5 or more similar to any unique turn of the
real-text cache (``corpora/real/extract.py`` writes ``$HUASHU_REAL_CACHE`` or ``.cache/real``
``/turns.jsonl``, outside git): the lines were written after reading those sources and must not
copy them. The real text is never printed, only the line id and the turn's sha1.
Prints counts per label, pattern, split, script and kind, and exits 1 on any violation.
Folding to Simplified uses OpenCC (a project dependency) when it can be imported, otherwise
check_part_b's table.
"""
import collections
import hashlib
import json
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPORA = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import check_part_b as cb  # noqa: E402

MIN_LINES = 1500
MIN_NONE_SHARE = 0.55
MIN_TRAD_SHARE = 0.08
DEV_SHARE = (0.15, 0.25)          # of groups
MIN_PER_PATTERN = 10
SOURCE = "authored-real-register"
REAL_FLOOR = 0.4                 # the real-turn comparison is exact from this similarity up
REAL_CACHE = os.path.normpath(os.path.join(CORPORA, "..", ".cache", "real"))
SPLITS = {"train", "dev"}
# One family per false-positive pattern (label none) and per miss pattern of issue 12.
NEG_PATTERNS = {
    "endearment_filler", "service_opener", "needed_question", "product_policy_fact",
    "because_third_party", "no_then_next_step", "reported_speech", "own_mistake",
    "irreversible_warning", "wonder_buzhidao", "customer_problem_wufa", "check_offered",
    "polite_request", "policy_that_answers", "reassurance_negated", "status_update",
}
POS_PATTERNS = {
    "refusal_softened", "refusal_after_reason", "unknown_after_empathy", "policy_brushoff_formal",
    "platform_rule_only", "command_in_chat", "dismissive_brushoff", "contradiction_chat",
    "privacy_nosy", "blame_customer", "you_statement_chat", "confrontation_chat",
}
# A span made only of these is no trigger (taxonomy.md: fillers and endearments change nothing).
FILLERS = re.compile(r"^(亲爱的|亲爱哒|親愛的|亲亲|親親|亲|親|小妹|宝|呢|哦|喔|哈|呀|啦|吧|嘛|的|了|也|哟|唷|~|～|\s"
                     r"|[，。！？、,.!?…])+$")


def span_problems(text, span):
    """What is wrong with ``span`` as the gold span of a positive line with ``text`` (empty when
    nothing): a substring of the text, at least two characters, not only particles, endearments or
    punctuation. The one rule for every part that carries spans (parts A-D)."""
    if not isinstance(span, str) or span not in text:
        return [f"span {span!r} is not in the text"]
    if len(span) < 2 or FILLERS.match(span):
        return [f"span {span!r} is a particle, endearment or one character"]
    return []

try:
    import opencc
    _T2S = opencc.OpenCC("t2s").convert
except ImportError:  # the table of check_part_b is enough for a rough fold
    def _T2S(t):
        return t


labels = cb.category_labels  # the ids of corpora/categories.yaml, plus none


def grams(text):
    return cb.bigrams(text), cb.bigrams(cb.normalise(_T2S(text)))


def grams_many(texts):
    """grams() of many texts, with one OpenCC call for all of them (much faster)."""
    texts = [t.replace("\n", " ") for t in texts]
    folded = _T2S("\n".join(texts)).split("\n")
    assert len(folded) == len(texts)
    return [(cb.bigrams(t), cb.bigrams(cb.normalise(f))) for t, f in zip(texts, folded)]


class Index:
    """Bigram postings over many texts: the highest Jaccard of a query against all of them without
    comparing every pair."""

    def __init__(self, texts):
        self.sets = [grams(t) for t in texts]
        self.post = ({}, {})
        for j, gs in enumerate(self.sets):
            for k in (0, 1):
                for g in gs[k]:
                    self.post[k].setdefault(g, []).append(j)

    def scores(self, q):
        """{j: similarity} for every indexed text sharing a bigram with q (the larger of raw and
        folded Jaccard)."""
        best = {}
        for k in (0, 1):
            inter = collections.Counter()
            for g in q[k]:
                inter.update(self.post[k].get(g, ()))
            for j, c in inter.items():
                s = c / (len(q[k]) + len(self.sets[j][k]) - c)
                if s > best.get(j, 0.0):
                    best[j] = s
        return best


    def scores_from(self, q, floor):
        """Like scores, exact for every indexed text at ``floor`` or above, and faster: Jaccard >= floor
        means sharing at least ceil(floor * |q|) of q's bigrams, so one of q's rarest
        |q| - ceil(floor * |q|) + 1 bigrams must be shared (prefix filtering). Lower scores may be
        missed."""
        best = {}
        for k in (0, 1):
            a = q[k]
            if not a:
                continue
            gs = sorted(a, key=lambda g: len(self.post[k].get(g, ())))
            need = len(gs) - math.ceil(floor * len(gs)) + 1
            cand = set()
            for g in gs[:need]:
                cand.update(self.post[k].get(g, ()))
            for j in cand:
                b = self.sets[j][k]
                if min(len(a), len(b)) < floor * max(len(a), len(b)):  # Jaccard <= the size ratio
                    continue
                c = len(a & b)
                s = c / (len(a) + len(b) - c)
                if s > best.get(j, 0.0):
                    best[j] = s
        return best


def held_out_lines():
    """(file, id, text) of every dev/test line of parts A-C and every line of corpora/dev/dev.jsonl."""
    out = []
    for name in ("part-a.jsonl", "part-b.jsonl", "part-c.jsonl"):
        for line in open(os.path.join(HERE, name), encoding="utf-8"):
            if line.strip():
                h = json.loads(line)
                if h.get("split") != "train":
                    out.append((name, h["id"], h["text"]))
    for line in open(os.path.join(CORPORA, "dev", "dev.jsonl"), encoding="utf-8"):
        if line.strip():
            h = json.loads(line)
            out.append(("dev/dev.jsonl", h["id"], h["text"]))
    return out


def real_turns(path):
    """Unique texts of the real-text cache (corpora/real/extract.py writes turns.jsonl outside git)."""
    out = set()
    for line in open(path, encoding="utf-8"):
        if line.strip():
            t = json.loads(line)
            if t.get("dup_of") is None and len(t["text"]) >= 4:
                out.add(t["text"])
    return sorted(out)


def main():
    args = sys.argv[1:]
    real = None
    if "--real" in args:  # --real [TURNS.jsonl]: also compare with the real turns (licence guard)
        k = args.index("--real")
        nxt = args[k + 1] if k + 1 < len(args) and args[k + 1].endswith(".jsonl") and "part-d" not in args[k + 1] else None
        real = nxt or os.path.join(os.environ.get("HUASHU_REAL_CACHE") or REAL_CACHE, "turns.jsonl")
        del args[k:k + (2 if nxt else 1)]
    path = args[0] if args else os.path.join(HERE, "part-d.jsonl")
    errors = []
    label_set = labels()
    rows = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            errors.append(f"line {n}: empty line")
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: not JSON ({e})")
    group_split = {}
    for o in rows:
        w = o.get("id")
        pos = o.get("label") not in (None, "none")
        keys = cb.KEYS[:3] + (["span"] if pos else []) + cb.KEYS[3:] + ["pattern", "source"]
        if list(o) != keys:
            errors.append(f"{w}: keys {list(o)} != {keys}")
            continue
        t = o["text"]
        checks = [
            (re.fullmatch(r"d-\d{5}", o["id"]), "bad id"),
            (re.fullmatch(r"d-g\d{4}", o["group"]), "bad group"),
            (o["label"] in label_set, f"label {o['label']!r} not in categories.yaml"),
            (o["kind"] in cb.KINDS, "bad kind"),
            (o["script"] in cb.SCRIPTS, "bad script"),
            (o["style"] in cb.STYLES, "bad style"),
            (o["domain"] in cb.DOMAINS, "bad domain"),
            (o["split"] in SPLITS, f"split {o['split']!r} (train or dev only)"),
            (o["source"] == SOURCE, "bad source"),
            (o["pattern"] in (POS_PATTERNS if pos else NEG_PATTERNS),
             f"pattern {o['pattern']!r} is not a {'positive' if pos else 'negative'} family"),
            (pos == (o["kind"] in ("verbatim", "paraphrase")), "label/kind mismatch"),
            (cb.MIN_LEN <= len(t) <= cb.MAX_LEN, f"length {len(t)} outside {cb.MIN_LEN}..{cb.MAX_LEN}"),
            (t == t.strip(), "surrounding whitespace"),
            (not (o["style"] == "asr" and cb.PUNCT.search(t)), "asr with punctuation"),
            (not (o["script"] == "simplified" and _T2S(t) != t), "simplified line with Traditional characters"),
            (not (o["script"] == "traditional" and _T2S(t) == t), "traditional line without Traditional characters"),
            (group_split.setdefault(o["group"], o["split"]) == o["split"], "group in more than one split"),
        ]
        if pos:
            checks += [(False, msg) for msg in span_problems(t, o["span"])]
        errors += [f"{w}: {msg}: {t}" for ok, msg in checks if not ok]
    for i, n in collections.Counter(o.get("id") for o in rows).items():
        if n > 1:
            errors.append(f"id {i} used {n} times")
    rows = [o for o in rows if "pattern" in o and "text" in o]
    N = len(rows)
    if not N:
        errors.append("no rows")
        return cb.report(errors, [])

    by = lambda k: collections.Counter(o[k] for o in rows)  # noqa: E731
    print(f"file: {path}\nlines: {N}   groups: {len(group_split)}")
    for k in ("label", "kind", "script", "domain", "split"):
        print(f"{k:7s}", dict(by(k).most_common()))
    gs = collections.Counter(group_split.values())
    print("split (groups):", dict(gs))
    print("pattern (train/dev):")
    for pat in sorted(POS_PATTERNS) + sorted(NEG_PATTERNS):
        c = collections.Counter(o["split"] for o in rows if o["pattern"] == pat)
        lab = sorted({o["label"] for o in rows if o["pattern"] == pat})
        print(f"  {pat:24s} {sum(c.values()):4d}  train {c['train']:4d}  dev {c['dev']:3d}  {','.join(lab)}")
        if sum(c.values()) < MIN_PER_PATTERN:
            errors.append(f"pattern {pat}: {sum(c.values())} lines < {MIN_PER_PATTERN}")
        for s in SPLITS:
            if not c[s]:
                errors.append(f"pattern {pat}: no line in {s}")
    none = by("label")["none"] / N
    trad = by("script")["traditional"] / N
    dev = gs["dev"] / len(group_split)
    print(f"none {none:.1%}  traditional {trad:.1%}  dev groups {dev:.1%}  "
          f"lines with emoji {sum(bool(cb.EMOJI.search(o['text'])) for o in rows)}")
    if N < MIN_LINES:
        errors.append(f"{N} lines < {MIN_LINES}")
    if none < MIN_NONE_SHARE:
        errors.append(f"label none {none:.1%} < {MIN_NONE_SHARE:.0%}")
    if trad < MIN_TRAD_SHARE:
        errors.append(f"traditional {trad:.1%} < {MIN_TRAD_SHARE:.0%}")
    if not DEV_SHARE[0] <= dev <= DEV_SHARE[1]:
        errors.append(f"dev groups {dev:.1%} outside {DEV_SHARE[0]:.0%}..{DEV_SHARE[1]:.0%}")
    for lab in sorted(label_set - {"none"}):
        if not any(o["label"] == lab and o["split"] == "dev" for o in rows):
            errors.append(f"label {lab}: no line in dev")

    index = Index([o["text"] for o in rows])
    ndup = 0
    for i, q in enumerate(index.sets):
        for j, s in index.scores(q).items():
            if j > i and s >= cb.NEAR_DUP:
                ndup += 1
                errors.append(f"near-duplicate ({s:.2f}): {rows[i]['id']} {rows[i]['text']} | "
                              f"{rows[j]['id']} {rows[j]['text']}")
    print(f"near-duplicate pairs inside part D (>= {cb.NEAR_DUP}): {ndup}")

    worst = (0.0, None, None)
    held = held_out_lines()
    for name, hid, text in held:
        for j, s in index.scores(grams(text)).items():
            if s >= cb.LEAK:
                errors.append(f"leak ({s:.2f}): {rows[j]['id']} {rows[j]['text']} is too close to "
                              f"{name} {hid}")
            if s > worst[0]:
                worst = (s, f"{name} {hid}", rows[j]["id"])
    print(f"max similarity to the {len(held)} held-out lines (dev/test of parts A-C, dev.jsonl): "
          f"{worst[0]:.3f} ({worst[1]} vs {worst[2]})")
    if real:
        if not os.path.exists(real):
            errors.append(f"{real}: no real-text cache (build it with corpora/real/extract.py)")
        else:
            turns = real_turns(real)
            top = (0.0, None)
            for text, q in zip(turns, grams_many(turns)):
                for j, s in index.scores_from(q, REAL_FLOOR).items():
                    if s >= cb.LEAK:
                        errors.append(f"real ({s:.2f}): {rows[j]['id']} is too close to a real turn "
                                      f"(sha1 {hashlib.sha1(text.encode()).hexdigest()[:12]})")
                    if s > top[0]:
                        top = (s, rows[j]["id"])
            print(f"max similarity to the {len(turns)} unique real turns of {real}: "
                  f"{top[0]:.3f} ({top[1]}; exact from {REAL_FLOOR} up)")
    return cb.report(errors, [])


if __name__ == "__main__":
    sys.exit(main())
