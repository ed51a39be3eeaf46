"""Fixtures for the web-page tests: ONE real server per session (``huashu serve`` in a subprocess,
on a free loopback port, over a temporary SQLite file), named keys per role, two calls uploaded
and analysed by the service (customer sentiment, mood and escalations included),
and ONE headless Chromium per session (``/usr/bin/chromium``, driven by Playwright).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from real_server import serve
from web_support import CHROMIUM, CHROMIUM_ARGS, XIAOLI, Server, new_key, upload



@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("web-server")) as running:
        yield running


@pytest.fixture(scope="session")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def keys(http: httpx.Client, server: Server) -> dict[str, str]:
    """Plain keys by who holds them: two supervisors, an analyst, an agent, and the admin."""
    made = {
        "supervisor": ("supervisor", "王主管"), "supervisor2": ("supervisor", "李主管"),
        "analyst": ("analyst", "赵分析"), "agent": ("agent", "新人小周"),
    }
    found = {who: new_key(http, server.admin_key, role, name) for who, (role, name) in made.items()}
    found["admin"] = server.admin_key
    return found


@pytest.fixture(scope="session")
def calls(http: httpx.Client, keys: dict[str, str], server: Server) -> dict[str, dict]:
    """``example``: examples/call-0001.txt (agent 坐席, no sentiment); ``xiaoli``: another call
    (agent 小李(客服)) whose customer gets angry after a trigger and calms down again."""
    example = upload(http, keys["supervisor"], name="call-0001.txt")
    xiaoli = upload(http, keys["supervisor"], XIAOLI, name="xiaoli.txt")
    summary = xiaoli["summary"]  # sentiment, mood and escalations computed by the service at upload
    assert summary["escalations"] and summary["satisfaction"] is not None, summary
    return {"example": example, "xiaoli": xiaoli}


# -- the browser -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser, server: Server, keys: dict[str, str]) -> Iterator[Callable]:
    """``open_page(who)``: a page in a fresh browser context, logged in as ``who`` (a key of
    ``keys``) through the login form, or not logged in for ``None``. JavaScript errors fail the test."""
    contexts, errors = [], []

    def open_as(who: str | None = None):
        context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(5000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if who is not None:
            page.goto("/web/login")
            page.fill("#key", keys[who])
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"/web/(calls|live)$"))
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert errors == []
