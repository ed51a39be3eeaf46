"""``analyzer.privacy.mask_pii``: personal numbers masked, same length; hard negatives untouched."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyzer.privacy import mask_pii


def luhn_complete(body: str) -> str:
    """``body`` plus the digit that makes it pass the Luhn check."""
    for last in "0123456789":
        digits = [int(d) for d in body + last][::-1]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0:
            return body + last
    raise AssertionError


def id_complete(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights)) % 11]


CARD16 = luhn_complete("622202123456789")
CARD19 = luhn_complete("622848001234567890")
ID_X = "11010519491231002X"
ID_DIGIT = id_complete("44030419900307123")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我的手机是13812345678，谢谢", "我的手机是138****5678，谢谢"),
        ("电话 138 1234 5678 找我", "电话 138 **** 5678 找我"),
        ("电话 138-1234-5678", "电话 138-****-5678"),
        ("+86 13912345678", "+86 139****5678"),
        ("+86-199-8765-4321。", "+86-199-****-4321。"),
        ("0086 15012345678", "0086 150****5678"),
        ("手机１３８１２３４５６７８", "手机１３８****５６７８"),
        (f"身份证{ID_X}。", "身份证110***********002X。"),
        (f"身份证号码：{ID_X.lower()}", "身份证号码：110***********002x"),
        (f"证件 {ID_DIGIT}", f"证件 {ID_DIGIT[:3]}{'*' * 11}{ID_DIGIT[-4:]}"),
        (f"卡号{CARD16}", f"卡号{CARD16[:4]}{'*' * 8}{CARD16[-4:]}"),
        (f"银行卡 {CARD19} 尾号", f"银行卡 {CARD19[:4]}{'*' * 11}{CARD19[-4:]} 尾号"),
        ("卡号 4111 1111 1111 1111", "卡号 4111 **** **** 1111"),
        ("两个号码13812345678和13987654321", "两个号码138****5678和139****4321"),
    ],
)
def test_masks_personal_numbers_keeping_the_length(text, masked):
    assert mask_pii(text) == masked
    assert len(mask_pii(text)) == len(text)


@pytest.mark.parametrize(
    "text",
    [
        "单号是SD20250301。",                             # order number glued to letters
        "订单号202503011234567890",                       # 18 digits after an order word
        f"订单号：{CARD16}",                              # Luhn-valid, but an order number
        f"运单 {ID_X}",                                   # looks like an ID card, after an order word
        "订单号13812345678",                              # looks like a mobile, after an order word
        "退款金额138.50元，共计15800.00元",                 # amounts
        "¥13800 元",
        "2025-03-01 10:02:11 下单，20250301 发货",          # dates and times
        "[00:01:23] 坐席：工号1024为您服务",
        "13812345678901",                                  # 14 digits: not a mobile
        "12812345678",                                     # 12x is not a mobile prefix
        "622202123456789" + str((int(CARD16[-1]) + 1) % 10),  # fails the Luhn check
        "110105194912310021",                              # wrong ID checksum
        "110105194913310026",                              # month 13
        "交易流水 2025030112345678901",                    # 19 digits after 流水
        "版本 1.3.812345678",
    ],
)
def test_hard_negatives_are_not_masked(text):
    assert mask_pii(text) == text


def test_flags_still_land_on_the_masked_text(engine):
    text = "你搞错了吧，请把13812345678的验证码发过来，你必须今天处理。"
    masked = mask_pii(text)
    for flag in engine.check(masked, "agent"):
        assert masked[flag.start:flag.end] == flag.text
    assert [f.text for f in engine.check(masked)] == [f.text for f in engine.check(text)]


@given(st.text(alphabet="0123456789 -+Xx号单订卡你好，", max_size=60))
def test_same_length_and_only_digits_change(text):
    masked = mask_pii(text)
    assert len(masked) == len(text)
    assert all(a == b or (b == "*" and a in "0123456789Xx") for a, b in zip(text, masked))
