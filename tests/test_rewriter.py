"""Rewrites by category (analyzer/rewriter.py, corpora/rewrites/transforms.yaml): every rule's own
examples give one of their acceptable rewrites and its counter-examples none of the forbidden ones
(like the lexicon's examples in test_lexicon.py); the shown rewrite is one per utterance, handles
every trigger, keeps the facts and passes the automatic checks, or there is none."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analyzer.model import Flag
from analyzer.normalize import normalize
from analyzer.rewriter import Candidate, TransformError, load_transforms, promise_of, rule_problems

RULES = [r for rules in load_transforms().rules.values() for r in rules]


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples(engine, rule):
    problems = rule_problems(engine, rule)
    assert not problems, "\n".join(problems)


def test_every_category_has_a_rule():
    from analyzer.lexicon import load_categories

    assert set(load_transforms().rules) == set(load_categories())


@pytest.fixture
def rw(engine):
    from analyzer.rewriter import Rewriter

    if engine.rewriter is None:
        engine.rewriter = Rewriter(engine)
    return engine.rewriter


def _rewrite(engine, text: str) -> tuple[list[Flag], str]:
    flags = engine.check(text)
    assert flags, text
    assert len({f.rewrite for f in flags}) == 1  # one rewrite per utterance, on every flag
    return flags, flags[0].rewrite


@pytest.mark.parametrize("text, gone, kept", [
    # two triggers, one rewrite that handles both (the issue: one fixed, the other kept)
    ("你必须先交押金，我不知道什么时候能退。", ["你必须", "我不知道"], ["先交押金", "什么时候能退"]),
    ("你搞错了，你必须重新填一遍表。", ["你搞错了", "你必须"], ["重新填一遍表"]),
    # Traditional, chat with emoji, full-width, ASR without punctuation
    ("你必須先把資料傳過來，我不清楚。", ["你必須", "我不清楚"], ["資料傳過來"]),
    ("亲，你必须在签收后７天内申请退货哦～😊", ["你必须"], ["签收后７天内申请退货", "😊", "亲"]),
    ("嗯你必须在那个下午五点之前把包裹送到网点", ["你必须"], ["下午五点之前把包裹送到网点"]),
    ("嗯你搞错了吧那个单号是上周的不是这一单的", ["你搞错了"], ["那个单号是上周的不是这一单的"]),
])
def test_one_rewrite_handles_every_trigger_and_keeps_the_rest(engine, text, gone, kept):
    _, rewrite = _rewrite(engine, text)
    assert rewrite and rewrite != text
    assert engine.check(rewrite) == []
    for words in gone:
        assert words not in rewrite
    for words in kept:
        assert words in rewrite


def test_asr_rewrite_adds_no_punctuation(engine):
    _, rewrite = _rewrite(engine, "嗯你搞错了吧那个单号是上周的不是这一单的")
    assert not set(rewrite) & set("，。！？,.!?")


def test_policy_is_owned_not_contradicted(engine):
    # the issue: "这是公司的规定" became "这不符合我们公司的常规", contradicting the agent
    _, rewrite = _rewrite(engine, "这是公司的规定，拆封了就不退。")
    assert "不符合" not in rewrite and "常规" not in rewrite
    assert "拆封了就不退" in rewrite


def test_refusal_keeps_the_no_and_promises_nothing(engine):
    # the issue: "not returnable once opened" became "once opened, let me think of another way"
    flags, rewrite = _rewrite(engine, "耳机拆封后不能退。")
    assert "不能退" in rewrite and "耳机" in rewrite
    assert "其他办法" not in rewrite and "别的" not in rewrite
    assert flags[0].promise == "none"


def test_rewrite_never_cuts_a_word(rw):
    # where a rule's match would cut a dictionary word (时候) the rewriter proposes nothing there
    text = "这个时候我不清楚。"
    flag = Flag(3, 4, "我", "unknown", 1.0, "model", "", "", [], "")
    for cand in rw.candidates(text, flag.start, flag.end, flag.category, flag.rule, "simplified"):
        assert "时候" in cand.text


@pytest.mark.parametrize("bad, problem", [
    ("这个航班改签我这里我这边暂时没有权限。", "stacked phrases"),
    ("请您，这个航班改签暂时办不了。", "dangling request"),
    ("这个航班改签，，暂时办不了。", "doubled punctuation"),
    ("好的。", "length"),
])
def test_checks_name_what_is_wrong(rw, bad, problem):
    original = "这个航班改签我这里暂时办不了。"
    assert problem in rw.problems(original, bad, [])


def test_content_words_outside_the_trigger_must_stay(rw):
    text = "你没有填对收款人账号，订单号A123的转账被退回了。"
    keep = rw.content_words(text, [(0, 5)])
    assert {"收款人", "账号", "A123", "订单号"} <= set(keep)
    assert "content" in " ".join(rw.problems(text, "这一项需要我们再核对一下，转账被退回了。", keep))
    assert rw.problems(text, "收款人账号这一项需要我们再核对一下，订单号A123的转账被退回了。", keep) == []
    # a candidate that brings the trigger back is refused by the lexicon re-run
    again = Candidate("你没有填对收款人账号，订单号A123的转账被退回了。", 0, 10, "x")
    assert not rw.passes(text, again, keep)


def test_no_rewrite_when_nothing_passes(engine):
    # a trigger with nothing the rules can keep: no rewrite, the catalysts stay as advice
    flags = engine.check("你给我把订单号重新报一遍我不知道")
    for f in flags:
        assert f.rewrite == "" or engine.check(f.rewrite) == []
        assert f.suggestions


def test_promise_of():
    assert promise_of("我不能给您退款。", "很抱歉，我不能给您退款，不过我可以帮您把情况记录下来。") == "none"
    assert promise_of("这不是我的事。", "我马上帮您联系负责的同事。") == "escalation"
    assert promise_of("没办法。", "我给您申请一张优惠券。") == "compensation"
    assert promise_of("我不知道。", "有结果我们第一时间回电。") == "callback"
    assert promise_of("您要的退款。", "您要的退款，我马上办。") == "none"  # already there
    assert promise_of("随便", "") == "none"


def test_bad_transforms_file_is_one_line_error(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("categories:\n  command:\n    - {id: x, kind: regex, find: '(', to: [a], examples: [{text: t, rewrite: [a]}],"
                 " counter_examples: [{text: u}]}\n", encoding="utf-8")
    with pytest.raises(TransformError) as err:
        load_transforms(str(f))
    assert str(f) in str(err.value) and "regex" in str(err.value)
    f.write_text("categories: [1, 2\n", encoding="utf-8")
    with pytest.raises(TransformError, match="YAML"):
        load_transforms(str(f))


def huashu(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], capture_output=True, text=True, timeout=180)


def _item(i: int, text: str, keep: list[str], acceptable: list[str], promise: str = "none") -> str:
    return json.dumps({"id": f"t-{i}", "text": text, "style": "formal", "triggers": [], "acceptable": acceptable,
                       "keep": keep, "promise": promise, "note": "", "split": "dev"}, ensure_ascii=False)


def test_eval_rewrites_grades_each_criterion(tmp_path):
    data = tmp_path / "rw.jsonl"
    data.write_text("\n".join([
        _item(1, "你得先把发票拍照发过来", ["发票"], ["麻烦您先把发票拍照发过来", "请您先把发票拍照发过来"]),
        _item(2, "这是公司的规定，拆封了就不退。", ["拆封"], ["按照我们的规定，拆封了就不退，我给您说明一下。", "x"]),
        _item(3, "您好，请问有什么可以帮您？", ["帮您"], ["a", "b"]),  # nothing flagged: not shown
    ]) + "\n", encoding="utf-8")
    reading = tmp_path / "reading.jsonl"
    reading.write_text(json.dumps({"id": "t-1", "rewrite": "麻烦您先把发票拍照发过来", "trigger_gone": True,
                                   "content_kept": True, "fluent": True, "no_false_promise": True, "note": ""},
                                  ensure_ascii=False) + "\n", encoding="utf-8")
    r = huashu("eval", "--rewrites", str(data), "--reading", str(reading), "--no-model", "--format", "json", "--rows")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    rows = {x["id"]: x for x in res["rows"]}
    assert rows["t-1"]["rewrite"] == "麻烦您先把发票拍照发过来" and rows["t-1"]["usable"]
    assert rows["t-2"]["shown"] and rows["t-2"]["content_kept"] and rows["t-2"]["trigger_gone"]
    assert not rows["t-3"]["shown"] and not rows["t-3"]["usable"]
    assert res["overall"]["check_failures_among_shown"] == 0
    assert res["overall"]["items"] == 3 and res["overall"]["shown"] == round(2 / 3, 3)
    assert res["reading"]["judged"] == 1 and res["reading"]["usable"] == 1.0 and res["reading"]["stale"] == 0
    text = huashu("eval", "--rewrites", str(data), "--reading", str(reading), "--no-model")
    assert text.returncode == 0 and "usable" in text.stdout and "recorded reading" in text.stdout


def test_eval_rewrites_bad_line_names_file_and_line(tmp_path):
    data = tmp_path / "rw.jsonl"
    data.write_text(_item(1, "你得先把发票拍照发过来", [], ["a", "b"]) + "\n{oops\n", encoding="utf-8")
    r = huashu("eval", "--rewrites", str(data), "--no-model")
    assert r.returncode != 0 and f"{data}:2" in r.stderr and "Traceback" not in r.stderr


def test_full_width_and_traditional_keep_their_form(engine):
    _, rewrite = _rewrite(engine, "您必須本人到營業廳辦理補卡。")
    assert rewrite == "請您本人到營業廳辦理補卡。"
    assert normalize(rewrite).text == "请您本人到营业厅办理补卡。"


def test_variants_come_one_at_a_time_and_equal_the_list(engine):
    """The engine asks for the next variant only when the model refuses the last one."""
    import types

    from analyzer.rewriter import Rewriter

    rw = Rewriter(engine)
    text = "你必须先把身份证复印件传过来，不然没法办。"
    flags = engine.check(text)
    lazy = rw.variants(text, flags, limit=3)
    assert isinstance(lazy, types.GeneratorType)
    assert list(lazy) == rw.rewrites(text, flags, limit=3) != []
