"""The agents page's bars open the calls behind them, and pass rates carry their counts (against the
real server; the session's calls plus a ZIP of this module's own, under a team of its own)."""
from __future__ import annotations

import html
import re
import uuid

import httpx
import pytest
from web_support import XIAOLI, Server, bearer, login

from api.web import drill


@pytest.fixture(scope="module")
def team_calls(http: httpx.Client, keys: dict[str, str]) -> dict:
    team = f"下钻组-{uuid.uuid4().hex[:6]}"
    ids = []
    for i in range(2):
        r = http.post("/v1/transcripts", files={"file": (f"drill-{i}.txt", XIAOLI + f"\n客户：编号{team}{i}\n".encode())},
                      data={"team": team}, headers=bearer(keys["supervisor"]))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return {"team": team, "ids": ids}


@pytest.fixture
def analyst(server: Server, keys) -> httpx.Client:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        login(client, keys["analyst"])
        yield client


def _bars(page: str, chart: str) -> list[tuple[str, str]]:
    """``(href, the bar's own title text)`` of each linked bar of one chart."""
    svg = re.search(r'<svg class="chart" data-chart="' + chart + r'".*?</svg>', page, re.S)
    assert svg, chart
    return [(html.unescape(href), html.unescape(title))
            for href, title in re.findall(r'<a class="drill" href="([^"]+)"[^>]*><g class="bar"><title>([^<]*)</title>', svg.group(0))]


def _listed(client: httpx.Client, href: str) -> int:
    page = client.get(href)
    assert page.status_code == 200
    return len(re.findall(r'<tr data-call-id="', page.text))


def test_a_team_bar_and_a_category_bar_open_the_calls_they_count(team_calls, analyst):
    page = analyst.get("/web/agents", params={"team": team_calls["team"]}).text
    teams = {title.split(":")[0]: href for href, title in _bars(page, "team_rates")}
    href = teams[team_calls["team"]]
    assert _listed(analyst, href) == 2  # the team's two calls
    categories = _bars(page, "categories")
    assert categories, "the team's calls have triggers"
    for href, title in categories:
        name, count = title.rsplit(": ", 1)
        listed = analyst.get(href).text
        assert f"team={team_calls['team']}" in html.unescape(href) or "team=%E4%B8%8B" in href
        assert re.search(r"category=\w+", href)
        # each listed call has that category's chip: the bar's calls, no others
        rows = re.findall(r'<tr data-call-id="[^"]+".*?</tr>', listed, re.S)
        assert rows and all(name in row for row in rows)
        assert sum(int(n) for row in rows for n in re.findall(re.escape(name) + r" (\d+)</span>", row)) >= int(float(count))


def test_pass_rates_are_written_with_their_counts(team_calls, analyst):
    page = analyst.get("/web/agents", params={"team": team_calls["team"]}).text
    svg = re.search(r'<svg class="chart" data-chart="scorecard".*?</svg>', page, re.S).group(0)
    written = re.findall(r"(\d+)/(\d+) 通过（(\d+)%）", svg)
    assert written and all(int(judged) == 2 for _, judged, _ in written)  # two calls judged per item
    assert all(round(100 * int(p) / int(j)) == int(pct) for p, j, pct in written)
    assert not re.search(r">\d+%</text>", svg)  # never a bare share
    assert re.search(r"%（2 通）", page)  # the team's scorecard figure says how many calls it averages


def test_link_bars_wraps_each_bar_in_order_and_leaves_an_empty_chart_alone():
    from api.web import charts

    chart = charts.bars([("甲", 1.0), ("乙<", 2.0)], name="x", title="t", empty_text="无")
    linked = str(drill.link_bars(chart, ["/web/calls?a=1", None], texts=["1/2 通过（50%）", "x"]))
    assert linked.count('<a class="drill"') == 1 and 'href="/web/calls?a=1"' in linked
    assert "1/2 通过（50%）</text>" in linked and ">x</text>" in linked and "乙&lt;" in linked
    empty = charts.bars([], name="x", title="t", empty_text="无")
    assert str(drill.link_bars(empty, ["/a"])) == str(empty)
    assert drill.calls_url(agent="小李", category="refusal", sort="flags_desc") == (
        "/web/calls?agent=%E5%B0%8F%E6%9D%8E&category=refusal&sort=flags_desc")
