"""Inter-labeller agreement on the doubly labelled real turns (一致性统计).

Compares the second labelling (``labels/second-agent.jsonl``, ``labels/second-customer.jsonl``,
labeller B) with the first labelling of the same refs (every other ``labels/*agent*.jsonl`` file and
``labels/customer.jsonl``, labeller A). Reads the label files only: no text, no cache. Stdlib only.

    python corpora/real/agreement.py [--labels corpora/real/labels]

Agent turns:
- turn decision (trigger vs none): Cohen's kappa with borderline counted as a trigger
  ("clear+borderline") and with borderline counted as none ("clear only"), plus a 3-way kappa on
  the turn grade (none / borderline / clear);
- category: for turns both labellers flagged, the share whose strongest flag (clear before
  borderline, then leftmost) has the same category, and the share that have any category in common;
- spans: on turns both flagged, flags are paired one-to-one by largest character overlap; the
  denominator is, per turn, the larger of the two flag counts (an unpaired flag is a disagreement).
  Reported: exact (same start and end), overlap >= 50% (intersection over union >= 0.5), any overlap.
Customer turns: Cohen's kappa on ``label`` (3 classes) and on ``anger``.
Turns with an ``issue`` key stay in (they carry no flags, so they count as none).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRADE_RANK = {"none": 0, "borderline": 1, "clear": 2}


class LabelError(Exception):
    """A label file is unreadable or inconsistent; the message names the file and line."""


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelError(f"{path}:{n}: 不是合法的 JSON / not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "ref" not in row:
            raise LabelError(f"{path}:{n}: 缺少 ref / missing ref")
        row["_where"] = f"{path}:{n}"
        rows.append(row)
    return rows


def cohen_kappa(a: list, b: list) -> float | None:
    """Cohen's kappa of two equally long label lists; None when chance agreement is 1."""
    if len(a) != len(b) or not a:
        raise ValueError("two non-empty lists of the same length are needed")
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if pe == 1:
        return None
    return (po - pe) / (1 - pe)


def strongest(flags: list[dict]) -> dict:
    return sorted(flags, key=lambda f: (-GRADE_RANK[f["grade"]], f["start"], f["end"]))[0]


def pair_flags(fa: list[dict], fb: list[dict]) -> list[tuple[dict, dict]]:
    """One-to-one pairs of overlapping flags, largest overlap first."""
    cands = []
    for i, x in enumerate(fa):
        for j, y in enumerate(fb):
            inter = min(x["end"], y["end"]) - max(x["start"], y["start"])
            if inter > 0:
                cands.append((-inter, i, j))
    used_a, used_b, pairs = set(), set(), []
    for _, i, j in sorted(cands):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((fa[i], fb[j]))
    return pairs


def iou(x: dict, y: dict) -> float:
    inter = max(0, min(x["end"], y["end"]) - max(x["start"], y["start"]))
    union = max(x["end"], y["end"]) - min(x["start"], y["start"])
    return inter / union


def _join(first: list[dict], second: list[dict], what: str) -> list[tuple[dict, dict]]:
    by_ref: dict[str, dict] = {}
    for row in first:
        if row["ref"] in by_ref:
            raise LabelError(f"{row['_where']}: ref 重复 / duplicate ref {row['ref']}")
        by_ref[row["ref"]] = row
    pairs = []
    for row in second:
        a = by_ref.get(row["ref"])
        if a is None:
            raise LabelError(f"{row['_where']}: 第一次标注里没有这个 ref / ref not in the first "
                             f"labelling ({what}): {row['ref']}")
        if a.get("sha1") != row.get("sha1"):
            raise LabelError(f"{row['_where']}: sha1 与 {a['_where']} 不同 / sha1 differs")
        pairs.append((a, row))
    return pairs


def agent_agreement(pairs: list[tuple[dict, dict]]) -> dict:
    ga = [a["grade"] for a, _ in pairs]
    gb = [b["grade"] for _, b in pairs]
    out = {"n": len(pairs)}
    for name, pos in (("any", ("clear", "borderline")), ("clear", ("clear",))):
        xa = [g in pos for g in ga]
        xb = [g in pos for g in gb]
        out[name] = {"kappa": cohen_kappa(xa, xb),
                     "agree": sum(x == y for x, y in zip(xa, xb)) / len(xa),
                     "both": sum(x and y for x, y in zip(xa, xb)),
                     "a_only": sum(x and not y for x, y in zip(xa, xb)),
                     "b_only": sum(y and not x for x, y in zip(xa, xb)),
                     "a_total": sum(xa), "b_total": sum(xb)}
    out["grade3_kappa"] = cohen_kappa(ga, gb)
    both = [(a, b) for a, b in pairs if a["flags"] and b["flags"]]
    cat_same = sum(strongest(a["flags"])["category"] == strongest(b["flags"])["category"] for a, b in both)
    cat_any = sum(bool({f["category"] for f in a["flags"]} & {f["category"] for f in b["flags"]})
                  for a, b in both)
    slots = exact = half = overlap = same_cat_paired = 0
    confusions: Counter = Counter()
    for a, b in both:
        slots += max(len(a["flags"]), len(b["flags"]))
        for x, y in pair_flags(a["flags"], b["flags"]):
            overlap += 1
            exact += (x["start"], x["end"]) == (y["start"], y["end"])
            half += iou(x, y) >= 0.5
            same_cat_paired += x["category"] == y["category"]
        ca, cb = strongest(a["flags"])["category"], strongest(b["flags"])["category"]
        if ca != cb:
            confusions[(ca, cb)] += 1
    out["category"] = {"both_flagged": len(both), "same_strongest": cat_same, "any_shared": cat_any,
                       "confusions": confusions}
    out["spans"] = {"slots": slots, "overlap": overlap, "exact": exact, "iou50": half,
                    "same_category_paired": same_cat_paired}
    out["issues"] = {"a": Counter(a.get("issue") for a, _ in pairs if a.get("issue")),
                     "b": Counter(b.get("issue") for _, b in pairs if b.get("issue"))}
    out["categories"] = {
        "a": Counter(f["category"] for a, _ in pairs for f in a["flags"]),
        "b": Counter(f["category"] for _, b in pairs for f in b["flags"])}
    return out


