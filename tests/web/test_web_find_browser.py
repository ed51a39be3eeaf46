"""Find and export in headless Chromium (Playwright) against the real server, as a supervisor and an
analyst use them: a ZIP of the week's calls dropped on the upload page, a search, the worst calls
of one agent in the last seven days, the scorecards of those calls exported to XLSX and read back
with openpyxl, and a dashboard bar followed to the calls behind it.

The server is the session's (other tests' calls are stored too): each test works under a team
of its own. Skipped only when /usr/bin/chromium is missing."""
from __future__ import annotations

import re
import uuid

import httpx
import openpyxl
import pytest
from test_web_exports import TRADITIONAL, make_zip
from web_support import CHROMIUM, XIAOLI, bearer

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (CI installs it: apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import expect

CALM = XIAOLI.replace("这不是我的事，你去问快递员。".encode(), "我马上帮您查一下物流。".encode()).replace(
    "你们这是什么态度！我要投诉！".encode(), "好的，麻烦你了。".encode())


def drop(page, name: str, data: bytes) -> None:
    """Drop one file on the upload page's drop zone, as a user dragging it from the desktop."""
    page.evaluate(
        """([bytes, name]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name, {type: "application/zip"}));
            document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
        }""",
        [list(data), name],
    )


def test_a_supervisor_uploads_a_zip_finds_an_agents_worst_calls_and_exports_their_scorecards(
    open_page, http: httpx.Client, keys, tmp_path,
):
    tag = uuid.uuid4().hex[:6]
    team = f"周报组-{tag}"
    unique = f"\n客户：单号{tag}\n".encode()
    archive = make_zip([
        ("week/angry.txt", XIAOLI + unique), ("week/calm.txt", CALM + unique),
        ("week/traditional.txt", TRADITIONAL + unique), ("week/bad.txt", "没有说话人的一行\n".encode()),
        ("week/notes.pdf", b"%PDF-1.4"),
    ])
    page = open_page("supervisor")
    page.goto("/web/upload")
    expect(page.locator("#zip-hint")).to_contain_text("ZIP")
    page.fill("#team", team)
    drop(page, "week.zip", archive)

    item = page.locator('li.upload-item[data-name="week.zip"]')
    expect(item).to_have_class(re.compile(r"\bok\b"), timeout=120_000)
    expect(item.locator(".status")).to_contain_text("已保存 3，已存在 0，失败 1，跳过 1")
    expect(item.locator("li.zip-member")).to_have_count(5)
    bad = item.locator('li.zip-member[data-name="week/bad.txt"]')
    expect(bad).to_have_class(re.compile(r"\bfailed\b"))
    expect(bad).to_contain_text("week/bad.txt:1")
    expect(item.locator('li.zip-member[data-name="week/notes.pdf"]')).to_contain_text("不是通话记录文件")
    ids = {}
    for name in ("angry", "calm", "traditional"):
        link = item.locator(f'li.zip-member[data-name="week/{name}.txt"] a')
        ids[name] = link.get_attribute("href").rsplit("/", 1)[1]
    summaries = {name: http.get(f"/v1/transcripts/{cid}", headers=bearer(keys["supervisor"])).json()["summary"]
                 for name, cid in ids.items()}

    # search: Simplified words find the Traditional call too, with the turn shown
    page.goto("/web/calls")
    page.select_option("select[name=team]", team)
    page.fill("#q", "不是我的事")
    page.click("#call-filters button[type=submit]")
    rows = page.locator("#calls-table tbody tr[data-call-id]")
    expect(rows).to_have_count(2)
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.callId)")) == {ids["angry"], ids["traditional"]}
    expect(page.locator(f'tr[data-match-for="{ids["traditional"]}"] mark')).to_have_text("不是我的事")

    # one agent, the last seven days, worst satisfaction first; the URL holds it all
    page.fill("#q", "")
    agent = page.locator("#filter-agent option", has_text="小李").first
    page.select_option("#filter-agent", agent.get_attribute("value"))
    page.click("#call-filters button[type=submit]")
    page.locator('a.range[data-range="last_7"]').click()
    page.select_option("#filter-sort", "satisfaction_asc")
    page.click("#call-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"date_from=\d{4}-\d\d-\d\d.*date_to=.*sort=satisfaction_asc"))
    expect(rows).to_have_count(2)
    worst_first = sorted(("angry", "calm"), key=lambda n: summaries[n]["satisfaction"])
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.callId)") == [ids[n] for n in worst_first]
    bookmark = page.url
    page.goto("/web/calls")
    page.goto(bookmark)  # the same list from the bookmark
    expect(rows).to_have_count(2)

    # the scorecards of exactly these calls, to XLSX
    with page.expect_download() as download:
        page.click("#export-scorecards-xlsx")
    path = tmp_path / "scorecards.xlsx"
    download.value.save_as(path)
    assert download.value.suggested_filename.startswith("huashu-scorecards-")
    book = openpyxl.load_workbook(path)
    per_call = list(book["评分卡 (Scorecards)"].iter_rows(values_only=True))
    header = per_call[0]
    assert header[:4] == ("通话时间（Asia/Shanghai） (Call time (Asia/Shanghai))", "文件 (File)", "坐席 (Agent)", "团队 (Team)")
    assert [row[header.index("通话编号 (Call id)")] for row in per_call[1:]] == [ids[n] for n in worst_first]
    assert {row[header.index("团队 (Team)")] for row in per_call[1:]} == {team}
    cards = [http.get(f"/v1/transcripts/{ids[n]}", headers=bearer(keys["supervisor"])).json()["scorecard"] for n in worst_first]
    for row, card in zip(per_call[1:], cards):
        assert row[header.index("达标率 (Share passed)")] == pytest.approx(card["score"], abs=1e-3)
        for sc_item in card["items"]:
            word = {True: "通过", False: "未通过", None: "不适用"}[sc_item["passed"]]
            assert row[header.index(f"{sc_item['label_zh']} ({sc_item['label_en']})")] == word
    summary = {row[0]: row for row in book["评分项汇总 (Item summary)"].iter_rows(values_only=True)}
    for sc_item in cards[0]["items"]:
        label = f"{sc_item['label_zh']} ({sc_item['label_en']})"
        verdicts = [i["passed"] for c in cards for i in c["items"] if i["id"] == sc_item["id"] and isinstance(i["passed"], bool)]
        assert summary[label][1:3] == (sum(verdicts), len(verdicts))


