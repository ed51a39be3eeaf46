"""The tables and pages of a batch report (``analyzer.batch`` runs the files and calls these).

- ``call_rows(...)``: one analysed call → its ``calls`` row, ``turns`` rows and ``flags`` rows;
- ``build_tables`` / ``aggregate``: the rows → pandas tables, with agents, teams and days;
- ``write_tables``: CSV (cells escaped against formulas, ``analyzer.cells``), Parquet, report.xlsx;
- ``report_html``: one self-contained page, Chinese first (``analyzer.labels``), with inline SVG charts
  (``analyzer.charts``: text the browser renders, so Chinese shows without a font where it is drawn).
"""
from __future__ import annotations

import hashlib
import html
import io
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import charts, labels
from .model import CallAnalysis, IngestError

TABLES = ("calls", "turns", "flags", "agents", "teams", "days", "errors")
XLSX_MAX_ROWS = 1_048_575
DATETIME_IN_TEXT = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+|T)\d{1,2}:\d{2}")


def iso_date(year: str, month: str, day: str) -> str | None:
    """``YYYY-MM-DD`` if it is a real date, else None."""
    import datetime as dt

    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


# -- the rows of one call --------------------------------------------------------------------
def call_result(job: Any, a: CallAnalysis) -> dict[str, Any]:
    """One analysed call of ``job`` (an ``analyzer.batch.Job``: path, metadata, bytes) → its rows
    and its annotated page (``analyzer.report.to_html``)."""
    from .lexicon import load_categories
    from .mood import mood_of
    from .report import to_html

    from .callmeta import UNKNOWN_AGENT, agent_key, agent_label

    t, card, mood, summary = a.transcript, a.scorecard, a.mood, a.summary
    # the agent as every door names and groups it (analyzer.callmeta; --meta values are in a.call)
    agent, key = agent_label(a.call.get("agent")) or UNKNOWN_AGENT, agent_key(a.call.get("agent"))
    started = a.call.get("started_at")
    date = job.meta.date or (started[:10] if started else None) or call_date(job.data or b"", t) or job.path_date
    team = job.meta.team or job.path_team
    link = f"calls/{slug(job.rel, job.path)}.html"
    agent_turns, customer_turns = t.agent_turns, t.customer_turns
    n_flags = sum(len(turn.flags) for turn in t.turns)
    by_category = Counter(f.category for turn in t.turns for f in turn.flags)
    rated = [turn for turn in customer_turns if turn.sentiment]
    labels = Counter(turn.sentiment.get("label") for turn in rated)
    series = mood["series"]
    times = [x for turn in t.turns for x in (turn.start_time, turn.end_time) if x is not None]
    row: dict[str, Any] = {
        "call_id": job.path,
        "file": job.rel,
        "format": t.format,
        "encoding": t.encoding,
        "script": t.script,
        "channel": card["channel"],
        "agent": agent,
        "agent_key": key,
        "employee_id": (a.call.get("agent") or {}).get("employee_id"),
        "started_at": started,
        "team": team,
        "date": date,
        "turns": len(t.turns),
        "agent_turns": len(agent_turns),
        "customer_turns": len(customer_turns),
        "duration_s": round(max(times) - min(times), 1) if len(times) > 1 else None,
        "flags": n_flags,
        "flags_per_100_agent_turns": summary["flags_per_100_agent_turns"],
    }
    for category in load_categories():
        row[f"flags_{category}"] = by_category.get(category, 0)
    row.update({
        "sentiment_model": a.sentiment_model,
        "rated_turns": len(rated),
        "negative_turns": labels.get("negative", 0),
        "positive_turns": labels.get("positive", 0),
        "angry_turns": sum(bool(turn.sentiment.get("anger")) for turn in rated),
        "mood_start": series[0]["mood"] if series else None,
        "mood_end": series[-1]["mood"] if series else None,
        "mood_min": min(p["mood"] for p in series) if series else None,
        "satisfaction": mood["satisfaction"],
        "escalations": len(mood["escalations"]),
        "unresolved_escalations": sum(not e["resolved"] for e in mood["escalations"]),
        "scorecard_score": card["score"],
        "scorecard_passed": card["passed"],
        "scorecard_failed": card["failed"],
    })
    for item in card["items"]:
        row[f"sc_{item['id']}_passed"] = item["passed"]
        value = item["value"]
        row[f"sc_{item['id']}"] = value if isinstance(value, (int, float, str)) or value is None else str(value)
    row["html"] = link
    moods = {p["turn"]: p for p in series}
    turns = []
    flags = []
    for turn in t.turns:
        s = turn.sentiment or {}
        turns.append({
            "call_id": job.path, "agent": agent, "team": team, "date": date,
            "turn": turn.index, "role": turn.role, "speaker": turn.speaker, "text": turn.text,
            "start_time": turn.start_time, "end_time": turn.end_time, "chars": len(turn.text),
            "position": round(turn.index / (len(t.turns) - 1), 3) if len(t.turns) > 1 else 0.0,
            "flags": len(turn.flags), "categories": ";".join(sorted({f.category for f in turn.flags})) or None,
            "sentiment": s.get("label"), "sentiment_score": s.get("score"),
            "anger": s.get("anger") if s else None,
            "mood": mood_of(s) if s else None,
            "mood_smoothed": moods[turn.index]["smoothed"] if turn.index in moods else None,
        })
        for f in turn.flags:
            flags.append({
                "call_id": job.path, "agent": agent, "team": team, "date": date, "turn": turn.index,
                "category": f.category, "rule": f.rule, "text": f.text, "start": f.start, "end": f.end,
                "confidence": f.confidence, "source": f.source, "rewrite": f.rewrite,
            })
    return {"index": job.index, "call": row, "turns": turns, "flags": flags,
            "html": to_html(a, back_link="../report.html")}


