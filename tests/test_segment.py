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
