"""``huashu eval --real``: figures on a tiny invented benchmark, checked by hand, and the real cache
when it is there (``$HUASHU_REAL_CACHE`` or ``.cache/real``; skipped without it).

Every line below is written for this test; none comes from the real sources.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.real_eval import customer_scores, load

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("HUASHU_REAL_CACHE", ROOT / ".cache" / "real"))


def huashu(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)


def sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


# (ref, role, style, sample, text, label); the lexicon flags 你必须 (command) and 你搞错了 (you_statement)
AGENT = [
    ("desed:dev:1:1", "chat", "agent-keyword", "你必须先把订单号发过来。",  # flagged, clear, right category, exact span
     {"grade": "clear", "flags": [{"start": 0, "end": 3, "category": "command", "grade": "clear"}]}),
    ("desed:dev:1:3", "chat", "agent-random", "您好，请问有什么可以帮您？", {"grade": "none", "flags": []}),
    ("desed:dev:2:1", "asr", "agent-keyword", "你搞错了这是两张卡",  # flagged, borderline, other category, half span
     {"grade": "borderline", "flags": [{"start": 0, "end": 2, "category": "contradiction", "grade": "borderline"}]}),
    ("desed:dev:2:3", "asr", "agent-random", "你必须先交押金",  # flagged but labelled none: a false flag
     {"grade": "none", "flags": []}),
    ("desed:dev:3:1", "chat", "agent-keyword", "这个真的没法弄哦",  # missed clear refusal
     {"grade": "clear", "flags": [{"start": 4, "end": 7, "category": "refusal", "grade": "clear"}]}),
    ("desed:dev:3:3", "chat", "agent-random", "好的呢亲，马上帮您看一下~", {"grade": "none", "flags": [], "issue": "wrong_role"}),
    ("desed:test:9:1", "chat", "agent-random", "你必须今天处理完", {"grade": "none", "flags": []}),  # test part
]
CUSTOMER = [
    ("desed:dev:1:0", "chat", "customer-random", "我的外卖到底什么时候到啊", {"label": "neutral", "anger": False}),
    ("desed:dev:2:0", "asr", "customer-cue", "你们这什么破服务气死我了", {"label": "negative", "anger": True}),
]


def write_benchmark(root: Path) -> tuple[Path, Path]:
    cache, data = root / "cache", root / "real"
    for d in (cache, data / "samples", data / "labels"):
        d.mkdir(parents=True)
    turns, samples, agent_labels, customer_labels = [], {}, [], []
    for role, rows in (("agent", AGENT), ("customer", CUSTOMER)):
        for ref, style, sample, text, label in rows:
            source, file, dialogue, turn = ref.split(":")
            turns.append({"ref": ref, "source": source, "dialogue": dialogue, "turn": int(turn), "role": role,
                          "style": style, "text": text, "context": None, "sha1": sha(text), "dup_of": None})
            samples.setdefault(sample, []).append({"ref": ref, "sha1": sha(text), "part": file, "sample": sample})
            (agent_labels if role == "agent" else customer_labels).append(
                {"ref": ref, "sha1": sha(text), **label, "labeller": "A"})
    turns.append({"ref": "desed:dev:5:0", "source": "desed", "dialogue": "5", "turn": 0, "role": "agent",
                  "style": "chat", "text": "不在样本中", "context": None, "sha1": sha("不在样本中"), "dup_of": None})

    def dump(path: Path, rows: list[dict]) -> None:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    dump(cache / "turns.jsonl", turns)
    for sample, rows in samples.items():
        dump(data / "samples" / f"{sample}.jsonl", rows)
    dump(data / "labels" / "agent-a.jsonl", agent_labels)
    dump(data / "labels" / "customer.jsonl", customer_labels)
    return cache, data


def share(w: dict) -> tuple[int, int]:
    return w["k"], w["n"]


def test_agent_figures_on_a_hand_counted_benchmark(tmp_path):
    cache, data = write_benchmark(tmp_path)
    r = huashu("eval", "--real", str(cache), "--real-data", str(data), "--no-model", "--format", "json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["part"] == "dev" and res["agent"]["turns"] == 5 and res["agent"]["left_out"] == {"wrong_role": 1}
    assert set(res["agent"]["systems"]) == {"lexicon"}
    row = res["agent"]["systems"]["lexicon"]["all"]
    assert (row["clear"], row["borderline"], row["none"], row["flagged"]) == (2, 1, 2, 3)
    assert share(row["precision"]) == (2, 3)  # 你必须先把… (clear), 你搞错了… (borderline); 你必须先交押金 is none
    assert row["precision"]["value"] == pytest.approx(0.6667, abs=1e-4)
    assert row["precision"]["low"] == pytest.approx(0.2077, abs=1e-3) and row["precision"]["high"] == pytest.approx(0.9385, abs=1e-3)
    assert share(row["strict_precision"]) == (1, 3)
    assert share(row["clear_recall"]) == (1, 2)  # 没法弄 missed
    assert share(row["recall_with_borderline"]) == (2, 3)
    assert share(row["false_flag_rate"]) == (1, 2)  # random none: 您好… (clean) and 你必须先交押金 (flagged)
    assert share(row["category_accuracy"]) == (1, 2)  # command right; you_statement vs contradiction wrong
    assert share(row["span_exact"]) == (1, 2) and share(row["span_half"]) == (2, 2)  # 你搞 vs 你搞错了: 0.5
    groups = res["agent"]["systems"]["lexicon"]
    assert share(groups["sample=keyword"]["precision"]) == (2, 2)
    assert share(groups["sample=random"]["false_flag_rate"]) == (1, 2)
    assert groups["sample=keyword"]["false_flag_rate"]["n"] == 0
    assert share(groups["desed/asr"]["precision"]) == (1, 2)
    assert set(res["customer"]["models"]) <= {"baseline"} and res["customer"]["turns"] == 2
    assert res["context"] is True

    test_part = json.loads(huashu("eval", "--real", str(cache), "--real-data", str(data), "--no-model",
                                  "--part", "test", "--format", "json").stdout)
    assert test_part["agent"]["turns"] == 1 and test_part["agent"]["systems"]["lexicon"]["all"]["flagged"] == 1


def test_text_output_and_a_sha1_mismatch_is_one_line(tmp_path):
    cache, data = write_benchmark(tmp_path)
    r = huashu("eval", "--real", str(cache), "--real-data", str(data), "--no-model")
    assert r.returncode == 0, r.stderr
    assert "0.667 [0.208,0.939]    2/3" in r.stdout and "[sample=random]" in r.stdout
    labels = data / "labels" / "agent-a.jsonl"
    lines = labels.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(sha("你搞错了这是两张卡"), "0" * 12)
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = huashu("eval", "--real", str(cache), "--real-data", str(data), "--no-model")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "desed:dev:2:1" in r.stderr and "agent-a.jsonl:3" in r.stderr
    r = huashu("eval", "--real", str(tmp_path / "nowhere"), "--real-data", str(data), "--no-model")
    assert r.returncode == 2 and "turns.jsonl" in r.stderr and "Traceback" not in r.stderr


def test_customer_figures_by_hand():
    from analyzer.real_eval import Turn

    gold = [("negative", True), ("negative", False), ("neutral", False), ("positive", False)]
    pred = [("negative", True), ("neutral", False), ("neutral", True), ("positive", False)]
    turns = [Turn(f"desed:dev:1:{i}", "customer-random", "desed", "chat", "x", None, {"label": g, "anger": a})
             for i, (g, a) in enumerate(gold)]
    row = customer_scores(turns, [{"label": p, "anger": a} for p, a in pred])["all"]
    # negative F1 2/3 (tp 1, fn 1), neutral 2/3 (tp 1, fp 1), positive 1: macro 7/9; anger tp 1, fp 1: 2/3
    assert row["macro_f1"]["value"] == pytest.approx(7 / 9, abs=1e-4)
    assert row["anger_f1"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    assert share(row["anger_precision"]) == (1, 2) and share(row["anger_recall"]) == (1, 1)
    lo, hi = row["macro_f1"]["interval"]
    assert 0 <= lo <= 7 / 9 <= hi <= 1


@pytest.mark.skipif(not (CACHE / "turns.jsonl").is_file(), reason="no real-text cache (corpora/real/README.md)")
def test_real_cache_dev_part_lexicon_alone():
    assert load(CACHE, "dev").agent  # the committed labels join the cache
    r = huashu("eval", "--real", str(CACHE), "--no-model", "--part", "dev")
    assert r.returncode == 0, r.stderr
    for section in ("part dev", "[all]", "[sample=random]", "[sample=keyword]", "[style=chat]", "[style=asr]",
                    "false flags (random none)", "customer turns:", "macro-F1", "anger F1"):
        assert section in r.stdout, section


def test_veto_precision_by_hand():
    from analyzer.model import Flag
    from analyzer.real_eval import Turn, veto_scores

    def turn(grade):
        return Turn("desed:dev:1:1", "agent-keyword", "desed", "chat", "这个退不了哦", None, {"grade": grade, "flags": []})

    def flag(start, end):
        return Flag(start, end, "退不了", "refusal", 0.8, "lexicon", "refusal.buneng-gai", "", [], "")

    turns = [turn("none"), turn("clear"), turn("none")]
    lexicon = [[flag(2, 5)], [flag(2, 5)], [flag(2, 5)]]
    fused = [[], [], [flag(2, 5)]]  # the model dropped the first two; the third is kept
    v = veto_scores(turns, lexicon, fused)
    assert v["vetoed"] == 2 and share(v["precision"]) == (1, 2)  # one right (none), one a real trigger lost
