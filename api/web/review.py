"""The review workflow's pages and the call page's review parts (issue #15; rules in ``api.review``).

- ``call_context``: what the call page adds: the summary of the call's flags by category (links
  that jump to each flag, across turn pages), the call's status, the reason codes, disputes per
  flag and the call's history from the audit log;
- ``/web/me`` (agent): the agent's own calls, flags with their rewrites, verdicts and disputes,
  and the trend of their flag rate;
- ``/web/disputes`` (supervisor): the open disputes, oldest first, with uphold / overturn, and
  the latest decided ones.
Writes go through the ``/v1`` endpoints (``api/routes/review.py``) from ``static/review.js``.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from analyzer.lexicon import load_categories

from .. import review
from ..tables import ApiKey, StoredFlag, StoredTranscript, StoredTurn, Verdict
from . import charts, i18n
from .pages import category_names, page, render
from .session import WebSession

router = APIRouter(include_in_schema=False)

AGENT_ROLES = ("agent",)
DISPUTE_ROLES = ("supervisor",)
Agent = Annotated[WebSession, Depends(page(*AGENT_ROLES))]
Supervisor = Annotated[WebSession, Depends(page(*DISPUTE_ROLES))]
DECISION_REASONS = {reason for _, reason in review.DECISIONS.values()}  # set by a decision, not chosen


def may_view(web: WebSession, stored: StoredTranscript) -> bool:
    """Supervisors, analysts and admins see every call; an agent only their own."""
    return web.key.role != "agent" or review.owns(web.key, stored)


def reason_labels(lang: str) -> dict[str, str]:
    return {code: r.label(lang) for code, r in review.reasons().items()}


def _latest(verdicts: list[Verdict]) -> Verdict | None:
    return max(verdicts, key=lambda v: (v.at, v.id)) if verdicts else None


def call_context(session: Session, stored: StoredTranscript, web: WebSession, lang: str,
                 turns_per_page: int) -> dict[str, Any]:
    """The call page's review parts (see the module's docstring)."""
    names = category_names(lang)
    indices = list(session.scalars(select(StoredTurn.index).where(StoredTurn.transcript_id == stored.id)
                                   .order_by(StoredTurn.index)))
    page_of = {index: i // turns_per_page + 1 for i, index in enumerate(indices)}
    rows = session.execute(
        select(StoredFlag, StoredTurn.index).join(StoredTurn, StoredFlag.turn_id == StoredTurn.id)
        .where(StoredTurn.transcript_id == stored.id).order_by(StoredTurn.index, StoredFlag.position)
        .options(selectinload(StoredFlag.verdicts))
    ).all()
    flag_ids = [f.id for f, _ in rows]
    disputes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    found = review.disputes(session, None, flag_ids=flag_ids) if flag_ids else []
    key_names = review.key_names(session, {i for d, *_ in found for i in (d.key_id, d.decided_by)})
    for d, *_ in sorted(found, key=lambda r: (r[0].at, r[0].id)):
        disputes[d.flag_id].append(review.dispute_view(d, key_names))
    order = list(load_categories())
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    flags = []
    for n, (flag, turn_index) in enumerate(rows, start=1):
        latest = _latest(flag.verdicts)
        item = {
            "id": flag.id, "n": n, "turn": turn_index, "page": page_of.get(turn_index, 1), "text": flag.text,
            "category": flag.category, "source": flag.source, "state": latest.verdict if latest else "",
            "disputed": any(d["status"] == "open" for d in disputes.get(flag.id, [])),
        }
        flags.append(item)
        by_category[flag.category].append(item)
    summary = [
        {"category": c, "name": names.get(c, c), "count": len(by_category[c]), "flags": by_category[c]}
        for c in sorted(by_category, key=lambda c: (order.index(c) if c in order else len(order), c))
    ]
    reviewer = session.get(ApiKey, stored.reviewed_by) if stored.reviewed_by else None
    history = [
        {**review.audit_view(entry, key), "what": _describe(entry.action, entry.detail or {}, lang, names)}
        for entry, key in review.call_history(session, stored.id)
    ] if web.key.role != "agent" else []
    role = web.key.role
    return {
        "flags": flags, "summary": summary, "status": stored.status,
        "reviewed_by": reviewer.name if reviewer else None, "reviewed_at": stored.reviewed_at,
        "reasons": {v: [(r.code, r.label(lang)) for r in review.reasons_for(v) if r.code not in DECISION_REASONS]
                    for v in ("confirmed", "dismissed")},
        "reason_labels": reason_labels(lang), "disputes": dict(disputes), "history": history,
        "can_review": role in ("supervisor", "admin"), "can_dispute": role == "agent",
        "open_disputes": sum(1 for f in flags if f["disputed"]),
    }


def _describe(action: str, detail: dict[str, Any], lang: str, names: dict[str, str]) -> str:
    """One line of the call's history, in the page's language."""
    t = i18n.translator(lang)
    labels = reason_labels(lang)
    text = str(detail.get("text") or "")
    if action == "verdict":
        reason = labels.get(detail.get("reason") or "", "")
        return t("history.verdict", verdict=t("verdict." + str(detail.get("verdict"))), text=text,
                 reason=f"（{reason}）" if reason and lang == "zh" else (f" ({reason})" if reason else ""))
    if action == "flag_added":
        return t("history.flag_added", text=text, category=names.get(str(detail.get("category")), ""))
    if action == "status":
        return t("history.status", before=t("status." + str(detail.get("before"))),
                 after=t("status." + str(detail.get("after"))))
    if action == "dispute":
        return t("history.dispute", text=text, comment=str(detail.get("comment") or ""))
    if action == "dispute_decided":
        return t("history.decided", decision=t("dispute." + str(detail.get("decision"))))
    return action


# -- the agent's own view ----------------------------------------------------------------------
def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


@router.get("/web/me")
def my_page(request: Request, web: Agent) -> Response:
    """An agent's calls, flags and trend: only the calls of the agent this key is linked to."""
    lang = i18n.lang_of(request)
    t = i18n.translator(lang)
    names = category_names(lang)
    agent_id = web.key.agent_id
    calls, flags, trend = [], [], []
    with request.app.state.sessions() as session:
        if agent_id:
            stored = list(session.scalars(
                select(StoredTranscript).where(StoredTranscript.agent_key == agent_id)
                .order_by(StoredTranscript.created_at.desc()).limit(200)))
            ids = [s.id for s in stored]
            rows = session.execute(
                select(StoredFlag, StoredTurn.index, StoredTurn.transcript_id)
                .join(StoredTurn, StoredFlag.turn_id == StoredTurn.id).where(StoredTurn.transcript_id.in_(ids))
                .order_by(StoredTurn.transcript_id, StoredTurn.index, StoredFlag.position)
                .options(selectinload(StoredFlag.verdicts))
            ).all() if ids else []
            found = review.disputes(session, None, flag_ids=[f.id for f, *_ in rows]) if rows else []
            dispute_of = {}
            for d, *_ in sorted(found, key=lambda r: (r[0].at, r[0].id)):
                dispute_of[d.flag_id] = d.status  # the latest dispute's status
            counted: dict[str, int] = defaultdict(int)  # flags that stand: not dismissed (nor overturned)
            labels = reason_labels(lang)
            for flag, turn_index, tid in rows:
                latest = _latest(flag.verdicts)
                if not latest or latest.verdict != "dismissed":
                    counted[tid] += 1
                flags.append({
                    "id": flag.id, "transcript": tid, "turn": turn_index, "text": flag.text, "source": flag.source,
                    "category": names.get(flag.category, flag.category), "rewrite": flag.rewrite,
                    "verdict": latest.verdict if latest else "",
                    "reason": labels.get(latest.reason or "", "") if latest else "",
                    "dispute": dispute_of.get(flag.id, ""),
                })
            series: dict[date, list[int]] = defaultdict(lambda: [0, 0])
            for s in stored:
                day = (s.started_at or s.created_at).date()
                agent_turns = int((s.summary or {}).get("agent_turns") or 0)
                series[_week(day)][0] += counted[s.id]
                series[_week(day)][1] += agent_turns
                calls.append({"id": s.id, "source": s.source, "when": s.started_at or s.created_at,
                              "flags": counted[s.id], "agent_turns": agent_turns, "status": s.status})
            if series:
                week, last = min(series), max(series)
                while week <= last:
                    n_flags, n_turns = series.get(week, (0, 0))
                    trend.append((week.strftime("%m-%d"), round(100 * n_flags / n_turns, 1) if n_turns else None))
                    week += timedelta(days=7)
    chart = charts.trend(trend, name="my-trend", title=t("me.trend"), empty_text=t("me.empty"))
    total_flags = sum(c["flags"] for c in calls)
    total_turns = sum(c["agent_turns"] for c in calls)
    rate = round(100 * total_flags / total_turns, 1) if total_turns else None
    return render(request, "me.html", web, calls=calls, flags=flags, chart=chart, agent_id=agent_id, rate=rate)


