"""Exports from the web pages, as XLSX and CSV (supervisor, analyst):

- ``/web/calls.xlsx|csv?<the call list's query>``: the calls the list shows with that search and
  those filters, in its order (every page, at most ``find.EXPORT_ROWS``);
- ``/web/scorecards.xlsx|csv?<the same query>``: those calls' scorecards, one row per call and a
  column per scorecard item; the workbook adds a sheet per item with passed / judged / rate;
- ``/web/agents.xlsx|csv?agent=&team=&date_from=&date_to=``: the agents table of the dashboard
  (and, in the workbook, the teams table), the same figures the page shows.

Headers are Chinese with the English in brackets (``exports.yaml``); categories are named from
``corpora/categories.yaml``; times are in the service's time zone (``HUASHU_TIMEZONE``). Every text
cell goes through ``analyzer.cells`` (a customer's ``=HYPERLINK(…)`` never runs as a formula);
CSV files start with a BOM so that spreadsheet programs read the Chinese as UTF-8.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from analyzer.cells import escape_cell, write_xlsx
from analyzer.lexicon import load_categories
from analyzer.resources import read_yaml

from . import data, find, i18n
from .pages import Reader, render

router = APIRouter(include_in_schema=False)
HEADERS = Path(__file__).with_name("exports.yaml")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@cache
def _words() -> dict[str, Any]:
    return read_yaml(HEADERS.read_text(encoding="utf-8"))


def both(entry: Mapping[str, str]) -> str:
    """``中文 (English)``; only one of them when they are the same."""
    return entry["zh"] if entry["zh"] == entry["en"] else f"{entry['zh']} ({entry['en']})"


def headers(table: str, zone: ZoneInfo = find.DAY_ZONE) -> list[tuple[str, str]]:
    """``(column id, header)`` of one table (``{zone}``: the time zone its times are in)."""
    return [(c["id"], both(c).replace("{zone}", zone.key)) for c in _words()[table]]


def value_word(key: str) -> str:
    return _words()["values"][key]["zh"]


def sheet_name(table: str) -> str:
    return both(_words()["sheets"][table])[:31]  # Excel's limit on a sheet name


@cache
def category_name(cid: str) -> str:
    found = load_categories().get(cid)
    return found.name_zh if found is not None else cid


def local(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A stored (UTC) time in the service's zone, without the zone (spreadsheets keep none)."""
    return value.astimezone(zone).replace(tzinfo=None, microsecond=0) if value else None


def counted(passed: int, judged: int) -> str:
    """``3/5 通过（60%）``: a share never without the count it comes from."""
    return _words()["values"]["counted"]["zh"].format(passed=passed, judged=judged, share=f"{passed / judged:.0%}")


# -- the tables -----------------------------------------------------------------------------------
def call_rows(session, f: find.Find, zone: ZoneInfo) -> list[dict[str, Any]]:
    rows = find.rows_for(session, find.all_calls(session, f, zone=zone))
    return [
        {
            "call_time": local(r.when, zone), "uploaded": local(r.created_at, zone), "source": r.source, "agent": r.agent or "",
            "team": r.team or "", "status": value_word(f"status.{r.status}") if r.status in find.STATUSES else r.status,
            "agent_turns": r.agent_turns, "flags": r.flags, "rate": round(r.rate, 1),
            "categories": "；".join(f"{category_name(c)} {n}" for c, n in r.categories.items()),
            "satisfaction": None if r.satisfaction is None else round(r.satisfaction, 3),
            "escalation": "" if r.escalation is None else value_word("yes" if r.escalation else "no"),
            "score": None if r.score is None else round(r.score, 3), "uploaded_by": r.uploaded_by,
            "link": f"/web/calls/{r.id}", "id": r.id,
        }
        for r in rows
    ]


