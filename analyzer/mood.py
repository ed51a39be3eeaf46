"""The customer's mood over one call: the series, escalations after agent triggers, satisfaction.

Input is the transcript's customer turns with ``sentiment`` (``{label, score, anger}``, see
``analyzer.sentiment``; ``probs`` when the model gives them). Turns without sentiment are skipped;
a call with none gets an empty series, no escalations and ``satisfaction: None``.

**Mood of a turn**, m ∈ [-1, 1]: P(positive) − P(negative) when ``probs`` are given, else
``+score`` for a positive label, ``−score`` for a negative one, 0 for neutral.

**Series**: one point per rated customer turn, ``{turn, time, position, mood, smoothed, label,
anger}``; ``position`` is the turn's place in the call in [0, 1]; ``smoothed`` is exponential
smoothing (s₁ = m₁, sₖ = α·mₖ + (1 − α)·sₖ₋₁, α = ``smoothing``).

**Escalation**: between two consecutive rated customer turns (or from the start of the call, taken
as neutral, 0), one or more agent turns carry flags, and the mood then falls by at least
``escalation_drop`` or the customer turns angry. The event names the agent turns and their flags,
the mood before and after, the fall, and whether it was *resolved*: a later customer turn is back
at the mood before (or higher) and not angry.

**Satisfaction** in [0, 1], higher is happier. With n rated customer turns m₁…mₙ in call order and
weights rising linearly from 1 (first) to W = ``end_weight`` (last), so the end of the call counts
most (how the customer leaves is what they remember)::

    M = Σ wₖ·mₖ / Σ wₖ,            wₖ = 1 + (W − 1)·(k − 1)/(n − 1)   (w₁ = 1 when n = 1)
    S = (1 + M)/2 − a·(angry turns / n) − f·[last turn angry] − min(u·unresolved escalations, u_max)

clipped to [0, 1] and rounded to 3 places; a = ``anger_penalty``, f = ``final_anger_penalty``,
u = ``unresolved_penalty``, u_max = ``unresolved_penalty_max``. The parameters are the ``mood:``
section of ``corpora/scorecard.yaml``.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from .model import AGENT, CUSTOMER, Transcript


@dataclass(frozen=True)
class MoodParams:
    end_weight: float = 3.0
    anger_penalty: float = 0.2
    final_anger_penalty: float = 0.1
    unresolved_penalty: float = 0.1
    unresolved_penalty_max: float = 0.3
    escalation_drop: float = 0.3
    smoothing: float = 0.5

    @classmethod
    def from_config(cls, extra: Iterable[str] = ()) -> MoodParams:
        """The ``mood:`` section of ``corpora/scorecard.yaml`` (and the company scorecard files)."""
        from .scorecard import _extra_files

        return _params(_extra_files(extra))


@lru_cache(maxsize=8)
def _params(files: tuple[str, ...]) -> MoodParams:
    from .scorecard import _load_config

    raw = _load_config(files).get("mood") or {}
    names = {f.name for f in fields(MoodParams)}
    return MoodParams(**{k: float(v) for k, v in raw.items() if k in names})


def mood_of(sentiment: dict[str, Any] | None) -> float | None:
    """A turn's sentiment as one number in [-1, 1] (None when there is none)."""
    if not sentiment:
        return None
    probs = sentiment.get("probs")
    if isinstance(probs, dict) and probs:
        return float(probs.get("positive", 0.0)) - float(probs.get("negative", 0.0))
    label, score = sentiment.get("label"), sentiment.get("score")
    score = 1.0 if score is None else float(score)
    return {"positive": score, "negative": -score}.get(label, 0.0)


def course(t: Transcript, params: MoodParams | None = None) -> dict[str, Any]:
    """``{"series": [...], "escalations": [...], "satisfaction": float | None}`` for one call."""
    params = params or MoodParams.from_config()
    n_turns = len(t.turns)
    rated = [(k, turn) for k, turn in enumerate(t.turns)
             if turn.role == CUSTOMER and mood_of(turn.sentiment) is not None]
    series, smoothed = [], None
    for k, turn in rated:
        m = mood_of(turn.sentiment)
        smoothed = m if smoothed is None else params.smoothing * m + (1 - params.smoothing) * smoothed
        series.append({
            "turn": turn.index,
            "time": turn.start_time,
            "position": round(k / (n_turns - 1), 3) if n_turns > 1 else 0.0,
            "mood": round(m, 3),
            "smoothed": round(smoothed, 3),
            "label": turn.sentiment.get("label"),
            "anger": bool(turn.sentiment.get("anger")),
        })
    escalations = _escalations(t, rated, series, params)
    return {"series": series, "escalations": escalations, "satisfaction": _satisfaction(series, escalations, params)}


def _escalations(t: Transcript, rated: list, series: list[dict], params: MoodParams) -> list[dict[str, Any]]:
    events = []
    prev_k, before, before_angry = -1, 0.0, False
    for j, (k, _turn) in enumerate(rated):
        point = series[j]
        flagged = [t.turns[a] for a in range(prev_k + 1, k) if t.turns[a].role == AGENT and t.turns[a].flags]
        drop = before - point["mood"]
        if flagged and (drop >= params.escalation_drop or (point["anger"] and not before_angry)):
            later = series[j + 1:]
            events.append({
                "customer_turn": point["turn"],
                "agent_turns": [a.index for a in flagged],
                "flags": [{"turn": a.index, "rule": f.rule, "category": f.category, "text": f.text}
                          for a in flagged for f in a.flags],
                "before": round(before, 3),
                "after": point["mood"],
                "drop": round(drop, 3),
                "anger": point["anger"],
                "resolved": any(p["mood"] >= before and not p["anger"] for p in later),
            })
        prev_k, before, before_angry = k, point["mood"], point["anger"]
    return events


def _satisfaction(series: list[dict], escalations: list[dict], params: MoodParams) -> float | None:
    n = len(series)
    if not n:
        return None
    weights = [1.0 + (params.end_weight - 1.0) * k / (n - 1) if n > 1 else 1.0 for k in range(n)]
    mean = sum(w * p["mood"] for w, p in zip(weights, series)) / sum(weights)
    angry = sum(p["anger"] for p in series)
    unresolved = sum(not e["resolved"] for e in escalations)
    s = (1 + mean) / 2
    s -= params.anger_penalty * angry / n
    s -= params.final_anger_penalty * series[-1]["anger"]
    s -= min(params.unresolved_penalty * unresolved, params.unresolved_penalty_max)
    return round(min(1.0, max(0.0, s)), 3)


def satisfaction(t: Transcript, params: MoodParams | None = None) -> float | None:
    """The call's satisfaction in [0, 1] (None without customer sentiment)."""
    return course(t, params)["satisfaction"]
