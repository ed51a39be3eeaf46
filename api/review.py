"""The supervisor's review workflow (issue #15): verdict reasons, flags added by a reviewer, the
call's status, agents' disputes and the supervisor's decisions, and the audit log of all of them.

Like ``api.store``, these functions never commit: the caller owns the transaction, so an action
and its audit entry are stored together or not at all. Bad input raises ``ApiError`` (4xx, 中文 /
English). The reason codes are data: ``corpora/review_reasons.yaml``.

Statuses of a call: ``new`` → ``reviewed`` (a supervisor marks it); an agent's dispute makes it
``disputed``; when a supervisor has decided its last open dispute it is ``reviewed`` again.
A dispute is ``open`` until decided ``upheld`` (the flag stands: a confirmed verdict with reason
``dispute_upheld``) or ``overturned`` (a dismissed verdict with reason ``dispute_overturned``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from analyzer.lexicon import load_categories
from analyzer.resources import CORPORA, read_yaml

from . import store
from .errors import ApiError
from .tables import (
    ApiKey,
    AuditEntry,
    Dispute,
    StoredFlag,
    StoredTranscript,
    StoredTurn,
    Verdict,
    now,
)

REASONS_FILE = CORPORA / "review_reasons.yaml"
STATUSES = ("new", "reviewed", "disputed")
SETTABLE_STATUSES = ("new", "reviewed")  # "disputed" comes from an agent's dispute
DECISIONS = {"upheld": ("confirmed", "dispute_upheld"), "overturned": ("dismissed", "dispute_overturned")}
REVIEWER_SOURCE = "reviewer"  # the source of a flag a supervisor added by hand
AGENT_ID = re.compile(r"(id:[0-9A-Za-z_-]{1,40}|name:\S.{0,98})")  # analyzer.callmeta's agent key


# -- reason codes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reason:
    code: str
    verdict: str
    zh: str
    en: str

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@cache
def reasons() -> dict[str, Reason]:
    """Every reason code, in file order: ``{code: Reason}``; a malformed file fails at load."""
    raw = read_yaml(REASONS_FILE.read_text(encoding="utf-8"))
    found: dict[str, Reason] = {}
    for verdict in store.VERDICTS:
        for entry in raw.get(verdict) or []:
            code = entry["code"]
            if code in found or not all(isinstance(entry.get(k), str) and entry[k] for k in ("zh", "en")):
                raise ValueError(f"{REASONS_FILE.name}: {code} is repeated or lacks a zh or en label")
            found[code] = Reason(code, verdict, entry["zh"], entry["en"])
    return found


def reasons_for(verdict: str) -> list[Reason]:
    return [r for r in reasons().values() if r.verdict == verdict]


def check_reason(verdict: str, code: str | None) -> None:
    """422 unless ``code`` is None or a reason of ``verdict``'s list."""
    if code is None:
        return
    known = reasons().get(code)
    if known is None or known.verdict != verdict:
        allowed = ", ".join(r.code for r in reasons_for(verdict))
        raise ApiError(422, "invalid_reason",
                       f"原因代码 {code} 不适用于“{verdict}”，可选：{allowed} / "
                       f"reason {code} is not one for {verdict}; one of: {allowed}")


def check_agent_id(value: str | None, role: str) -> str | None:
    """An agent key's agent id (``id:1234`` or ``name:小林``), or None; 422 when malformed or
    given for another role."""
    if value is None:
        return None
    value = value.strip()
    if role != "agent":
        raise ApiError(422, "invalid_agent_id", "只有坐席密钥可以关联坐席 / only an agent key has an agent id")
    if not AGENT_ID.fullmatch(value):
        raise ApiError(422, "invalid_agent_id",
                       "坐席标识须为 id:<工号> 或 name:<姓名> / an agent id is id:<employee id> or name:<name>")
    return value


# -- the audit log -----------------------------------------------------------------------------
def audit(session: Session, key: ApiKey | None, action: str, target: str, **detail: Any) -> AuditEntry:
    entry = AuditEntry(key_id=key.id if key else None, action=action, target=target, detail=detail or None, at=now())
    session.add(entry)
    return entry


def _call_targets(session: Session, transcript_id: str) -> list[str]:
    flag_ids = list(session.scalars(
        select(StoredFlag.id).join(StoredTurn, StoredFlag.turn_id == StoredTurn.id)
        .where(StoredTurn.transcript_id == transcript_id)))
    dispute_ids = list(session.scalars(select(Dispute.id).where(Dispute.flag_id.in_(flag_ids)))) if flag_ids else []
    return [f"transcript:{transcript_id}", *(f"flag:{f}" for f in flag_ids), *(f"dispute:{d}" for d in dispute_ids)]


def call_history(session: Session, transcript_id: str) -> list[tuple[AuditEntry, ApiKey | None]]:
    """Every audit entry about the call, its flags and their disputes, oldest first, with its key."""
    targets = _call_targets(session, transcript_id)
    query = (select(AuditEntry, ApiKey).outerjoin(ApiKey, AuditEntry.key_id == ApiKey.id)
             .where(AuditEntry.target.in_(targets)).order_by(AuditEntry.at, AuditEntry.id))
    return [(entry, key) for entry, key in session.execute(query)]


