"""The call page's review parts (issue #15; the rules live in ``api.review``), for
``pages.call_page``: the summary of the call's flags by category (links that jump to each flag,
across turn pages), the call's status, the reason codes, disputes per flag and the call's history
from the audit log. Imports nothing of the pages (``api/web/review.py`` has the review pages).
"""
from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from analyzer.lexicon import load_categories

from .. import review
from ..tables import ApiKey, StoredFlag, StoredTranscript, StoredTurn, Verdict
from . import i18n
from .session import WebSession

DECISION_REASONS = {reason for _, reason in review.DECISIONS.values()}  # set by a decision, not chosen


@cache
def category_names(lang: str) -> dict[str, str]:
    return {cid: (c.name_zh if lang == "zh" else c.name_en) for cid, c in load_categories().items()}


def may_view(web: WebSession, stored: StoredTranscript) -> bool:
    """Supervisors, analysts and admins see every call; an agent only their own."""
    return web.key.role != "agent" or review.owns(web.key, stored)


def reason_labels(lang: str) -> dict[str, str]:
    return {code: r.label(lang) for code, r in review.reasons().items()}


def latest_verdict(verdicts: list[Verdict]) -> Verdict | None:
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
        latest = latest_verdict(flag.verdicts)
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
