"""One call that carries every personal-number form of issue 16 (#4), for the output tests: the
service (storage, API, web pages, verdict export), ``huashu analyze`` and ``huashu report``.

``FORMS`` pairs what a customer said with what every output must show instead (written out by
hand; ``tests/test_privacy.py`` checks ``mask_pii`` itself). ``KEPT`` are the hard negatives that
must come out unchanged."""
from __future__ import annotations

CARD = "6222021234567894"  # passes the Luhn check

FORMS = [  # (raw, masked)
    ("138.1234.5678", "138.****.5678"),
    ("139  1234  5678", "139  ****  5678"),
    ("1371 2345 678", "137* ***5 678"),
    ("1 5 8 1 2 3 4 5 6 7 8", "1 5 8 * * * * 5 6 7 8"),
    ("+86 13612345678", "+86 136****5678"),
    ("0086-135-1234-5678", "0086-135-****-5678"),
    ("一三八一二三四五六七八", "一三八****五六七八"),
    ("幺三九幺二三四五六七八", "幺三九****五六七八"),
    ("一五零两两三四零〇六七", "一五零****零〇六七"),
    ("188一二三四5678", "188****5678"),
    ("１８６１２３４５６７８", "１８６****５６７８"),
    ("010-12345678", "010-****5678"),
    ("(010)87654321", "(010)****4321"),
    ("（0755）88886666", "（0755）****6666"),
    ("0755-86668888转123", "0755-****8888转123"),
    ("0571 8765 4321", "0571 **** 4321"),
    ("400-800-8888", "400-***-8888"),
    ("800-123-4567", "800-***-4567"),
    ("11010519491231002X", "110***********002X"),
    ("110105 19491231 002X", "110*** ******** 002X"),
    ("110105-19491231-002x", "110***-********-002x"),
    ("110105491231002", "110*********002"),
    ("6222 0212 3456 7894", "6222 **** **** 7894"),
]
KEPT = ["订单号2025030112345678", "138.50元", "2025-03-01", "14:03:10", "95588"]

CUSTOMER = "张女士13912345678"  # a speaker label with a number in it
CUSTOMER_MASKED = "张女士139****5678"
FILE_NAME = "客户13812345678录音.txt"
FILE_NAME_MASKED = "客户138****5678录音.txt"
TEAM = "二组 13712345678"
TEAM_MASKED = "二组 137****5678"
NOTE = "客户让回电 0755-88886666"
NOTE_MASKED = "客户让回电 0755-****6666"


def call_text() -> str:
    """The call: greeting, one customer turn per form, and an agent turn with a trigger and the
    hard negatives."""
    lines = ["坐席：您好，这里是话术客服，请问有什么可以帮您？"]
    lines += [f"{CUSTOMER}：我的号码是{raw}，记一下" for raw, _ in FORMS]
    lines.append("坐席：你搞错了，订单号2025030112345678，金额138.50元，2025-03-01 14:03:10 下单，"
                 "有问题请拨打95588。")
    return "\n".join(lines) + "\n"


def assert_masked(output: str, *, extra: tuple[tuple[str, str], ...] = ()) -> None:
    """No raw form anywhere in ``output``; every masked form and hard negative present."""
    for raw, masked in [*FORMS, (CUSTOMER, CUSTOMER_MASKED), *extra]:
        assert raw not in output, f"{raw!r} left unmasked"
        assert masked in output, f"{masked!r} missing"
    for kept in KEPT:
        assert kept in output, f"hard negative {kept!r} was changed"
