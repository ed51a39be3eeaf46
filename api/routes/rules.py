"""``GET /v1/rules/stats``: per lexicon rule and per category, hits, confirmed, dismissed,
disputed and precision from the supervisors' verdicts (``api.rule_stats``), for supervisors and
analysts; the rules page (``/web/rules``) shows the same figures."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import ReaderKey, SessionDep
from ..routing import CheckedRoute
from ..rule_stats import rule_stats
from . import ERRORS

router = APIRouter(prefix="/v1", tags=["rules"], route_class=CheckedRoute, responses=ERRORS)


@router.get("/rules/stats")
def get_rule_stats(key: ReaderKey, session: SessionDep) -> dict[str, Any]:
    """规则准确率 / each rule's and category's hits, verdicts, disputes and precision
    (confirmed / (confirmed + dismissed); null when none judged; an overturned dispute counts as
    dismissed, an upheld one as confirmed; reviewer-added flags count per category as ``missed``)."""
    stats = rule_stats(session)
    return {"rules": stats.rules, "categories": stats.categories, "total": stats.total}
