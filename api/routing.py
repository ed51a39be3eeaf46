"""A route class that refuses a body of the wrong content type (415) before parsing it.

A request without credentials is left to the handler, whose key dependency answers 401: who
you are is checked before what you sent.
"""
from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.params import Form
from fastapi.routing import APIRoute

from .errors import ApiError


class CheckedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        is_form = isinstance(self.body_field.field_info, Form)  # File() is a Form()
        expected = "multipart/form-data" if is_form else "application/json"

        async def checked(request: Request) -> Response:
            if "authorization" not in request.headers:
                return await handler(request)
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
            json_like = not is_form and media.startswith("application/") and media.endswith("+json")
            if (media or has_body) and media != expected and not json_like:
                raise ApiError(
                    415, "unsupported_media_type",
                    f"内容类型须为 {expected}（收到 {media or '无'}） / "
                    f"Content-Type must be {expected} (got {media or 'none'})",
                )
            return await handler(request)

        return checked
