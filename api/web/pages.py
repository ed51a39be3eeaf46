"""The supervisor's web app: server-rendered pages (Jinja2) under ``/web``, plus a little vanilla JS.

Pages and who may open them (admin may open all):
- ``/web/login`` (everyone), ``POST /web/logout``, ``/web/lang/{zh|en}`` (the language toggle);
- ``/web/upload`` (supervisor): drag-and-drop upload through ``POST /v1/transcripts``;
- ``/web/calls`` and ``/web/calls/{id}`` (supervisor, analyst): the list with filters, one call
  with its highlights, mood, scorecard and verdicts (buttons for supervisors only, through
  ``POST /v1/flags/{id}/verdict``); ``/web/verdicts.csv`` and ``.jsonl``: every verdict;
- ``/web/agents`` (supervisor, analyst): per agent and team, with SVG charts drawn here;
- ``/web/live`` (agent, supervisor): the live tip box, over ``WS /web/live/ws`` (the protocol and
  answers of ``WS /v1/live``, authenticated by the session cookie).
A page asked for without a session redirects to the login page.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool

from analyzer import labels
from analyzer.cells import escape_row
from analyzer.lexicon import load_categories

from .. import store, views, zips
from ..auth_limit import TooManyFailures, find_key
from ..deps import LIVE_ROLES, PipelineDep, SettingsDep, role_allowed
from ..live_sockets import OpenSocket
from ..routes.live import CLOSE_UNAUTHORIZED, serve_tips
from . import charts, data, drill, find, i18n
from .review_call import call_context, may_view  # the call page's review parts
from .session import (
    COOKIE,
    WebSession,
    csrf_ok,
    end,
    from_cookie,
    issue,
    max_age,
    same_origin,
    verify,
)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"

# Who may open what (admin may open everything; see deps.role_allowed).
UPLOAD_ROLES = ("supervisor",)
READ_ROLES = ("supervisor", "analyst")
VERDICT_ROLES = ("supervisor",)
NAV = (  # (string key, url, roles)
    ("nav.upload", "/web/upload", UPLOAD_ROLES),
    ("nav.calls", "/web/calls", READ_ROLES),
    ("nav.agents", "/web/agents", READ_ROLES),
    ("nav.rules", "/web/rules", READ_ROLES),
    ("nav.disputes", "/web/disputes", ("supervisor",)),  # api/web/review.py
    ("nav.mine", "/web/me", ("agent",)),
    ("nav.live", "/web/live", LIVE_ROLES),
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

LIVE_SOCKET = "/web/live/ws"  # the live box's socket (the messages and answers of WS /v1/live)

router = APIRouter(include_in_schema=False)


# -- rendering ---------------------------------------------------------------------------------
def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def clock(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):  # NaN/Infinity stored before entry checks
        return ""
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


@cache
def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["when"] = when
    return env


@cache
def category_names(lang: str) -> dict[str, str]:
    return {cid: (c.name_zh if lang == "zh" else c.name_en) for cid, c in load_categories().items()}


def home_for(role: str) -> str:
    return "/web/calls" if role_allowed(role, READ_ROLES) else "/web/live"


def safe_next(value: str | None) -> str:
    """A redirect target from a form or the query: only a path inside the web app."""
    value = (value or "").strip()
    parts = urlsplit(value)
    inside = parts.path == "/web" or parts.path.startswith("/web/")
    if not inside or value.startswith("//") or "\\" in value or parts.scheme or parts.netloc:
        return ""
    return value


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def render(
    request: Request, template: str, web: WebSession | None, *, status: int = 200,
    page_data: dict[str, Any] | None = None, **context: Any,
) -> HTMLResponse:
    lang = i18n.lang_of(request)
    role = web.key.role if web else ""
    nav = [
        {"label": label, "url": url, "current": request.url.path.startswith(url)}
        for label, url, roles in NAV if web and role_allowed(role, roles)
    ]
    names = category_names(lang)
    shared = {
        "strings": i18n.table(lang), "categories": names, "lang": lang,
        "user": {"id": web.key.id, "name": web.key.name, "role": role} if web else None,
        **(page_data or {}),
    }
    html = _templates().get_template(template).render(
        t=i18n.translator(lang), lang=lang, html_lang=i18n.HTML_LANG[lang],
        other_lang="en" if lang == "zh" else "zh", here=quote(_here(request), safe=""),
        user=web.key if web else None, csrf=web.csrf if web else "", nav=nav, categories=names,
        page_data=shared, **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


# -- page access -------------------------------------------------------------------------------
class LoginRequired(Exception):
    def __init__(self, next_url: str):
        self.next_url = next_url


class PageForbidden(Exception):
    def __init__(self, web: WebSession):
        self.web = web


def page(*roles: str) -> Callable[[Request], WebSession]:
    """A dependency: the page's session; no session → the login page; wrong role → a 403 page."""

    def dependency(request: Request) -> WebSession:
        web = from_cookie(request)
        if web is None:
            raise LoginRequired(_here(request))
        if not role_allowed(web.key.role, roles):
            raise PageForbidden(web)
        return web

    return dependency


