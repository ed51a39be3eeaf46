#!/usr/bin/env python3
"""Check corpora/classifier/part-e.jsonl (agent lines in the real register: phone ASR and formal replies).

    python3 corpora/classifier/check_part_e.py [path/to/part-e.jsonl] [--real [turns.jsonl]]

Standard library only. Uses check_part_b's normalisation and similarity (bigram Jaccard on the raw
text and on the Traditional-folded, punctuation-free text, the larger kept) and the sentiment
checker's script tables. Verifies:
- schema: part C's fields plus ``span``, ``pattern`` and ``source``; labels read from
  ``corpora/categories.yaml`` (plus ``none``); split train/dev only, one split per group;
- a gold ``span`` on every positive: a substring of ``text`` that is not only fillers, particles,
  endearments or courtesy words, and at least two characters; ``span`` is null on label none;
- the mix: at least 1,300 lines, at least 55% label none, every category present, about 10%
  Traditional, about 20% of the groups in dev;
- no near duplicates inside the file (>= 0.8), no dev line of part E at >= 0.5 to a train line of
  part E, and every line below 0.5 to every dev/test line of parts A-D, to every line of
  ``corpora/dev/dev.jsonl`` and to every dev/test line of ``corpora/sentiment/customer.jsonl``;
  every dev line of part E below 0.5 to every train line of the other classifier parts.
With ``--real`` it also checks that no line is 0.5 or more similar to any unique turn of the
real-text cache (``corpora/real/extract.py`` writes ``$HUASHU_REAL_CACHE`` or ``.cache/real``,
outside git): a licence guard, since the lines were written after reading real dialogue and must
not copy it. Lines under REAL_MIN_CHARS characters (formulas such as 嗯嗯对对) are not compared.
Only line ids and the turn's sha1 are printed, never the real text.
Prints the counts (quoted in the README); exits 1 on any violation.
"""
import collections
import hashlib
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPORA = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import check_part_b as cb  # noqa: E402


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cs = _load("sentiment_check", os.path.join(CORPORA, "sentiment", "check.py"))

KEYS = cb.KEYS + ["span", "pattern", "source"]
SOURCE = "authored-real-register"
SPLITS = {"train", "dev"}
KINDS = cb.KINDS
MIN_LINES = 1300
MIN_NONE_SHARE = 0.55
MIN_PER_CATEGORY = 30
TRAD_SHARE = (0.07, 0.15)
DEV_GROUP_SHARE = (0.12, 0.28)
MAX_LEN = 130
# A span made only of these is no trigger (fillers, particles, endearments, courtesy words).
FILLERS = set("嗯呃啊哦呢吧呀啦哈嘛喔噢欸唉那个就是这个亲您你的了吗么也都")


def categories():
    """The category ids of corpora/categories.yaml (``check_part_b.category_labels``, less none)."""
    return sorted(cb.category_labels() - {"none"})


def grams(text):
    return cb.bigrams(text), cb.bigrams(cb.normalise(text))


def sim(a, b):
    """Larger of the raw and the normalised bigram Jaccard; a, b are (raw, norm) bigram sets."""
    return max(cb.jaccard(a[0], b[0]), cb.jaccard(a[1], b[1]))


class Index:
    """Bigram inverted index: the lines at or above a similarity to a query, without a full scan.

    Each line is a tuple of bigram sets (here raw and normalised); the similarity of two lines is
    the largest Jaccard over the tuple's positions, counted from shared bigrams per candidate."""

    def __init__(self, texts, gram=None):
        self.gram = gram or grams
        self.grams = [self.gram(t) for t in texts]
        self.inv = collections.defaultdict(list)
        for i, g in enumerate(self.grams):
            for k, part in enumerate(g):
                for x in part:
                    self.inv[k, x].append(i)

    def near(self, g, threshold):
        best = {}
        for k, part in enumerate(g):
            shared = collections.Counter()
            for x in part:
                shared.update(self.inv.get((k, x), ()))
            for j, c in shared.items():
                s = c / (len(part) + len(self.grams[j][k]) - c)
                if s > best.get(j, 0.0):
                    best[j] = s
        return [(s, j) for j, s in best.items() if s >= threshold]

    def best(self, g):
        return max(self.near(g, 0.0) or [(0.0, None)])


