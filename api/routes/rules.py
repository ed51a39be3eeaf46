"""``GET /v1/rules/stats``: per lexicon rule and per category, hits, confirmed, dismissed,
disputed and precision from the supervisors' verdicts (``api.rule_stats``), for supervisors and
analysts; the rules page (``/web/rules``) shows the same figures."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..deps import ReaderKey, SessionDep
from ..routing import CheckedRoute
from ..rule_stats import rule_stats
from . import ERRORS

router = APIRouter(prefix="/v1", tags=["rules"], route_class=CheckedRoute, responses=ERRORS)


class Figures(BaseModel):
    hits: int = Field(description="命中 / flags the system raised")
    confirmed: int = Field(description="确认 / judged right (latest verdict, or an upheld dispute)")
    dismissed: int = Field(description="驳回 / judged wrong (latest verdict, or an overturned dispute)")
    disputed: int = Field(description="申诉中 / flags with an open dispute")
    judged: int = Field(description="confirmed + dismissed")
    unreviewed: int = Field(description="未审 / hits neither confirmed nor dismissed")
    precision: float | None = Field(description="准确率 / confirmed ÷ judged; null when nothing is judged")


class RuleFigures(Figures):
    rule: str = Field(description="the lexicon entry's id (or the model's rule)")
    category: str


class CategoryFigures(Figures):
    category: str
    name_zh: str
    name_en: str
    missed: int = Field(description="漏检 / flags a reviewer added in this category (triggers the system missed)")


class TotalFigures(Figures):
    missed: int


class RuleStatsOut(BaseModel):
    rules: list[RuleFigures]
    categories: list[CategoryFigures]
    total: TotalFigures


@router.get("/rules/stats", response_model=RuleStatsOut)
def get_rule_stats(key: ReaderKey, session: SessionDep) -> dict[str, Any]:
    """规则准确率 / each rule's and category's hits, verdicts, disputes and precision
    (confirmed / (confirmed + dismissed); null when none judged; an overturned dispute counts as
    dismissed, an upheld one as confirmed; reviewer-added flags count per category as ``missed``)."""
    stats = rule_stats(session)
    return {"rules": stats.rules, "categories": stats.categories, "total": stats.total}