def recent_audit(session: Session, limit: int, offset: int) -> tuple[list[tuple[AuditEntry, ApiKey | None]], int]:
    total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    query = (select(AuditEntry, ApiKey).outerjoin(ApiKey, AuditEntry.key_id == ApiKey.id)
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset))
    return [(entry, key) for entry, key in session.execute(query)], total


def audit_view(entry: AuditEntry, key: ApiKey | None) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.at, "action": entry.action, "target": entry.target,
            "detail": entry.detail or {}, "key": {"id": key.id, "name": key.name} if key else None}


# -- verdicts with a reason --------------------------------------------------------------------
def transcript_of_flag(session: Session, flag: StoredFlag) -> StoredTranscript:
    return session.scalar(select(StoredTranscript).join(StoredTurn).where(StoredTurn.id == flag.turn_id))


def set_verdict(
    session: Session, flag: StoredFlag, key: ApiKey, verdict: str, reason: str | None, note: str | None,
) -> Verdict:
    check_reason(verdict, reason)
    found = store.set_verdict(session, flag, key, verdict, note, reason=reason)
    transcript = transcript_of_flag(session, flag)
    audit(session, key, "verdict", f"flag:{flag.id}", verdict=verdict, reason=reason, note=note,
          transcript=transcript.id, text=flag.text, category=flag.category)
    return found


# -- a missed trigger added by hand ------------------------------------------------------------
def add_flag(
    session: Session, transcript: StoredTranscript, turn_index: int, key: ApiKey, start: int, end: int,
    category: str, note: str | None,
) -> StoredFlag:
    """A flag on ``transcript``'s agent turn ``turn_index`` over ``text[start:end]`` (code points),
    source ``reviewer``, added by ``key``. 404 for no such turn, 422 for a customer turn, a span
    outside the text or of blanks only, an unknown category; 409 when that span already has a
    flag of that category."""
    turn = session.scalar(select(StoredTurn).where(StoredTurn.transcript_id == transcript.id,
                                                   StoredTurn.index == turn_index)
                          .options(selectinload(StoredTurn.flags)))
    if turn is None:
        raise ApiError(404, "not_found", f"找不到第 {turn_index} 轮 / turn {turn_index} not found")
    if turn.role != "agent":
        raise ApiError(422, "not_agent_turn", "只能在坐席发言上标记导火索 / only an agent's turn can be flagged")
    length = len(turn.text)
    if not 0 <= start < end <= length:
        raise ApiError(422, "invalid_span",
                       f"标记范围 {start}–{end} 超出该句（共 {length} 字） / span {start}-{end} is outside the "
                       f"turn's {length} characters")
    if not turn.text[start:end].strip():
        raise ApiError(422, "invalid_span", "标记的文字全是空白 / the span is blank")
    categories = load_categories()
    if category not in categories:
        raise ApiError(422, "invalid_category",
                       f"未知类别 {category}，可选：{', '.join(categories)} / unknown category {category}; "
                       f"one of: {', '.join(categories)}")
    if any(f.start == start and f.end == end and f.category == category for f in turn.flags):
        raise ApiError(409, "duplicate_flag", "这段文字已有该类别的标记 / this span already has a flag of that category")
    flag = StoredFlag(
        turn_id=turn.id, position=max((f.position for f in turn.flags), default=-1) + 1, start=start, end=end,
        text=turn.text[start:end], category=category, confidence=1.0, source=REVIEWER_SOURCE,
        rule=f"{REVIEWER_SOURCE}:{category}", principle=note or categories[category].section, suggestions=[],
        rewrite="", added_by=key.id,
    )
    session.add(flag)
    session.flush()
    audit(session, key, "flag_added", f"flag:{flag.id}", transcript=transcript.id, turn=turn_index, start=start,
          end=end, text=flag.text, category=category, note=note)
    return flag


# -- the call's status -------------------------------------------------------------------------
def open_disputes_on(session: Session, transcript_id: str) -> int:
    query = (select(func.count()).select_from(Dispute).join(StoredFlag, Dispute.flag_id == StoredFlag.id)
             .join(StoredTurn, StoredFlag.turn_id == StoredTurn.id)
             .where(StoredTurn.transcript_id == transcript_id, Dispute.status == "open"))
    return session.scalar(query) or 0


def _move(session: Session, transcript: StoredTranscript, key: ApiKey, status: str) -> None:
    before = transcript.status
    if status == "reviewed":
        transcript.reviewed_by, transcript.reviewed_at = key.id, now()
    elif status == "new":
        transcript.reviewed_by, transcript.reviewed_at = None, None
    transcript.status = status
    audit(session, key, "status", f"transcript:{transcript.id}", before=before, after=status)


