"""One pipeline behind every door: for each example transcript, ``huashu analyze``, an upload to the
running service (the web page uploads through the same endpoint) read back from its database, and
``huashu report`` give the same flags, customer sentiment, mood, escalations, scorecard,
satisfaction and agent. Nothing is written into the database by the test: the service computes it.

All three run on the lexicon and the baseline sentiment model (fast; the classifier's own door
agreement is ``check_many`` = ``check``, tests/robustness/test_fuzz_engine.py).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from real_server import serve

from analyzer.batch import Options, run_report
from analyzer.callmeta import UNKNOWN_AGENT, agent_key, agent_label
from analyzer.config import Config

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").glob("*.*"))
CONFIG = Config(model="off", sentiment="baseline", lexicon=(), scorecard=(), channel="auto")


def _cli(path: Path) -> dict:
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("HUASHU_")}
    r = subprocess.run([sys.executable, "-m", "analyzer.cli", "analyze", str(path), "--no-model",
                        "--sentiment", "baseline", "--format", "json"],
                       capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _essentials(analysis: dict) -> dict:
    """What must agree: per turn the flags and the sentiment label, then the call's figures."""
    return {
        "turns": [(t["index"], t["role"], t["text"],
                   [(f["start"], f["end"], f["category"], f["rule"], f["rewrite"]) for f in t["flags"]],
                   (t["sentiment"] or {}).get("label"), (t["sentiment"] or {}).get("anger"))
                  for t in analysis["turns"]],
        "scorecard": analysis["scorecard"],
        "summary": analysis["summary"],
        "call": analysis["call"],
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("doors")) as running:
        yield running


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("doors-report")
    return run_report(EXAMPLES, out, options=Options(config=CONFIG), progress=False, xlsx=False)


def test_there_are_examples_of_each_kind():
    assert {p.suffix for p in EXAMPLES} >= {".txt", ".json"} and len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_cli_upload_and_report_agree(path, server, report):
    cli = _cli(path)
    assert any(t["flags"] for t in cli["turns"]), "each example has at least one trigger"
    assert any(t["sentiment"] for t in cli["turns"]), "customer turns are rated"
    with httpx.Client(base_url=server.url, timeout=120,
                      headers={"Authorization": f"Bearer {server.admin_key}"}) as http:
        r = http.post("/v1/transcripts", files={"file": (path.name, path.read_bytes())})
        assert r.status_code == 201, r.text
        stored = http.get(f"/v1/transcripts/{r.json()['id']}").json()
    assert _essentials(stored) == _essentials(cli)
    assert stored["summary"]["satisfaction"] is not None

    [row] = [c for _, c in report.tables["calls"].iterrows() if c["file"] == path.name]
    summary, card = cli["summary"], cli["scorecard"]
    assert row["flags"] == summary["flags"]
    assert row["flags_per_100_agent_turns"] == summary["flags_per_100_agent_turns"]
    assert row["satisfaction"] == summary["satisfaction"]
    assert row["escalations"] == len(summary["escalations"])
    assert row["scorecard_score"] == card["score"] and row["channel"] == card["channel"]
    def cell(name):  # a table's NaN is the analysis's null
        return row[name] if row[name] == row[name] else None

    assert cell("agent") == (agent_label(cli["call"]["agent"]) or UNKNOWN_AGENT)
    assert cell("agent_key") == agent_key(cli["call"]["agent"])
    assert cell("started_at") == cli["call"]["started_at"]
    for item in card["items"]:
        got = row[f"sc_{item['id']}_passed"]
        assert (None if got != got else got) == item["passed"], item["id"]  # NaN: not applicable
    turns = report.tables["turns"]
    rated = turns[(turns["call_id"] == row["call_id"]) & turns["sentiment"].notna()]
    assert list(rated["sentiment"]) == [t["sentiment"]["label"] for t in cli["turns"] if t["sentiment"]]
    flags = report.tables["flags"]
    mine = flags[flags["call_id"] == row["call_id"]]
    assert sorted(zip(mine["turn"], mine["start"], mine["rule"])) == sorted(
        (t["index"], f["start"], f["rule"]) for t in cli["turns"] for f in t["flags"])


def test_the_web_dashboard_and_the_batch_report_count_agents_alike(server, report):
    """One agent rule (``analyzer.callmeta.agent_key``) for the web and batch: per agent, the same
    calls, agent turns and flags. Every example is uploaded (again: a duplicate is answered with the
    call stored before, so this test does not depend on the order tests run in)."""
    from sqlalchemy.orm import Session

    from api.db import create_db_engine
    from api.web import data

    with httpx.Client(base_url=server.url, timeout=120,
                      headers={"Authorization": f"Bearer {server.admin_key}"}) as http:
        for path in EXAMPLES:
            assert http.post("/v1/transcripts", files={"file": (path.name, path.read_bytes())}).status_code in (200, 201)
    engine = create_db_engine(server.database_url)
    try:
        with Session(engine) as session:
            dash = data.dashboard(session)
    finally:
        engine.dispose()
    web = {s.key or None: (s.name, s.calls, s.agent_turns, s.flags) for s in dash.agents}
    batch = {(None if k != k else k): (name, n, turns, flags)
             for k, name, n, turns, flags in report.tables["agents"][
                 ["agent_key", "agent", "calls", "agent_turns", "flags"]].itertuples(index=False)}
    assert web == batch and len(web) >= 2
