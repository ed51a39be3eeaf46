"""``analyzer.privacy.mask_pii``: every form of issue 16's finding 4 masked, hard negatives kept,
same length; Hypothesis builds the numbers digit by digit (random grouping and separators, ASCII,
full-width and spoken numerals mixed, Chinese text around) and knows which characters must turn
into ``*``. The fixed cases of the first version live in tests/api/test_api_privacy.py."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.model import Transcript, Turn
from analyzer.privacy import mask_pii, mask_transcript

FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}
SPOKEN = {"0": "零〇", "1": "一幺", "2": "二两兩", "3": "三", "4": "四", "5": "五", "6": "六", "7": "七",
          "8": "八", "9": "九"}


def luhn_complete(body: str) -> str:
    for last in "0123456789":
        digits = [int(d) for d in body + last][::-1]
        if sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)) % 10 == 0:
            return body + last
    raise AssertionError


def id_complete(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights)) % 11]


# -- every form named in the issue, in one place ----------------------------------------------
CARD = luhn_complete("622202123456789")
ID_X = "11010519491231002X"
FORMS = [  # (text, masked)
    # mobiles: dots, double spaces, 4-4-3, spaced digits, +86 / 0086
    ("手机138.1234.5678谢谢", "手机138.****.5678谢谢"),
    ("电话 138  1234  5678 找我", "电话 138  ****  5678 找我"),
    ("1381 2345 678", "138* ***5 678"),
    ("号码 1 3 8 1 2 3 4 5 6 7 8 好", "号码 1 3 8 * * * * 5 6 7 8 好"),
    ("+86 138 1234 5678", "+86 138 **** 5678"),
    ("(+86)13812345678", "(+86)138****5678"),
    ("0086-138-1234-5678", "0086-138-****-5678"),
    ("8613812345678", "86138****5678"),
    # mobiles in spoken numerals, mixed, full-width
    ("我的手机一三八一二三四五六七八", "我的手机一三八****五六七八"),
    ("幺三八幺二三四五六七八", "幺三八****五六七八"),
    ("一三八两两三四零〇六七", "一三八****零〇六七"),
    ("138一二三四5678", "138****5678"),
    ("幺38 一二34 五六78", "幺38 **** 五六78"),
    ("手机１３８　１２３４　５６７８", "手机１３８　****　５６７８"),
    # landlines
    ("010-12345678", "010-****5678"),
    ("(010)12345678", "(010)****5678"),
    ("（0755）88886666", "（0755）****6666"),
    ("0755-88886666转123", "0755-****6666转123"),
    ("0755 8888 6666 ext. 123", "0755 **** 6666 ext. 123"),
    ("010-12345678-123", "010-****5678-123"),
    ("0571-8765432", "0571-***5432"),
    ("+86 10 12345678", "+86 10 ****5678"),
    ("400-800-8888", "400-***-8888"),
    ("拨打 800 123 4567", "拨打 800 *** 4567"),
    ("座机是 88886666", "座机是 ****6666"),
    ("電話號碼：88886666", "電話號碼：****6666"),  # Traditional
    # ID numbers: 18 with X, spaces, dashes; 15 digits
    (f"身份证{ID_X}", "身份证110***********002X"),
    ("身份證110105194912310021", "身份證110***********0021"),  # Traditional; wrong checksum after the ID word
    ("身份证 110105 19491231 002X", "身份证 110*** ******** 002X"),
    ("110105-19491231-002x", "110***-********-002x"),
    ("证件号 110105491231002", "证件号 110*********002"),
    ("身份证110105194912310021", "身份证110***********0021"),  # wrong checksum, but after 身份证
    # bank cards
    (f"卡号 {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}", f"卡号 {CARD[:4]} **** **** {CARD[12:]}"),
    (f"卡号{CARD}", f"卡号{CARD[:4]}********{CARD[-4:]}"),
    # file names
    ("客户13812345678录音.txt", "客户138****5678录音.txt"),
    ("call-13812345678.txt", "call-138****5678.txt"),
    ("rec13812345678.wav", "rec138****5678.wav"),
]

HARD_NEGATIVES = [
    "订单号2025030112345678",
    "訂單號：13812345678，運單 2025030112345678",  # Traditional
    "退款 13800.50 塊，共 138 萬",
    "订单号：2025 0301 1234 5678",
    f"订单号{CARD}",
    "运单 SF1234567890123",
    "退款金额138.50元，共计15800.00元",
    "¥13800",
    "￥ 1,380.00",
    "合计 13812345678 元",
    "2025-03-01 14:03:10 下单，20250301 发货，2025年3月1日，14点03分",
    "2025.03.01 到 2025.03.08",
    "[00:01:23] 坐席：工号1024为您服务",
    "请拨打95588或者10086，也可以打12345、12315",
    "版本 1.3.812345678",
    "单号是SD20250301。",
    "13812345678901",
    "12812345678",
    "110105194912310021",  # wrong checksum, no ID word
    "占比 12.5%，第3季度",
    "一五一十地说，三三两两",
]


@pytest.mark.parametrize(("text", "masked"), FORMS)
def test_every_form_of_the_issue_is_masked(text, masked):
    assert mask_pii(text) == masked
    assert mask_pii(masked) == masked  # idempotent


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_stay(text):
    assert mask_pii(text) == text


def test_mask_transcript_masks_source_speaker_and_text_in_place():
    t = Transcript(source="calls/13812345678.txt", format="speaker-text", encoding="utf-8", turns=[
        Turn(0, "customer", "客户13912345678", "我的手机是一三八一二三四五六七八"),
        Turn(1, "agent", "坐席", "好的，订单号2025030112345678已经查到"),
    ])
    assert mask_transcript(t) is t
    assert t.source == "calls/138****5678.txt"
    assert t.turns[0].speaker == "客户139****5678"
    assert t.turns[0].text == "我的手机是一三八****五六七八"
    assert t.turns[1].text == "好的，订单号2025030112345678已经查到"


# -- generated variants ------------------------------------------------------------------------
# Text around a number: Chinese, punctuation, emoji; no digit, numeral, Latin letter, and none of
# the order, amount or phone words (the context rules are tested above).
AROUND = st.text(alphabet="您好请问我的是这个那里吗呢吧啊谢谢麻烦，。！？、：😀 \u3000", max_size=8)
SEPARATORS = [" ", "  ", "-", " - ", "－", "\u3000", "—"]
DOT_SEPARATORS = [".", "．"]


@st.composite
def rendered(draw, digits: str, spoken: bool = True):
    """``digits`` in random groups, separators and scripts: (text, index of each digit's char)."""
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=len(digits) - 1)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)])]
    out, where = [], []
    for k, group in enumerate(groups):
        if k:
            choices = SEPARATORS + (DOT_SEPARATORS if min(len(group), len(groups[k - 1])) >= 3 else [])
            out.append(draw(st.sampled_from(choices)))
        for d in group:
            script = draw(st.sampled_from(["ascii", "full", "spoken"] if spoken else ["ascii", "full"]))
            where.append(sum(len(x) for x in out))
            out.append(d if script == "ascii" else FULL_WIDTH[d] if script == "full" else draw(st.sampled_from(SPOKEN[d])))
    return "".join(out), where