def _other_parts(train):
    """(file, id, text) of the classifier parts other than E: their train lines, or their
    dev/test lines (``train=False``)."""
    out = []
    for name in sorted(os.listdir(HERE)):
        if name.endswith(".jsonl") and name != "part-e.jsonl":
            for line in open(os.path.join(HERE, name), encoding="utf-8"):
                if line.strip():
                    r = json.loads(line)
                    if (r.get("split", "train") == "train") == train:
                        out.append((name, r.get("id"), r["text"]))
    return out


def held_out_lines():
    """(file, id, text) of every line a model is measured on: dev/test of the classifier parts
    (part E excepted), all of corpora/dev/dev.jsonl, dev/test of the sentiment corpus."""
    out = _other_parts(train=False)
    for line in open(os.path.join(CORPORA, "dev", "dev.jsonl"), encoding="utf-8"):
        if line.strip():
            r = json.loads(line)
            out.append(("dev/dev.jsonl", r.get("id"), r["text"]))
    for line in open(os.path.join(CORPORA, "sentiment", "customer.jsonl"), encoding="utf-8"):
        if line.strip():
            r = json.loads(line)
            if r["split"] != "train":
                out.append(("sentiment/customer.jsonl", r["id"], r["text"]))
    return out


def train_lines_elsewhere():
    """(file, id, text) of the train lines of the other classifier parts: a dev line of part E
    must not resemble them either, or the dev split would measure memory."""
    return _other_parts(train=True)


def dev_vs_train_report(rows, train, errors, index_of=None, limit=cb.LEAK):
    """Every dev row below ``limit`` to every line of ``train`` ((file, id, text)); returns the worst."""
    idx = (index_of or Index)([t[2] for t in train])
    worst = (0.0, None, None)
    for o in rows:
        if o["split"] != "dev":
            continue
        s, j = idx.best(idx.gram(o["text"]))
        if j is None:
            continue
        if s > worst[0]:
            worst = (s, o["id"], f"{train[j][0]} {train[j][1]}")
        if s >= limit:
            errors.append(f"dev line close to a train line of another file ({s:.2f}): {o['id']} vs "
                          f"{train[j][0]} {train[j][1]}")
    print(f"train lines of other files compared with dev lines here: {len(train)}; max similarity: "
          f"{worst[0]:.3f} ({worst[1]} vs {worst[2]})")
    return worst[0]


def leak_report(rows, errors, limit=cb.LEAK):
    """Every row against every held-out line; returns the worst similarity found."""
    held = held_out_lines()
    idx = Index([h[2] for h in held])
    worst = (0.0, None, None)
    for o in rows:
        s, j = idx.best(grams(o["text"]))
        if j is None:
            continue
        if s > worst[0]:
            worst = (s, o["id"], f"{held[j][0]} {held[j][1]}")
        if s >= limit:
            errors.append(f"leak ({s:.2f}): {o['id']} is too close to {held[j][0]} {held[j][1]}")
    print(f"held-out lines compared: {len(held)}; max similarity of a line here to one of them: "
          f"{worst[0]:.3f} ({worst[1]} vs {worst[2]})")
    return worst[0]


REAL_CACHE = os.path.normpath(os.path.join(CORPORA, "..", ".cache", "real"))


def real_turns(path):
    """Unique texts (4 characters or more) of the real-text cache's turns.jsonl, agent and customer."""
    out = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                t = json.loads(line)
                if t.get("dup_of") is None and len(t["text"]) >= 4:
                    out.add(t["text"])
    return sorted(out)


REAL_MIN_CHARS = 6  # shorter lines (嗯嗯对对, 然后呢, ？？？) are formulas found in any dialogue


