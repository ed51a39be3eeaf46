"""Build rewrites.jsonl from the hand-written source files in src/ (stdlib only).

The source files are how the set was written: one block per utterance, blocks separated by a
blank line. Example:

    chat refund no
    亲，⟦你必须|command⟧先把发票拍照发过来哦，收到后给您退款～
    = 亲，麻烦您先把发票拍照发过来哦，收到后给您退款～
    = 亲亲，辛苦您先把发票拍照发过来呢，收到后就给您退款哦～
    + 发票|退款
    # a note (optional)

- first line: style (formal|chat|asr|traditional), then optional promise
  (refund|escalation|compensation|callback; default none) and the word ``no`` when the original
  states a refusal fact that every rewrite must keep (``keep_no``);
- second line: the utterance, each trigger marked ⟦phrase|category⟧ (the markers are removed and
  the offsets computed from them);
- ``=`` lines: acceptable rewrites; ``+`` line: keep words separated by |; ``#``: note.

Usage: python corpora/rewrites/build.py   (then python corpora/rewrites/check.py)
Ids follow the order of the files (sorted by name) and of the blocks in them. The split is
computed here: within each (first trigger's category, style) group, the k-th item goes to dev
when round(0.3 * k) steps up at k, so every group is 30% dev to the nearest item.
"""
from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = re.compile(r"⟦([^⟧|]+)\|([a-z_]+)⟧")
STYLES = {"formal", "chat", "asr", "traditional"}
PROMISES = {"none", "refund", "escalation", "compensation", "callback"}
DEV_SHARE = 0.3


def parse_block(block: str, where: str) -> dict:
    lines = [ln.rstrip() for ln in block.strip().splitlines() if ln.strip()]
    head = lines[0].split()
    style, rest = head[0], head[1:]
    if style not in STYLES:
        raise SystemExit(f"{where}: unknown style {style!r}")
    promise = next((w for w in rest if w in PROMISES), "none")
    keep_no = "no" in rest
    marked = lines[1]
    text, triggers, pos = [], [], 0
    for m in MARK.finditer(marked):
        text.append(marked[pos:m.start()])
        start = sum(len(t) for t in text)
        text.append(m.group(1))
        triggers.append({"start": start, "end": start + len(m.group(1)), "category": m.group(2)})
        pos = m.end()
    text.append(marked[pos:])
    plain = "".join(text)
    if "⟦" in plain or "⟧" in plain:
        raise SystemExit(f"{where}: broken trigger marker in {marked!r}")
    acceptable, keep, note = [], [], ""
    for ln in lines[2:]:
        tag, body = ln[0], ln[1:].strip()
        if tag == "=":
            acceptable.append(body)
        elif tag == "+":
            keep = [w for w in body.split("|") if w]
        elif tag == "#":
            note = body
        else:
            raise SystemExit(f"{where}: unexpected line {ln!r}")
    row = {"text": plain, "style": style, "triggers": triggers, "acceptable": acceptable,
           "keep": keep, "promise": promise, "note": note}
    if keep_no:
        row["keep_no"] = True
    return row


def render() -> str:
    """The text of rewrites.jsonl as built from src/*.txt."""
    rows = []
    for path in sorted((HERE / "src").glob("*.txt")):
        blocks = re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
        for i, block in enumerate(b for b in blocks if b.strip()):
            rows.append(parse_block(block, f"{path.name} block {i + 1}"))
    seen: dict[tuple[str, str], int] = defaultdict(int)
    out = []
    for n, row in enumerate(rows, 1):
        key = (row["triggers"][0]["category"] if row["triggers"] else "", row["style"])
        k = seen[key] = seen[key] + 1
        step = int(DEV_SHARE * k + 0.5) > int(DEV_SHARE * (k - 1) + 0.5)
        split = "dev" if step else "test"
        ordered = {"id": f"rw-{n:04d}", "text": row["text"], "style": row["style"],
                   "triggers": row["triggers"], "acceptable": row["acceptable"],
                   "keep": row["keep"], "promise": row["promise"], "note": row["note"]}
        if row.get("keep_no"):
            ordered["keep_no"] = True
        ordered["split"] = split
        out.append(json.dumps(ordered, ensure_ascii=False))
    return "\n".join(out) + "\n"


def main() -> int:
    text = render()
    (HERE / "rewrites.jsonl").write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} lines to {HERE / 'rewrites.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
