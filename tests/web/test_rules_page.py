"""The rules page (``/web/rules``) and ``GET /v1/rules/stats`` from real verdicts: three calls
uploaded to a server of this module's own (the session's server holds other tests' verdicts),
verdicts given through ``POST /v1/flags/{id}/verdict`` by two supervisors, then the figures read
back over HTTP and in Chromium.

The agent of the second call disputes two of its flags through ``POST /v1/flags/{id}/disputes``
with a key linked to that agent; a supervisor overturns one (``POST /v1/disputes/{id}/decision``),
the other stays open.
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator

import httpx
import pytest
from real_server import bearer, serve
from web_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EXAMPLE,
    XIAOLI,
    Server,
    new_key,
    upload,
)

# A third call: the same two rules as examples/call-0001.txt fire again (nothing else).
THIRD = "坐席：你搞错了吧，你必须先登录App才能查。\n客户：好吧。\n".encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("rules-server")) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def keys(http: httpx.Client, server: Server) -> dict[str, str]:
    made = {"sup1": "supervisor", "sup2": "supervisor", "analyst": "analyst", "agent": "agent"}
    return {who: new_key(http, server.admin_key, role, who) for who, role in made.items()}


def _agent_key_of(server: Server, transcript_id: str) -> str:
    """The call's agent key as the upload stored it (``analyzer.callmeta``)."""
    db = sqlite3.connect(server.database_url.removeprefix("sqlite:///"))
    try:
        [found] = db.execute("SELECT agent_key FROM transcripts WHERE id = ?", (transcript_id,)).fetchone()
    finally:
        db.close()
    assert found, "the upload stored no agent key"
    return found


def flag_ids(call: dict) -> dict[str, str]:
    return {f["rule"]: f["id"] for turn in call["turns"] for f in turn["flags"]}


def stats(http: httpx.Client, key: str) -> dict:
    r = http.get("/v1/rules/stats", headers=bearer(key))
    assert r.status_code == 200, r.text
    return r.json()


def by(rows: list[dict], field: str) -> dict[str, dict]:
    return {row[field]: row for row in rows}


@pytest.fixture(scope="module")
def judged(http: httpx.Client, keys: dict[str, str], server: Server) -> dict:
    """The three calls, their flags judged; returns the stats read before and after."""
    first = flag_ids(upload(http, keys["sup1"], EXAMPLE, name="call-0001.txt"))
    xiaoli = upload(http, keys["sup1"], XIAOLI, name="xiaoli.txt")
    second = flag_ids(xiaoli)
    third = flag_ids(upload(http, keys["sup1"], THIRD, name="third.txt"))
    assert set(first) == set(third) == {"you_statement.ni-gaocuole", "command.ni-bixu"}, (first, third)
    assert set(second) == {"refusal.zhe-bushi-wode-shi", "refusal.ni-ziji-qu"}, second
    before = stats(http, keys["analyst"])

    def verdict(who: str, flag: str, value: str) -> None:
        r = http.post(f"/v1/flags/{flag}/verdict", json={"verdict": value}, headers=bearer(keys[who]))
        assert r.status_code == 200, r.text

    verdict("sup1", first["you_statement.ni-gaocuole"], "confirmed")  # third call's: not reviewed
    verdict("sup1", first["command.ni-bixu"], "dismissed")
    verdict("sup2", first["command.ni-bixu"], "confirmed")  # the later word counts
    verdict("sup1", third["command.ni-bixu"], "dismissed")
    verdict("sup1", second["refusal.zhe-bushi-wode-shi"], "confirmed")
    verdict("sup1", second["refusal.ni-ziji-qu"], "confirmed")
    # the agent's disputes: one still open, one the supervisor overturned
    agent_key = _agent_key_of(server, xiaoli["id"])
    r = http.post("/v1/keys", json={"name": "小李", "role": "agent", "agent_id": agent_key},
                  headers=bearer(server.admin_key))
    assert r.status_code == 201, r.text
    xiaoli_key = r.json()["key"]
    disputes = {}
    for rule, comment in (("refusal.zhe-bushi-wode-shi", "我是在解释流程"), ("refusal.ni-ziji-qu", "客户要求联系快递员")):
        r = http.post(f"/v1/flags/{second[rule]}/disputes", json={"comment": comment}, headers=bearer(xiaoli_key))
        assert r.status_code == 201, r.text
        disputes[rule] = r.json()["id"]
    r = http.post(f"/v1/disputes/{disputes['refusal.ni-ziji-qu']}/decision", json={"decision": "overturned"},
                  headers=bearer(keys["sup1"]))
    assert r.status_code == 200, r.text
    return {"before": before, "after": stats(http, keys["analyst"])}


def test_rule_stats_before_any_verdict(judged):
    rules = by(judged["before"]["rules"], "rule")
    assert rules["command.ni-bixu"]["hits"] == 2 and rules["refusal.ni-ziji-qu"]["hits"] == 1
    assert all(r["confirmed"] == r["dismissed"] == 0 and r["precision"] is None for r in rules.values())