def assert_masked(before: str, text: str, where: list[int], masked_digits: range):
    result = mask_pii(before + text)
    assert len(result) == len(before + text)
    stars = {len(before) + where[k] for k in masked_digits}
    for i, (a, b) in enumerate(zip(before + text, result)):
        assert b == ("*" if i in stars else a), (before + text, result)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), before=AROUND, after=AROUND, second=st.sampled_from("3456789"),
       rest=st.text(alphabet="0123456789", min_size=9, max_size=9),
       prefix=st.sampled_from(["", "+86 ", "0086-", "+86-", "(+86)"]))
def test_generated_mobiles(data, before, after, second, rest, prefix):
    text, where = data.draw(rendered("1" + second + rest))
    before = before + prefix
    result = mask_pii(before + text + after)
    assert len(result) == len(before + text + after)
    stars = {len(before) + where[k] for k in range(3, 7)}
    assert all(b == ("*" if i in stars else a) for i, (a, b) in enumerate(zip(before + text + after, result))), result


@settings(max_examples=200, deadline=None)
@given(data=st.data(), before=AROUND, after=AROUND,
       area=st.sampled_from(["010", "020", "021", "025", "0755", "0571", "0898"]),
       first=st.sampled_from("123456789"), rest=st.text(alphabet="0123456789", min_size=6, max_size=7),
       form=st.sampled_from(["{a}-{s}", "({a}){s}", "（{a}）{s}", "{a} {s}", "{a}{s}", "{a}－{s}"]),
       extension=st.sampled_from(["", "转123", " ext. 45", "-8001", "分机 66"]))
