"""bench/api_load.py's pure helpers: the soak's upload call, growth and verdicts on issue #13's
targets, and the results tables (no server started here)."""
from __future__ import annotations

from collections import Counter

import pytest

from analyzer.ingest import parse_transcript
from script_support import load_bench

MiB = 2 ** 20


@pytest.fixture(scope="module")
def bench():
    return load_bench("api_load")


def test_growth_percentile_and_verdicts(bench):
    assert bench.growth_pct(400, 420) == pytest.approx(5.0)
    assert bench.growth_pct(400, 380) == pytest.approx(-5.0)
    assert bench.percentile([float(i) for i in range(1, 101)], 0.99) == 100.0
    assert bench.percentile([3.0], 0.99) == 3.0
    assert bench.verdict("p99_1", 15.0).endswith(": met")  # at most 15 ms
    assert bench.verdict("p99_8", 40.1).endswith("not met")
    assert bench.verdict("rss_start", 599.0) == "target ≤ 600: met"
    assert bench.verdict("rss_growth", 4.9).endswith(": met")  # strictly under 5 %
    assert bench.verdict("rss_growth", 5.0) == "target < 5: not met"
    assert bench.verdict("p99_1", None).endswith("no figure")
    assert "logical CPUs" in bench.machine() and "onnxruntime" in bench.machine()


def test_upload_calls_differ_and_parse(bench):
    turns = bench.example_turns()
    assert len(turns) >= 20 and {who for who, _ in turns} == {"坐席", "客户"}
    calls = [bench.upload_call(seed, turns=turns) for seed in range(5)]
    assert len(set(calls)) == 5  # other bytes each time: no duplicate answer
    text = calls[3].decode("utf-8")
    assert len(text) >= 3000 and "编号3" in text.splitlines()[0]
    transcript = parse_transcript(calls[3], "soak-3.txt")
    assert len(transcript.turns) == len(text.splitlines())
    assert {t.role for t in transcript.turns} == {"agent", "customer"}


def row(model, clients, p99, status=None):
    return {"model": model, "model_status": status or ("loaded" if model == "on" else "off"), "clients": clients,
            "requests": 200, "failures": 0, "seconds": 1.0, "p50_ms": p99 / 3, "p99_ms": p99, "rps": 100.0}


def test_tables_show_the_model_and_the_targets(bench):
    text = bench.table([row("off", 1, 5.0), row("on", 1, 12.0), row("on", 8, 55.0), row("on", 32, 200.0),
                        row("on", 1, 3.0, status="unavailable")])
    lines = text.splitlines()
    assert lines[0].startswith("| model | clients |")
    assert lines[2].startswith("| off | 1 |") and lines[2].endswith("|  |")  # no target without the model
    assert "p99 target ≤ 15: met" in lines[3] and "p99 target ≤ 40: not met" in lines[4]
    assert lines[5].endswith("|  |")  # 32 clients: no target
    assert lines[6].startswith("| on (model unavailable) |")

    soaked = {"startup": (500 * MiB, 1100 * MiB), "warm": (520 * MiB, 1120 * MiB), "half": (525 * MiB, 1125 * MiB), "end": (530 * MiB, 1130 * MiB),
              "max": (540 * MiB, 1150 * MiB), "seconds": 300.0, "requests": 9000, "failures": 0, "rps": 30.0,
              "p50_ms": 90.0, "p99_ms": 250.0, "scheduled": 60, "samples": 300, "model_status": "loaded",
              "call_chars": 3007, "warmup_upload": (201, 1.5),
              "uploads": {"count": 58, "failures": 1, "statuses": Counter({"201": 57, "429": 1}),
                          "seconds": [1.0, 2.0, 9.0], "errors": ["429: too many uploads waiting"]}}
    worker = bench.soak_table(soaked).splitlines()[2]
    assert worker.startswith("| API worker") and "| 500 | 520 | 525 | 530 | 540 | +1.9 % |" in worker
    assert "start-up target ≤ 600: met; growth target < 5: met" in worker
    summary = bench.soak_summary(soaked)
    assert "Uploads: 58 of 60 scheduled" in summary and "201: 57, 429: 1" in summary and "429: too many" in summary
    assert "upload, with no other load: 201 in 1.5 s" in summary

    ctx = {"machine": "a CPU", "date": "2026-01-01 00:00", "minutes": 1.0, "command": "python bench/api_load.py",
           "load_start": (1.0, 0.5, 0.25), "load_end": (2.0, 1.0, 0.5), "warmup": 300, "texts": 500,
           "upload_every": 5.0}
    page = bench.render(ctx, [row("on", 1, 12.0)], soaked)
    assert "Load average (1/5/15 min) at the start 1.00/0.50/0.25, at the end 2.00/1.00/0.50" in page
    assert "`python bench/api_load.py`" in page and "## Memory under load with uploads" in page
    assert "## Memory" not in bench.render(ctx, [row("off", 1, 5.0)], None)
