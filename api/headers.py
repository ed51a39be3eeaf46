"""Response headers set in one place (a pure ASGI middleware):

- ``Cache-Control: no-store`` on every ``/v1`` and ``/web`` response (transcripts, flags, verdicts,
  keys, pages, exports and their errors), so no browser or proxy keeps a copy; the web app's static
  files (``/web/static``) are left cacheable.
- On the API documentation pages (``/docs``, ``/redoc``, served from the ``fastapi-offline``
  package): a Content-Security-Policy that lets them load nothing from outside this server.
"""
from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = "no-store"
DOCS_PATHS = ("/docs", "/redoc")
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def _no_store(path: str) -> bool:
    return (path.startswith(("/v1/", "/web/")) and not path.startswith("/web/static/")) or path in ("/v1", "/web")


class HeadersMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        no_store, docs = _no_store(path), path in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if no_store:
                    headers["Cache-Control"] = NO_STORE
                if docs:
                    headers["Content-Security-Policy"] = DOCS_CSP
                    headers["X-Frame-Options"] = "DENY"
            await send(message)

        await self.app(scope, receive, send_with_headers)
