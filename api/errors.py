"""Every error leaves the service as ``{"error": {"code", "message"}}``; messages 中文 / English.

FastAPI's own answers (``{"detail": ...}`` for validation errors, 404, 405, ...) are replaced
by ``install(app)``.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("huashu.api")


class ApiError(HTTPException):
    """An error for the client; a FastAPI ``HTTPException`` so body parsing re-raises it as is."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code = code
        self.message = message


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


# Errors used in several places.
def unauthorized() -> ApiError:
    return ApiError(
        401, "unauthorized",
        "缺少或无效的 API 密钥 / missing, invalid or revoked API key",
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden(role: str) -> ApiError:
    return ApiError(403, "forbidden", f"角色 {role} 无权执行此操作 / role {role} may not do this")


def not_found(what: str, zh: str) -> ApiError:
    return ApiError(404, "not_found", f"找不到{zh} / {what} not found")


def too_large(limit: int) -> ApiError:
    return ApiError(
        413, "payload_too_large", f"请求体超过 {limit} 字节 / request body over {limit} bytes"
    )


_BY_STATUS = {
    400: ("bad_request", "请求有误 / bad request"),
    401: ("unauthorized", "需要认证 / authentication required"),
    403: ("forbidden", "禁止访问 / forbidden"),
    404: ("not_found", "找不到该资源 / not found"),
    405: ("method_not_allowed", "不支持该方法 / method not allowed"),
    413: ("payload_too_large", "请求体过大 / request body too large"),
    415: ("unsupported_media_type", "不支持的内容类型 / unsupported content type"),
}


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code, default = _BY_STATUS.get(exc.status_code, ("error", "请求失败 / request failed"))
    if isinstance(exc, ApiError):
        code, message = exc.code, exc.message
    elif exc.status_code == 400 and isinstance(exc.detail, str):
        message = f"请求体无法解析 / the body cannot be parsed: {exc.detail}"  # e.g. broken multipart
    else:
        message = default
    return error_response(exc.status_code, code, message, getattr(exc, "headers", None))


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", "请求体不是有效的 JSON / the body is not valid JSON")
    first = errors[0] if errors else {}
    where = _where(tuple(first.get("loc", ())))
    if first.get("type") == "missing":
        message = f"缺少字段 {where} / missing field {where}"
    else:
        message = f"字段 {where} 无效 / invalid {where}: {first.get('msg', 'invalid value')}"
    return error_response(422, "invalid_request", message)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "服务器内部错误 / internal server error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _internal_error)