def test_an_analyst_follows_a_dashboard_bar_to_the_calls_and_exports_them(open_page, http, keys, tmp_path):
    team = f"分析组-{uuid.uuid4().hex[:6]}"
    for i in range(2):
        r = http.post("/v1/transcripts", files={"file": (f"a{i}.txt", XIAOLI + f"\n客户：编号{team}{i}\n".encode())},
                      data={"team": team}, headers=bearer(keys["supervisor"]))
        assert r.status_code == 201, r.text
    page = open_page("analyst")
    page.goto("/web/agents")
    page.select_option("select[name=team]", team)
    page.click("form.filters button[type=submit]")
    scorecard = page.locator('#detail svg[data-chart="scorecard"]')
    expect(scorecard).to_contain_text("/2 通过（")  # every pass rate with its count
    bar = page.locator('#detail svg[data-chart="categories"] a.drill').first
    expect(bar).to_contain_text("负起责任")
    bar.click()
    expect(page).to_have_url(re.compile(r"/web/calls\?.*category=refusal"))
    rows = page.locator("#calls-table tbody tr[data-call-id]")
    expect(rows).to_have_count(2)
    expect(page.locator("#calls-table tbody tr[data-call-id] .chip.cat-refusal")).to_have_count(2)

    with page.expect_download() as download:
        page.click("#export-calls-xlsx")
    path = tmp_path / "calls.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path)["通话 (Calls)"]
    values = list(sheet.iter_rows(values_only=True))
    header = values[0]
    assert len(values) == 3 and {v[header.index("团队 (Team)")] for v in values[1:]} == {team}
    assert all("负起责任" in v[header.index("导火索类别 (Trigger categories)")] for v in values[1:])