async def _login_required(request: Request, exc: LoginRequired) -> Response:
    return RedirectResponse("/web/login?next=" + quote(exc.next_url, safe=""), status_code=303)


async def _forbidden(request: Request, exc: PageForbidden) -> Response:
    t = i18n.translator(i18n.lang_of(request))
    return render(
        request, "error.html", exc.web, status=403, title=t("error.forbidden.title"),
        message=t("error.forbidden.text", role=t("role." + exc.web.key.role)), home=home_for(exc.web.key.role),
    )


EXCEPTION_HANDLERS = {LoginRequired: _login_required, PageForbidden: _forbidden}

Uploader = Annotated[WebSession, Depends(page(*UPLOAD_ROLES))]
Reader = Annotated[WebSession, Depends(page(*READ_ROLES))]
CallViewer = Annotated[WebSession, Depends(page(*READ_ROLES, "agent"))]  # an agent: only their own calls
LiveUser = Annotated[WebSession, Depends(page(*LIVE_ROLES))]


# -- login, logout, language -------------------------------------------------------------------
@router.get("/web")
async def web_root() -> Response:
    return RedirectResponse("/web/", status_code=308)


@router.get("/web/")
def web_home(request: Request) -> Response:
    web = from_cookie(request)
    return RedirectResponse(home_for(web.key.role) if web else "/web/login", status_code=303)


@router.get("/web/login")
def login_page(request: Request, next: str = "") -> Response:
    web = from_cookie(request)
    if web is not None:
        return RedirectResponse(safe_next(next) or home_for(web.key.role), status_code=303)
    return render(request, "login.html", None, next=safe_next(next), error="")


