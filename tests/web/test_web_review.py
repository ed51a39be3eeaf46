"""The review workflow in the browser (issue #15), as a supervisor and an agent use it: jump
through a long call's flags with the keyboard, confirm and dismiss with reasons, add a missed
trigger by selecting text, mark the call reviewed; the agent sees their own calls and disputes a
flag; the supervisor decides the dispute in the queue; the call's history shows every step.

Headless Chromium (Playwright) against the real server of tests/web/conftest.py.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from web_support import CHROMIUM, bearer, upload

from api.db import create_db_engine
from api.tables import StoredTranscript

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (CI installs it: apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import expect

# 小林 (工号1234): a contradiction, then (Traditional, after an emoji) a refusal the lexicon misses
# ("我沒辦法") and an order.
LIN = (Path(__file__).parents[1] / "data" / "review" / "lin.txt").read_text(encoding="utf-8")
OTHER = "客服：您好，工号5678为您服务。\n客户：我要改地址。\n客服：你必须先提供订单号。\n"


def long_call() -> str:
    """60 turns of chat-style text without punctuation, three triggers far apart."""
    lines = []
    for i in range(30):
        agent = "好的我这边帮您看一下订单情况"
        if i == 1:
            agent = "你搞错了吧这个单号不对"
        elif i == 14:
            agent = "你必须先把截图发过来"
        elif i == 28:
            agent = "这不是我的事你去问快递员"
        lines += [f"坐席：{agent}", f"客户：嗯嗯好的我等一下第{i}次"]
    return "\n".join(lines) + "\n"


def _agent_key(server, transcript_id: str, expected: str) -> None:
    """The call's agent key as the upload computed it (analyzer.callmeta); set here only while
    the upload does not fill it yet (another part of issue #15)."""
    engine = create_db_engine(server.database_url)
    try:
        with Session(engine) as session:
            found = session.scalar(select(StoredTranscript.agent_key).where(StoredTranscript.id == transcript_id))
            if found is None:
                session.execute(update(StoredTranscript).where(StoredTranscript.id == transcript_id)
                                .values(agent_key=expected))
                session.commit()
                found = expected
    finally:
        engine.dispose()
    assert found == expected


@pytest.fixture(scope="module")
def review_calls(http, keys, server) -> dict[str, dict]:
    lin = upload(http, keys["supervisor"], LIN.encode(), name="lin-review.txt")
    other = upload(http, keys["supervisor"], OTHER.encode(), name="other-agent.txt")
    long = upload(http, keys["supervisor"], long_call().encode(), name="long-60.txt")
    _agent_key(server, lin["id"], "id:1234")
    _agent_key(server, other["id"], "id:5678")
    r = http.post("/v1/keys", json={"name": "小林", "role": "agent", "agent_id": "id:1234"},
                  headers=bearer(server.admin_key))
    assert r.status_code == 201, r.text
    keys["lin"] = r.json()["key"]  # open_page("lin") logs in with it
    return {"lin": lin, "other": other, "long": long}


def _in_view(page, locator) -> bool:
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 50) <= height


def test_jump_through_a_60_turn_call_with_the_keyboard(open_page, review_calls):
    call = review_calls["long"]
    assert len(call["turns"]) == 60
    flags = [f for t in call["turns"] for f in t["flags"]]
    assert len(flags) >= 3
    page = open_page("supervisor")
    page.goto(f"/web/calls/{call['id']}")
    summary = page.locator("#flag-summary")
    expect(page.locator("#review h2")).to_contain_text(f"（{len(flags)} 处）")
    for category in {f["category"] for f in flags}:  # Chinese names from corpora/categories.yaml
        row = summary.locator(f'li[data-category="{category}"]')
        expect(row.locator(".count")).to_have_text(str(sum(f["category"] == category for f in flags)))
    expect(summary).to_contain_text("用“我”代替“你”")
    expect(page.locator("#flag-keys")).to_contain_text("j")

    in_order = [f["id"] for t in call["turns"] for f in t["flags"]]
    page.locator("body").press("j")
    expect(page.locator("#flag-pos")).to_have_text(f"第 1 / {len(flags)} 处")
    for n, flag_id in enumerate(in_order, start=1):
        if n > 1:
            page.keyboard.press("n" if n % 2 else "j")
        card = page.locator(f"#flag-{flag_id}")
        expect(card).to_have_class(re.compile(r"\bcurrent\b"))
        expect(page.locator("#flag-pos")).to_have_text(f"第 {n} / {len(flags)} 处")
        expect(page.locator("mark.current")).to_have_attribute("data-flags", re.compile(flag_id))
        assert _in_view(page, card), n  # scrolled to, on a call many screens long
    last = page.locator(f"#flag-{in_order[-1]}")
    page.keyboard.press("k")
    expect(page.locator(f"#flag-{in_order[-2]}")).to_have_class(re.compile(r"\bcurrent\b"))
    expect(last).not_to_have_class(re.compile(r"\bcurrent\b"))
    assert page.evaluate("document.documentElement.scrollHeight") > 3 * page.viewport_size["height"]

    # a link of the summary jumps to its flag
    page.evaluate("window.scrollTo(0, 0)")
    summary.locator(f'a.jump[data-flag-id="{in_order[-1]}"]').click()
    expect(last).to_have_class(re.compile(r"\bcurrent\b"))
    assert _in_view(page, last)
    expect(page).to_have_url(re.compile(f"#flag-{in_order[-1]}$"))


