"""The review workflow's pages and the call page's review parts (issue #15; rules in ``api.review``).

- ``review_call.call_context``: what the call page adds (imported by ``pages`` itself);
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
from sqlalchemy.orm import selectinload

from .. import review
from ..tables import StoredFlag, StoredTranscript, StoredTurn, Verdict
from . import charts, i18n
from .pages import category_names, page, render
from .review_call import latest_verdict, reason_labels
from .session import WebSession

router = APIRouter(include_in_schema=False)

AGENT_ROLES = ("agent",)
DISPUTE_ROLES = ("supervisor",)
Agent = Annotated[WebSession, Depends(page(*AGENT_ROLES))]
Supervisor = Annotated[WebSession, Depends(page(*DISPUTE_ROLES))]


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
                latest = latest_verdict(flag.verdicts)
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
            latest = latest_verdict(list(session.scalars(select(Verdict).where(Verdict.flag_id == flag.id))))
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