# -- the supervisor's dispute queue ------------------------------------------------------------
@router.get("/web/disputes")
def disputes_page(request: Request, web: Supervisor) -> Response:
    lang = i18n.lang_of(request)
    names = category_names(lang)
    labels = reason_labels(lang)

    def rows_of(status: str | None, limit: int) -> list[dict[str, Any]]:
        found = review.disputes(session, status, limit=limit)
        if status is None:
            found = [r for r in found if r[0].status != "open"]
        keys = review.key_names(session, {i for d, *_ in found for i in (d.key_id, d.decided_by)})
        out = []
        for d, flag, turn, call in found:
            latest = _latest(list(session.scalars(select(Verdict).where(Verdict.flag_id == flag.id))))
            out.append({
                **review.dispute_view(d, keys), "call": call.id, "source": call.source, "turn": turn.index,
                "turn_text": turn.text, "text": flag.text, "category": names.get(flag.category, flag.category),
                "rewrite": flag.rewrite, "verdict": latest.verdict if latest else "",
                "reason": labels.get(latest.reason or "", "") if latest else "",
            })
        return out

    with request.app.state.sessions() as session:
        open_rows, decided = rows_of("open", 200), rows_of(None, 50)
    return render(request, "disputes.html", web, open_rows=open_rows, decided=decided)
