"""bench/model_speed.py runs at a tiny size (lexicon and, when it loads, the ONNX tagger; no
previous-commit worktree, no cold starts or reports), and its helpers pick the right figures."""
from __future__ import annotations

import json
import re

import pytest

from script_support import load_bench


@pytest.fixture(scope="module")
def bench():
    return load_bench("model_speed")


def test_percentile_and_verdicts(bench):
    values = sorted(float(i) for i in range(1, 101))  # 1..100
    assert bench.percentile(values, 0.0) == 1.0 and bench.percentile(values, 1.0) == 100.0
    assert bench.percentile(values, 0.99) == 99.0
    assert bench.percentile([3.0], 0.99) == 3.0
    assert bench.verdict("fused_corpus", 2500.0).endswith(": met")
    assert bench.verdict("fused_corpus", 1999.0).endswith("not met")
    assert bench.verdict("tagger_p99", 9.5).endswith(": met")  # at most 10 ms
    assert bench.verdict("tagger_p99", 10.5).endswith("not met")
    assert bench.verdict("check_rss", None).endswith("no figure")


def test_real_turns_are_agent_turns_only(bench, tmp_path):
    rows = [{"role": "agent", "text": f"坐席第{i}句：您好，这边帮您查一下。"} for i in range(10)]
    rows += [{"role": "customer", "text": "客户说：我的快递呢？"}, {"role": "agent", "text": "  "},
             {"role": "agent", "text": "重复的一句", "dup_of": "x:1"}]
    path = tmp_path / "turns.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    picked = bench.real_agent_turns(path, 5)
    assert len(picked) == 5 and all(t.startswith("坐席第") for t in picked)
    assert picked[0] != picked[1]  # spread over the file, not one turn repeated
    assert len(bench.real_agent_turns(path, 100)) == 10
    assert bench.real_agent_turns(tmp_path / "absent.jsonl", 5) is None


def test_tiny_run_writes_the_table(bench, tmp_path):
    out = tmp_path / "model.md"
    code = bench.main(["--systems", "lexicon,tagger", "--n", "64", "--latency", "12", "--real", "16",
                       "--seconds", "5", "--no-cold", "--no-report", "--out", str(out)])
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert "Load average" in text and "python bench/model_speed.py --systems lexicon,tagger" in text
    lexicon = next(line for line in text.splitlines() if line.startswith("| lexicon alone"))
    cells = [c.strip() for c in lexicon.strip("|").split("|")]
    ups1, p50, p99, ups64 = cells[1], cells[2], cells[3], cells[4]
    assert re.fullmatch(r"[\d,]+ \(12\)", ups1) and re.fullmatch(r"[\d,]+ \(64\)", ups64)
    assert float(p50) <= float(p99)
    assert float(cells[8].replace(",", "")) > 50  # peak RSS of a process holding the lexicon, MiB
    tagger = next(line for line in text.splitlines() if line.startswith("| tagger alone"))
    # figures with a verdict on issue #13's p99 target, or one line saying why the tagger did not load
    assert ("p99 target ≤ 10" in tagger) or ("not available:" in tagger and "tagger" in tagger)
