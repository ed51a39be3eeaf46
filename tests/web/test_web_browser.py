"""The web pages end to end in headless Chromium (Playwright) against the real server.

One browser for the session (conftest ``browser``), a fresh context per user. Skipped only when
/usr/bin/chromium is missing (CI installs it: ``apt-get install -y chromium``).
"""
from __future__ import annotations

import re
import time

import pytest
from web_support import CHROMIUM, EXAMPLE

from api.web.data import team_column

if not CHROMIUM.exists():  # before importing Playwright, which is of no use without the browser
    pytest.skip(f"{CHROMIUM} is missing (CI installs it: apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import expect

BAD_FILE = "这一行没有说话人。\n第二行也没有。\n".encode()


def flag_card(page, text: str):
    """The note beside the mark whose text contains ``text``."""
    mark = page.locator("mark", has_text=text)
    flag_id = mark.get_attribute("data-flags").split()[0]
    return mark, page.locator(f'article.flag[data-flag-id="{flag_id}"]')


def test_login_refuses_a_wrong_key_then_logs_in_and_out(open_page, keys):
    page = open_page(None)
    page.goto("/web/calls")
    expect(page).to_have_url(re.compile(r"/web/login\?next=%2Fweb%2Fcalls$"))

    page.fill("#key", "hs_" + "x" * 43)
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/web/login$"))
    assert not page.context.cookies()

    page.fill("#key", keys["supervisor"])
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/web/calls$"))  # back where it was going
    expect(page.locator("header .user")).to_contain_text("王主管")
    [cookie] = page.context.cookies()
    assert cookie["name"] == "hs_session" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert keys["supervisor"] not in cookie["value"] and keys["supervisor"][3:20] not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # HttpOnly: not readable by scripts

    page.click("form.logout button")
    expect(page).to_have_url(re.compile(r"/web/login$"))
    page.goto("/web/calls")
    expect(page).to_have_url(re.compile(r"/web/login\?next="))


def test_upload_two_files_by_drag_and_drop_one_bad(open_page, keys):
    page = open_page("supervisor")
    page.goto("/web/upload")
    page.fill("#team", "售后一组")
    # Drop two files on the drop zone, as a user dragging them from the desktop would.
    page.evaluate(
        """([good, bad]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([good], "good-call.txt", {type: "text/plain"}));
            dt.items.add(new File([bad], "bad.txt", {type: "text/plain"}));
            document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
        }""",
        # a line before the first speaker (ignored) makes it a file of its own: the same bytes as a
        # stored call would be a duplicate (tests/web/test_web_duplicates.py)
        ["# good-call\n" + EXAMPLE.decode(), BAD_FILE.decode()],
    )
    good = page.locator('li.upload-item[data-name="good-call.txt"]')
    bad = page.locator('li.upload-item[data-name="bad.txt"]')
    expect(good).to_have_class(re.compile(r"\bok\b"))
    expect(bad).to_have_class(re.compile(r"\bfailed\b"))
    assert good.locator("progress").evaluate("p => p.value") == 1
    expect(good.locator(".status")).to_contain_text("2")  # 已完成：2 处导火索
    expect(bad.locator('.status[role="alert"]')).to_contain_text("bad.txt:1")
    expect(bad.locator(".status")).to_contain_text("speaker")

    good.locator("a").click()
    expect(page).to_have_url(re.compile(r"/web/calls/[0-9a-f-]{36}$"))
    expect(page.locator("h1")).to_have_text("good-call.txt")
    if team_column() is not None:  # once transcripts store the team given at upload
        expect(page.locator("p.meta")).to_contain_text("售后一组")
        page.goto("/web/calls?team=售后一组")
        expect(page.locator("#calls-table tbody tr")).to_have_count(1)


def test_a_call_shows_its_triggers_in_place_with_the_rewrite_beside_them(open_page, calls):
    page = open_page("supervisor")
    page.goto(f"/web/calls/{calls['example']['id']}")
    mark, card = flag_card(page, "你搞错了")
    expect(mark).to_have_text(re.compile("^你搞错了"))
    expect(card.locator(".rw")).to_have_text("我觉得我们的沟通可能有误会，这个单号是昨天才揽收的。")
    expect(card.locator(".cat")).to_have_text("用“我”代替“你”")
    expect(card.locator(".principle")).not_to_be_empty()
    # beside: the note is to the right of the mark, on the same row of the conversation
    m, c = mark.bounding_box(), card.bounding_box()
    assert c["x"] > m["x"] + m["width"] and c["y"] <= m["y"] + m["height"] and m["y"] <= c["y"] + c["height"]
    assert mark.locator("xpath=ancestor::div[contains(@class,'turn')]").get_attribute("id") == \
        card.locator("xpath=ancestor::div[contains(@class,'turn')]").get_attribute("id")

    expect(page.locator("#scorecard .scorecard-items tr")).not_to_have_count(0)
    expect(page.locator('#mood svg[data-chart="mood"]')).to_be_visible()  # the service rated the customer turns


def test_the_mood_line_when_the_call_has_sentiment(open_page, calls):
    page = open_page("analyst")
    page.goto(f"/web/calls/{calls['xiaoli']['id']}")
    chart = page.locator('#mood svg[data-chart="mood"]')
    expect(chart).to_be_visible()
    expect(chart.locator("circle.point")).to_have_count(3)
    expect(chart.locator("line.trigger")).to_have_count(1)  # the agent's trigger before the anger
    expect(page.locator("#turn-3 .mood-badge.angry").first).to_be_visible()
    satisfaction = f"{calls['xiaoli']['summary']['satisfaction']:.2f}"
    expect(page.locator(".summary")).to_contain_text(satisfaction)


def test_the_call_list_filters_and_sorts(open_page, calls):
    example, xiaoli = calls["example"]["id"], calls["xiaoli"]["id"]
    page = open_page("analyst")
    rows = page.locator("#calls-table tbody tr")
    summaries = {call["id"]: call["summary"] for call in calls.values()}  # as the service analysed them
    for cid, summary in summaries.items():
        expect(page.locator(f'tr[data-call-id="{cid}"] td.satisfaction')).to_have_text(f"{summary['satisfaction']:.2f}")
        expect(page.locator(f'tr[data-call-id="{cid}"] td.escalation')).to_have_text(
            "是" if summary["escalations"] else "否")
    assert summaries[xiaoli]["escalations"]

    page.select_option("select[name=agent]", "name:小李")  # the agent key (analyzer.callmeta): 小李(客服) → 小李
    page.click("#call-filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-call-id", xiaoli)

    page.goto("/web/calls?escalation=yes")  # other tests' uploads may be listed too: look at these two
    for cid, summary in summaries.items():
        expect(page.locator(f'tr[data-call-id="{cid}"]')).to_have_count(1 if summary["escalations"] else 0)
    page.goto("/web/calls?category=command&sort=flags_desc")
    expect(page.locator(f'tr[data-call-id="{example}"]')).to_have_count(1)
    expect(page.locator(f'tr[data-call-id="{xiaoli}"]')).to_have_count(0)
    page.goto("/web/calls?sort=satisfaction_asc")
    expect(rows).not_to_have_count(0)
    listed = rows.evaluate_all("rows => rows.map(r => r.dataset.callId)")
    low, high = sorted(summaries, key=lambda c: summaries[c]["satisfaction"])
    assert listed.index(low) < listed.index(high)  # other tests' calls may sit in between
    page.goto("/web/calls?date_from=2000-01-01&date_to=2000-01-02")
    expect(page.locator("p.empty")).to_be_visible()


def test_confirm_and_dismiss_flags_seen_by_another_supervisor(open_page, calls):
    url = f"/web/calls/{calls['example']['id']}"
    page = open_page("supervisor")
    page.goto(url)
    _, first = flag_card(page, "你搞错了")
    _, second = flag_card(page, "你必须")
    first.locator("button.confirm").click()
    expect(first.locator(".status")).to_have_text("已保存")
    second.locator("button.dismiss").click()
    expect(second.locator(".status")).to_have_text("已保存")
    expect(first.locator("li.verdict.confirmed")).to_contain_text("王主管")

    page.reload()
    _, first = flag_card(page, "你搞错了")
    _, second = flag_card(page, "你必须")
    expect(first.locator("li.verdict.confirmed")).to_contain_text("已确认 · 王主管")
    expect(first.locator("li.verdict time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    expect(first.locator("button.confirm")).to_have_attribute("aria-pressed", "true")
    expect(second.locator("li.verdict.dismissed")).to_contain_text("已驳回 · 王主管")

    other = open_page("supervisor2")  # another browser context, another supervisor
    other.goto(url)
    _, first = flag_card(other, "你搞错了")
    expect(first.locator("li.verdict.confirmed")).to_contain_text("王主管")
    expect(first.locator("button.confirm")).to_have_attribute("aria-pressed", "false")  # not theirs
    first.locator("button.dismiss").click()
    expect(first.locator("li.verdict")).to_have_count(2)

    export = other.request.get("/web/verdicts.jsonl")  # the page's cookie, no key
    assert export.ok
    lines = [line for line in export.text().splitlines() if calls["example"]["id"] in line]
    assert len(lines) == 3 and '"by": "李主管"' in export.text() and '"verdict": "dismissed"' in export.text()
    csv_text = other.request.get("/web/verdicts.csv").text()
    assert csv_text.lstrip("\ufeff").startswith("flag_id,transcript_id") and "你搞错了" in csv_text


def test_the_agent_dashboard_draws_its_charts(open_page, calls):
    page = open_page("supervisor")
    page.goto("/web/agents")
    rates = page.locator('svg[data-chart="rates"]')
    expect(rates).to_be_visible()
    expect(rates.locator("g.bar").first).to_be_visible()
    # 工号1024 (the 坐席 of call-0001) and 小李, at least: the session's server holds other tests' calls
    assert rates.locator("g.bar").count() >= 2
    expect(page.locator("#agent-table tr[data-name='小李'] td.rate")).to_have_text("50.0")
    for chart in ("categories", "trend", "mood", "scorecard"):
        expect(page.locator(f'#detail svg[data-chart="{chart}"]')).to_be_visible()

    page.locator("#agent-table a", has_text="小李").click()
    expect(page).to_have_url(re.compile(r"/web/agents\?agent=name"))
    expect(page.locator("#detail h2")).to_contain_text("小李")
    expect(page.locator("#focus-rate")).to_have_text("50.0")
    categories = page.locator('#detail svg[data-chart="categories"] g.bar')
    expect(categories).to_have_count(1)
    expect(categories).to_contain_text("负起责任")
    expect(page.locator('#detail svg[data-chart="mood"] rect')).not_to_have_count(0)


def test_the_live_box_flags_a_command_within_a_second(open_page):
    page = open_page("agent")
    expect(page).to_have_url(re.compile(r"/web/live$"))
    expect(page.locator("header nav a")).to_have_text(["我的通话", "实时提示"])  # their calls and the live box
    expect(page.locator("#live-status")).to_have_attribute("data-state", "open")
    box = page.locator("#live-input")
    box.click()
    page.keyboard.type("你必须先付款", delay=20)
    typed = time.monotonic()
    tip = page.locator("#live-tips article.flag")
    # the tip for the whole text (not an earlier partial one), within a second of the last key
    expect(tip.locator(".rw")).to_have_text("请您先付款", timeout=1000)
    elapsed = time.monotonic() - typed
    assert elapsed < 1.0, elapsed
    expect(tip).to_have_count(1)
    expect(tip.locator(".cat")).to_have_text("避免下命令")
    expect(page.locator("#live-preview mark")).to_have_text("你必须")

    box.fill("您好，请问有什么可以帮您？")
    expect(page.locator("#live-tips p.empty")).to_be_visible()


def test_the_language_toggle(open_page):
    page = open_page("supervisor")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("header nav")).to_contain_text("通话")
    page.click("#lang-toggle")
    expect(page).to_have_url(re.compile(r"/web/calls$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("header nav")).to_contain_text("Calls")
    expect(page.locator("h1")).to_have_text("Calls")
    page.goto("/web/agents")
    expect(page.locator("h1")).to_have_text("Agents and teams")
    page.click("#lang-toggle")
    expect(page.locator("h1")).to_have_text("坐席与团队")


def test_an_analyst_reads_but_gets_no_verdict_buttons_and_no_upload(open_page, calls):
    page = open_page("analyst")
    page.goto(f"/web/calls/{calls['example']['id']}")
    expect(page.locator("article.flag")).to_have_count(2)
    expect(page.locator("button[data-verdict]")).to_have_count(0)
    expect(page.locator("header nav a")).to_have_text(["通话", "坐席", "规则"])
    response = page.goto("/web/upload")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("无权访问")