def real_guard(rows, path, errors, index_of=None):
    """Licence guard: every row of REAL_MIN_CHARS or more characters (punctuation and emoji dropped)
    below 0.5 to every unique real turn; returns the worst similarity."""
    if not os.path.exists(path):
        errors.append(f"{path}: no real-text cache (build it with corpora/real/extract.py)")
        return None
    turns = real_turns(path)
    rows = [o for o in rows if len(cb.normalise(o["text"])) >= REAL_MIN_CHARS]
    idx = (index_of or Index)([o["text"] for o in rows])
    top = (0.0, None)
    for text in turns:
        for s, j in idx.near(idx.gram(text), 0.3):
            if s >= cb.LEAK:
                errors.append(f"real ({s:.2f}): {rows[j]['id']} is too close to a real turn "
                              f"(sha1 {hashlib.sha1(text.encode()).hexdigest()[:12]})")
            if s > top[0]:
                top = (s, rows[j]["id"])
    print(f"max similarity to the {len(turns)} unique real turns of {path}: {top[0]:.3f} ({top[1]}; "
          f"{len(rows)} lines of {REAL_MIN_CHARS}+ characters compared)")
    return top[0]


def cli_args(argv, default):
    """(data path, real-cache turns path or None) from ``[PATH] [--real [TURNS]]``."""
    args, real = list(argv), None
    if "--real" in args:
        k = args.index("--real")
        nxt = args[k + 1] if k + 1 < len(args) and not args[k + 1].startswith("--") else None
        real = nxt or os.path.join(os.environ.get("HUASHU_REAL_CACHE") or REAL_CACHE, "turns.jsonl")
        del args[k:k + (2 if nxt else 1)]
    return (args[0] if args else default), real


def row_problems(o, labels):
    """The problems of one record (fields already checked): messages, empty when it is fine."""
    w, t, span = o["id"], o["text"], o["span"]
    pos = o["label"] != "none"
    checks = [
        (re.fullmatch(r"e-\d{5}", str(w)), "bad id"),
        (re.fullmatch(r"e-g\d{4}", str(o["group"])), "bad group"),
        (o["label"] in labels, f"label {o['label']!r} not in categories.yaml"),
        (o["kind"] in KINDS, "bad kind"),
        (o["script"] in cb.SCRIPTS, "bad script"),
        (o["style"] in cb.STYLES, "bad style"),
        (o["domain"] in cb.DOMAINS, "bad domain"),
        (o["split"] in SPLITS, "split must be train or dev"),
        (o["source"] == SOURCE, f"source must be {SOURCE}"),
        (isinstance(o["pattern"], str) and re.fullmatch(r"[a-z_]+", o["pattern"]), "bad pattern tag"),
        ((not pos) == (o["kind"] in ("hard_negative", "neutral")), "label/kind mismatch"),
        (isinstance(t, str) and 2 <= len(t) <= MAX_LEN, f"length outside 2..{MAX_LEN}"),
        (t == t.strip(), "surrounding whitespace"),
        (not (o["style"] == "asr" and cb.PUNCT.search(t)), "asr line with punctuation"),
        (not (o["script"] == "simplified" and any(c in cs.TRAD_ONLY for c in t)),
         "simplified line with Traditional characters"),
        (not (o["script"] == "traditional" and not any(c in cs.TRAD_ONLY for c in t)),
         "traditional line without a Traditional-only character"),
        (not (o["script"] == "traditional" and any(c in cs.SIMP_ONLY for c in t)),
         "traditional line with Simplified-only characters"),
    ]
    if pos:
        checks += [
            (isinstance(span, str) and span and span in t, "span is not a substring of text"),
            (isinstance(span, str) and len(span) >= 2, "span shorter than two characters"),
            (isinstance(span, str) and not set(span) <= FILLERS, "span of fillers only"),
        ]
    else:
        checks.append((span is None, "span must be null on label none"))
    return [f"{w}: {msg}: {t}" for ok, msg in checks if not ok]


