"""Helpers shared by the web-page tests (fixtures are in conftest.py).

tests/web is not a package (like tests/api): pytest puts this folder on ``sys.path``, so the
test modules ``import web_support``; the name must stay unique across the test folders.
"""
from __future__ import annotations

import re
from pathlib import Path

import httpx
from real_server import REPO, Server, bearer  # noqa: F401 (the web tests' imports)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EXAMPLE = (REPO / "examples" / "call-0001.txt").read_bytes()
# A second call, another agent: 小李 refuses and blames; the customer gets angry, then calms down.
XIAOLI = """\
[00:00:01] 小李(客服)：您好，这里是顺达快递客服中心，请问有什么可以帮您？
[00:00:05] 客户：我的快递显示签收了，可我根本没收到。
[00:00:12] 小李(客服)：这不是我的事，你去问快递员。
[00:00:20] 客户：你们这是什么态度！我要投诉！
[00:00:26] 小李(客服)：非常抱歉，我马上帮您联系站点核实，请您稍候。
[00:00:50] 客户：好的，谢谢。
[00:00:55] 小李(客服)：感谢您的耐心，祝您生活愉快，再见！
""".encode()

# The calls the parity tests upload and analyse by command (test_report_parity, test_call_page_parity):
# the example calls, 小李's call above, and a second call of 小李 (Traditional, with an emoji).
XIAOLI_2 = """\
[00:00:01] 小李(客服)：您好，歡迎致電順達快遞，請問有什麼可以幫您？
[00:00:06] 客户：我想改一下收件地址
[00:00:11] 小李(客服)：你必須先提供單號，不然我沒辦法查😅
[00:00:20] 客户：單號是SD123，麻煩了
[00:00:26] 小李(客服)：好的，已經幫您改好了，感謝您的耐心，再見！
""".encode()
PARITY_FILES = {p.name: p.read_bytes() for p in sorted((REPO / "examples").iterdir()) if p.suffix in (".txt", ".json")}
PARITY_FILES.update({"xiaoli-1.txt": XIAOLI, "xiaoli-2.txt": XIAOLI_2})


def new_key(http: httpx.Client, admin_key: str, role: str, name: str) -> str:
    r = http.post("/v1/keys", json={"name": name, "role": role}, headers=bearer(admin_key))
    assert r.status_code == 201, r.text
    return r.json()["key"]


def upload(http: httpx.Client, key: str, data: bytes = EXAMPLE, name: str = "call.txt") -> dict:
    r = http.post("/v1/transcripts", files={"file": (name, data)}, headers=bearer(key))
    assert r.status_code == 201, r.text
    return r.json()


def login(http: httpx.Client, key: str) -> str:
    """Log ``http`` in with ``key`` (the cookie stays in the client); returns the page's CSRF token."""
    r = http.post("/web/login", data={"key": key})
    assert r.status_code == 303, r.text
    page = http.get("/web/")
    page = http.get(page.headers["location"]) if page.status_code == 303 else page
    found = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', page.text)
    assert found, page.text[:500]
    return found.group(1)