def test_rule_stats_from_verdicts_and_disputes(judged):
    rules = by(judged["after"]["rules"], "rule")
    figures = {rule: (r["hits"], r["confirmed"], r["dismissed"], r["disputed"], r["precision"])
               for rule, r in rules.items()}
    assert figures == {
        "you_statement.ni-gaocuole": (2, 1, 0, 0, 1.0),  # one confirmed, one not reviewed
        "command.ni-bixu": (2, 1, 1, 0, 0.5),  # dismissed then confirmed by another: confirmed
        "refusal.zhe-bushi-wode-shi": (1, 1, 0, 1, 1.0),  # confirmed, disputed, not yet decided
        "refusal.ni-ziji-qu": (1, 0, 1, 0, 0.0),  # confirmed, then the dispute overturned it
    }
    categories = by(judged["after"]["categories"], "category")
    refusal = categories["refusal"]
    assert (refusal["hits"], refusal["confirmed"], refusal["dismissed"], refusal["disputed"], refusal["judged"],
            refusal["precision"]) == (2, 1, 1, 1, 2, 0.5)
    assert refusal["name_zh"] == "负起责任"
    assert categories["blame"]["hits"] == 0 and categories["blame"]["precision"] is None
    total = judged["after"]["total"]
    assert (total["hits"], total["confirmed"], total["dismissed"], total["unreviewed"]) == (6, 3, 2, 1)


def test_rule_stats_roles(http, keys, judged):
    assert http.get("/v1/rules/stats").status_code == 401
    assert http.get("/v1/rules/stats", headers=bearer(keys["agent"])).status_code == 403
    assert http.get("/v1/rules/stats", headers=bearer(keys["sup1"])).status_code == 200


def test_rules_page_over_http(http, keys, judged, server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/web/login", data={"key": keys["analyst"]}).status_code == 303
        page = client.get("/web/rules").text
    row = re.search(r'<tr data-rule="command.ni-bixu">(.*?)</tr>', page, re.DOTALL).group(1)
    assert '<td class="num hits">2</td>' in row and "50%" in row and "共 2 条" in row
    assert ">你必须</a>" in row and "避免下命令：" in row  # the rule by its words and principle, the id a tooltip
    blame = re.search(r'<tr data-category="blame">(.*?)</tr>', page, re.DOTALL).group(1)
    assert "—" in blame and "%" not in blame
    assert 'href="/web/rules" aria-current="page"' in page  # in the navigation
    chart = re.search(r'<svg class="chart" data-chart="precision".*?</svg>', page, re.DOTALL).group(0)
    assert "负起责任 (2)" in chart and "50%" in chart  # the category's Chinese name, in SVG text


def test_rules_page_in_the_browser_shows_precision(keys, judged, server):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=server.url).new_page()
            page.set_default_timeout(5000)
            page.goto("/web/login")
            page.fill("#key", keys["sup2"])
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"/web/calls$"))
            page.click("header nav a[href='/web/rules']")
            expect(page).to_have_url(re.compile(r"/web/rules$"))
            expect(page.locator("h1")).to_have_text("规则准确率")
            row = page.locator('tr[data-rule="refusal.ni-ziji-qu"]')
            expect(row.locator("td.precision")).to_have_text(re.compile(r"^0% \(共 1 条\)$"))
            expect(page.locator('tr[data-rule="command.ni-bixu"] td.precision')).to_contain_text("50%")
            expect(page.locator('tr[data-category="refusal"] td.disputed')).to_have_text("1")
            page.click('tr[data-rule="refusal.ni-ziji-qu"] a.rule-example')  # the calls where it fired
            expect(page).to_have_url(re.compile(r"/web/calls\?rule=refusal.ni-ziji-qu$"))
            expect(page.locator("table tbody tr")).to_have_count(1)
            page.go_back()
            page.click("#lang-toggle")
            expect(page.locator("h1")).to_have_text("Rule precision")
            expect(page.locator('tr[data-rule="command.ni-bixu"] td.precision')).to_have_text("50% (of 2)")
        finally:
            browser.close()


def test_the_verdicts_export_feeds_training(http, keys, judged, server, tmp_path):
    """The export of these verdicts, read by ``huashu train --verdicts``: the confirmed flags are
    positives, the dismissed and overturned ones negatives (models/verdicts.py)."""
    from analyzer.normalize import normalize
    from models.verdicts import verdict_examples

    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/web/login", data={"key": keys["analyst"]}).status_code == 303
        body = client.get("/web/verdicts.jsonl").text
    rows = [json.loads(line) for line in body.splitlines()]
    assert {r["dispute"] for r in rows} == {"", "open", "overturned"} and all("reason" in r for r in rows)
    path = tmp_path / "verdicts.jsonl"
    path.write_text(body, encoding="utf-8")
    lines = {e.text: (e.label, e.span) for e in verdict_examples(path)}
    assert lines == {normalize(text).text: value for text, value in {
        "你搞错了吧，这个单号是昨天才揽收的。": ("you_statement", "你搞错了"),  # the span leaves the particle out
        "你必须先把下单截图发过来，我才能查。": ("command", "你必须"),
        "你搞错了吧，你必须先登录App才能查。": ("none", ""),  # gaocuole not reviewed, bixu dismissed
        "这不是我的事，你去问快递员。": ("refusal", "这不是我的事"),  # ni-ziji-qu overturned, the other stands
    }.items()}