@router.post("/web/login")
async def login(request: Request, settings: SettingsDep) -> Response:
    t = i18n.translator(i18n.lang_of(request))
    form = await request.form()
    next_url = safe_next(str(form.get("next") or ""))
    if not same_origin(request):
        return render(request, "login.html", None, status=403, next=next_url, error=t("login.error.origin"))
    plain = str(form.get("key") or "").strip()

    def lookup():
        return find_key(request, plain) if plain else None

    try:
        key = await run_in_threadpool(lookup)
    except TooManyFailures as exc:
        response = render(request, "login.html", None, status=429, next=next_url,
                          error=t("login.error.rate", seconds=exc.retry_after))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if key is None:
        return render(request, "login.html", None, status=401, next=next_url, error=t("login.error.key"))
    cookie = await run_in_threadpool(issue, request, key)
    response = RedirectResponse(next_url or home_for(key.role), status_code=303)
    response.set_cookie(
        COOKIE, cookie, max_age=max_age(settings), path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/web/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    web = await run_in_threadpool(from_cookie, request)
    if web is not None and not csrf_ok(request, web, str(form.get("csrf") or "")):
        t = i18n.translator(i18n.lang_of(request))
        return render(request, "error.html", web, status=403, title=t("error.csrf.title"),
                      message=t("error.csrf.text"), home=home_for(web.key.role))
    if web is not None:  # the session ends on the server: a copy of the cookie is worth nothing now
        ended = await run_in_threadpool(end, request, request.cookies.get(COOKIE))
        if ended is not None:
            request.app.state.live_sockets.end_session(ended)
    response = RedirectResponse("/web/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.get("/web/lang/{lang}")
async def set_language(request: Request, lang: str, next: str = "") -> Response:
    response = RedirectResponse(safe_next(next) or "/web/", status_code=303)
    if lang in i18n.LANGS:
        response.set_cookie(i18n.LANG_COOKIE, lang, max_age=365 * 24 * 3600, path="/", samesite="lax", httponly=True)
    return response


# -- upload ------------------------------------------------------------------------------------
@router.get("/web/upload")
def upload_page(request: Request, web: Uploader, settings: SettingsDep) -> Response:
    return render(
        request, "upload.html", web, teams_stored=data.team_column() is not None,
        zip_members=zips.MAX_MEMBERS, zip_mib=zips.MAX_UNPACKED_BYTES // (1024 * 1024),
        page_data={"maxUploadBytes": settings.max_upload_bytes},
    )


# -- calls -------------------------------------------------------------------------------------
@router.get("/web/calls")
def calls_page(request: Request, web: Reader) -> Response:
    """The call list: search and filters, all in the URL (``api/web/find.py``)."""
    f = find.Find.from_query(request.query_params)
    zone = find.zone_of(request.app.state.settings)
    with request.app.state.sessions() as session:
        found = find.find_calls(session, f, zone=zone)
        agents, teams = find.agent_choices(session), data.team_names(session)
        rules = find.rule_choices(session)
    return render(
        request, "calls.html", web, f=f, calls=found, agents=agents, teams=teams, rules=rules,
        teams_stored=data.team_column() is not None, sorts=find.SORTS, statuses=find.STATUSES,
        ranges=find.quick_ranges(zone=zone),
    )


def segments(text: str, flags: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The turn's text cut into plain and marked pieces; overlapping flags share one mark."""
    spans = sorted((f["start"], f["end"], f["id"]) for f in flags if 0 <= f["start"] < f["end"] <= len(text))
    merged: list[list[Any]] = []
    for start, end, fid in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].append(fid)
        else:
            merged.append([start, end, [fid]])
    out, pos = [], 0
    for start, end, ids in merged:
        if start > pos:
            out.append({"text": text[pos:start], "flags": []})
        out.append({"text": text[start:end], "flags": ids})
        pos = end
    if pos < len(text):
        out.append({"text": text[pos:], "flags": []})
    return out


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


SCORECARD_KEYS = ("channel", "items", "passed", "failed", "not_applicable", "score", "triggers_by_category")


def scorecard_view(card: Any, lang: str, names: dict[str, str]) -> dict[str, Any] | None:
    """The stored scorecard, ready to show; None when there is none. Unknown top-level values are
    shown as they are, so a scorecard that grows new fields still shows them."""
    if not isinstance(card, dict) or not card:
        return None
    # the words of huashu analyze --format html and huashu report too (analyzer.labels): values as
    # people read them, why an item failed, the handbook's title and section as its source
    items = [{**row, "notes": row["note"]} for row in labels.scorecard_rows(card, lang)]
    triggers = card.get("triggers_by_category") if isinstance(card.get("triggers_by_category"), dict) else {}
    view = {
        "items": items, "score": data.score_of(card), "channel": card.get("channel"),
        "counts": [(k, card[k]) for k in ("passed", "failed", "not_applicable") if isinstance(card.get(k), int)],
        "triggers": [(names.get(c, c), n) for c, n in triggers.items()],
        "extra": [(k, _shown(v)) for k, v in card.items() if k not in SCORECARD_KEYS],
    }
    return view if items or view["triggers"] or view["extra"] or view["score"] is not None else None


TURNS_PER_PAGE = 500


@router.get("/web/calls/{transcript_id}")
def call_page(request: Request, transcript_id: str, web: CallViewer) -> Response:
    """One call, its turns TURNS_PER_PAGE at a time (``?page=N``): a 100,000-turn call is not one
    27 MB page."""
    lang = i18n.lang_of(request)
    t = i18n.translator(lang)
    page = data.page_number(request.query_params.get("page"))
    with request.app.state.sessions() as session:
        found = store.get_transcript_page(session, transcript_id, (page - 1) * TURNS_PER_PAGE, TURNS_PER_PAGE)
        if found is None or not may_view(web, found[0]):
            return render(request, "error.html", web, status=404, title=t("error.notfound.title"),
                          message=t("error.notfound.call"), home=home_for(web.key.role))
        stored, page_turns, total = found
        review = call_context(session, stored, web, lang, TURNS_PER_PAGE)
        call = views.transcript_view(stored, page_turns, ((page - 1) * TURNS_PER_PAGE, TURNS_PER_PAGE, total))
        team = data.team_of(stored)
        speakers = data.agent_turn_counts(session, transcript_id)
    turn_pages = {"page": page, "pages": max(1, -(-total // TURNS_PER_PAGE))}
    turns, trigger_turns = [], []
    for turn in call["turns"]:
        if turn["role"] == "agent":
            if turn["flags"]:
                trigger_turns.append(turn["index"])
        turns.append({**turn, "time": clock(turn.get("start_time")), "segments": segments(turn["text"], turn["flags"])})
    series = data.mood_series(call["summary"], call["turns"])
    by_turn = {i: (v, anger) for i, v, anger in series}
    escalated = {e.get("customer_turn") for e in call["summary"].get("escalations") or [] if isinstance(e, dict)}
    for turn in turns:
        turn["mood"] = by_turn.get(turn["index"])
        turn["escalation"] = turn["index"] in escalated
    mood_chart = charts.mood(
        series, turns=total, triggers=trigger_turns, name="mood", title=t("call.mood.title"),
        empty_text=t("call.mood.empty"),
        labels={k: t(f"chart.mood.{k}") for k in ("positive", "negative", "trigger", "turn")},
    )
    return render(
        request, "call.html", web, call=call, turns=turns, agent=data.main_agent(speakers), team=team,
        satisfaction=data.satisfaction_of(call["summary"]), escalation=data.escalation_of(call["summary"]),
        mood_chart=mood_chart, scorecard=scorecard_view(call.get("scorecard"), lang, category_names(lang)),
        can_verdict=role_allowed(web.key.role, VERDICT_ROLES), turn_pages=turn_pages, review=review,
    )


# -- verdicts export ---------------------------------------------------------------------------
def _export_name(ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="huashu-verdicts.{ext}"', "Cache-Control": "no-store"}


@router.get("/web/verdicts.csv")
def verdicts_csv(request: Request, web: Reader) -> Response:
    with request.app.state.sessions() as session:
        rows = data.verdict_rows(session)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=data.EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:  # text cells escaped: nothing in the export runs as a formula (analyzer.cells)
        writer.writerow(escape_row({**row, "suggestions": " | ".join(row["suggestions"])}))
    # a BOM, so that spreadsheet programs read the Chinese text as UTF-8
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers=_export_name("csv"))


@router.get("/web/verdicts.jsonl")
def verdicts_jsonl(request: Request, web: Reader) -> Response:
    with request.app.state.sessions() as session:
        rows = data.verdict_rows(session)
    body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return Response(body, media_type="application/x-ndjson; charset=utf-8", headers=_export_name("jsonl"))


# -- agents and teams --------------------------------------------------------------------------
@router.get("/web/agents")
def agents_page(
    request: Request, web: Reader, agent: str = "", team: str = "", date_from: str = "", date_to: str = "",
) -> Response:
    lang = i18n.lang_of(request)
    t = i18n.translator(lang)
    names = category_names(lang)
    start, end = data.parse_date(date_from), data.parse_date(date_to)
    with request.app.state.sessions() as session:
        dash = data.dashboard(session, agent=agent, team=team, date_from=start, date_to=end,
                              zone=find.zone_of(request.app.state.settings))
    focus = dash.selected or dash.overall
    neg, neu, pos = focus.mood_split
    rates = focus.pass_rates()
    passes = [(dash.labels.get(item, {}).get(lang, item), share) for item, share, _ in rates]
    drawn = {
        "rates": charts.bars(
            [(a.name, a.rate) for a in dash.agents[:30]], name="rates", title=t("agents.chart.rates"),
            empty_text=t("agents.empty"),
        ),
        "team_rates": charts.bars(
            [(s.name, s.rate) for s in dash.teams[:30]], name="team_rates", title=t("agents.chart.team_rates"),
            empty_text=t("agents.teams.empty"),
        ),
        "categories": charts.bars(
            [(names.get(c, c), n) for c, n in sorted(focus.categories.items(), key=lambda kv: (-kv[1], kv[0]))],
            name="categories", title=t("agents.chart.categories"), empty_text=t("agents.categories.empty"),
            value_format="{:.0f}", color=charts.BAD,
        ),
        "trend": charts.trend(
            dash.trend, name="trend", title=t("agents.chart.trend." + dash.bucket), empty_text=t("agents.trend.empty"),
        ),
        "mood": charts.shares(
            [(t("mood.negative"), neg, charts.BAD), (t("mood.neutral"), neu, charts.NEUTRAL),
             (t("mood.positive"), pos, charts.GOOD)],
            name="mood", title=t("agents.chart.mood"), empty_text=t("agents.mood.empty"),
        ),
        "scorecard": charts.bars(
            passes, name="scorecard", title=t("agents.chart.scorecard"), empty_text=t("agents.scorecard.empty"),
            value_format="{:.0%}", max_value=1.25, color=charts.GOOD,  # room for "3/5 通过（60%）"
        ),
    }
    # every bar opens the calls behind it (api/web/drill.py); pass rates with their counts
    chosen = {"date_from": start, "date_to": end}
    tip = t("drill.tip")
    drawn["rates"] = drill.link_bars(drawn["rates"], [
        drill.calls_url(agent=getattr(a, "key", None) or a.name, sort="flags_desc", **chosen) for a in dash.agents[:30]], tip=tip)
    drawn["team_rates"] = drill.link_bars(drawn["team_rates"], [
        drill.calls_url(team=s.name, sort="flags_desc", **chosen) for s in dash.teams[:30]], tip=tip)
    drawn["categories"] = drill.link_bars(drawn["categories"], [
        drill.calls_url(agent=agent, team=team, category=c, sort="flags_desc", **chosen)
        for c, _ in sorted(focus.categories.items(), key=lambda kv: (-kv[1], kv[0]))], tip=tip)
    drawn["scorecard"] = drill.link_bars(
        drawn["scorecard"], [drill.calls_url(agent=agent, team=team, sort="score_asc", **chosen)] * len(rates),
        texts=[drill.counted(round(share * n), n, t("drill.passed")) for _, share, n in rates], tip=tip)
    return render(
        request, "agents.html", web, dash=dash, focus=focus, charts=drawn, agent=agent, team=team, calls_url=drill.calls_url,
        export_query=urlencode({k: v for k, v in (("agent", agent), ("team", team), ("date_from", date_from),
                                                  ("date_to", date_to)) if v}),
        date_from=start.isoformat() if start else "", date_to=end.isoformat() if end else "",
    )


# -- the live tip box --------------------------------------------------------------------------
@router.get("/web/live")
def live_page(request: Request, web: LiveUser, settings: SettingsDep) -> Response:
    return render(request, "live.html", web, page_data={"maxChars": settings.max_utterance_chars, "liveUrl": LIVE_SOCKET})


@router.websocket(LIVE_SOCKET)
async def live_socket(websocket: WebSocket, pipeline: PipelineDep, settings: SettingsDep) -> None:
    """``WS /v1/live`` for the page: the same messages and answers, the session cookie as the key."""
    await websocket.accept()  # first, so that the page sees the close code
    cookie = websocket.cookies.get(COOKIE)
    web = await run_in_threadpool(verify, websocket, cookie) if same_origin(websocket) else None
    if web is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "missing, invalid or expired session")
        return

    def session_valid(active: bool) -> bool:  # messages on the socket count as use of the session
        return verify(websocket, cookie, touch=active) is not None

    await serve_tips(websocket, web.key.role, pipeline, settings, OpenSocket(web.key.id, web.id), session_valid)
