"""The compiled lexicon's on-disk cache (``analyzer/compiled.py``): a cache hit answers exactly as
a fresh build, a changed lexicon file or a damaged cache file is rebuilt and says so once."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from analyzer import compiled as cache
from analyzer.compiled import build, compile_lexicon
from analyzer.segment import PrefixDict

COMPANY = """entries:
  - id: refusal.acme-buguiwoguan
    category: refusal
    principle: 负起责任：告诉顾客我们能做什么
    patterns: ["这(个|)不归{who}管"]
    catalysts: ["我来帮您联系负责的同事"]
    examples: [这不归{who}管。, 这个不归{who}管啊, 這不歸{who}管]
    counter_examples: [这事归{who}管，您放心, 不归{who}管的事我也会帮您转达]
"""
REBUILT = "lexicon cache rebuilt"


@pytest.fixture(scope="module")
def fresh():
    return build()


def _found(compiled, text: str):
    from analyzer.normalize import normalize

    norm = normalize(text).text
    rejected = []
    found = compiled.matcher.find(norm, rejected)
    return ([(m.entry.id, m.start, m.end, m.literal_end, m.slot) for m in found],
            [(r.entry.id, r.start, r.end, r.reason) for r in rejected],
            compiled.segmenter.tokens(norm).words)


def test_a_cache_hit_matches_like_a_fresh_build(fresh, tmp_path, capsys):
    first = compile_lexicon((), tmp_path, True)
    assert REBUILT in capsys.readouterr().err
    hit = compile_lexicon((), tmp_path, True)
    assert capsys.readouterr().err == ""  # no rebuild, no line
    assert hit.lexicon is not first.lexicon  # really read back from the file
    texts = [t for e in fresh.lexicon.entries for t in [x.text for x in e.examples] + e.counter_examples]
    texts += ["你必须先把身份证复印件传过来。", "妳們搞錯了吧，這個不歸我們管", "你这个人怎么听不懂呢😡", "ＯＫ，你自己看说明书"]
    assert len(texts) > 300
    for text in texts:
        assert _found(hit, text) == _found(fresh, text), text
    assert [e.id for e in hit.lexicon.entries] == [e.id for e in fresh.lexicon.entries]
    assert sorted(hit.matcher.literals) == sorted(fresh.matcher.literals)
    assert hit.segmenter.state() == fresh.segmenter.state()  # jieba's prefix dictionary and total


def test_the_jieba_dictionary_round_trips(fresh):
    freq, total = fresh.segmenter.state()
    back, back_total = cache._unpack_freq(cache._pack_freq(freq, total))
    assert isinstance(back, PrefixDict) and back_total == total and back.to_dict() == freq
    for word in ["必须", "你必须", "身份证", "复印件", "不存在的词语", "", "a", "\U0001f621"]:
        assert (word in back) == (word in freq) and back.get(word) == freq.get(word)
    odd = {"a\nb": 1, "": 0, "c": 2.5, "d": 0}
    assert cache._unpack_freq(cache._pack_freq(odd, 7)) == (odd, 7)
    empty, _ = cache._unpack_freq(cache._pack_freq({}, 0))
    assert len(empty) == 0 and "x" not in empty


def test_a_busy_tokenizer_swaps_in_the_plain_dict(fresh, tmp_path, monkeypatch):
    compile_lexicon((), tmp_path, True)
    hit = compile_lexicon((), tmp_path, True)
    tok = hit.segmenter.tokenizer
    assert isinstance(tok.FREQ, PrefixDict)  # a short run never builds the 550,000-entry dict
    monkeypatch.setattr(PrefixDict, "LOOKUPS", 200)
    text = "您好，请您先把身份证复印件传过来，我这边帮您查一下这个套餐为什么不含宽带"
    before = hit.segmenter.tokens(text).words
    for _ in range(100):
        hit.segmenter.tokens(text)
    assert isinstance(tok.FREQ, dict) and hit.segmenter.tokens(text).words == before == fresh.segmenter.tokens(text).words


def test_a_changed_company_file_rebuilds_once(tmp_path, capsys):
    company = tmp_path / "acme.yaml"
    company.write_text(COMPANY.format(who="我"), encoding="utf-8")
    one = compile_lexicon([company], tmp_path / "cache", True)
    assert REBUILT in capsys.readouterr().err
    compile_lexicon([company], tmp_path / "cache", True)
    assert capsys.readouterr().err == ""
    company.write_text(COMPANY.format(who="你"), encoding="utf-8")  # the company changed its rule
    two = compile_lexicon([company], tmp_path / "cache", True)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and REBUILT in err[0] and "词库" in err[0]
    def acme(compiled, text):
        return [m for m in _found(compiled, text)[0] if m[0] == "refusal.acme-buguiwoguan"]

    assert acme(one, "这个不归我管") and not acme(one, "这个不归你管")
    assert acme(two, "这个不归你管") and not acme(two, "这个不归我管")
    assert len(list((tmp_path / "cache" / "lexicon").glob("*.bin"))) == 2


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other-key"])
def test_a_damaged_cache_file_is_rebuilt(damage, tmp_path, capsys):
    compile_lexicon((), tmp_path, True)
    capsys.readouterr()
    [path] = (tmp_path / "lexicon").glob("*.bin")
    data = path.read_bytes()
    damaged = {"garbage": data[:200] + b"\x80\x05not a pickle" * 1000, "truncated": data[: len(data) // 2],
               "other-key": data.replace(path.stem.encode(), b"0" * 64, 1)}[damage]
    path.write_bytes(damaged)
    again = compile_lexicon((), tmp_path, True)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "damaged" in err[0] and "损坏" in err[0]
    assert _found(again, "你必须先把身份证复印件传过来。")[0][0][0] == "command.ni-bixu"
    assert path.read_bytes().startswith(cache.MAGIC + path.stem.encode())  # written whole again
    compile_lexicon((), tmp_path, True)
    assert capsys.readouterr().err == ""


def test_an_unwritable_cache_costs_only_time(tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    compiled = compile_lexicon((), blocked, True)
    assert "not writable" in capsys.readouterr().err
    assert compiled.matcher.find("你必须先交钱")


def test_old_files_are_pruned(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cache, "KEEP", 1)
    company = tmp_path / "acme.yaml"
    for who in "我你":
        company.write_text(COMPANY.format(who=who), encoding="utf-8")
        compile_lexicon([company], tmp_path / "cache", True)
    assert len(list((tmp_path / "cache" / "lexicon").glob("*.bin"))) == 1


def test_the_key_covers_the_code_and_the_files(tmp_path, monkeypatch):
    company = tmp_path / "acme.yaml"
    company.write_text(COMPANY.format(who="我"), encoding="utf-8")
    base = cache.cache_key([company])
    assert base == cache.cache_key([company]) != cache.cache_key(())
    monkeypatch.setattr(cache, "FORMAT", cache.FORMAT + 1)
    assert cache.cache_key([company]) != base


# -- the command, as a user runs it ---------------------------------------------------------
def huashu(*args: str, stdin: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=180, env={**os.environ, **env})


LINE = json.dumps({"id": "u1", "text": "你必須先把資料傳過來"}, ensure_ascii=False) + "\n"


def test_check_builds_the_cache_once_then_reads_it(tmp_path):
    env = {"HUASHU_CACHE": str(tmp_path), "HUASHU_LEXICON": ""}
    args = ("check", "--no-model", "--sentiment", "none", "-")
    first = huashu(*args, stdin=LINE, env=env)
    assert first.returncode == 0 and first.stderr.count(REBUILT) == 1, first.stderr
    second = huashu(*args, stdin=LINE, env=env)
    assert second.returncode == 0 and second.stderr == "", second.stderr
    off = huashu(*args, stdin=LINE, env={**env, "HUASHU_LEXICON_CACHE": "false", "HUASHU_CACHE": str(tmp_path / "off")})
    assert off.returncode == 0 and off.stderr == "" and not (tmp_path / "off").exists()
    assert first.stdout == second.stdout == off.stdout
    assert json.loads(first.stdout)["flags"][0]["rule"] == "command.ni-bixu"


@pytest.mark.parametrize("content", [b"", b"\n  \n", b"\xff\xfe\x00 not utf-8\n"])
def test_empty_or_unreadable_input_is_refused_before_the_lexicon_loads(content, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(content)
    for target in (str(path), str(tmp_path / "missing.jsonl"), str(tmp_path)):
        r = huashu("check", "--no-model", target, stdin="", env={"HUASHU_CACHE": str(tmp_path / "cache")})
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and target in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    r = huashu("analyze", str(path), stdin="", env={"HUASHU_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and str(path) in r.stderr, r.stderr
    assert not (tmp_path / "cache").exists()  # nothing compiled, nothing cached


def test_the_parts_of_speech_round_trip(fresh, tmp_path):
    """The cached tag table answers every dictionary word as the table it was built from."""
    compile_lexicon(cache_dir=tmp_path)
    cached = compile_lexicon(cache_dir=tmp_path)
    built = fresh.segmenter.tags
    table = cached.segmenter.tags
    assert isinstance(table, cache.TagTable)
    assert all(table.get(w) == t for w, t in built.items())
    assert table.get("不在词典里的词") is None
    text = "小林帮您登记了工单A123，这款是M码哦"
    assert cached.segmenter.tagged(text) == fresh.segmenter.tagged(text)
