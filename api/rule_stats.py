"""How well each lexicon rule and each category does, judged by the supervisors' verdicts: the
figures of the rules page (``/web/rules``) and of ``GET /v1/rules/stats``. Read-only.

One outcome per flag:
- a decided dispute wins: ``overturned`` → dismissed, ``upheld`` → confirmed;
- else the flag's latest verdict (several supervisors may judge one flag; the last word counts);
- else the flag is not reviewed.
``disputed`` counts flags with an open dispute (they keep their verdict's outcome until decided).
Flags a reviewer added (``flags.added_by`` set, source ``reviewer``: triggers the system missed)
are no rule's hits: they count per category as ``missed``.

``precision`` = confirmed / (confirmed + dismissed), None while neither (shown as "—"), always
with its count (``judged``).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.lexicon import load_categories

from .tables import Dispute, StoredFlag, Verdict

REVIEWER_SOURCE = "reviewer"
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class Figures:
    hits: int = 0
    confirmed: int = 0
    dismissed: int = 0
    disputed: int = 0
    missed: int = 0  # reviewer-added flags (categories only)

    @property
    def judged(self) -> int:
        return self.confirmed + self.dismissed

    @property
    def unreviewed(self) -> int:
        return self.hits - self.judged

    @property
    def precision(self) -> float | None:
        return round(self.confirmed / self.judged, 4) if self.judged else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "judged": self.judged, "unreviewed": self.unreviewed, "precision": self.precision}


@dataclass
class RuleStats:
    rules: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    total: dict[str, Any]


def outcomes(session: Session) -> dict[str, tuple[str | None, bool]]:
    """flag id → (``confirmed`` | ``dismissed`` | None, has an open dispute), for every flag with a
    verdict or a dispute."""
    latest: dict[str, tuple[datetime, int, str]] = {}
    for flag_id, verdict, at, vid in session.execute(select(Verdict.flag_id, Verdict.verdict, Verdict.at, Verdict.id)):
        if flag_id not in latest or (at, vid) > latest[flag_id][:2]:
            latest[flag_id] = (at, vid, verdict)
    decided: dict[str, tuple[datetime, int, str]] = {}
    open_disputes: set[str] = set()
    for flag_id, status, at, did in session.execute(
        select(Dispute.flag_id, Dispute.status, Dispute.decided_at, Dispute.id)
    ):
        if status == "open":
            open_disputes.add(flag_id)
        elif status in ("upheld", "overturned"):
            key = (at or _EARLIEST, did)
            if flag_id not in decided or key > decided[flag_id][:2]:
                decided[flag_id] = (*key, status)
    out: dict[str, tuple[str | None, bool]] = {}
    for flag_id in set(latest) | set(decided) | open_disputes:
        if flag_id in decided:
            outcome: str | None = "confirmed" if decided[flag_id][2] == "upheld" else "dismissed"
        elif flag_id in latest:
            outcome = latest[flag_id][2]
        else:
            outcome = None
        out[flag_id] = (outcome if outcome in ("confirmed", "dismissed") else None, flag_id in open_disputes)
    return out


def rule_stats(session: Session) -> RuleStats:
    """Per rule (flags the system raised) and per category (the same, plus reviewer-added misses),
    categories in the order of ``corpora/categories.yaml``, rules by hits."""
    judged = outcomes(session)
    by_rule: dict[tuple[str, str], Figures] = defaultdict(Figures)
    by_category: dict[str, Figures] = defaultdict(Figures)
    total = Figures()
    query = select(StoredFlag.id, StoredFlag.rule, StoredFlag.category, StoredFlag.source, StoredFlag.added_by)
    for flag_id, rule, category, source, added_by in session.execute(query):
        outcome, disputed = judged.get(flag_id, (None, False))
        if added_by is not None or source == REVIEWER_SOURCE:
            by_category[category].missed += 1
            total.missed += 1
            continue
        for figures in (by_rule[(rule, category)], by_category[category], total):
            figures.hits += 1
            figures.confirmed += outcome == "confirmed"
            figures.dismissed += outcome == "dismissed"
            figures.disputed += disputed
    names = load_categories()
    order = {cid: i for i, cid in enumerate(names)}
    rules = [
        {"rule": rule, "category": category, **f.as_dict()}
        for (rule, category), f in sorted(by_rule.items(), key=lambda kv: (-kv[1].hits, kv[0]))
    ]
    for row in rules:
        del row["missed"]
    categories = [
        {"category": cid, "name_zh": names[cid].name_zh if cid in names else cid,
         "name_en": names[cid].name_en if cid in names else cid, **by_category[cid].as_dict()}
        for cid in sorted(set(names) | set(by_category), key=lambda c: (order.get(c, len(order)), c))
    ]
    return RuleStats(rules=rules, categories=categories, total=total.as_dict())


def percent(value: float | None) -> str:
    """A precision as people read it: ``83%``, or "—" when nothing was judged."""
    return "—" if value is None else f"{100 * value:.0f}%"
