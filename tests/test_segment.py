from analyzer.engine import Engine


def test_lexicon_triggers_stay_whole(engine: Engine):
    cut = engine.segmenter.cut
    assert "你搞错了吧" in cut("那你搞错了吧订单号是这个")
    assert "你搞错了" in cut("嗯你搞错了")
    assert "我不知道你为什么如此不满" in cut("说实话我不知道你为什么如此不满")


def test_a_span_cutting_a_dictionary_word_is_rejected(engine: Engine):
    seg = engine.segmenter
    text = "字太小我看不清楚"
    i = text.index("不清楚")
    assert seg.cuts_word(seg.tokens(text), i, i + 3)
    text = "这个我不清楚"
    i = text.index("不清楚")
    assert not seg.cuts_word(seg.tokens(text), i, i + 3)


def test_private_tokenizer_does_not_touch_jieba_global():
    import jieba

    jieba.dt.initialize()
    Engine().initialize()
    assert jieba.dt.FREQ and "你搞错了" not in jieba.dt.FREQ  # our user words live in our own tokenizer only


def test_words_carry_the_dictionarys_part_of_speech(engine: Engine):
    """What the rewriter's content check reads (``Segmenter.tagged``): jieba's dictionary tags,
    ``x`` for the lexicon's own words, a head character's tag for a word the HMM found."""
    tagged = dict(engine.segmenter.tagged("小林帮您登记了工单，你搞错了吧"))
    assert tagged["工单"] == "n" and tagged["登记"] == "v" and tagged["小林"] == "nr"
    assert tagged["你搞错了吧"] == "x"  # a lexicon literal added to the dictionary
    tagged = dict(engine.segmenter.tagged("嗯热水器温度是你自己开太高了"))
    assert tagged["热水器"] == "n"
    assert tagged["开太高"] == "a"  # not in the dictionary: 高's tag


def test_the_dictionarys_tags_are_jiebas_own():
    """The table read from jieba's dictionary file agrees with jieba.posseg's on every word."""
    import jieba.posseg

    from analyzer.segment import dictionary_tags

    ours = dictionary_tags()
    theirs = jieba.posseg.POSTokenizer(jieba.Tokenizer()).word_tag_tab
    assert len(ours) > 300_000 and ours == theirs
