"""Bounded request bodies: refuse by ``Content-Length`` before reading, and count what streams in.

A pure ASGI middleware, so a chunked body without ``Content-Length`` is bounded too: once more
bytes than the limit have arrived, reading the body raises a 413 ``ApiError``.
"""
from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, error_response, too_large


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared == -1:
            await _reply(ApiError(400, "bad_request", "Content-Length 无效 / invalid Content-Length"), scope, send)
            return
        if declared is not None and declared > limit:
            await _reply(too_large(limit), scope, send)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except ApiError as exc:  # raised while reading outside FastAPI's handlers
            if started or exc.status_code != 413:
                raise
            await _reply(exc, scope, send)


async def _reply(error: ApiError, scope: Scope, send: Send) -> None:
    """Answer without reading the body."""

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await error_response(error.status_code, error.code, error.message)(scope, no_body, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent, -1 when unreadable."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return -1
            return length if length >= 0 else -1
    return None
