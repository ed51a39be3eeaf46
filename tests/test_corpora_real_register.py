"""The real-register data files (issue 12) pass their checkers, and the checkers catch what they
are for: a span outside its text, a line copied from a held-out set, anger on a positive line."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PART_E = ROOT / "corpora" / "classifier" / "part-e.jsonl"
PART_REAL = ROOT / "corpora" / "sentiment" / "part-real.jsonl"
CHECK_E = ROOT / "corpora" / "classifier" / "check_part_e.py"
CHECK_REAL = ROOT / "corpora" / "sentiment" / "check_part_real.py"


def run(checker: Path, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(checker), str(data)], capture_output=True, text=True,
                          encoding="utf-8", timeout=300)


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_part_e_passes_its_checker():
    done = run(CHECK_E, PART_E)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "OK: all rules hold" in done.stdout


def test_part_real_passes_its_checker():
    done = run(CHECK_REAL, PART_REAL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "OK: all rules hold" in done.stdout


def test_part_e_spans_are_trigger_words():
    for r in rows(PART_E):
        if r["label"] == "none":
            assert r["span"] is None, r["id"]
        else:
            assert r["span"] and r["span"] in r["text"] and len(r["span"]) >= 2, r["id"]
            assert r["span"] not in {"亲", "呢", "也", "亲亲", "嗯", "那个", "就是"}, r["id"]


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def ce():
    return load("check_part_e", CHECK_E)


@pytest.fixture(scope="module")
def cr():
    return load("check_part_real", CHECK_REAL)


def test_part_e_checker_catches_bad_spans(ce):
    labels = set(ce.categories()) | {"none"}
    pos = next(r for r in rows(PART_E) if r["label"] != "none")
    assert ce.row_problems(pos, labels) == []
    assert any("span is not a substring" in m for m in ce.row_problems({**pos, "span": "句中没有的词"}, labels))
    filler = {**pos, "text": "嗯那个" + pos["text"], "span": "嗯那个"}
    assert any("span of fillers only" in m for m in ce.row_problems(filler, labels))
    assert any("span shorter" in m for m in ce.row_problems({**pos, "span": pos["span"][0]}, labels))
    neg = next(r for r in rows(PART_E) if r["label"] == "none")
    assert any("span must be null" in m for m in ce.row_problems({**neg, "span": neg["text"][:2]}, labels))
    assert any("not in categories.yaml" in m for m in ce.row_problems({**pos, "label": "rude"}, labels))


def test_part_e_checker_catches_a_held_out_line(ce):
    dev = json.loads((ROOT / "corpora" / "dev" / "dev.jsonl").read_text(encoding="utf-8").splitlines()[0])
    mine = rows(PART_E)[:3]
    copied = {**mine[0], "id": "e-99999", "text": dev["text"] + "。"}
    errors: list[str] = []
    assert ce.leak_report(mine, errors) < 0.5 and errors == []
    assert ce.leak_report([copied], errors) >= 0.5
    assert errors and errors[0].startswith("leak (")


def test_part_real_checker_catches(cr):
    data = rows(PART_REAL)
    pos = next(r for r in data if r["label"] == "positive")
    asr = next(r for r in data if r["style"] == "asr")
    assert cr.row_problems(pos) == [] and cr.row_problems(asr) == []
    assert any("anger on a non-negative" in m for m in cr.row_problems({**pos, "anger": True}))
    assert any("asr line with punctuation" in m for m in cr.row_problems({**asr, "text": asr["text"] + "？"}))
    assert any("kind/label mismatch" in m for m in cr.row_problems({**pos, "kind": "complaint"}))
    held = json.loads((ROOT / "corpora" / "dev" / "dev.jsonl").read_text(encoding="utf-8").splitlines()[5])
    problems, worst = cr.leak_problems([{**pos, "text": held["text"]}])
    assert worst == 1.0 and problems


REAL_TURNS = Path(os.environ.get("HUASHU_REAL_CACHE") or ROOT / ".cache" / "real") / "turns.jsonl"


@pytest.mark.skipif(not REAL_TURNS.exists(), reason="no real-text cache (corpora/real/extract.py builds it)")
@pytest.mark.parametrize("checker, data", [(CHECK_E, PART_E), (CHECK_REAL, PART_REAL)])
def test_licence_guard_against_the_real_text_cache(checker, data):
    """No authored line of six characters or more at 0.5 or more to a unique real turn."""
    done = subprocess.run([sys.executable, str(checker), str(data), "--real", str(REAL_TURNS)],
                          capture_output=True, text=True, encoding="utf-8", timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "unique real turns" in done.stdout


def test_licence_guard_catches_a_copied_turn(ce, tmp_path):
    mine = [r for r in rows(PART_E) if len(r["text"]) >= 10][:5]
    turns = tmp_path / "turns.jsonl"
    turns.write_text("".join(json.dumps({"text": t, "dup_of": None}, ensure_ascii=False) + "\n"
                             for t in ("完全无关的一句话用来凑数", mine[2]["text"] + "啊")), encoding="utf-8")
    errors: list[str] = []
    assert ce.real_guard(mine, str(turns), errors) >= 0.5
    assert len(errors) == 1 and errors[0].startswith("real (") and mine[2]["id"] in errors[0]
    assert mine[2]["text"] not in errors[0]  # the real text is never printed
    short = {**mine[0], "text": "嗯嗯好的"}
    turns.write_text(json.dumps({"text": "嗯嗯好的", "dup_of": None}, ensure_ascii=False) + "\n", encoding="utf-8")
    errors = []
    ce.real_guard([short], str(turns), errors)
    assert errors == []  # formulas under six characters are not compared
