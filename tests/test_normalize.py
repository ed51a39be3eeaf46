from hypothesis import given, strategies as st

from analyzer.normalize import detect_script, normalize


def test_traditional_becomes_simplified_with_offsets_back():
    original = "您好！你必須先把身分證影本傳過來。"
    n = normalize(original)
    assert n.text == "您好!你必须先把身分证影本传过来。"
    i = n.text.index("你必须")
    s, e = n.to_original(i, i + 3)
    assert original[s:e] == "你必須"


def test_full_width_and_zero_width():
    original = "ＯＫ，你\u200b搞錯了😊"
    n = normalize(original)
    assert n.text == "OK,你搞错了😊"
    i = n.text.index("你搞错了")
    s, e = n.to_original(i, i + 4)
    assert original[s:e] == "你\u200b搞錯了"


def test_taiwan_phrasing_and_variant_characters():
    assert normalize("妳的軟體").text == "你的软件"


def test_detect_script():
    assert detect_script("您好，请问有什么可以帮您") == "simplified"
    assert detect_script("您好，請問有什麼可以幫您") == "traditional"
    assert detect_script(["坐席：您好", "客戶：我的帳單有問題"]) == "traditional"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_offset_map_is_always_valid(text):
    n = normalize(text)
    assert len(n.starts) == len(n.ends) == len(n.text)
    for i in range(len(n.text)):
        s, e = n.to_original(i, i + 1)
        assert 0 <= s < e <= len(text)
    assert list(n.starts) == sorted(n.starts)


def test_normalising_twice_changes_nothing_on_every_corpus_line():
    """Models read text the caller normalised, and training normalises at load: both rely on
    normalize being idempotent (a second pass over every labelled line changes none)."""
    import json

    from analyzer.resources import CORPORA

    texts = [json.loads(line)["text"] for path in sorted(CORPORA.rglob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and '"text"' in line]
    assert len(texts) > 10_000
    changed = [t for t in texts if normalize(normalize(t).text).text != normalize(t).text]
    assert changed == []
