"""Issue 16 #4 for the command line: ``huashu analyze`` (json, text, html) and ``huashu report``
(CSV, Parquet, XLSX, report.html, calls/*.html) mask every personal-number form of
``tests/pii_support.py`` by default, in the text, the speaker, the file name, the team folder and
``--meta`` values; ``--no-mask-pii`` turns it off."""
from __future__ import annotations

import html
import json

import openpyxl
import pandas as pd
import pytest
from pii_support import (
    CUSTOMER,
    FILE_NAME,
    FILE_NAME_MASKED,
    FORMS,
    TEAM,
    TEAM_MASKED,
    assert_masked,
    call_text,
)

from analyzer.cli import main

EXTRA = ((FILE_NAME, FILE_NAME_MASKED),)
FAST = ["--no-model", "--sentiment", "none", "--customer-label", CUSTOMER]


@pytest.fixture(scope="module")
def call_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("pii") / FILE_NAME
    path.write_text(call_text(), encoding="utf-8")
    return path


def _analyze(call_file, tmp_path, fmt, *extra):
    out = tmp_path / f"out.{fmt}"
    assert main(["analyze", str(call_file), "--format", fmt, "--out", str(out), *FAST, *extra]) == 0
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["json", "text", "html"])
def test_analyze_masks_every_form(call_file, tmp_path, fmt):
    out = _analyze(call_file, tmp_path, fmt)
    if fmt == "html":
        out = html.unescape(out)
    assert_masked(out, extra=EXTRA)


def test_analyze_json_flags_point_into_the_masked_text(call_file, tmp_path):
    result = json.loads(_analyze(call_file, tmp_path, "json"))
    flags = [(turn["text"], f) for turn in result["turns"] for f in turn["flags"]]
    assert flags
    for text, f in flags:
        assert text[f["start"]:f["end"]] == f["text"]


def test_no_mask_pii_keeps_the_numbers(call_file, tmp_path, monkeypatch):
    out = _analyze(call_file, tmp_path, "json", "--no-mask-pii")
    assert all(raw in out for raw, _ in FORMS)
    monkeypatch.setenv("HUASHU_MASK_PII", "false")
    assert FORMS[0][0] in _analyze(call_file, tmp_path, "text")
    assert FORMS[0][1] in _analyze(call_file, tmp_path, "text", "--mask-pii")  # the flag wins


@pytest.fixture(scope="module")
def report_dir(call_file, tmp_path_factory):
    root = tmp_path_factory.mktemp("calls")
    folder = root / TEAM / "2025-03-01"
    folder.mkdir(parents=True)
    (folder / FILE_NAME).write_bytes(call_file.read_bytes())
    (folder / "第二通.txt").write_bytes(call_file.read_bytes())
    (root / "空的13812345678.txt").write_bytes(b"")  # unreadable: its error row names the file
    meta = root.parent / f"{root.name}-meta.csv"
    meta.write_text(f"file,agent\n第二通.txt,小李 13612345678\n", encoding="utf-8")
    out = root.parent / f"{root.name}-out"
    assert main(["report", str(root), "--out", str(out), "--meta", str(meta), "--no-progress", *FAST]) == 0
    return out


def test_report_csv_and_parquet_are_masked(report_dir):
    extra = EXTRA + ((TEAM, TEAM_MASKED), ("13612345678", "136****5678"), ("空的13812345678", "空的138****5678"))
    csv_text = "\n".join((report_dir / f"{name}.csv").read_text(encoding="utf-8-sig")
                         for name in ("calls", "turns", "flags", "agents", "teams", "days", "errors"))
    assert_masked(csv_text, extra=extra)
    frames = [pd.read_parquet(report_dir / f"{name}.parquet") for name in ("calls", "turns", "flags", "agents",
                                                                           "teams", "errors")]
    values = "\n".join(str(v) for df in frames for col in df.columns for v in df[col] if isinstance(v, str))
    assert_masked(values, extra=extra)


def test_report_xlsx_is_masked(report_dir):
    book = openpyxl.load_workbook(report_dir / "report.xlsx", read_only=True)
    values = "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                       for v in row if isinstance(v, str))
    assert_masked(values, extra=EXTRA + ((TEAM, TEAM_MASKED),))


def test_report_html_pages_are_masked(report_dir):
    report = html.unescape((report_dir / "report.html").read_text(encoding="utf-8"))
    assert TEAM not in report and FILE_NAME not in report and "13612345678" not in report
    assert TEAM_MASKED in report
    pages = sorted((report_dir / "calls").glob("*.html"))
    assert len(pages) == 2
    for page in pages:
        assert "13812345678" not in page.name
        assert_masked(html.unescape(page.read_text(encoding="utf-8")))
