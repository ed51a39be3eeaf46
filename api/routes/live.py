"""``WS /v1/live``: send ``{"text": ...}`` as the agent types or ASR partials arrive; get flags back.

The key comes in ``Authorization: Bearer <key>`` or, for browsers (which cannot set headers
on a WebSocket), in ``?key=<key>``. A missing, unknown or revoked key closes the socket with
4401, a role that may not use live tips with 4403, an address with too many failed keys with 4429
(``api.auth_limit``). A bad message (not JSON, NaN or Infinity included) gets
``{"error": {"code", "message"}}`` and the socket stays open. Revoking the key (or, for the web
page's socket, logging out) closes an open socket with 4401 within ``RECHECK_SECONDS``.
"""
from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from analyzer.pipeline import Pipeline

from .. import store
from ..analysis import flags_for
from ..auth_limit import TooManyFailures, find_key
from ..batcher import MicroBatcher
from ..deps import LIVE_ROLES, PipelineDep, SettingsDep, role_allowed
from ..errors import ApiError, error_body
from ..guard import INVALID_TEXT, invalid, message_problem
from ..live_sockets import RECHECK_SECONDS, OpenSocket
from ..settings import Settings
from ..tables import ApiKey

router = APIRouter(prefix="/v1", tags=["live"])

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY = 4429
ROLES = ("agent", "customer")


@router.websocket("/live")
async def live(websocket: WebSocket, pipeline: PipelineDep, settings: SettingsDep) -> None:
    await websocket.accept()  # accept first, so that the client sees the close code
    try:
        key = await run_in_threadpool(_caller_key, websocket)
    except TooManyFailures as exc:
        await websocket.close(CLOSE_TOO_MANY, f"too many failed keys: retry in {exc.retry_after} s")
        return
    if key is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "missing, invalid or revoked API key")
        return
    key_id = key.id

    def key_active(_active: bool) -> bool:
        with websocket.app.state.sessions() as session:
            return store.key_is_active(session, key_id)

    await serve_tips(websocket, key.role, pipeline, settings, OpenSocket(key_id), key_active)


async def serve_tips(
    websocket: WebSocket, role: str, pipeline: Pipeline, settings: Settings,
    socket: OpenSocket, still_valid: Callable[[bool], bool],
) -> None:
    """Once the caller is known (API key here, session cookie for the web page): check the role,
    then answer every message until the client leaves, or the key or session ends.

    ``socket`` is registered in ``app.state.live_sockets`` (revoking the key or logging out in this
    worker ends it at once); ``still_valid(active)`` re-reads the key or session from the database
    every ``RECHECK_SECONDS`` (a revocation by another worker or the CLI), ``active`` saying whether
    messages came since the last check (the web session counts them as use)."""
    if not role_allowed(role, LIVE_ROLES):
        await websocket.close(CLOSE_FORBIDDEN, f"role {role} may not use live tips")
        return
    registry = websocket.app.state.live_sockets
    registry.add(socket)
    heard = asyncio.Event()  # set by each message, cleared by each re-check
    talk = asyncio.create_task(_talk(websocket, pipeline, settings, heard))
    watch = asyncio.create_task(_watch(socket, still_valid, heard))
    try:
        done, _ = await asyncio.wait({talk, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        registry.remove(socket)
        for task in (talk, watch):
            task.cancel()
        await asyncio.gather(talk, watch, return_exceptions=True)
    if talk in done:
        talk.result()  # the client left; re-raises anything unexpected
        return
    try:
        await websocket.close(CLOSE_UNAUTHORIZED, "key revoked or session ended")
    except (RuntimeError, WebSocketDisconnect):  # the client left meanwhile
        pass


async def _talk(websocket: WebSocket, pipeline: Pipeline, settings: Settings, heard: asyncio.Event) -> None:
    batcher = getattr(websocket.app.state, "batcher", None)  # api/batcher.py
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            heard.set()
            await websocket.send_json(await _answer(message.get("text"), pipeline, settings, batcher))
    except WebSocketDisconnect:
        return


async def _watch(socket: OpenSocket, still_valid: Callable[[bool], bool], heard: asyncio.Event) -> None:
    """Return when the socket must close: ended in this worker, or no longer valid in the database."""
    while True:
        try:
            await asyncio.wait_for(socket.ended.wait(), RECHECK_SECONDS)
            return
        except TimeoutError:
            pass
        active = heard.is_set()
        heard.clear()
        if not await run_in_threadpool(still_valid, active):
            return


def _caller_key(websocket: WebSocket) -> ApiKey | None:
    """The socket's active key (None if none or a wrong one, counted as a failure); raises
    ``TooManyFailures`` for an address that has failed too often."""
    scheme, _, credentials = websocket.headers.get("authorization", "").partition(" ")
    plain = credentials.strip() if scheme.lower() == "bearer" else websocket.query_params.get("key", "")
    return find_key(websocket, plain) if plain else None


async def _answer(raw: str | None, pipeline: Pipeline, settings: Settings,
                  batcher: MicroBatcher | None = None) -> dict[str, Any]:
    """The reply to one message: its flags, or an error."""
    if raw is None:
        return error_body("invalid_message", "只接受文本消息 / send text messages, not binary")
    try:
        data = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError):
        return error_body("invalid_json", "消息不是有效的 JSON / the message is not valid JSON")
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return error_body("invalid_message", '消息须为 {"text": "..."} / send {"text": "..."}')
    if (found := message_problem(data)) is not None:  # a lone surrogate, NUL, ... (api/guard.py)
        return error_body(INVALID_TEXT, invalid(found).message)
    role = data.get("role", "agent")
    if role not in ROLES:
        return error_body("invalid_message", "role 须为 agent 或 customer / role must be agent or customer")
    try:
        flags = await flags_for(pipeline, settings, data["text"], role, batcher=batcher)
    except ApiError as exc:
        return error_body(exc.code, exc.message)
    reply: dict[str, Any] = {"flags": flags}
    if "id" in data:  # lets a client match replies to partials
        reply["id"] = data["id"]
    return reply


def _not_json(constant: str) -> float:
    """``json.loads`` takes NaN, Infinity and -Infinity; JSON does not, and neither do we."""
    raise ValueError(f"{constant} is not JSON")


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):  # 1e999
        raise ValueError(f"{number} is out of range")
    return value