def read_rows(path, keys):
    """The JSON objects of a JSON Lines file whose keys are exactly ``keys`` (in order), and one
    error line for each line that is not."""
    errors, rows = [], []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                errors.append(f"line {n}: empty line")
                continue
            try:
                o = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {n}: not JSON ({e})")
                continue
            if not isinstance(o, dict) or list(o) != keys:
                errors.append(f"line {n}: keys must be {keys}")
                continue
            rows.append(o)
    return rows, errors


def main():
    path, real = cli_args(sys.argv[1:], os.path.join(HERE, "part-e.jsonl"))
    cats = categories()
    labels = set(cats) | {"none"}
    rows, errors = read_rows(path, KEYS)
    group_split = {}
    for o in rows:
        errors += row_problems(o, labels)
        if group_split.setdefault(o["group"], o["split"]) != o["split"]:
            errors.append(f"group {o['group']}: lines in more than one split")
    for i, c in collections.Counter(o["id"] for o in rows).items():
        if c > 1:
            errors.append(f"id {i} used {c} times")

    N = len(rows)
    C = collections.Counter
    lab = C(o["label"] for o in rows)
    print(f"file: {path}\nlines: {N}   groups: {len(group_split)}")
    print("label  ", dict(lab.most_common()))
    for k in ("kind", "style", "script", "domain", "split"):
        print(f"{k:7s}", dict(C(o[k] for o in rows).most_common()))
    print("pattern", dict(C(o["pattern"] for o in rows).most_common()))
    gsplit = C(group_split.values())
    none_share = lab["none"] / N if N else 0
    trad = sum(o["script"] == "traditional" for o in rows) / N if N else 0
    dev_groups = gsplit["dev"] / len(group_split) if group_split else 0
    mixed = sum(len({o["label"] == "none" for o in rows if o["group"] == g}) > 1 for g in group_split)
    print(f"none {none_share:.1%}  traditional {trad:.1%}  dev groups {dev_groups:.1%}  "
          f"contrast groups (positive and none lines) {mixed}")
    if N < MIN_LINES:
        errors.append(f"{N} lines < {MIN_LINES}")
    if none_share < MIN_NONE_SHARE:
        errors.append(f"none share {none_share:.1%} < {MIN_NONE_SHARE:.0%}")
    for c in cats:
        if lab[c] < MIN_PER_CATEGORY:
            errors.append(f"{c}: {lab[c]} positives < {MIN_PER_CATEGORY}")
        if not any(o["label"] == c and o["split"] == "dev" for o in rows):
            errors.append(f"{c}: no positive in dev")
    if not TRAD_SHARE[0] <= trad <= TRAD_SHARE[1]:
        errors.append(f"traditional share {trad:.1%} outside {TRAD_SHARE}")
    if not DEV_GROUP_SHARE[0] <= dev_groups <= DEV_GROUP_SHARE[1]:
        errors.append(f"dev share of groups {dev_groups:.1%} outside {DEV_GROUP_SHARE}")

    idx = Index([o["text"] for o in rows])
    ndup = nsplit = 0
    for i, o in enumerate(rows):
        for s, j in idx.near(idx.grams[i], cb.LEAK):
            if j <= i:
                continue
            if s >= cb.NEAR_DUP:
                ndup += 1
                errors.append(f"near-duplicate ({s:.2f}): {o['id']} {o['text']} | "
                              f"{rows[j]['id']} {rows[j]['text']}")
            if o["split"] != rows[j]["split"]:
                nsplit += 1
                errors.append(f"dev line close to a train line ({s:.2f}): {o['id']} | {rows[j]['id']}")
    print(f"near-duplicate pairs (>= {cb.NEAR_DUP}): {ndup}")
    print(f"dev/train pairs inside part E at >= {cb.LEAK}: {nsplit}")
    dev_vs_train_report(rows, train_lines_elsewhere(), errors)
    leak_report(rows, errors)
    if real:
        real_guard(rows, real, errors)
    return cb.report(errors, [])


if __name__ == "__main__":
    sys.exit(main())