def _card(page, text: str):
    mark = page.locator("mark", has_text=text)
    return page.locator(f'article.flag[data-flag-id="{mark.get_attribute("data-flags").split()[0]}"]')


def _select_text(page, turn_index: int, text: str) -> None:
    """Select ``text`` in an agent turn as a mouse drag would, and release the mouse."""
    page.evaluate(
        """([turn, wanted]) => {
            const p = document.querySelector(`#turn-${turn} p.text`);
            const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
            let node;
            while ((node = walker.nextNode())) {
                const at = node.data.indexOf(wanted);
                if (at >= 0) {
                    const range = document.createRange();
                    range.setStart(node, at);
                    range.setEnd(node, at + wanted.length);
                    const sel = window.getSelection();
                    sel.removeAllRanges();
                    sel.addRange(range);
                    p.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
                    return;
                }
            }
            throw new Error("text not found: " + wanted);
        }""",
        [turn_index, text],
    )


def test_supervisor_reviews_agent_disputes_supervisor_decides(open_page, review_calls):
    lin, other = review_calls["lin"], review_calls["other"]
    url = f"/web/calls/{lin['id']}"
    page = open_page("supervisor")
    page.goto(url)
    expect(page.locator("#call-status")).to_have_text("未审核")

    # confirm the first flag with a reason, by keyboard
    first = _card(page, "你搞错了")
    page.locator("body").press("j")
    expect(first).to_have_class(re.compile(r"\bcurrent\b"))
    first.locator("select.reason").select_option("harsh_tone")
    first.locator("input.note").fill("一开口就说客户错")
    first.locator("input.note").press("Escape")  # out of the field, back to the keys
    page.keyboard.press("c")
    expect(first.locator(".actions .status")).to_have_text("已保存")
    expect(first.locator("li.verdict.confirmed .reason")).to_have_text("语气生硬")

    # a dismissed reason with the confirm button: refused, with the bilingual message
    second = _card(page, "你必須")
    second.locator("select.reason").select_option("fp_business_question")
    second.locator("button.confirm").click()
    expect(second.locator(".actions .status")).to_contain_text("原因代码")
    expect(second.locator("li.verdict")).to_have_count(0)
    second.locator("button.dismiss").click()
    expect(second.locator("li.verdict.dismissed .reason")).to_have_text("误报-业务必要提问")

    # add the missed refusal by selecting it (after an emoji: offsets in code points)
    turn = lin["turns"][4]
    at = turn["text"].index("我沒辦法")
    assert not any((f["start"], f["end"], f["category"]) == (at, at + 4, "refusal") for f in turn["flags"])
    refusals = sum(f["category"] == "refusal" for t in lin["turns"] for f in t["flags"])
    _select_text(page, 3, "态度")  # a customer's words are not the agent's trigger: nothing offered
    expect(page.locator("#add-flag")).to_be_hidden()
    _select_text(page, 4, "我沒辦法")
    expect(page.locator("#add-flag")).to_be_visible()
    expect(page.locator("#add-flag-text")).to_have_text("我沒辦法")
    page.select_option("#add-flag-category", "refusal")
    page.fill("#add-flag-note", "把问题推回给客户")
    page.click("#add-flag-save")
    added = page.locator("article.flag", has=page.locator(".added-by"))
    expect(added).to_have_count(1)
    expect(added.locator("q.span")).to_have_text("我沒辦法")
    expect(added.locator(".cat")).to_have_text("负起责任")
    expect(page.locator("#turn-4 mark", has_text="我沒辦法")).to_have_count(1)
    expect(page.locator('#flag-summary li[data-category="refusal"] .count')).to_have_text(str(refusals + 1))

    page.click("#mark-reviewed")
    expect(page.locator("#call-status")).to_have_text("已审核")
    expect(page.locator("#reviewed-by")).to_contain_text("王主管")
    history = page.locator("#history li")
    expect(history.filter(has_text="语气生硬")).to_have_count(1)
    expect(history.filter(has_text="补充标记“我沒辦法”（负起责任）")).to_have_count(1)
    expect(history.filter(has_text="未审核 → 已审核")).to_have_count(1)

    # the agent: their own calls only, and a dispute
    agent = open_page("lin")
    expect(agent.locator("header nav a")).to_have_text(["我的通话", "实时提示"])
    agent.goto("/web/me")
    expect(agent.locator(f'#my-calls tr[data-call-id="{lin["id"]}"] .status')).to_have_text("已审核")
    expect(agent.locator(f'#my-calls tr[data-call-id="{other["id"]}"]')).to_have_count(0)
    expect(agent.locator('svg[data-chart="my-trend"]')).to_be_visible()
    row = agent.locator("#my-flags tr", has_text="你必須")
    expect(row.locator(".verdict")).to_contain_text("已驳回 · 误报-业务必要提问")
    said = next(f for t in lin["turns"] for f in t["flags"] if f["text"].startswith("你搞错了"))
    assert said["rewrite"]  # what to say instead, as the service proposed it
    expect(agent.locator("#my-flags tr", has_text="你搞错了").locator(".rw")).to_have_text(said["rewrite"])
    assert agent.goto(f"/web/calls/{other['id']}").status == 404  # another agent's call
    agent.goto("/web/me")
    agent.locator('#my-flags tr[data-source="reviewer"]', has_text="我沒辦法").locator("a").click()
    expect(agent).to_have_url(re.compile(r"#flag-"))
    expect(agent.locator("button[data-verdict]")).to_have_count(0)
    expect(agent.locator("#history")).to_have_count(0)
    disputed = agent.locator("article.flag", has=agent.locator(".added-by"))
    disputed.locator("button.dispute-btn").click()
    disputed.locator("textarea.dispute-comment").fill("客户要的是加急，系统不支持，我只是如实说明")
    disputed.locator("form.dispute-form button[type=submit]").click()
    disputed = agent.locator("article.flag", has=agent.locator(".added-by"))
    expect(disputed.locator("li.dispute.open")).to_contain_text("如实说明")
    expect(disputed.locator("button.dispute-btn")).to_have_count(0)
    expect(agent.locator("#call-status")).to_have_text("申诉中")

    # the supervisor: the queue, overturn with a note
    page.goto("/web/disputes")
    item = page.locator("article.dispute-item", has_text="如实说明")
    expect(item).to_have_count(1)
    expect(item.locator(".turn-text")).to_contain_text("這個我沒辦法")
    item.locator("textarea.decision-note").fill("系统确实不支持加急，撤销")
    item.locator('button[data-decision="overturned"]').click()
    expect(page.locator("article.dispute-item", has_text="如实说明")).to_have_count(0)
    expect(page.locator("#decided-disputes li", has_text="如实说明")).to_contain_text("已推翻")

    page.goto(url)
    added = page.locator("article.flag", has=page.locator(".added-by"))
    expect(added.locator("li.verdict.dismissed .reason")).to_have_text("申诉成立（推翻）")
    expect(added.locator("li.dispute.overturned")).to_contain_text("系统确实不支持加急")
    expect(page.locator("#call-status")).to_have_text("已审核")
    expect(history.filter(has_text="处理申诉：已推翻")).to_have_count(1)
    expect(history.filter(has_text="已审核 → 申诉中")).to_have_count(1)

    agent.goto("/web/me")
    expect(agent.locator('#my-flags tr[data-source="reviewer"]').locator(".dispute")).to_have_text("已推翻")


def test_an_agent_key_without_an_agent_sees_a_clear_message(open_page):
    page = open_page("agent")
    page.goto("/web/me")
    expect(page.locator("#no-agent")).to_contain_text("--agent-id")