def call_date(data: bytes, t) -> str | None:
    """The date of the call's first date-time timestamp (YYYY-MM-DD), if its times are date-times."""
    if t.format == "xlsx":
        return _xlsx_date(data)
    if not any(turn.start_time is not None or turn.end_time is not None for turn in t.turns):
        return None
    from .ingest import decode_text

    try:
        text, _ = decode_text(data, t.source)
    except (IngestError, UnicodeDecodeError):
        return None
    m = DATETIME_IN_TEXT.search(text, 0, 65536)
    return iso_date(*m.groups()) if m else None


def _xlsx_date(data: bytes) -> str | None:
    import datetime as dt

    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 (ingest read it already; a date is a nicety)
        return None
    try:
        for row in book.worksheets[0].iter_rows(max_row=50, values_only=True):
            for value in row:
                if isinstance(value, dt.datetime):
                    return value.date().isoformat()
                if isinstance(value, str) and (m := DATETIME_IN_TEXT.search(value)):
                    return iso_date(*m.groups())
    finally:
        book.close()
    return None


def slug(rel: str, path: str) -> str:
    """A file name for the call's page: readable and unique (a hash of the path)."""
    readable = re.sub(r"[^\w.-]+", "_", rel).strip("._")[:80] or "call"
    return f"{readable}-{hashlib.sha1(path.encode('utf-8')).hexdigest()[:8]}"


