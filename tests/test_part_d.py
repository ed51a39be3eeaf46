"""corpora/classifier/part-d.jsonl (authored lines in the register of real chat, issue 12) passes its
checker, and the checker catches what it is there to catch: a span outside the text, a span on a
negative, a particle as a span, a test split, a line copied from the held-out dev set."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

CLASSIFIER = Path(__file__).resolve().parent.parent / "corpora" / "classifier"


@pytest.fixture(scope="module")
def checker():
    sys.path.insert(0, str(CLASSIFIER))
    spec = importlib.util.spec_from_file_location("check_part_d", CLASSIFIER / "check_part_d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(checker, monkeypatch, capsys, path):
    monkeypatch.setattr(sys, "argv", ["check_part_d.py", str(path)])
    code = checker.main()
    return code, capsys.readouterr().out


def test_part_d_passes_its_checker(checker, monkeypatch, capsys):
    code, out = run(checker, monkeypatch, capsys, CLASSIFIER / "part-d.jsonl")
    assert code == 0, out[-3000:]
    assert "OK: all rules hold" in out


def line(i, text, label="none", span=None, split="train", pattern=None):
    r = {"id": f"d-{i:05d}", "text": text, "label": label}
    if span is not None:
        r["span"] = span
    r.update(kind="paraphrase" if label != "none" else "hard_negative", script="simplified",
             style="chat", domain="e-commerce", group=f"d-g{i:04d}", split=split,
             pattern=pattern or ("refusal_softened" if label != "none" else "no_then_next_step"),
             source="authored-real-register")
    return r


def test_checker_catches_bad_lines(checker, monkeypatch, capsys, tmp_path):
    dev_line = json.loads((CLASSIFIER.parent / "dev" / "dev.jsonl").read_text(encoding="utf-8").splitlines()[0])
    rows = [
        line(1, "不好意思亲，这个改不了的哦", "refusal", span="不可以"),       # span not in the text
        line(2, "亲亲，这个退不了的呢", "refusal", span="亲亲"),               # an endearment as span
        line(3, "好的呢亲亲，马上帮您看", span="好的"),                        # span on a negative
        line(4, "抱歉哈，这款不支持换色的哦", "refusal", span="不支持", split="test"),
        line(5, dev_line["text"], dev_line["label"], span=dev_line.get("span"),
             pattern="blame_customer" if dev_line["label"] != "none" else None),
    ]
    path = tmp_path / "part-d.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    code, out = run(checker, monkeypatch, capsys, path)
    assert code == 1
    assert "d-00001: span '不可以' is not in the text" in out
    assert "d-00002: span '亲亲' is a particle, endearment or one character" in out
    assert "d-00003: keys" in out                       # a negative carries no span
    assert "d-00004: split 'test' (train or dev only)" in out
    assert f"d-00005 {dev_line['text']} is too close to dev/dev.jsonl {dev_line['id']}" in out


REAL_TURNS = Path(__import__("os").environ.get("HUASHU_REAL_CACHE")
                  or CLASSIFIER.parent.parent / ".cache" / "real") / "turns.jsonl"


@pytest.mark.skipif(not REAL_TURNS.exists(), reason="no real-text cache (corpora/real/extract.py)")
def test_part_d_copies_no_real_turn(checker, monkeypatch, capsys):
    """The licence guard: every part-D line stays below 0.5 similarity to every real turn (~5 s of CPU)."""
    monkeypatch.setattr(sys, "argv", ["check_part_d.py", str(CLASSIFIER / "part-d.jsonl"), "--real", str(REAL_TURNS)])
    code = checker.main()
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert "unique real turns" in out
