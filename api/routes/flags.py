"""``POST /v1/flags/{flag_id}/verdict``: a supervisor confirms or dismisses a stored flag."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError

from analyzer.privacy import mask_optional

from .. import review, store, views
from ..deps import SessionDep, SettingsDep, SupervisorKey
from ..errors import not_found
from ..routing import CheckedRoute
from ..schemas import FlagVerdictsOut, VerdictIn
from . import ERRORS

router = APIRouter(prefix="/v1", tags=["flags"], route_class=CheckedRoute, responses=ERRORS)


@router.post("/flags/{flag_id}/verdict", response_model=FlagVerdictsOut)
def set_verdict(
    flag_id: str, body: VerdictIn, key: SupervisorKey, session: SessionDep, settings: SettingsDep,
) -> dict[str, Any]:
    """确认或驳回 / confirm or dismiss a flag, with an optional reason code of that verdict's list
    (422 otherwise) and a note; a key's later verdict replaces its earlier one. Written to the
    audit log."""
    flag = store.get_flag(session, flag_id)
    if flag is None:
        raise not_found("flag", "该标记")
    note = mask_optional(body.note) if settings.mask_pii else body.note  # free text: masked when stored
    try:
        verdict = review.set_verdict(session, flag, key, body.verdict, body.reason, note)
        session.commit()
    except IntegrityError:  # the same key's first verdict, sent twice at once: the later one wins
        session.rollback()
        verdict = review.set_verdict(session, flag, key, body.verdict, body.reason, note)
        session.commit()
    return {
        "flag_id": flag_id,
        "verdict": views.verdict_view(verdict),
        "verdicts": [views.verdict_view(v) for v in store.verdicts_of(session, flag_id)],
    }
