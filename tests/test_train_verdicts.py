"""``huashu train --verdicts FILE``: the web's verdicts export turned into training lines
(``models/verdicts.py``), kept apart from the evaluation sets. No training runs here: the loading
path only, on small files written by the test (the export's own shape: api.web.data.EXPORT_FIELDS;
tests/web/test_rules_page.py reads a real export from the server through this loader)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from analyzer.model import HuashuError
from analyzer.normalize import normalize
from models.data import load_corpus, split
from models.options import add_arguments
from models.verdicts import add_verdicts, verdict_examples


def row(flag: str, utterance: str, span: str, category: str, verdict: str, *, turn: int, dispute: str = "",
        transcript: str = "t1", source: str = "lexicon") -> dict:
    return {"flag_id": flag, "transcript_id": transcript, "source": "call.txt", "turn_index": turn,
            "speaker": "坐席", "utterance": utterance, "start": utterance.find(span), "end": utterance.find(span) + len(span),
            "span": span, "category": category, "rule": f"{category}.x", "flag_source": source, "confidence": 0.9,
            "suggestions": [], "rewrite": "", "verdict": verdict, "reason": None, "note": None,
            "dispute": dispute, "by": "王主管", "by_key_id": 2, "at": "2026-03-01T10:00:00+00:00"}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    row("f1", "你必须先把截图发过来。", "你必须", "command", "confirmed", turn=1),
    row("f2", "這個不歸我們管，你去問快遞員吧", "你去", "refusal", "dismissed", turn=3),  # Traditional, no verdict after
    row("f3", "亲 这个规定就是这样的哦😊", "规定就是这样", "us_vs_them", "dismissed", turn=5),
    row("f3", "亲 这个规定就是这样的哦😊", "规定就是这样", "us_vs_them", "confirmed", turn=5),  # a later verdict
    row("f4", "您搞错了吧这单昨天才揽收", "您搞错了", "you_statement", "confirmed", turn=7, dispute="overturned"),
    row("f5", "这我哪知道啊您问别人吧", "这我哪知道", "unknown", "added", turn=9, source="reviewer"),  # a miss
]


def test_verdicts_become_positive_and_negative_lines(tmp_path):
    found = {e.text: e for e in verdict_examples(write_jsonl(tmp_path / "v.jsonl", ROWS))}
    expect = {
        "你必须先把截图发过来。": ("command", "你必须"),
        normalize("這個不歸我們管，你去問快遞員吧").text: ("none", ""),  # dismissed: a hard negative
        normalize("亲 这个规定就是这样的哦😊").text: ("us_vs_them", "规定就是这样"),  # the later verdict
        "您搞错了吧这单昨天才揽收": ("none", ""),  # the dispute overturned the confirmed flag
        "这我哪知道啊您问别人吧": ("unknown", "这我哪知道"),  # a reviewer's added miss
    }
    assert {text: (e.label, e.span) for text, e in found.items()} == expect
    assert {e.split for e in found.values()} == {"train"}
    assert "这个不归我们管" in normalize("這個不歸我們管，你去問快遞員吧").text  # compared normalised (Simplified)


def test_confirmed_beats_dismissed_in_one_turn(tmp_path):
    text = "你必须先登录，你去问客服吧"
    rows = [row("a", text, "你去", "refusal", "dismissed", turn=1), row("b", text, "你必须", "command", "confirmed", turn=1)]
    [line] = verdict_examples(write_jsonl(tmp_path / "v.jsonl", rows))
    assert (line.label, line.span) == ("command", "你必须")


def test_a_verdict_line_equal_to_a_test_line_is_dropped(tmp_path):
    corpus = load_corpus()
    test_line, dev_line = split(corpus, "test")[0], split(corpus, "dev")[0]
    train_line = split(corpus, "train")[0]
    fresh = "你必须今天之内把材料补齐。"
    assert fresh not in {e.text for e in corpus}
    rows = [row("t", test_line.text, "", "command", "dismissed", turn=1),
            row("d", dev_line.text, "", "command", "dismissed", turn=2),
            row("r", train_line.text, "", "command", "dismissed", turn=3),
            row("h", "亲，您是哪一年出生的呀", "哪一年出生", "privacy", "confirmed", turn=4),
            row("n", fresh, "你必须", "command", "confirmed", turn=5)]
    examples, counts = add_verdicts(corpus, [write_jsonl(tmp_path / "v.jsonl", rows)],
                                    held_out=[normalize("亲，您是哪一年出生的呀").text])
    added = examples[len(corpus):]
    assert [(e.text, e.label, e.split) for e in added] == [(fresh, "command", "train")]
    assert counts == {"command": 1}
    assert split(examples, "test") == split(corpus, "test") and split(examples, "dev") == split(corpus, "dev")
    # the corpus's own line keeps its own label
    assert [e.label for e in examples if e.text == train_line.text] == [train_line.label]


def test_the_csv_export_reads_the_same(tmp_path):
    path = tmp_path / "v.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(ROWS[0]))
        writer.writeheader()
        for r in ROWS:
            writer.writerow({**r, "suggestions": ""})
    from_csv = {(e.text, e.label, e.span) for e in verdict_examples(path)}
    from_jsonl = {(e.text, e.label, e.span) for e in verdict_examples(write_jsonl(tmp_path / "v.jsonl", ROWS))}
    assert from_csv == from_jsonl and len(from_csv) == 5


@pytest.mark.parametrize("bad, message", [
    ({"verdict": "maybe"}, "unknown verdict"),
    ({"category": "rudeness"}, "unknown category"),
    ({"span": "不在句子里"}, "is not in the utterance"),
    ({"utterance": None}, "utterance is missing"),
    ({"dispute": "pending"}, "unknown dispute"),
])
def test_a_bad_row_names_file_and_line(tmp_path, bad, message):
    path = write_jsonl(tmp_path / "v.jsonl", [ROWS[0], {**ROWS[1], **bad}])
    with pytest.raises(HuashuError, match=rf"v\.jsonl:2: .*{message}"):
        verdict_examples(path)


def test_not_json_names_the_line(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text(json.dumps(ROWS[0], ensure_ascii=False) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(HuashuError, match=r"v\.jsonl:2: "):
        verdict_examples(path)


def test_huashu_train_takes_verdicts_files():
    import argparse

    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(["--verdicts", "a.jsonl", "--verdicts", "b.csv"])
    assert args.verdicts == ["a.jsonl", "b.csv"]


def test_huashu_train_refuses_a_bad_verdicts_file_at_once(tmp_path):
    """One line naming file and line, exit status 2, before any model is loaded."""
    import subprocess
    import sys

    path = write_jsonl(tmp_path / "v.jsonl", [ROWS[0], {**ROWS[1], "verdict": "perhaps"}])
    done = subprocess.run([sys.executable, "-m", "analyzer.cli", "train", "--verdicts", str(path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"huashu: 错误 / error: {path}:2: verdict 须为 confirmed/dismissed/added / unknown verdict 'perhaps'"]