def set_status(session: Session, transcript: StoredTranscript, key: ApiKey, status: str) -> None:
    """A supervisor marks a call ``reviewed`` (or back to ``new``); 422 for another status, 409
    while a dispute on the call is open."""
    if status not in SETTABLE_STATUSES:
        raise ApiError(422, "invalid_status",
                       f"状态须为 {' 或 '.join(SETTABLE_STATUSES)} / status must be {' or '.join(SETTABLE_STATUSES)}")
    if open_disputes_on(session, transcript.id):
        raise ApiError(409, "open_disputes", "该通话还有未处理的申诉，请先处理 / decide the call's open disputes first")
    _move(session, transcript, key, status)


# -- disputes ----------------------------------------------------------------------------------
def owns(key: ApiKey, transcript: StoredTranscript) -> bool:
    """Whether an agent key may see this call: it is linked to the call's agent."""
    return bool(key.agent_id) and transcript.agent_key == key.agent_id


def open_dispute(session: Session, flag: StoredFlag, key: ApiKey, comment: str) -> Dispute:
    """An agent disputes a flag on one of their own calls (404 otherwise: another agent's calls
    are not theirs to know of); 422 for a blank comment; 409 when the flag has an open dispute."""
    transcript = transcript_of_flag(session, flag)
    if not owns(key, transcript):
        raise ApiError(404, "not_found", "找不到该标记 / flag not found")
    if not comment.strip():
        raise ApiError(422, "invalid_request", "请写明申诉理由 / say why you dispute the flag")
    if session.scalar(select(Dispute.id).where(Dispute.flag_id == flag.id, Dispute.status == "open")):
        raise ApiError(409, "dispute_open", "该标记已有待处理的申诉 / this flag already has an open dispute")
    dispute = Dispute(flag_id=flag.id, key_id=key.id, comment=comment.strip(), at=now(), status="open")
    session.add(dispute)
    session.flush()
    audit(session, key, "dispute", f"dispute:{dispute.id}", flag=flag.id, transcript=transcript.id,
          comment=dispute.comment, text=flag.text, category=flag.category)
    if transcript.status != "disputed":
        _move(session, transcript, key, "disputed")
    return dispute


def decide(session: Session, dispute: Dispute, key: ApiKey, decision: str, note: str | None) -> Verdict:
    """A supervisor upholds or overturns an open dispute (409 when already decided): the decision,
    a verdict by the supervisor (overturned counts as dismissed) and, once the call has no open
    dispute left, the call back to ``reviewed``."""
    if decision not in DECISIONS:
        raise ApiError(422, "invalid_decision", "决定须为 upheld 或 overturned / decision must be upheld or overturned")
    # one conditional UPDATE: of two supervisors deciding at once, one wins, the other gets 409
    decided = session.execute(
        update(Dispute).where(Dispute.id == dispute.id, Dispute.status == "open")
        .values(status=decision, decided_by=key.id, decided_at=now(), decision_note=note)
        .execution_options(synchronize_session=False))
    if decided.rowcount == 0:
        raise ApiError(409, "dispute_decided", "该申诉已处理 / this dispute has been decided")
    session.refresh(dispute)
    flag = session.get(StoredFlag, dispute.flag_id)
    transcript = transcript_of_flag(session, flag)
    audit(session, key, "dispute_decided", f"dispute:{dispute.id}", flag=flag.id, transcript=transcript.id,
          decision=decision, note=note)
    verdict, reason = DECISIONS[decision]
    found = set_verdict(session, flag, key, verdict, reason, note)
    session.flush()
    if transcript.status == "disputed" and not open_disputes_on(session, transcript.id):
        _move(session, transcript, key, "reviewed")
    return found


def dispute_view(d: Dispute, keys: dict[int, ApiKey]) -> dict[str, Any]:
    ref = lambda kid: {"id": kid, "name": keys[kid].name} if kid in keys else None
    return {"id": d.id, "flag_id": d.flag_id, "comment": d.comment, "at": d.at, "status": d.status,
            "key": ref(d.key_id), "decided_by": ref(d.decided_by) if d.decided_by else None,
            "decided_at": d.decided_at, "decision_note": d.decision_note}


def key_names(session: Session, ids: set[int]) -> dict[int, ApiKey]:
    ids = {i for i in ids if i is not None}
    return {k.id: k for k in session.scalars(select(ApiKey).where(ApiKey.id.in_(ids)))} if ids else {}


def disputes(session: Session, status: str | None = "open", *, flag_ids: list[str] | None = None,
             limit: int = 200) -> list[tuple[Dispute, StoredFlag, StoredTurn, StoredTranscript]]:
    """Disputes (``status`` None: all) with their flag, turn and call, oldest open first."""
    query = (select(Dispute, StoredFlag, StoredTurn, StoredTranscript)
             .join(StoredFlag, Dispute.flag_id == StoredFlag.id)
             .join(StoredTurn, StoredFlag.turn_id == StoredTurn.id)
             .join(StoredTranscript, StoredTurn.transcript_id == StoredTranscript.id))
    if status is not None:
        query = query.where(Dispute.status == status)
    if flag_ids is not None:
        query = query.where(Dispute.flag_id.in_(flag_ids))
    order = (Dispute.at, Dispute.id) if status == "open" else (Dispute.at.desc(), Dispute.id.desc())
    return [tuple(row) for row in session.execute(query.order_by(*order).limit(limit))]
