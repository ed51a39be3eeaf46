"""The batch report and the web pages give the same figures for the same calls (issue #15): N calls
uploaded to the real server and ``huashu report`` run on the same files, then per agent the calls,
agent turns, triggers, triggers per 100 agent turns, mean satisfaction, mean scorecard share and
each scorecard item's pass rate compared — the web's from its agents export and agents pages, the
report's from its agents table and its page."""
from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator

import httpx
import pytest
from real_server import serve
from web_support import PARITY_FILES as FILES
from web_support import Server, new_key, upload

from analyzer import labels
from analyzer.batch import Options, run_report


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("parity-server")) as running:
        yield running


@pytest.fixture(scope="module")
def web(server: Server) -> dict:
    """Per agent name: the web's figures (agents export, and the agent's page for pass rates)."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        key = new_key(http, server.admin_key, "supervisor", "王主管")
        for name, data in FILES.items():
            upload(http, key, data, name=name)
        assert http.post("/web/login", data={"key": key}).status_code == 303
        export = http.get("/web/agents.csv")
        assert export.status_code == 200, export.text[:300]
        from api.web.exports import headers

        columns = {header: cid for cid, header in headers("agents")}
        rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
        agents = {row[next(h for h, c in columns.items() if c == "name")]: {columns[h]: v for h, v in row.items()}
                  for row in rows}
        page = http.get("/web/agents").text
        for name, figures in agents.items():
            row = re.search(rf'<tr data-name="{re.escape(html.escape(name))}">.*?href="([^"]+)"', page, re.DOTALL)
            assert row, name
            mine = http.get(html.unescape(row.group(1))).text
            chart = re.search(r'<svg class="chart" data-chart="scorecard".*?</svg>', mine, re.DOTALL).group(0)
            figures["pass_rates"] = dict(re.findall(r"<g class=\"bar\"><title>([^<]+): (\d+%)</title>", chart))
    return {"agents": agents}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("parity-calls")
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    out = tmp_path_factory.mktemp("parity-report")
    report = run_report([folder], out, options=Options.of(sentiment="baseline"), progress=False, xlsx=False)
    agents = report.tables["agents"]
    assert len(report.tables["calls"]) == len(FILES) and report.tables["errors"].empty
    return {"agents": {row["agent"]: row for _, row in agents.iterrows()},
            "page": (out / "report.html").read_text(encoding="utf-8")}


def test_the_same_agents(web, batch):
    """Grouped by one rule (analyzer.callmeta: employee id, else name), the same names, the
    calls with no identified agent under the same label."""
    web = web["agents"]
    assert len(web) >= 4 and set(web) == set(batch["agents"])
    assert "小李" in web and "未识别坐席 / agent not identified" in web


def test_the_same_figures_per_agent(web, batch):
    web = web["agents"]
    for name, w in web.items():
        b = batch["agents"][name]
        assert int(w["calls"]) == b["calls"], name
        assert int(w["agent_turns"]) == b["agent_turns"], name
        assert int(w["flags"]) == b["flags"], name
        assert float(w["rate"]) == b["flags_per_100_agent_turns"], name
        assert round(float(w["satisfaction"]), 2) == round(b["satisfaction_mean"], 2), name
        assert round(float(w["score"]), 2) == round(b["scorecard_score_mean"], 2), name


def test_the_same_pass_rates_per_agent(web, batch):
    web = web["agents"]
    for name, w in web.items():
        b = batch["agents"][name]
        expected = {labels.scorecard_label(col[3:-5]): labels.percent(b[col])
                    for col in b.index if col.startswith("sc_") and col.endswith("_rate") and labels.percent(b[col]) != "—"}
        assert w["pass_rates"] == expected, name


def test_the_report_page_shows_the_web_figures(web, batch):
    web = web["agents"]
    page = batch["page"]
    for name, w in web.items():
        shown = html.escape(name)
        row = re.search(rf"<tr><td class='l' data-col='team'>[^<]*</td><td class='l' data-col='agent'>{re.escape(shown)}</td>(.*?)</tr>",
                        page, re.DOTALL)
        assert row, name
        cells = dict(re.findall(r"data-col='(\w+)'>([^<]*)<", row.group(1)))
        assert cells["calls"] == w["calls"] and cells["flags"] == w["flags"], name
        assert cells["scorecard_score_mean"] == labels.percent(float(w["score"])), name
