"""``huashu analyze --format html`` shows the same scorecard, mood and times as the web's call page
(issue #15): the example calls and two more uploaded to the real server, and the same files
analysed by the command, then compared per call: each scorecard item's label, value and handbook
source, the customer's mood points and each turn's time."""
from __future__ import annotations

import html
import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from real_server import REPO, serve
from web_support import PARITY_FILES as FILES
from web_support import Server, new_key, upload


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("call-page-server")) as running:
        yield running


@pytest.fixture(scope="module")
def web(server: Server) -> dict:
    """The web's call page of each file."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        key = new_key(http, server.admin_key, "supervisor", "王主管")
        ids = {name: upload(http, key, data, name=name)["id"] for name, data in FILES.items()}
        assert http.post("/web/login", data={"key": key}).status_code == 303
        return {"calls": {name: http.get(f"/web/calls/{tid}").text for name, tid in ids.items()}}


def _scorecard(page: str, row: str, label: str, value: str, source: str) -> dict[str, tuple[str, str, str]]:
    found = {}
    def text(rx: str, cells: str) -> str:
        m = re.search(rx, cells, re.DOTALL)
        return html.unescape(m.group(1)).strip() if m else ""

    for item, cells in re.findall(row, page, re.DOTALL):
        found[item] = (text(label, cells), text(value, cells), text(source, cells))
    return found


def test_analyze_html_shows_the_web_call_page_scorecard_mood_and_times(web, tmp_path):
    """``huashu analyze --format html`` and the web's call page: the same scorecard (label, value,
    handbook source), the same mood points and the same turn times."""
    seen = {"points": 0, "times": 0}
    for name, data in FILES.items():
        path = tmp_path / name
        path.write_bytes(data)
        out = tmp_path / (name + ".html")
        done = subprocess.run(
            [sys.executable, "-m", "analyzer.cli", "analyze", str(path), "--format", "html", "--out", str(out),
             "--no-model", "--sentiment", "baseline"], capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        mine, page = out.read_text(encoding="utf-8"), web["calls"][name]
        cli_card = _scorecard(mine, r"<tr class='p\w+' data-item='(\w+)'>(.*?)</tr>", r"</td><td>([^<]*)<br>",
                              r"</small></td><td>([^<]*)", r"<td class='src'>([^<]*)</td>")
        web_card = _scorecard(page, r'<tr class="\w+" data-item="(\w+)">(.*?)</tr>', r'<span title="[^"]*">([^<]*)</span>',
                              r'<td class="num">([^<]*)</td>', r'<span title="([^"]*)">')
        assert cli_card and cli_card == web_card, name
        assert all("《" in source for _, _, source in cli_card.values()), name

        def points(text: str) -> list[tuple[str, str]]:
            chart = re.search(r'<svg class="chart" data-chart="mood".*?</svg>', text, re.DOTALL)
            return re.findall(r'<circle class="point"[^>]*><title>[^<]*?(\d+): ([+-]\d\.\d\d)</title>', chart.group(0)) if chart else []

        assert points(mine) == points(page), name
        times = re.findall(r"<small>(\d\d:\d\d:\d\d)</small>", mine)
        assert times == re.findall(r"<time>(\d\d:\d\d:\d\d)</time>", page), name
        seen["points"] += len(points(mine))
        seen["times"] += len(times)
    assert seen["points"] >= 10 and seen["times"] >= 20, seen  # the comparison had something to compare