def scorecard_tables(
    session, f: find.Find, zone: ZoneInfo,
) -> tuple[list[tuple[str, str]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The per-call scorecards (headers with one column per item, rows) and the per-item summary."""
    stored = find.all_calls(session, f, zone=zone)
    rows = {r.id: r for r in find.rows_for(session, stored)}
    columns = headers("scorecards", zone)
    items: dict[str, str] = {}  # item id -> header, in the order the cards list them
    tally: dict[str, list[int]] = {}  # item id -> [passed, judged]
    out = []
    for t in stored:
        card = t.scorecard if isinstance(t.scorecard, Mapping) else {}
        r = rows[t.id]
        channel = card.get("channel")
        row: dict[str, Any] = {
            "call_time": local(r.when, zone), "source": r.source, "agent": r.agent or "", "team": r.team or "",
            "channel": value_word(f"channel.{channel}") if channel in ("call", "chat") else (channel or ""),
            "score": None if r.score is None else round(r.score, 3),
            **{k: card.get(k) if isinstance(card.get(k), int) else None for k in ("passed", "failed", "not_applicable")},
            "id": r.id,
        }
        for item in card.get("items") or []:
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                continue
            iid = item["id"]
            items.setdefault(iid, both({"zh": str(item.get("label_zh") or iid), "en": str(item.get("label_en") or iid)}))
            passed = item.get("passed")
            row[f"item:{iid}"] = value_word("passed" if passed is True else "failed" if passed is False else "not_applicable")
            if isinstance(passed, bool):
                counts = tally.setdefault(iid, [0, 0])
                counts[0] += passed
                counts[1] += 1
        out.append(row)
    columns = columns[:-1] + [(f"item:{iid}", label) for iid, label in items.items()] + columns[-1:]
    summary = [
        {"item": label, "passed": tally.get(iid, [0, 0])[0], "judged": tally.get(iid, [0, 0])[1],
         "pass_rate": round(tally[iid][0] / tally[iid][1], 4) if tally.get(iid, [0, 0])[1] else None,
         "shown": counted(*tally[iid]) if tally.get(iid, [0, 0])[1] else "—"}
        for iid, label in items.items()
    ]
    return columns, out, summary


def stats_rows(stats: Sequence[data.Stats]) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name, "calls": s.calls, "agent_turns": s.agent_turns, "flags": s.flags, "rate": s.rate,
            "top_category": category_name(s.top_category) if s.top_category else "",
            "mood": None if s.mood_avg is None else round(s.mood_avg, 3),
            "satisfaction": None if s.satisfaction_avg is None else round(s.satisfaction_avg, 3),
            "escalated": s.escalated, "escalation_known": s.escalation_known,
            "escalation_rate": None if s.escalation_rate is None else round(s.escalation_rate, 4),
            "score": None if s.score_avg is None else round(s.score_avg, 4), "scored": len(s.scores),
        }
        for s in stats
    ]


# -- writing --------------------------------------------------------------------------------------
def _frame(columns: list[tuple[str, str]], rows: list[dict[str, Any]]):
    import pandas as pd

    return pd.DataFrame([[row.get(cid) for cid, _ in columns] for row in rows], columns=[h for _, h in columns])


def xlsx_bytes(sheets: list[tuple[str, list[tuple[str, str]], list[dict[str, Any]]]]) -> bytes:
    """One workbook, a sheet per ``(name, columns, rows)``; text escaped (``analyzer.cells``)."""
    out = io.BytesIO()
    write_xlsx(out, {name: _frame(columns, rows) for name, columns, rows in sheets})
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return escape_cell(value)


def csv_bytes(columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([escape_cell(h) for _, h in columns])
    for row in rows:
        writer.writerow([_csv_value(row.get(cid)) for cid, _ in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _download(body: bytes, name: str, ext: str) -> Response:
    filename = f"huashu-{name}-{datetime.now(find.DAY_ZONE):%Y%m%d-%H%M}.{ext}"  # ASCII: every browser keeps it
    media = XLSX if ext == "xlsx" else "text/csv; charset=utf-8"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })


# -- the routes -----------------------------------------------------------------------------------
def _too_many(request: Request, web, exc: find.TooManyToExport) -> Response:
    t = i18n.translator(i18n.lang_of(request))
    return render(request, "error.html", web, status=413, title=t("find.export.too_many.title"),
                  message=t("find.export.too_many", total=exc.total, limit=exc.limit), home="/web/calls")


@router.get("/web/calls.{ext}")
def calls_export(request: Request, ext: str, web: Reader) -> Response:
    if ext not in ("xlsx", "csv"):
        return Response(status_code=404)
    f, zone = find.Find.from_query(request.query_params), find.zone_of(request.app.state.settings)
    try:
        with request.app.state.sessions() as session:
            rows = call_rows(session, f, zone)
    except find.TooManyToExport as exc:
        return _too_many(request, web, exc)
    columns = headers("calls", zone)
    if ext == "csv":
        return _download(csv_bytes(columns, rows), "calls", ext)
    return _download(xlsx_bytes([(sheet_name("calls"), columns, rows)]), "calls", ext)


@router.get("/web/scorecards.{ext}")
def scorecards_export(request: Request, ext: str, web: Reader) -> Response:
    if ext not in ("xlsx", "csv"):
        return Response(status_code=404)
    f, zone = find.Find.from_query(request.query_params), find.zone_of(request.app.state.settings)
    try:
        with request.app.state.sessions() as session:
            columns, rows, summary = scorecard_tables(session, f, zone)
    except find.TooManyToExport as exc:
        return _too_many(request, web, exc)
    if ext == "csv":
        return _download(csv_bytes(columns, rows), "scorecards", ext)
    return _download(xlsx_bytes([
        (sheet_name("scorecards"), columns, rows),
        (sheet_name("scorecard_summary"), headers("scorecard_summary"), summary),
    ]), "scorecards", ext)


@router.get("/web/agents.{ext}")
def agents_export(
    request: Request, ext: str, web: Reader, agent: str = "", team: str = "", date_from: str = "", date_to: str = "",
) -> Response:
    if ext not in ("xlsx", "csv"):
        return Response(status_code=404)
    start, end = data.parse_date(date_from), data.parse_date(date_to)
    with request.app.state.sessions() as session:
        dash = data.dashboard(session, agent=agent, team=team, date_from=start, date_to=end,
                              zone=find.zone_of(request.app.state.settings))
    columns = headers("agents")
    agents = stats_rows(dash.agents)
    if ext == "csv":
        return _download(csv_bytes(columns, agents), "agents", ext)
    team_columns = headers("teams") + columns[1:]
    return _download(xlsx_bytes([
        (sheet_name("agents"), columns, agents), (sheet_name("teams"), team_columns, stats_rows(dash.teams)),
    ]), "agents", ext)

