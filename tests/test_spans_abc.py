"""Gold spans on parts A-C of the classifier corpus (issue 12, item 2): every positive carries
``span`` right after ``label``, no negative does, and each span passes part D's rule (imported by
the A-C checkers, not copied). The checkers must catch a missing span, a span on a negative, a span
outside the text, a particle or one character as a span, and ``span`` in the wrong place."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLASSIFIER = REPO / "corpora" / "classifier"
sys.path.insert(0, str(CLASSIFIER))

import check_part_b  # noqa: E402
import check_part_d  # noqa: E402


def lines(name):
    return [json.loads(x) for x in (CLASSIFIER / name).read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.mark.parametrize("name", ["part-a.jsonl", "part-b.jsonl", "part-c.jsonl"])
def test_every_positive_has_a_valid_span_and_no_negative_has_one(name):
    rows = lines(name)
    positives = [o for o in rows if o["label"] != "none"]
    assert positives
    for o in rows:
        assert list(o) == check_part_b.keys_for(o), o["id"]
        if o["label"] == "none":
            assert "span" not in o, o["id"]
        else:
            assert o["span"] in o["text"] and len(o["span"]) >= 2, o["id"]
            assert not check_part_d.FILLERS.match(o["span"]), o["id"]


def test_the_rule_is_part_ds():
    assert check_part_b.span_problems({"text": "亲，改不了哦", "label": "refusal", "span": "改不了"}) == []
    for bad in ("亲", "哦", "亲亲呢", "不能改", "改"):
        problems = check_part_b.span_problems({"text": "亲，改不了哦", "label": "refusal", "span": bad})
        assert problems == check_part_d.span_problems("亲，改不了哦", bad) != [], bad
    assert check_part_b.span_problems({"text": "好的呢亲", "label": "none", "span": "好的"}) \
        == ["a label-none line has a span"]
    assert check_part_b.span_problems({"text": "退不了", "label": "refusal"}) == ["a positive has no span"]


def test_keys_put_span_right_after_label():
    assert check_part_b.keys_for({"label": "unknown"})[:5] == ["id", "text", "label", "span", "kind"]
    assert "span" not in check_part_b.keys_for({"label": "none"})


def test_checker_c_catches_bad_spans(tmp_path):
    rows = lines("part-c.jsonl")
    pos = [o for o in rows if o["label"] != "none"]
    neg = next(o for o in rows if o["label"] == "none")
    del pos[0]["span"]                          # positive without a span (keys wrong too)
    chat = next(o for o in pos[4:] if "哦" in o["text"])
    chat["span"] = "哦"                         # a particle
    pos[1]["span"] = pos[1]["text"][0]          # one character
    pos[2]["span"] = pos[2]["text"][:2] + "X"   # not in the text
    # a negative with a span where a positive's would go
    neg_with = dict(list(neg.items())[:3]) | {"span": neg["text"][:2]} | dict(list(neg.items())[3:])
    rows[rows.index(neg)] = neg_with
    moved = {k: v for k, v in pos[3].items() if k != "span"} | {"span": pos[3]["span"]}  # span last
    rows[rows.index(pos[3])] = moved
    path = tmp_path / "part-c.jsonl"
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in rows), encoding="utf-8")
    r = subprocess.run([sys.executable, str(CLASSIFIER / "check_part_c.py"), str(path)], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout[-2000:]
    out = r.stdout
    assert f"{pos[0]['id']}: keys" in out
    assert f"{chat['id']}: span '哦' is a particle" in out
    assert f"{pos[1]['id']}: span {pos[1]['text'][0]!r} is a particle, endearment or one character" in out
    assert f"{pos[2]['id']}: span" in out and "is not in the text" in out
    assert f"{neg['id']}: keys" in out  # a span on a negative breaks the key order it must have
    assert f"{moved['id']}: keys" in out


def test_spans_survive_normalisation():
    """models/data.py normalises text and span separately (Traditional folded, full-width punctuation
    made half-width); a gold span must still lie inside its normalised text, or span training and
    span scoring would lose the line."""
    from analyzer.normalize import normalize

    for name in ("part-a.jsonl", "part-b.jsonl", "part-c.jsonl"):
        for o in lines(name):
            if "span" in o:
                assert normalize(o["span"]).text in normalize(o["text"]).text, (o["id"], o["span"])
