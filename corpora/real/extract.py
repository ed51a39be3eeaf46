"""Extract real service turns from the fetched public snapshots into a local cache.

抽取公开快照中的真实客服对话到本地缓存 / Extract real customer-service turns into a cache.

The snapshots have no licence: the text goes to the cache (git-ignored ``.cache/real``), never into
the repository.  The repository keeps references only (``ref`` + ``sha1``), see README.md.

Usage::

    .venv/bin/python corpora/real/extract.py --mirror /work/.mirror --out .cache/real

Writes ``OUT/turns.jsonl``: one object per turn, in a fixed order (DESED dev, DESED test, ECD train,
ECD test, SereTOD example), so refs and first occurrences are the same on every run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

# Snapshot locations under the mirror folder, and the commit each README figure was built from.
SOURCES = {
    "desed": {
        "git_dirs": ["Ydongd+DESED/repo"],
        "files": {
            "dev": "datasets/FOSAED/unlabelled_conversations/dev.json",
            "test": "datasets/FOSAED/unlabelled_conversations/test.json",
        },
    },
    "ecd": {
        "git_dirs": ["cooelf+DeepUtteranceAggregation/repo/.git", "cooelf+DeepUtteranceAggregation/repo"],
        # ECD_sample/valid is byte-identical to ECD_sample/train (same blob): read it once.
        "files": {"train": "ECD_sample/train", "test": "ECD_sample/test"},
    },
    "seretod": {
        "git_dirs": ["SereTOD+SereTOD2022/repo"],
        "files": {"example": "data/example.json"},
    },
}

# Punctuation and emoji that a chat window keeps and a phone transcript lacks.
PUNCT_RE = re.compile(r"[，。？！、~～,.?!;；：…\u2600-\u27bf\U0001F300-\U0001FAFF]")
CJK = r"\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
# A segmentation space with a CJK character (or full-width sign) on at least one side.
SEG_SPACE_RE = re.compile(rf"(?<=[{CJK}]) +|(?: +)(?=[{CJK}])")
DIGITS_RE = re.compile(r"\d+")
ASR_LONG_TURN = 8        # only turns this long or longer vote on the style
ASR_MAX_PUNCT_SHARE = 0.1  # a dialogue whose long turns hold punctuation less often than this is ASR


class ExtractError(Exception):
    """A snapshot is missing or malformed / 快照缺失或格式不对."""


def sha1_12(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def unsegment(text: str) -> str:
    """Remove ECD's word-segmentation spaces next to CJK characters; keep spaces between Latin words."""
    return SEG_SPACE_RE.sub("", text.strip())


def dedupe_key(role: str, text: str) -> str:
    """Canned lines differ only in agent numbers (客服小美_12345) or order numbers: fold digits."""
    return role + "\t" + DIGITS_RE.sub("0", re.sub(r"\s+", "", text))


def dialogue_style(texts: list[str]) -> str:
    """``asr`` when the dialogue's long turns (>= 8 chars) almost never hold punctuation or emoji.

    DESED mixes online chat and phone-call ASR without marking which.  Per dialogue the share of long
    turns holding punctuation/emoji is bimodal: exactly 0 for the phone transcripts, 0.2-1.0 for chat
    (chat always has ，？~ or emoji somewhere).  Below 0.1 -> ``asr``; a dialogue with no long turn
    is ``chat`` only if some turn has punctuation.
    """
    long_turns = [t for t in texts if len(t) >= ASR_LONG_TURN]
    if not long_turns:
        return "chat" if any(PUNCT_RE.search(t) for t in texts) else "asr"
    share = sum(1 for t in long_turns if PUNCT_RE.search(t)) / len(long_turns)
    return "asr" if share < ASR_MAX_PUNCT_SHARE else "chat"