# -- tables --------------------------------------------------------------------------------
def build_tables(results: list[dict[str, Any]], missing: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    import pandas as pd

    from .lexicon import load_categories

    calls = pd.DataFrame([r["call"] for r in results if "call" in r])
    turns = pd.DataFrame([row for r in results if "call" in r for row in r["turns"]])
    flags = pd.DataFrame([row for r in results if "call" in r for row in r["flags"]],
                         columns=["call_id", "agent", "team", "date", "turn", "category", "rule", "text", "start",
                                  "end", "confidence", "source", "rewrite"])
    errors = pd.DataFrame(list(missing) + [r["error"] for r in results if "error" in r], columns=["file", "reason"])
    categories = list(load_categories())
    return {
        "calls": calls,
        "turns": turns,
        "flags": flags,
        "agents": agents_table(calls, categories),
        "teams": aggregate(calls, ["team"], categories),
        "days": aggregate(calls, ["date"], categories),
        "errors": errors,
    }


def agents_table(calls, categories: Sequence[str] = ()):
    """Per team and agent, the agent grouped by ``agent_key`` (``analyzer.callmeta``: employee id,
    else name; the web's dashboard groups by the same key) and shown by name and employee id."""
    if calls.empty or "agent_key" not in calls:
        return aggregate(calls, ["team", "agent"], categories)
    table = aggregate(calls, ["team", "agent_key"], categories)
    named = calls.dropna(subset=["agent_key"]).groupby("agent_key")[["agent", "employee_id"]].first()
    from .callmeta import UNKNOWN_AGENT

    keys = [None if _missing(k) else k for k in table["agent_key"]]
    table.insert(1, "agent", [named["agent"].get(k) if k is not None else UNKNOWN_AGENT for k in keys])
    table.insert(2, "employee_id", [named["employee_id"].get(k) if k is not None else None for k in keys])
    return table


def aggregate(calls, keys: list[str], categories: Sequence[str] = ()):
    """Per-group figures: calls, turns, flags per 100 agent turns, flags per category, mean
    satisfaction, escalations, mean scorecard score, and each scorecard item's pass rate."""
    import pandas as pd

    if calls.empty:
        return pd.DataFrame(columns=[*keys, "calls"])
    rows = []
    passed_cols = [c for c in calls.columns if c.startswith("sc_") and c.endswith("_passed")]
    for key, group in calls.groupby(keys, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        agent_turns = int(group["agent_turns"].sum())
        flags = int(group["flags"].sum())
        sat = group["satisfaction"].dropna()
        score = group["scorecard_score"].dropna()
        row = {k: (None if _missing(v) else v) for k, v in zip(keys, key)}
        row.update({
            "calls": len(group),
            "turns": int(group["turns"].sum()),
            "agent_turns": agent_turns,
            "customer_turns": int(group["customer_turns"].sum()),
            "flags": flags,
            "flags_per_100_agent_turns": round(100 * flags / agent_turns, 1) if agent_turns else None,
        })
        for category in categories:
            row[f"flags_{category}"] = int(group[f"flags_{category}"].sum()) if f"flags_{category}" in group else 0
        row.update({
            "satisfaction_mean": round(float(sat.mean()), 3) if len(sat) else None,
            "satisfaction_calls": len(sat),
            "angry_turns": int(group["angry_turns"].sum()),
            "escalations": int(group["escalations"].sum()),
            "unresolved_escalations": int(group["unresolved_escalations"].sum()),
            "scorecard_score_mean": round(float(score.mean()), 3) if len(score) else None,
        })
        for col in passed_cols:
            verdicts = [v for v in group[col] if v is not None and not _missing(v)]
            row[col.removesuffix("_passed") + "_rate"] = (
                round(sum(bool(v) for v in verdicts) / len(verdicts), 3) if verdicts else None)
        rows.append(row)
    return pd.DataFrame(rows)


def _missing(value: Any) -> bool:
    try:
        return value is None or (isinstance(value, float) and math.isnan(value))
    except TypeError:
        return False


def write_tables(tables: dict[str, Any], out_dir: Path, xlsx: bool = True) -> list[Path]:
    """Each table as CSV and Parquet, all of them in report.xlsx. CSV and XLSX text cells go
    through ``analyzer.cells`` (a cell starting with = + - @ is written with a ' in front, no cell
    is a formula); Parquet keeps the values as they are (it is data, not a spreadsheet)."""
    from .cells import escape_frame, write_xlsx

    written = []
    for name in TABLES:
        df = _for_files(tables[name])
        path = out_dir / f"{name}.csv"
        escape_frame(df).to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
        path = out_dir / f"{name}.parquet"
        df.to_parquet(path, index=False)
        written.append(path)
    if xlsx:
        path = out_dir / "report.xlsx"
        write_xlsx(path, {name: df for name in TABLES if len(df := _for_files(tables[name])) <= XLSX_MAX_ROWS})
        written.append(path)
    return written


def _for_files(df):
    """Columns of Python objects mixing types (a scorecard value: a phrase or a number) as text,
    so Parquet gets one type per column."""
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object:
            kinds = {type(v) for v in df[col] if v is not None and not _missing(v)}
            if len(kinds) > 1 and not kinds <= {int, float}:
                df[col] = [None if v is None or _missing(v) else str(v) for v in df[col]]
    return df


# -- the HTML report -----------------------------------------------------------------------
# Words from analyzer.labels (the web pages' too): Chinese first, category and scorecard names
# instead of ids, shares as percentages. Charts from analyzer.charts: SVG whose text the browser
# renders, so Chinese shows on any machine that shows this page (no font needed where it is drawn).
_REPORT_CSS = """
body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:72rem;color:#222;line-height:1.5;padding:0 1rem}
h1{font-size:1.4rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0} td,th{border-bottom:1px solid #eee;padding:.2rem .5rem;text-align:right;vertical-align:bottom}
td:first-child,th:first-child,td.l,th.l{text-align:left} th{background:#f3f6fa;font-weight:600} th small{display:block;font-weight:400;color:#666}
.kpi{display:flex;gap:1rem;flex-wrap:wrap} .kpi div{background:#f3f6fa;padding:.6rem 1rem;border-radius:4px}
.kpi b{display:block;font-size:1.3rem} .chart svg{max-width:100%;height:auto} .note{color:#666;font-size:.85rem}
"""
_SHARES = {"scorecard_score", "scorecard_score_mean"}  # shares in [0, 1], shown as percentages
_SCORES = {"satisfaction", "satisfaction_mean"}  # estimated scores in [0, 1], two decimals (as the web)


def report_html(tables: dict[str, Any], *, model_used: bool = False, seconds: float = 0.0, worst: int = 20) -> str:
    """The whole report as one page; ``model_used``: whether the classifier took part."""
    calls, errors = tables["calls"], tables["errors"]
    n_calls = len(calls)
    turns = int(calls["turns"].sum()) if n_calls else 0
    flags = int(calls["flags"].sum()) if n_calls else 0
    agent_turns = int(calls["agent_turns"].sum()) if n_calls else 0
    sat = calls["satisfaction"].dropna() if n_calls else []
    model = next((m for m in (calls["sentiment_model"] if n_calls else []) if isinstance(m, str)), None)
    kpis = [
        ("通话 / calls", n_calls), ("话轮 / turns", turns), ("导火索 / triggers", flags),
        ("每百句坐席发言导火索 / per 100 agent turns", f"{100 * flags / agent_turns:.1f}" if agent_turns else "—"),
        ("平均满意度 / mean satisfaction", f"{sat.mean():.2f}" if len(sat) else "—"),
        ("无法读取 / unreadable files", len(errors)),
    ]
    parts = [
        "<h1>话术 Huashu · 批量报告 / batch report</h1>",
        (f"<p class='note'>{n_calls} 通通话 / calls · {len(errors)} 个文件无法读取 / unreadable · 用时 {seconds:.1f} 秒 · "
         f"导火索识别 / triggers: {'词表 + 分类模型 / lexicon + classifier' if model_used else '词表 / lexicon'} · "
         f"客户情绪 / sentiment: {html.escape(model or '未估计 / none (satisfaction not estimated)')}</p>"),
        "<div class='kpi'>" + "".join(f"<div>{html.escape(k)}<b>{html.escape(str(v))}</b></div>" for k, v in kpis) + "</div>",
    ]
    for title, svg in _charts(tables):
        parts.append(f"<h2>{html.escape(title)}</h2><div class='chart'>{svg}</div>")
    parts.append("<h2>最差的通话 / worst calls</h2>" + _worst_table(calls, worst))
    parts.append("<h2>坐席对比 / agents</h2>" + _table(tables["agents"], _AGG_COLUMNS, ["team", "agent"]))
    parts.append("<h2>团队 / teams</h2>" + _table(tables["teams"], _AGG_COLUMNS, ["team"]))
    parts.append("<h2>按日 / by day</h2>" + _table(tables["days"], _AGG_COLUMNS, ["date"]))
    parts.append("<h2>导火索类别 / triggers by category</h2>" + _category_table(tables))
    parts.append("<h2>评分卡通过率 / scorecard pass rates</h2>" + _scorecard_rates(calls))
    parts.append("<h2>无法读取的文件 / unreadable files</h2>" + (
        _table(errors, ["file", "reason"], ["file", "reason"]) if len(errors) else "<p>无 / none</p>"))
    return (f"<!doctype html>\n<html lang='zh-CN'><head><meta charset='utf-8'><title>话术 Huashu · 批量报告</title>"
            f"<style>{_REPORT_CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


_AGG_COLUMNS = ["calls", "agent_turns", "flags", "flags_per_100_agent_turns", "satisfaction_mean",
                "escalations", "unresolved_escalations", "scorecard_score_mean"]


def _head(column: str) -> str:
    """A column's header: Chinese, the English below it."""
    zh, en = labels.column(column, "zh"), labels.column(column, "en")
    return html.escape(zh) + (f"<small>{html.escape(en)}</small>" if en != zh else "")


def _cell(column: str, v: Any) -> str:
    if _missing(v):
        return "—"
    if column in _SHARES:
        return labels.percent(float(v))
    if column in _SCORES:
        return f"{float(v):.2f}"
    if isinstance(v, float):
        return labels.number(v)
    return str(v)


def _table(df, columns: list[str], text_columns: list[str], links: dict[str, str] | None = None) -> str:
    if df is None or df.empty:
        return "<p>无 / none</p>"
    keys = [c for c in text_columns if c in df.columns and c not in columns]
    cols = keys + [c for c in columns if c in df.columns]
    head = "".join(f"<th class='{'l' if c in text_columns else ''}'>{_head(c)}</th>" for c in cols)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            cell = html.escape(_cell(c, row[c]))
            if links and c in links and not _missing(row[links[c]]):
                cell = f"<a href='{html.escape(str(row[links[c]]))}'>{cell}</a>"
            cells.append(f"<td class='{'l' if c in text_columns else ''}' data-col='{html.escape(c)}'>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _worst_table(calls, worst: int) -> str:
    """Lowest satisfaction first (calls without it last), then most triggers per agent turn."""
    if calls.empty:
        return "<p>无 / none</p>"
    df = calls.assign(_sat=calls["satisfaction"].fillna(2.0), _rate=-calls["flags_per_100_agent_turns"].fillna(0))
    df = df.sort_values(["_sat", "_rate", "call_id"]).head(worst)
    cols = ["call_id", "agent", "team", "date", "satisfaction", "flags", "flags_per_100_agent_turns",
            "escalations", "scorecard_score"]
    return _table(df, cols, ["call_id", "agent", "team", "date"], links={"call_id": "html"})


def _category_table(tables: dict[str, Any]) -> str:
    flags = tables["flags"]
    if flags.empty:
        return "<p>无 / none</p>"
    counts = flags["category"].value_counts()
    rows = "".join(
        f"<tr><td>{html.escape(labels.category_name(c))}<br><small>{html.escape(labels.category_name(c, 'en'))}</small>"
        f"</td><td>{int(n)}</td><td>{labels.percent(n / len(flags))}</td></tr>"
        for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return ("<table><tr><th>类别<small>category</small></th><th>导火索<small>triggers</small></th>"
            f"<th>占比<small>share</small></th></tr>{rows}</table>")


def pass_rates(calls) -> list[tuple[str, float | None, int]]:
    """``(scorecard item id, share passed, calls it applies to)`` over ``calls``, in the
    scorecard's order (what the web's agents page computes from the same calls)."""
    out = []
    for col in [c for c in calls.columns if c.startswith("sc_") and c.endswith("_passed")]:
        verdicts = [v for v in calls[col] if v is not None and not _missing(v)]
        out.append((col[3:-7], sum(bool(v) for v in verdicts) / len(verdicts) if verdicts else None, len(verdicts)))
    return out


def _scorecard_rates(calls) -> str:
    if calls.empty:
        return "<p>无 / none</p>"
    rows = "".join(
        f"<tr data-item='{html.escape(item)}'><td>{html.escape(labels.scorecard_label(item))}"
        f"<br><small>{html.escape(labels.scorecard_label(item, 'en'))}</small></td>"
        f"<td>{labels.percent(rate)}</td><td>{n}</td></tr>"
        for item, rate, n in pass_rates(calls))
    return (f"<table><tr><th>{_head('item')}</th><th>{_head('pass_rate')}</th><th>{_head('judged_calls')}</th></tr>"
            + rows + "</table>")


def _charts(tables: dict[str, Any]) -> list[tuple[str, str]]:
    """The report's charts as inline SVG (``analyzer.charts``, as the web's agents page)."""
    out: list[tuple[str, str]] = []
    turns, flags, days, agents = (tables[k] for k in ("turns", "flags", "days", "agents"))
    # 1. triggers and satisfaction per day
    dated = days.dropna(subset=["date"]) if "date" in days else days.iloc[0:0]
    if len(dated):
        points = [(str(d)[5:] or str(d), None if _missing(v) else float(v))
                  for d, v in zip(dated["date"], dated["flags_per_100_agent_turns"])]
        out.append(("每百句坐席发言导火索（按日） / triggers per 100 agent turns, by day", str(charts.trend(
            points, name="days", title="每百句坐席发言导火索 / triggers per 100 agent turns", empty_text="无 / none"))))
        if dated["satisfaction_mean"].notna().any():
            sat = [(str(d)[5:] or str(d), None if _missing(v) else float(v))
                   for d, v in zip(dated["date"], dated["satisfaction_mean"])]
            out.append(("平均满意度（按日） / mean satisfaction, by day", str(charts.trend(
                sat, name="satisfaction", title="平均满意度 / mean satisfaction", empty_text="无 / none",
                value_format="{:.2f}", y_max=1.0, color=charts.GOOD))))
    # 2. the customer's mood through the call (tenths of the call)
    rated = turns.dropna(subset=["mood"]) if "mood" in turns else turns.iloc[0:0]
    if len(rated):
        bins = (rated["position"].astype(float) * 10).clip(0, 9.999).astype(int)
        mean = rated.groupby(bins)["mood"].mean()
        points = [(f"{10 * b}–{10 * b + 10}%", float(mean[b]) if b in mean.index else None) for b in range(10)]
        out.append(("通话中的客户情绪 / customer mood through the call", str(charts.trend(
            [(label, None if v is None else (v + 1) / 2) for label, v in points], name="mood_course",
            title="客户情绪（0 = 负面，1 = 正面） / customer mood (0 negative, 1 positive)", empty_text="无 / none",
            value_format="{:.2f}", y_max=1.0, color=charts.GOOD))))
    # 3. trigger categories
    if len(flags):
        counts = flags["category"].value_counts()
        items = [(labels.category_name(c), float(n)) for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        out.append(("导火索类别 / trigger categories", str(charts.bars(
            items, name="categories", title="导火索类别 / trigger categories", empty_text="无 / none",
            value_format="{:.0f}", color=charts.BAD))))
    # 4. agents compared
    if len(agents):
        top = agents.sort_values(["calls", "agent"], ascending=[False, True], na_position="last").head(30)
        names = ["—" if _missing(a) else str(a) for a in top["agent"]]
        rates = [(n, 0.0 if _missing(v) else float(v)) for n, v in zip(names, top["flags_per_100_agent_turns"])]
        out.append(("坐席对比：每百句导火索 / agents: triggers per 100 agent turns", str(charts.bars(
            rates, name="agents", title="每百句坐席发言导火索 / triggers per 100 agent turns", empty_text="无 / none",
            color=charts.BAD))))
        if top["satisfaction_mean"].notna().any():
            sat = [(n, float(v)) for n, v in zip(names, top["satisfaction_mean"]) if not _missing(v)]
            out.append(("坐席对比：平均满意度 / agents: mean satisfaction", str(charts.bars(
                sat, name="agents_satisfaction", title="平均满意度 / mean satisfaction", empty_text="无 / none",
                value_format="{:.2f}", max_value=1.0, color=charts.GOOD))))
    return out
