"""The rewrite test set (corpora/rewrites, issue #14 item 4) held to its rules: its own checker
passes on the committed file, the file is what the hand-written sources build, and the checker
really rejects each kind of broken line (so the first test cannot pass on a checker that
accepts anything)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SET_DIR = REPO / "corpora" / "rewrites"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"rewrite_set_{name}", SET_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load("check")
build = _load("build")


def test_committed_set_passes_its_checker():
    errors, rows = check.validate(SET_DIR / "rewrites.jsonl")
    assert errors == [], "\n".join(errors[:20])
    counts = check.counts(rows)
    assert counts["lines"] >= 420
    assert counts["style"]["traditional"] >= 60
    assert counts["two_triggers"] >= 40
    assert set(counts["category"]) == set(check.load_categories())
    # every category and every style has lines in both splits
    for cat in check.load_categories():
        assert counts["category_split"].get((cat, "dev"), 0) >= 5, cat
        assert counts["category_split"].get((cat, "test"), 0) >= 10, cat
    for style in check.STYLES:
        assert counts["style_split"].get((style, "dev"), 0) >= 10, style
    # lines whose original makes a promise, and refusals whose "no" must survive
    assert {"refund", "escalation", "compensation", "callback"} <= set(counts["promise"])
    assert counts["keep_no"] >= 30


def test_committed_file_is_what_the_sources_build():
    committed = (SET_DIR / "rewrites.jsonl").read_text(encoding="utf-8")
    assert build.render() == committed, "rewrites.jsonl differs from src/*.txt: run corpora/rewrites/build.py"


def test_checker_cli_prints_counts_and_passes():
    r = subprocess.run([sys.executable, str(SET_DIR / "check.py")], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "ok" in r.stdout.splitlines()
    assert "traditional" in r.stdout and "privacy" in r.stdout


GOOD = {"id": "rw-0001", "text": "你必须先把发票拍照发过来。", "style": "formal",
        "triggers": [{"start": 0, "end": 3, "category": "command"}],
        "acceptable": ["麻烦您先把发票拍照发过来。", "请您先把发票拍照发过来。"],
        "keep": ["发票", "拍照"], "promise": "none", "note": "", "split": "test"}


def _errors_for(tmp_path: Path, *rows: dict) -> list[str]:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    errors, _ = check.validate(path, minimums=False)
    return errors


def _with(**changes) -> dict:
    row = json.loads(json.dumps(GOOD))
    row.update(changes)
    return row


def test_a_good_line_passes(tmp_path):
    assert _errors_for(tmp_path, GOOD) == []


@pytest.mark.parametrize("row, expected", [
    (_with(triggers=[{"start": 0, "end": 13, "category": "command"}]), "start and end on a word"),
    (_with(triggers=[{"start": 0, "end": 99, "category": "command"}]), "outside text"),
    (_with(triggers=[{"start": 0, "end": 3, "category": "rudeness"}]), "not in categories.yaml"),
    (_with(acceptable=["麻烦您先把发票拍照发过来。"]), "at least 2 acceptable"),
    (_with(acceptable=["麻烦您先把发票发过来。", "请您先把发票拍照发过来。"]), "lacks keep word '拍照'"),
    (_with(keep=["你必须"]), "not in the original outside the trigger spans"),
    (_with(acceptable=["你必须先把发票拍照发过来！", "请您先把发票拍照发过来。"]), "still holds the trigger"),
    (_with(acceptable=["麻烦您先把发票拍照发过来，我们给您退款。", "请您先把发票拍照发过来。"]),
     "adds a refund promise"),
    (_with(acceptable=["麻烦您先把发票拍照发过来，我请主管处理。", "请您先把发票拍照发过来。"]),
     "adds a escalation promise"),
    (_with(style="asr"), "asr"),
    (_with(style="chat"), "chat tone"),
    (_with(style="traditional"), "wrong script"),
    (_with(keep_no=True), "drops the no"),
    (_with(promise="maybe"), "promise"),
    (_with(split="train"), "split"),
    (_with(id="rw-0002"), "expected 'rw-0001'"),
])
def test_checker_rejects(tmp_path, row, expected):
    errors = _errors_for(tmp_path, row)
    assert any(expected in e for e in errors), errors


def test_checker_rejects_repeated_texts_and_ids(tmp_path):
    errors = _errors_for(tmp_path, GOOD, _with(id="rw-0002"), _with(id="rw-0002", text="你必须先交押金。",
                                                                     keep=["押金"],
                                                                     acceptable=["请您先交押金。", "麻烦您先交押金。"]))
    assert any("text repeats line 1" in e for e in errors), errors
    assert any("id rw-0002 repeats line 2" in e for e in errors), errors


def test_checker_cli_names_file_and_line_on_bad_input(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOOD, ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    r = subprocess.run([sys.executable, str(SET_DIR / "check.py"), str(path)], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert f"{path}: line 2: not JSON" in r.stderr
    assert "Traceback" not in r.stderr
