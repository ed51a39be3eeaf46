"""``analyzer.cells`` (issue 16 #5): no text a customer typed runs as a spreadsheet formula.

The batch report's CSV and XLSX are checked end to end: a transcript whose text, speaker, team
folder, file name and ``--meta`` values start with formulas gives a report.xlsx without a single
formula cell (read back with openpyxl) and CSVs without an unescaped ``= + - @`` text cell."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analyzer.cells import FORMULA_STARTS, escape_cell, escape_frame, write_xlsx
from analyzer.cli import main

FORMULAS = ["=1+1", "+SUM(A1)", "-2+3", "@SUM(1)", "\t=1", "\r=1", '=HYPERLINK("http://x.example","点我")',
            "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_text_gets_a_quote(value):
    assert escape_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["你好", "'=已转义", "", "1+1", "a=b", "－全角", 3, -3, -2.5, None, True])
def test_other_values_unchanged(value):
    assert escape_cell(value) is value or escape_cell(value) == value


def test_frame_escapes_text_and_keeps_numbers():
    df = pd.DataFrame({"text": ["=1+1", "ok", None], "n": [-3, 4, 5], "x": [-1.5, 2.0, float("nan")], "=h": [1, 2, 3]})
    out = escape_frame(df)
    assert list(out["text"][:2]) == ["'=1+1", "ok"] and pd.isna(out["text"][2])
    assert out["n"].tolist() == [-3, 4, 5] and out["n"].dtype == df["n"].dtype
    assert out["x"].dtype == df["x"].dtype
    assert list(out.columns) == ["text", "n", "x", "'=h"]
    assert df["text"][0] == "=1+1"  # the input is not changed


def _unsafe(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def _assert_safe_workbook(path: Path) -> int:
    book = openpyxl.load_workbook(path)
    cells = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                cells += 1
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert not _unsafe(cell.value), (sheet.title, cell.coordinate, cell.value)
    return cells


def _assert_safe_csv(text: str) -> None:
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        for value in row:
            if _unsafe(value):
                float(value)  # only a real number may start with - or +


def test_write_xlsx_stores_no_formula(tmp_path):
    df = pd.DataFrame({"text": FORMULAS, "n": range(-4, 4)})
    write_xlsx(tmp_path / "t.xlsx", {"s": df})
    assert _assert_safe_workbook(tmp_path / "t.xlsx") == 2 * (len(FORMULAS) + 1)
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["s"]
    assert [c.value for c in sheet["B"]][1:] == list(range(-4, 4))  # numbers stay numbers
    assert sheet["A2"].value == "'=1+1"


HOSTILE_CALL = (
    "=HYPERLINK(\"http://evil.example\")：您好，这里是话术客服，请问有什么可以帮您？\n"
    "+cmd|' /C calc'!A0：=1+1 你们这个怎么回事\n"
    "=HYPERLINK(\"http://evil.example\")：@SUM(1,1) 你搞错了，这个不归我们管\n"
    "+cmd|' /C calc'!A0：-2+3 那我要投诉\n"
)


def test_batch_report_spreadsheets_hold_no_formula(tmp_path):
    folder = tmp_path / "in" / "=1+2" / "2025-03-01"
    folder.mkdir(parents=True)
    (folder / "@evil.txt").write_text(HOSTILE_CALL, encoding="utf-8")
    (folder / "-second.txt").write_text(HOSTILE_CALL, encoding="utf-8")
    meta = tmp_path / "meta.csv"
    meta.write_text("file,agent,team\n-second.txt,=A1*2,@team\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["report", str(tmp_path / "in"), "--out", str(out), "--meta", str(meta), "--no-model",
                 "--sentiment", "none", "--no-progress",
                 "--agent-label", '=HYPERLINK("http://evil.example")', "--customer-label", "+cmd|' /C calc'!A0"])
    assert code == 0
    tables = {name: pd.read_parquet(out / f"{name}.parquet") for name in ("calls", "turns", "flags")}
    assert len(tables["calls"]) == 2  # both hostile calls were read (the test would prove nothing otherwise)
    texts = set(tables["turns"]["text"]) | set(tables["turns"]["speaker"]) | set(tables["calls"]["team"].dropna())
    assert any(str(v).startswith("=") for v in texts) and any(str(v).startswith("@") for v in texts)
    assert _assert_safe_workbook(out / "report.xlsx") > 100
    for name in ("calls", "turns", "flags", "agents", "teams", "days", "errors"):
        _assert_safe_csv((out / f"{name}.csv").read_text(encoding="utf-8-sig"))
    turns_csv = (out / "turns.csv").read_text(encoding="utf-8-sig")
    assert "'=1+1 你们这个怎么回事" in turns_csv  # escaped, not dropped