def git_show(mirror: Path, source: str, path: str) -> tuple[str, str]:
    """Return (text, commit) of ``HEAD:path`` from the first git dir of ``source`` that exists."""
    tried = []
    for rel in SOURCES[source]["git_dirs"]:
        gdir = mirror / rel
        tried.append(str(gdir))
        if not gdir.exists():
            continue
        run = subprocess.run(["git", "-C", str(gdir), "show", f"HEAD:{path}"], capture_output=True)
        if run.returncode != 0:
            raise ExtractError(f"{gdir}: cannot read HEAD:{path} / 读不到文件: {run.stderr.decode().strip()}")
        commit = subprocess.run(["git", "-C", str(gdir), "rev-parse", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        return run.stdout.decode("utf-8"), commit
    raise ExtractError(f"snapshot of {source} not found / 找不到快照: {', '.join(tried)}")


# Each parser yields dialogues: (dialogue_id, style or None, [(turn_index, role, text), ...]).

def parse_desed(raw: str, name: str):
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ExtractError(f"desed {name}: line {exc.lineno}: not JSON / 不是 JSON: {exc.msg}") from exc
    roles = {"客服": "agent", "用户": "customer"}
    for dlg in data:
        turns = []
        for i, line in enumerate(dlg["content"]):
            head, sep, text = line.partition(":")
            if not sep or head not in roles:
                continue  # RULE:/FAQ:/DM: are routing-bot lines, neither agent nor customer
            text = text.strip()
            if text.endswith(","):
                text = text[:-1].rstrip()  # the export appends a comma to every line but the last
            if text:
                turns.append((i, roles[head], text))
        yield str(dlg["id"]), dialogue_style([t for _, _, t in turns]), turns


def parse_ecd(raw: str, name: str):
    """One dialogue per label-1 line: context turns alternate and end on the customer; the response
    (last field) is the agent's.  Context lengths are always odd, so turn 0 is the customer's."""
    for lineno, line in enumerate(raw.splitlines()):
        fields = line.split("\t")
        if fields[0] != "1":
            continue  # label-0 lines repeat the context with a wrong response
        if len(fields) < 3:
            raise ExtractError(f"ecd {name}: line {lineno + 1}: fewer than 3 fields / 字段不足")
        utts = fields[1:]
        n = len(utts)
        turns = []
        for i, utt in enumerate(utts):
            role = "agent" if (n - 1 - i) % 2 == 0 else "customer"
            text = unsegment(utt)
            if text:
                turns.append((i, role, text))
        yield str(lineno), "chat", turns


def parse_seretod(raw: str, name: str):
    """[SPEAKER 1] is the agent (it carries 客服意图), [SPEAKER 2] the customer; JSON key order is the
    speaking order inside an item.  All are phone-call transcripts -> ``asr``."""
    data = json.loads(raw)
    for dlg in data:
        turns, k = [], 0
        for item in dlg["content"]:
            for key, value in item.items():
                if key not in ("[SPEAKER 1]", "[SPEAKER 2]"):
                    continue
                text = (value or "").strip()
                if text:
                    turns.append((k, "agent" if key == "[SPEAKER 1]" else "customer", text))
                k += 1
        yield str(dlg["id"]), "asr", turns


PARSERS = {"desed": parse_desed, "ecd": parse_ecd, "seretod": parse_seretod}


def extract(mirror: Path) -> tuple[list[dict], dict]:
    rows, seen, commits = [], {}, {}
    for source, spec in SOURCES.items():
        for name, path in spec["files"].items():
            raw, commit = git_show(mirror, source, path)
            commits[source] = commit
            for dialogue, style, turns in PARSERS[source](raw, name):
                last_customer = None
                for turn, role, text in turns:
                    ref = f"{source}:{name}:{dialogue}:{turn}"
                    key = dedupe_key(role, text)
                    rows.append({
                        "ref": ref, "source": source, "dialogue": dialogue, "turn": turn,
                        "role": role, "style": style, "text": text, "context": last_customer,
                        "sha1": sha1_12(text), "dup_of": seen.get(key),
                    })
                    seen.setdefault(key, ref)
                    if role == "customer":
                        last_customer = text
    return rows, commits


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="抽取真实客服对话到缓存 / extract real turns into the cache")
    ap.add_argument("--mirror", default="/work/.mirror", help="folder holding the fetched snapshots")
    ap.add_argument("--out", default=os.environ.get("HUASHU_REAL_CACHE", ".cache/real"))
    args = ap.parse_args(argv)
    try:
        rows, commits = extract(Path(args.mirror))
    except ExtractError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "turns.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "commits.json").write_text(json.dumps(commits, indent=1) + "\n", encoding="utf-8")
    by = {}
    for r in rows:
        k = (r["source"], r["style"], r["role"])
        tot, uniq = by.get(k, (0, 0))
        by[k] = (tot + 1, uniq + (r["dup_of"] is None))
    print(f"{len(rows)} turns -> {out / 'turns.jsonl'}")
    print("source   style role      turns  unique")
    for (s, st, ro), (tot, uniq) in sorted(by.items()):
        print(f"{s:8} {st:5} {ro:9} {tot:6} {uniq:7}")
    for s, c in commits.items():
        print(f"{s}: {c}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
