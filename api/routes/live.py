"""``WS /v1/live``: send ``{"text": ...}`` as the agent types or ASR partials arrive; get flags back.

The key comes in ``Authorization: Bearer <key>`` or, for browsers (which cannot set headers
on a WebSocket), in ``?key=<key>``. A missing, unknown or revoked key closes the socket with
4401, a role that may not use live tips with 4403. A bad message gets
``{"error": {"code", "message"}}`` and the socket stays open.
"""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from analyzer.engine import Engine

from .. import store
from ..analysis import flags_for
from ..deps import LIVE_ROLES, EngineDep, SettingsDep, role_allowed
from ..errors import ApiError, error_body
from ..settings import Settings
from ..tables import ApiKey

router = APIRouter(prefix="/v1", tags=["live"])

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
ROLES = ("agent", "customer")


@router.websocket("/live")
async def live(websocket: WebSocket, engine: EngineDep, settings: SettingsDep) -> None:
    await websocket.accept()  # accept first, so that the client sees the close code
    key = await run_in_threadpool(_caller_key, websocket)
    if key is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "missing, invalid or revoked API key")
        return
    await serve_tips(websocket, key.role, engine, settings)


async def serve_tips(websocket: WebSocket, role: str, engine: Engine, settings: Settings) -> None:
    """Once the caller is known (API key here, session cookie for the web page): check the role,
    then answer every message until the client leaves."""
    if not role_allowed(role, LIVE_ROLES):
        await websocket.close(CLOSE_FORBIDDEN, f"role {role} may not use live tips")
        return
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            await websocket.send_json(await _answer(message.get("text"), engine, settings))
    except WebSocketDisconnect:
        return


def _caller_key(websocket: WebSocket) -> ApiKey | None:
    scheme, _, credentials = websocket.headers.get("authorization", "").partition(" ")
    plain = credentials.strip() if scheme.lower() == "bearer" else websocket.query_params.get("key", "")
    if not plain:
        return None
    with websocket.app.state.sessions() as session:
        return store.find_active_key(session, plain)


async def _answer(raw: str | None, engine: Engine, settings: Settings) -> dict[str, Any]:
    """The reply to one message: its flags, or an error."""
    if raw is None:
        return error_body("invalid_message", "只接受文本消息 / send text messages, not binary")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return error_body("invalid_json", "消息不是有效的 JSON / the message is not valid JSON")
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return error_body("invalid_message", '消息须为 {"text": "..."} / send {"text": "..."}')
    role = data.get("role", "agent")
    if role not in ROLES:
        return error_body("invalid_message", "role 须为 agent 或 customer / role must be agent or customer")
    try:
        flags = await flags_for(engine, settings, data["text"], role)
    except ApiError as exc:
        return error_body(exc.code, exc.message)
    reply: dict[str, Any] = {"flags": flags}
    if "id" in data:  # lets a client match replies to partials
        reply["id"] = data["id"]
    return reply
