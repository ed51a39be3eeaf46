"""Spreadsheet cells that cannot run: the one place every CSV and XLSX writer escapes its values.

A spreadsheet program reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some,
one starting with a tab or carriage return) as a formula: ``=HYPERLINK(...)`` or ``=cmd|...``
typed by a customer into a chat would run on the analyst's machine when the report is opened.
Following the OWASP rule for CSV injection, such a TEXT cell is written with a single quote in
front (``'=SUM(A1)``): the program shows the text, it does not evaluate it. Numbers are left as
numbers (a negative amount stays a numeric ``-3``, not text), and so are booleans and dates.

- ``escape_cell(value)``: one value;
- ``escape_row(mapping)`` / ``escape_frame(df)``: a CSV row, a pandas DataFrame (text columns);
- ``write_xlsx(path, sheets)``: the report workbook, every text cell stored as a string (never a
  formula, whatever the engine: openpyxl or XlsxWriter).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def escape_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: escape_cell(v) for k, v in row.items()}


def escape_frame(df):
    """A copy of the DataFrame ``df`` with its text cells escaped (numeric columns untouched)."""
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object or str(df[col].dtype) in ("string", "str"):
            df[col] = df[col].map(escape_cell, na_action="ignore")
    df.columns = [escape_cell(c) if isinstance(c, str) else c for c in df.columns]
    return df


def write_xlsx(path: str | Path, sheets: Mapping[str, Any]) -> None:
    """Write DataFrames as the sheets of one workbook, text escaped and stored as strings."""
    import pandas as pd

    try:  # XlsxWriter is several times faster; openpyxl (a dependency anyway) otherwise
        import xlsxwriter  # noqa: F401

        engine, kwargs = "xlsxwriter", {"engine_kwargs": {"options": {
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}}}
    except ImportError:
        engine, kwargs = "openpyxl", {}
    with pd.ExcelWriter(path, engine=engine, **kwargs) as book:
        for name, df in sheets.items():
            escape_frame(df).to_excel(book, sheet_name=name, index=False)
            if engine == "openpyxl":
                _no_formulas(book.sheets[name])


def _no_formulas(sheet) -> None:
    """openpyxl marks any text starting with ``=`` as a formula; escaped text never does, but a
    cell is made a plain string here whatever it holds, so no formula can be written."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.value = "'" + str(cell.value)
                cell.data_type = "s"
