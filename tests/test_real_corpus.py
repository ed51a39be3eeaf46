"""The real-text benchmark keeps references only: no dialogue text under corpora/real/.

Checks that need the extracted cache (``$HUASHU_REAL_CACHE`` or ``.cache/real``) skip without it.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "corpora" / "real"
CACHE = Path(os.environ.get("HUASHU_REAL_CACHE", ROOT / ".cache" / "real"))
REF_RE = re.compile(r"^(desed|ecd|seretod):[a-z]+:[0-9a-f]+:\d+$")
SHA_RE = re.compile(r"^[0-9a-f]{12}$")
SAMPLES = {"agent-random", "agent-keyword", "customer-random", "customer-cue"}
CATEGORIES = {"blame", "you_statement", "command", "refusal", "confrontation", "dismissive",
              "contradiction", "us_vs_them", "unknown", "privacy"}
ISSUES = {"wrong_role", "not_judgeable"}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"real_{name}", REAL / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            rows.append(json.loads(line))
    return rows


def _sample_rows() -> dict[str, list[dict]]:
    return {p.stem: _jsonl(p) for p in sorted((REAL / "samples").glob("*.jsonl"))}


def test_sample_files_hold_references_only():
    files = _sample_rows()
    assert {"agent-random", "agent-keyword", "customer-random", "customer-cue", "second-agent",
            "second-customer"} <= set(files)
    for name, rows in files.items():
        for row in rows:
            assert set(row) == {"ref", "sha1", "part", "sample"}, (name, row)
            assert REF_RE.match(row["ref"]) and SHA_RE.match(row["sha1"]), (name, row)
            assert row["part"] in ("dev", "test") and row["sample"] in SAMPLES, (name, row)


def test_sample_design():
    files = _sample_rows()
    agent_random = {r["ref"] for r in files["agent-random"]}
    agent_keyword = {r["ref"] for r in files["agent-keyword"]}
    customer = {r["ref"] for r in files["customer-random"] + files["customer-cue"]}
    assert len(agent_random) >= 1200 and len(agent_keyword) >= 800 and len(customer) >= 650
    assert not agent_random & agent_keyword
    assert sum(r["ref"].startswith("ecd:") for r in files["agent-random"]) >= 150
    assert len(files["second-agent"]) == 240 and len(files["second-customer"]) == 60
    assert {r["ref"] for r in files["second-agent"]} <= agent_random | agent_keyword
    assert {r["ref"] for r in files["second-customer"]} <= customer
    # split by dialogue: no dialogue in both parts
    part_of_dialogue: dict[str, str] = {}
    for rows in files.values():
        for r in rows:
            dialogue = r["ref"].rsplit(":", 1)[0]
            assert part_of_dialogue.setdefault(dialogue, r["part"]) == r["part"], dialogue
    parts = [r["part"] for rows in files.values() for r in rows]
    assert 0.4 < parts.count("dev") / len(parts) < 0.6


def test_label_files_hold_references_only():
    labels = REAL / "labels"
    agent_keys = {"ref", "sha1", "grade", "flags", "labeller"}
    customer_keys = {"ref", "sha1", "label", "anger", "labeller"}
    for path in sorted(labels.glob("*.jsonl")) if labels.exists() else []:
        for row in _jsonl(path):
            keys = set(row) - {"issue"}
            assert REF_RE.match(row["ref"]) and SHA_RE.match(row["sha1"]), (path.name, row)
            assert row.get("issue") in (None, *ISSUES), (path.name, row)
            if "agent" in path.name:
                assert keys == agent_keys, (path.name, row)
                assert row["grade"] in ("clear", "borderline", "none")
                for flag in row["flags"]:
                    assert set(flag) == {"start", "end", "category", "grade"}, (path.name, flag)
                    assert 0 <= flag["start"] < flag["end"] and flag["category"] in CATEGORIES
                    assert flag["grade"] in ("clear", "borderline")
                strongest = "clear" if any(f["grade"] == "clear" for f in row["flags"]) else (
                    "borderline" if row["flags"] else "none")
                assert row["grade"] == strongest, (path.name, row["ref"])
            else:
                assert keys == customer_keys, (path.name, row)
                assert row["label"] in ("negative", "neutral", "positive")
                assert isinstance(row["anger"], bool)


def test_unsegment_and_style_rules():
    extract = _load("extract")
    # ECD segmentation spaces go where a CJK character is next to them; Latin words keep theirs
    assert extract.unsegment("亲 这款 有 货 的 哦") == "亲这款有货的哦"
    assert extract.unsegment("打 85 折 用 iphone 8 plus 可以") == "打85折用iphone 8 plus可以"
    # phone transcripts carry no punctuation; chat almost always does somewhere
    asr = ["喂您好这里是话术测试热线请讲请讲", "嗯行那您稍候我这头给您翻一翻记录", "嗯"]
    chat = ["亲亲，这边给您翻一翻记录哦~", "好的呢", "是这张单子没错吧？", "测试小妹马上为您跟进呢"]
    assert extract.dialogue_style(asr) == "asr"
    assert extract.dialogue_style(chat) == "chat"
    # canned lines that differ only in the agent number fold together
    assert extract.dedupe_key("agent", "我是客服_123为您服务") == extract.dedupe_key("agent", "我是客服_98为您服务")


def test_parsers_on_own_lines():
    extract = _load("extract")
    desed = json.dumps([{"id": 7, "content": ["客服:您好亲,", "RULE:转接中,", "用户:餐没到,",
                                              "客服:这边帮您催一下哦，稍等~"]}], ensure_ascii=False)
    (_, style, turns), = list(extract.parse_desed(desed, "dev"))
    assert style == "chat" and turns == [(0, "agent", "您好亲"), (2, "customer", "餐没到"),
                                         (3, "agent", "这边帮您催一下哦，稍等~")]
    ecd = "0\t在 吗\t在 的\t能 便宜 吗\t不 好 意思\n1\t在 吗\t在 的\t能 便宜 吗\t最低 价 了 哦 亲\n"
    (dialogue, _, turns), = list(extract.parse_ecd(ecd, "test"))
    assert dialogue == "1" and [t[1] for t in turns] == ["customer", "agent", "customer", "agent"]
    assert turns[-1][2] == "最低价了哦亲"


@pytest.mark.skipif(not (CACHE / "turns.jsonl").exists(), reason="real-text cache absent (run extract.py)")
def test_samples_match_cache_and_no_text_is_committed():
    turns = {}
    for line in (CACHE / "turns.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        turns[row["ref"]] = row
    files = _sample_rows()
    for name, rows in files.items():
        for r in rows:
            t = turns.get(r["ref"])
            assert t is not None, (name, r["ref"])
            assert t["sha1"] == r["sha1"] and t["dup_of"] is None, (name, r["ref"])
            role = "customer" if r["sample"].startswith("customer") else "agent"
            assert t["role"] == role, (name, r["ref"])
    # no extracted turn of 8+ characters appears in any file under corpora/real/ nor in this test
    texts = {t["text"] for t in turns.values() if t["dup_of"] is None and len(t["text"]) >= 8}
    paths = [p for p in REAL.rglob("*") if p.is_file()] + [Path(__file__)]
    for path in paths:
        if path.suffix in (".py", ".md", ".yaml", ".jsonl", ".json", ".txt"):
            body = path.read_text(encoding="utf-8")
            leaked = [t for t in texts if t in body]
            assert not leaked, (path, len(leaked))
