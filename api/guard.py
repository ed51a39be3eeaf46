"""The service's side of the sanitising step (``analyzer.sanitize``): untrusted text stops here.

- ``InputGuardMiddleware`` looks at every HTTP request before any handler: the query string
  (NUL and control characters, e.g. ``?agent=%00`` on the web filters, would reach PostgreSQL)
  and JSON bodies (lone surrogates, NUL and control characters in any string or key, NaN and
  Infinity anywhere): a 422 ``invalid_text`` naming the field, ``{"error": {"code", "message"}}``.
- ``checked(value, field)`` is the same check for form fields, file names and headers, and
  ``message_problem(data)`` for the live sockets' messages.
Uploads are checked after decoding, turn by turn, in ``analyzer.ingest``.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from analyzer.sanitize import UnsafeInput, check_text, json_int, problem, walk_json

from .errors import ApiError, error_response

INVALID_TEXT = "invalid_text"


def invalid(message: str) -> ApiError:
    return ApiError(422, INVALID_TEXT, f"输入含有不允许的字符或数值 / the input holds a character or number that is not allowed: {message}")


def checked(value: str | None, field: str, *, multiline: bool = False) -> str | None:
    """``value`` as is, or a 422 naming ``field``; None passes."""
    if value is None:
        return None
    try:
        return check_text(value, field, multiline=multiline)
    except UnsafeInput as exc:
        raise invalid(str(exc)) from None


def _reject_constant(name: str) -> float:
    raise UnsafeInput(f"数值 {name} 不是有限数 / {name} is not a finite number")


def json_problem(body: bytes | str) -> str | None:
    """The first problem in a JSON body, or None (also when it is not valid JSON: the handler's
    parser answers that)."""
    try:
        data = json.loads(body, parse_constant=_reject_constant, parse_int=json_int)
    except UnsafeInput as exc:
        return str(exc)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    return walk_json(data)


def message_problem(data: object) -> str | None:
    """The first problem in a decoded live-socket message, or None."""
    return walk_json(data)


def _query_problem(query_string: bytes) -> str | None:
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, errors="replace"):
        if (found := problem(name, multiline=False)) is not None:
            return f"query: {found}"
        if (found := problem(value, multiline=False)) is not None:
            return f"{name}: {found}"
    return None


class InputGuardMiddleware:
    """Refuse unsafe query strings and JSON bodies with a 422 before they reach a handler."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        found = _query_problem(scope.get("query_string", b""))
        if found is None and (bad := problem(scope.get("path", ""), multiline=False)) is not None:
            found = f"path: {bad}"
        if found is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": "invalid query string"})
                return
            await _reply(invalid(found), scope, send)
            return
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        body, messages = bytearray(), []
        while True:  # the body is bounded by BodyLimitMiddleware, which wraps this one
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if (found := json_problem(bytes(body))) is not None:
            await _reply(invalid(found), scope, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _is_json(scope: Scope) -> bool:
    if scope.get("method") not in ("POST", "PUT", "PATCH", "DELETE"):
        return False
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


async def _reply(error: ApiError, scope: Scope, send: Send) -> None:
    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await error_response(error.status_code, error.code, error.message)(scope, no_body, send)