def customer_agreement(pairs: list[tuple[dict, dict]]) -> dict:
    la = [a["label"] for a, _ in pairs]
    lb = [b["label"] for _, b in pairs]
    aa = [bool(a["anger"]) for a, _ in pairs]
    ab = [bool(b["anger"]) for _, b in pairs]
    return {"n": len(pairs),
            "label_kappa": cohen_kappa(la, lb),
            "label_agree": sum(x == y for x, y in zip(la, lb)) / len(la),
            "label_confusions": Counter((x, y) for x, y in zip(la, lb) if x != y),
            "label_counts": (Counter(la), Counter(lb)),
            "anger_kappa": cohen_kappa(aa, ab),
            "anger_agree": sum(x == y for x, y in zip(aa, ab)) / len(aa),
            "anger_counts": (sum(aa), sum(ab))}


def load(labels: Path) -> tuple[list, list]:
    second_agent = labels / "second-agent.jsonl"
    second_customer = labels / "second-customer.jsonl"
    first_agent_files = sorted(p for p in labels.glob("*agent*.jsonl") if not p.name.startswith("second-"))
    for p in (second_agent, second_customer, labels / "customer.jsonl"):
        if not p.exists():
            raise LabelError(f"{p}: 文件不存在 / file not found")
    if not first_agent_files:
        raise LabelError(f"{labels}: 没有第一次标注的 agent 文件 / no first-labelling agent file")
    first_agent = [r for p in first_agent_files for r in read_jsonl(p)]
    agent = _join(first_agent, read_jsonl(second_agent), "agent")
    customer = _join(read_jsonl(labels / "customer.jsonl"), read_jsonl(second_customer), "customer")
    return agent, customer


def _k(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _pct(x: int, n: int) -> str:
    return f"{x}/{n} ({100 * x / n:.1f}%)" if n else f"{x}/0"


def report(agent: list, customer: list) -> str:
    ag = agent_agreement(agent)
    cu = customer_agreement(customer)
    lines = [f"agent turns: {ag['n']} (A = first labelling, B = second)"]
    for name, title in (("any", "clear+borderline"), ("clear", "clear only")):
        d = ag[name]
        lines.append(f"  trigger vs none, {title}: kappa {_k(d['kappa'])}, agreement "
                     f"{100 * d['agree']:.1f}%; flagged A {d['a_total']}, B {d['b_total']}, both "
                     f"{d['both']}, A only {d['a_only']}, B only {d['b_only']}")
    lines.append(f"  turn grade none/borderline/clear: kappa {_k(ag['grade3_kappa'])}")
    c = ag["category"]
    lines.append(f"  category on turns both flagged: strongest flag same {_pct(c['same_strongest'], c['both_flagged'])}"
                 f", any category shared {_pct(c['any_shared'], c['both_flagged'])}")
    if c["confusions"]:
        lines.append("    differing (A -> B): " + ", ".join(
            f"{a}->{b} {n}" for (a, b), n in c["confusions"].most_common()))
    s = ag["spans"]
    lines.append(f"  spans on turns both flagged ({s['slots']} flag slots): exact {_pct(s['exact'], s['slots'])}, "
                 f"overlap>=50% (IoU) {_pct(s['iou50'], s['slots'])}, any overlap {_pct(s['overlap'], s['slots'])}")
    lines.append("  flags by category: A " + ", ".join(f"{k} {v}" for k, v in ag["categories"]["a"].most_common())
                 + " | B " + ", ".join(f"{k} {v}" for k, v in ag["categories"]["b"].most_common()))
    lines.append(f"  issue keys: A {dict(ag['issues']['a']) or 0}, B {dict(ag['issues']['b']) or 0}")
    lines.append(f"customer turns: {cu['n']}")
    la, lb = cu["label_counts"]
    lines.append(f"  label: kappa {_k(cu['label_kappa'])}, agreement {100 * cu['label_agree']:.1f}%; "
                 f"A {dict(sorted(la.items()))}, B {dict(sorted(lb.items()))}")
    if cu["label_confusions"]:
        lines.append("    differing (A -> B): " + ", ".join(
            f"{a}->{b} {n}" for (a, b), n in cu["label_confusions"].most_common()))
    lines.append(f"  anger: kappa {_k(cu['anger_kappa'])}, agreement {100 * cu['anger_agree']:.1f}%; "
                 f"anger A {cu['anger_counts'][0]}, B {cu['anger_counts'][1]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="标注一致性 / inter-labeller agreement on the real corpus")
    ap.add_argument("--labels", type=Path, default=HERE / "labels", help="label folder")
    args = ap.parse_args(argv)
    try:
        agent, customer = load(args.labels)
    except LabelError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2
    print(report(agent, customer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
