"""Issue #15 on the web, on a server of this module's own: the same file uploaded twice is stored
once and the upload page says so (中文 and English) with a link to the stored call; the dashboard
groups agents by one rule (employee id, else name; a bare 坐席/客服/agent/Agent is no agent of its
own) and its date filter uses the call's own start (a chat export of 30 March 2025 is found in
March 2025, whenever it was uploaded)."""
from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect
from real_server import serve
from web_support import Server, login, new_key, upload

from api.web.i18n import LANG_COOKIE

# Calls written for these tests. 工号1234 takes two calls under two labels (客服, 坐席); 小林 (a
# WeChat export, no number) one; four calls under bare role labels name no agent at all.
WECOM = (
    "客服小林 2025-03-30 14:03:10\n您好，我是客服小林，很高兴为您服务😊\n"
    "王女士 2025-03-30 14:03:41\n我的快递三天了还没到！！\n"
    "客服小林 2025-03-30 14:04:30\n你必须先把单号发过来\n"
).encode()
ID_1234_A = "客服：您好，工号1234为您服务。\n客户：我要改地址。\n客服：好的，请您提供新地址。\n".encode()
ID_1234_B = "坐席：您好，我的工号是1234。\n客户：网速太慢了。\n坐席：你搞错了吧。\n".encode()
BARE = [f"{label}：您好，请问有什么可以帮您？\n客户：我想问一下第{n}个问题。\n".encode()
        for n, label in enumerate(("坐席", "客服", "agent", "Agent"), 1)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("dup-server")) as running:
        yield running


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def keys(http: httpx.Client, server: Server) -> dict[str, str]:
    return {"supervisor": new_key(http, server.admin_key, "supervisor", "主管"), "admin": server.admin_key}


@pytest.fixture(scope="module")
def stored(http: httpx.Client, keys: dict[str, str]) -> dict[str, dict]:
    calls = {"wecom": upload(http, keys["supervisor"], WECOM, name="wecom.txt"),
             "a": upload(http, keys["supervisor"], ID_1234_A, name="a.txt"),
             "b": upload(http, keys["supervisor"], ID_1234_B, name="b.txt")}
    for n, data in enumerate(BARE):
        calls[f"bare{n}"] = upload(http, keys["supervisor"], data, name=f"bare{n}.txt")
    return calls


def _agent_rows(page_html: str) -> dict[str, int]:
    """Agent name → calls, from the agents table of /web/agents."""
    table = page_html.split('id="agents-table"', 1)[-1] if 'id="agents-table"' in page_html else page_html
    rows = re.findall(r'<td><a href="/web/agents\?agent=[^"]*">([^<]+)</a></td>\s*<td class="num"><a[^>]*>(\d+)</a>',
                      table)
    return {name: int(n) for name, n in rows}


def test_the_dashboard_groups_agents_by_one_rule(http, keys, stored):
    with httpx.Client(base_url=str(http.base_url), timeout=60) as web:
        login(web, keys["supervisor"])
        page = web.get("/web/agents")
        assert page.status_code == 200
        agents = _agent_rows(page.text)
        assert agents["工号1234"] == 2  # two labels, one employee id: one agent
        assert agents["小林"] == 1
        for bare in ("坐席", "客服", "agent", "Agent"):
            assert bare not in agents  # never agents of their own
        assert agents["未识别坐席 / agent not identified"] == 4
        one = web.get("/web/agents", params={"agent": "id:1234"})
        assert "工号1234" in one.text and 'value="id:1234" selected' in one.text


def test_the_date_filter_uses_the_call_start(http, keys, stored):
    with httpx.Client(base_url=str(http.base_url), timeout=60) as web:
        login(web, keys["supervisor"])
        march = _agent_rows(web.get("/web/agents", params={"date_from": "2025-03-01", "date_to": "2025-03-31"}).text)
        assert march == {"小林": 1}  # uploaded today, started on 30 March 2025 (Asia/Shanghai)
        day = _agent_rows(web.get("/web/agents", params={"date_from": "2025-03-30", "date_to": "2025-03-30"}).text)
        assert day == {"小林": 1}
        before = _agent_rows(web.get("/web/agents", params={"date_to": "2025-03-29"}).text)
        assert before == {}


def _drop(page, name: str, text: str) -> None:
    page.evaluate(
        """([name, text]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], name, {type: "text/plain"}));
            document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
        }""",
        [name, text],
    )


def test_the_upload_page_says_a_file_is_a_duplicate_and_links_to_the_stored_call(open_page, http, keys, stored):
    page = open_page("supervisor")
    page.goto("/web/upload")
    _drop(page, "wecom-again.txt", WECOM.decode())
    item = page.locator('li.upload-item[data-name="wecom-again.txt"]')
    expect(item).to_have_class(re.compile(r"\bok\b"))
    expect(item.locator(".status")).to_contain_text("该文件已上传过（wecom.txt），未重复保存。")
    link = item.locator("a")
    expect(link).to_have_attribute("href", f"/web/calls/{stored['wecom']['id']}")
    link.click()
    expect(page).to_have_url(re.compile(rf"/web/calls/{stored['wecom']['id']}$"))
    expect(page.locator("h1")).to_have_text("wecom.txt")


def test_the_duplicate_message_in_english(open_page, http, keys, stored):
    page = open_page("supervisor")
    page.context.add_cookies([{"name": LANG_COOKIE, "value": "en", "url": str(http.base_url)}])
    page.goto("/web/upload")
    _drop(page, "copy.txt", ID_1234_A.decode())
    item = page.locator('li.upload-item[data-name="copy.txt"]')
    expect(item.locator(".status")).to_contain_text("This file was uploaded before (a.txt); it was not stored again.")
    expect(item.locator("a")).to_have_text("Open the stored call")


def test_upload_form_fields_reach_the_call(open_page, http, keys):
    page = open_page("supervisor")
    page.goto("/web/upload")
    page.click("details.call-meta summary")
    page.fill("#agent-name", "王芳")
    page.fill("#employee-id", "7788")
    page.fill("#started-at", "2025-03-02T09:30:00")
    page.select_option("#channel", "chat")
    _drop(page, "fields.txt", "坐席：您好，请问有什么可以帮您\n客户：我要改地址\n")
    item = page.locator('li.upload-item[data-name="fields.txt"]')
    expect(item).to_have_class(re.compile(r"\bok\b"))
    href = item.locator("a").get_attribute("href")
    call = http.get(f"/v1/transcripts/{href.rsplit('/', 1)[1]}", headers={"Authorization": f"Bearer {keys['supervisor']}"}).json()
    assert call["call"]["agent"] == {"name": "王芳", "employee_id": "7788"}
    assert call["call"]["started_at"] == "2025-03-02T09:30:00+08:00"
    assert call["call"]["channel"] == "chat"
