"""``POST /v1/suggest``: the flags of one utterance (agents typing a reply)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..analysis import flags_for
from ..deps import AgentKey, BatcherDep, PipelineDep, SettingsDep
from ..routing import CheckedRoute
from ..schemas import SuggestIn, SuggestOut
from . import ERRORS

router = APIRouter(prefix="/v1", tags=["live"], route_class=CheckedRoute, responses=ERRORS)


@router.post("/suggest", response_model=SuggestOut)
async def suggest(body: SuggestIn, key: AgentKey, pipeline: PipelineDep, settings: SettingsDep,
                  batcher: BatcherDep) -> dict[str, Any]:
    """导火索及改写建议 / triggers in one utterance, with rewrites (roles: agent, supervisor)."""
    return {"flags": await flags_for(pipeline, settings, body.text, body.role, body.context, batcher)}
