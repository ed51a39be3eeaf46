"""Who took a call and on which channel: the ``call`` block of an analysis (``docs/interfaces.md``).

One rule for every door (the web pages, the API, ``huashu analyze`` and batch reports):

- **agent**: the most frequent agent speaker label, in Simplified characters (工號7 and 工号7 are
  one agent). ``employee_id`` is the number in a label (工号1024) or, failing that, the first
  number the agent states (我的工号是1024). A bare role label (坐席, 客服, agent) is no name: the
  agent is then known by the employee id alone (``name`` is ``工号1024``, as reports show it).
- **channel**: what the scorecard decided (``call`` or ``chat``; ``--channel``/``HUASHU_CHANNEL``
  force one), with the evidence.
- **started_at**: not known from the transcript yet (null), unless a caller's metadata says it.

Callers may override any field with metadata they hold (a ``--meta`` CSV, upload fields).
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

from .model import Transcript
from .normalize import normalize

_EMPLOYEE_ID = re.compile(r"工[号號]\s*[:：是为為]?\s*(\d{2,})")


def _role_labels() -> set[str]:
    from .ingest import AGENT_LABELS

    return {x.casefold() for x in AGENT_LABELS}


def agent_of(t: Transcript) -> dict[str, str | None]:
    """``{"name", "employee_id"}`` of the call's agent (both None when the call has no agent turn)."""
    labels = Counter(turn.speaker.strip() for turn in t.agent_turns if turn.speaker and turn.speaker.strip())
    if not labels:
        return {"name": None, "employee_id": None}
    label = labels.most_common(1)[0][0]
    employee_id = None
    if m := _EMPLOYEE_ID.search(label):
        employee_id = m.group(1)
    else:
        for turn in t.agent_turns:
            if m := _EMPLOYEE_ID.search(turn.text):
                employee_id = m.group(1)
                break
    name: str | None = normalize(label).text
    if label.casefold() in _role_labels():
        name = f"工号{employee_id}" if employee_id else label
    return {"name": name, "employee_id": employee_id}


def call_meta(t: Transcript, channel: str) -> dict[str, Any]:
    has_times = any(turn.start_time is not None for turn in t.turns)
    evidence = (f"format {t.format}, " + ("timestamps" if has_times else "no timestamps"))
    return {
        "agent": agent_of(t),
        "started_at": None,
        "channel": channel,
        "evidence": {"channel": evidence},
    }
