"""Batch reports (analyzer/batch.py): files and folders of mixed formats in, tables, a
self-contained HTML report and one annotated page per call out; the same tables on a local Dask
cluster of 2 worker processes."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analyzer.batch import Options, find_files, run_report
from analyzer.batch_report import TABLES
from analyzer.callmeta import UNKNOWN_AGENT
from analyzer.model import HuashuError
from script_support import load_bench

REPO = Path(__file__).resolve().parents[1]
make_corpus = load_bench("batch_speed").make_corpus

OPTIONS = Options.of(sentiment="none")
N_CALLS = 30


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    make_corpus(root, N_CALLS)
    return root


@pytest.fixture(scope="module")
def local(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return run_report([corpus], out, options=OPTIONS, progress=False, chunk_size=4)


def test_tables_cover_every_readable_call(local, corpus):
    calls, errors = local.tables["calls"], local.tables["errors"]
    assert len(calls) == N_CALLS and calls["call_id"].is_unique
    assert set(calls["format"]) == {"speaker-text", "csv", "tsv", "json", "jsonl", "xlsx"}
    assert {"gb18030", "big5", "utf-8", "utf-8-sig"} <= set(calls["encoding"])
    # the three broken files are listed with the reader's own message, and the run went on
    assert sorted(Path(f).name for f in errors["file"]) == ["empty.txt", "not-a-table.xlsx", "unknown-speaker.txt"]
    reasons = dict(zip((Path(f).name for f in errors["file"]), errors["reason"]))
    assert "the file is empty" in reasons["empty.txt"]
    assert "unknown-speaker.txt:1:" in reasons["unknown-speaker.txt"] and "张三" in reasons["unknown-speaker.txt"]
    # team and date from <team>/<date>/file
    for _, row in calls.iterrows():
        team, date, _ = row["file"].split("/")
        assert (row["team"], row["date"]) == (team, date)
    # turns and flags add up
    assert local.tables["turns"].groupby("call_id").size().sort_index().tolist() == \
        calls.set_index("call_id")["turns"].sort_index().tolist()
    assert len(local.tables["flags"]) == calls["flags"].sum()
    categories = [c for c in calls.columns if c.startswith("flags_") and c != "flags_per_100_agent_turns"]
    assert (calls[categories].sum(axis=1) == calls["flags"]).all()
    assert local.utterances == calls["turns"].sum()


def test_aggregates_add_up(local):
    calls, agents, teams, days = (local.tables[k] for k in ("calls", "agents", "teams", "days"))
    assert agents["calls"].sum() == teams["calls"].sum() == days["calls"].sum() == len(calls)
    for _, team in teams.iterrows():
        mine = calls[calls["team"] == team["team"]]
        assert team["flags"] == mine["flags"].sum()
        assert team["flags_per_100_agent_turns"] == round(100 * mine["flags"].sum() / mine["agent_turns"].sum(), 1)
    assert set(agents["agent"]) == set(calls["agent"])
    assert "工号1024" in set(agents["agent"]) and not any("工號" in a for a in agents["agent"])
    rates = [c for c in agents.columns if c.startswith("sc_") and c.endswith("_rate")]
    assert "sc_greeting_rate" in rates and agents[rates].stack().dropna().between(0, 1).all()


def test_files_written(local):
    out = local.out
    for name in TABLES:
        assert (out / f"{name}.csv").is_file()
        back = pd.read_parquet(out / f"{name}.parquet")
        assert len(back) == len(local.tables[name])
    sheets = pd.read_excel(out / "report.xlsx", sheet_name=None)
    assert set(sheets) == set(TABLES) and len(sheets["calls"]) == N_CALLS
    csv = (out / "calls.csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the Chinese correctly


def test_html_report_is_self_contained_and_links_every_worst_call(local):
    page = (local.out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "worst calls" in page and "unreadable files" in page
    assert not re.search(r"<script[^>]+src|<link[^>]+href|url\(\s*['\"]?https?:|src=['\"]https?:", page)
    links = re.findall(r"href='(calls/[^']+\.html)'", page)
    assert len(links) == min(20, N_CALLS)
    for link in links:
        call_page = (local.out / link).read_text(encoding="utf-8")
        assert "评分卡 / scorecard" in call_page and "../report.html" in call_page
    assert len(list((local.out / "calls").glob("*.html"))) == N_CALLS
    assert "empty.txt" in page  # the unreadable files are listed


def test_meta_file_and_dates_from_timestamps(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("2025-04-02 10:00:01 坐席: 您好，顺达快递。\n2025-04-02 10:00:09 客户: 查快递。\n",
                                  encoding="utf-8")
    (folder / "b-2025-05-06.txt").write_text("坐席：您好。\n客户：你好。\n", encoding="utf-8")
    (folder / "c.txt").write_text("坐席：您好，工号77，很高兴为您服务。\n客户：你好。\n", encoding="utf-8")
    meta = tmp_path / "meta.csv"
    meta.write_text("file,agent,team,date\nc.txt,王芳,二组,2025-01-31\n", encoding="utf-8")
    calls = run_report([folder], None, options=OPTIONS, meta=meta, progress=False).tables["calls"].set_index("file")
    # a bare 坐席 names no agent (analyzer.callmeta: one rule with the web)
    assert calls.loc["a.txt", "date"] == "2025-04-02" and calls.loc["a.txt", "agent"] == UNKNOWN_AGENT
    assert calls.loc["b-2025-05-06.txt", "date"] == "2025-05-06"
    assert tuple(calls.loc["c.txt", ["agent", "team", "date"]]) == ("王芳", "二组", "2025-01-31")
    # without the meta file, the bare label gives way to the employee number stated
    calls = run_report([folder / "c.txt"], None, options=OPTIONS, progress=False).tables["calls"]
    assert calls.loc[0, "agent"] == "工号77" and calls.loc[0, "team"] is None


def test_missing_paths(tmp_path):
    (tmp_path / "a.txt").write_text("坐席：您好。\n客户：你好。\n", encoding="utf-8")
    report = run_report([tmp_path / "a.txt", tmp_path / "nope"], None, options=OPTIONS, progress=False)
    assert len(report.tables["calls"]) == 1
    assert report.tables["errors"]["reason"].str.contains("no such file").all()
    with pytest.raises(HuashuError):
        run_report([tmp_path / "nope"], None, options=OPTIONS, progress=False)


def test_hidden_and_lock_files_skipped(tmp_path):
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.txt").write_text("坐席：您好。\n", encoding="utf-8")
    (tmp_path / "~$book.xlsx").write_bytes(b"lock")
    (tmp_path / "a.txt").write_text("坐席：您好。\n", encoding="utf-8")
    jobs, missing = find_files([tmp_path])
    assert [j.rel for j in jobs] == ["a.txt"] and not missing


def _parser():
    from analyzer.cli import build_parser

    return build_parser()


def test_report_command(corpus, tmp_path, capsys):
    args = _parser().parse_args(["report", str(corpus / "售后一组"), "--out", str(tmp_path / "r"), "--no-model",
                                 "--sentiment", "none", "--no-xlsx", "--no-progress"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "calls" in out and (tmp_path / "r" / "report.html").is_file() and not (tmp_path / "r" / "report.xlsx").exists()


def test_default_path_imports_no_dask(tmp_path):
    (tmp_path / "a.txt").write_text("坐席：您好。\n客户：你好。\n", encoding="utf-8")
    code = ("import sys; from analyzer.batch import run_report, Options; "
            f"run_report([{str(tmp_path / 'a.txt')!r}], {str(tmp_path / 'out')!r}, options=Options.of(sentiment='none'), "
            "progress=False, html_report=False); "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))))")
    r = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, cwd=REPO,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []


def test_dask_local_cluster_gives_the_same_tables(corpus, local, tmp_path):
    pytest.importorskip("dask.distributed")
    dask = run_report([corpus], tmp_path / "dask", options=OPTIONS, workers=2, progress=False, chunk_size=4)
    for name in TABLES:
        pd.testing.assert_frame_equal(local.tables[name].reset_index(drop=True),
                                      dask.tables[name].reset_index(drop=True), check_exact=True)
    assert sorted(p.name for p in (tmp_path / "dask" / "calls").iterdir()) == \
        sorted(p.name for p in (local.out / "calls").iterdir())
    # two worker processes, each built the engine once and ran several chunks with it
    assert len(dask.workers) == 2 and len({w["pid"] for w in dask.workers.values()}) == 2
    assert all(w["builds"] == 1 for w in dask.workers.values())
    assert sum(w["chunks"] for w in dask.workers.values()) == -(-(N_CALLS + 3) // 4)  # 33 files, 4 a chunk


@pytest.mark.skipif(not (REPO / "models" / "sentiment" / "sentiment.json").is_file(),
                    reason="no trained sentiment artefact in models/sentiment/")
def test_report_with_customer_sentiment(corpus, tmp_path):
    report = run_report([corpus / "售后一组"], tmp_path / "r", options=Options.of(sentiment="baseline"),
                        progress=False, xlsx=False)
    calls, turns = report.tables["calls"], report.tables["turns"]
    assert report.sentiment_model == "baseline" and calls["satisfaction"].between(0, 1).all()
    customer = turns[turns["role"] == "customer"]
    assert customer["sentiment"].notna().all() and turns[turns["role"] == "agent"]["sentiment"].isna().all()
    assert calls["escalations"].sum() > 0
    assert report.tables["agents"]["satisfaction_mean"].notna().all()
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "customer mood through the call" in page and "sentiment: baseline" in page


def test_agents_are_grouped_by_employee_id_then_name(tmp_path):
    """One rule with the web (analyzer.callmeta.agent_key): two labels with one employee id are one
    agent; names in labels and self-introductions are agents; bare role labels are none; the --meta
    file's employee_id, started_at and channel override the transcript's."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("客服：您好，工号1234为您服务。\n客户：你好。\n", encoding="utf-8")
    (folder / "b.txt").write_text("坐席：您好，我的工號是1234。\n客戶：你好。\n", encoding="utf-8")
    (folder / "c.txt").write_text("【客服-小林】您好😊\n【客户】在吗\n", encoding="utf-8")
    (folder / "d.txt").write_text("Agent：您好。\n客户：你好。\n", encoding="utf-8")
    (folder / "e.txt").write_text("agent：您好。\n客户：你好。\n", encoding="utf-8")
    (folder / "f.txt").write_text("客服小林 2025-03-30 14:03:10\n亲，在的\n买家 2025-03-30 14:04:10\n好\n", encoding="utf-8")
    report = run_report([folder], None, options=OPTIONS, progress=False)
    agents = report.tables["agents"].set_index("agent")
    assert dict(agents["calls"]) == {"工号1234": 2, "小林": 2, UNKNOWN_AGENT: 2}
    assert agents.loc["工号1234", "agent_key"] == "id:1234" and agents.loc["小林", "agent_key"] == "name:小林"
    calls = report.tables["calls"].set_index("file")
    assert calls.loc["f.txt", "started_at"] == "2025-03-30T14:03:10+08:00" and calls.loc["f.txt", "date"] == "2025-03-30"
    assert calls.loc["f.txt", "channel"] == "chat"

    meta = tmp_path / "meta.csv"
    meta.write_text("file,agent,employee_id,started_at,channel\nd.txt,王芳,5678,2025-02-01 08:00,chat\n", encoding="utf-8")
    calls = run_report([folder], None, options=OPTIONS, meta=meta, progress=False).tables["calls"].set_index("file")
    d = calls.loc["d.txt"]
    assert (d["agent"], d["agent_key"], d["started_at"], d["date"], d["channel"]) == (
        "王芳（工号5678）", "id:5678", "2025-02-01T08:00:00+08:00", "2025-02-01", "chat")
    meta.write_text("file,started_at\nd.txt,someday\n", encoding="utf-8")
    with pytest.raises(HuashuError, match=r"meta.csv:2: .*start time must be ISO 8601"):
        run_report([folder], None, options=OPTIONS, meta=meta, progress=False)