def test_generated_landlines(data, before, after, area, first, rest, form, extension):
    subscriber = first + rest
    text = form.format(a=area, s=subscriber)
    at = text.index(subscriber)
    full = before + text + extension + after
    result = mask_pii(full)
    start = len(before) + at
    stars = set(range(start, start + len(subscriber) - 4))
    assert all(b == ("*" if i in stars else a) for i, (a, b) in enumerate(zip(full, result))), (full, result)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), before=AROUND, after=AROUND, seed=st.integers(0, 2**32 - 1), x=st.booleans())
def test_generated_id_numbers(data, before, after, seed, x):
    rng = random.Random(seed)
    while True:
        born = f"{rng.randint(1930, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        number = id_complete(rng.choice(["11", "31", "44", "51", "65"]) + f"{rng.randint(0, 9999):04d}" + born
                             + f"{rng.randint(0, 999):03d}")
        if (number[-1] == "X") == x or rng.random() < 0.2:
            break
    text, where = data.draw(rendered(number[:-1], spoken=False))
    sep = data.draw(st.sampled_from(["", " ", "-"])) if number[-1] == "X" else data.draw(st.sampled_from(["", " "]))
    if number[-1] == "X" and sep:  # a lone X after a separator is not part of the number: glue it
        sep = ""
    text += sep + number[-1]
    where.append(len(text) - 1)
    assert_masked(before, text, where, range(3, 14))


@settings(max_examples=150, deadline=None)
@given(before=AROUND, after=AROUND, body=st.text(alphabet="0123456789", min_size=11, max_size=12),
       sep=st.sampled_from(["", " ", "-", "  "]))
def test_generated_15_digit_ids(before, after, body, sep):
    number = "44030" + "4" + f"{int(body[:2]) % 100:02d}" + f"{int(body[2:4]) % 12 + 1:02d}" + \
        f"{int(body[4:6]) % 28 + 1:02d}" + body[6:9]
    text = sep.join([number[:6], number[6:12], number[12:]])
    result = mask_pii(before + text + after)
    assert result.count("*") == 9 and result.startswith(before + "440"), result


@settings(max_examples=150, deadline=None)
@given(before=AROUND, after=AROUND, body=st.text(alphabet="0123456789", min_size=13, max_size=16),
       sep=st.sampled_from(["", " ", "-", "  "]))
def test_generated_bank_cards(before, after, body, sep):
    number = luhn_complete("62" + body)
    text = sep.join(number[i:i + 4] for i in range(0, len(number), 4))
    result = mask_pii(before + text + after)
    assert result.count("*") == len(number) - 8, (before + text + after, result)


@settings(max_examples=300, deadline=None)
@given(before=AROUND, after=AROUND,
       year=st.integers(1990, 2030), month=st.integers(1, 12), day=st.integers(1, 28),
       hour=st.integers(0, 23), minute=st.integers(0, 59), yuan=st.integers(0, 10**9), cents=st.integers(0, 99),
       order=st.text(alphabet="0123456789", min_size=8, max_size=22),
       service=st.sampled_from(["95588", "95533", "95555", "10086", "10010", "12345", "12315", "96110"]),
       form=st.integers(0, 9))
def test_generated_hard_negatives(before, after, year, month, day, hour, minute, yuan, cents, order, service, form):
    text = [
        f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{day:02d}",
        f"{year}年{month}月{day}日{hour}点{minute}分",
        f"{year}{month:02d}{day:02d}",
        f"{year}/{month}/{day}",
        f"¥{yuan}.{cents:02d}",
        f"{yuan}.{cents:02d}元",
        f"{yuan}元",
        f"订单号{order}",
        f"订单号：{order[:4]} {order[4:]}",
        f"请拨打{service}",
    ][form]
    full = before + text + after
    assert mask_pii(full) == full


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789０１２３一二三幺两零 -.()（）+Xx号单订卡电话你好，元", max_size=80))
def test_same_length_only_digits_change_and_idempotent(text):
    masked = mask_pii(text)
    assert len(masked) == len(text)
    assert all(a == b or (b == "*" and (a.isdigit() or a in "一二三幺两零Xx")) for a, b in zip(text, masked))
    assert mask_pii(masked) == masked


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_any_text_keeps_its_length_and_never_raises(text):
    masked = mask_pii(text)
    assert len(masked) == len(text) and mask_pii(masked) == masked
