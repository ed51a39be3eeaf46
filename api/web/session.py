"""Browser sessions: a login with an API key sets a signed cookie; the raw key never leaves the form.

The cookie is ``v1.<key id>.<expires>.<nonce>.<signature>``, where the signature is an
HMAC-SHA256 of the other fields under a key derived from the API key's stored hash (and
``settings.session_secret`` when the settings have one). So any worker over the same database
can check it, and revoking the API key ends every session made from it at once. The cookie is
HttpOnly and SameSite=Strict; its lifetime is ``MAX_AGE``; logout deletes it.

State-changing requests made with the cookie (POST, PUT, PATCH, DELETE) must also carry the
session's CSRF token in the ``X-CSRF-Token`` header (or, for the logout form, a ``csrf``
field); the token is an HMAC of the session's nonce and is rendered into every page.
A request with ``Authorization: Bearer`` is checked exactly as before and ignores the cookie.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from .. import deps
from ..errors import ApiError, unauthorized
from ..settings import Settings
from ..tables import ApiKey

COOKIE = "hs_session"
CSRF_HEADER = "X-CSRF-Token"
MAX_AGE = 12 * 3600  # seconds
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_VERSION = "v1"


@dataclass(frozen=True)
class WebSession:
    key: ApiKey  # detached, its fields loaded
    csrf: str


def _secret(settings: Settings) -> bytes:
    secret = getattr(settings, "session_secret", None) or ""
    if hasattr(secret, "get_secret_value"):
        secret = secret.get_secret_value()
    return str(secret).encode("utf-8")


def _signing_key(settings: Settings, key: ApiKey) -> bytes:
    return hashlib.sha256(b"huashu-web-session\0" + _secret(settings) + b"\0" + key.key_hash.encode()).digest()


def _mac(signing_key: bytes, message: str) -> str:
    return hmac.new(signing_key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def issue(settings: Settings, key: ApiKey, now: float | None = None) -> str:
    """A new cookie value for ``key`` (a fresh nonce, so a fresh CSRF token)."""
    expires = int((time.time() if now is None else now) + MAX_AGE)
    body = f"{_VERSION}.{key.id}.{expires}.{secrets.token_urlsafe(16)}"
    return f"{body}.{_mac(_signing_key(settings, key), body)}"


def _parse(value: str) -> tuple[int, int, str, str] | None:
    parts = value.split(".")
    if len(parts) != 5 or parts[0] != _VERSION or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return int(parts[1]), int(parts[2]), parts[3], parts[4]


def verify(conn: HTTPConnection, value: str | None, now: float | None = None) -> WebSession | None:
    """The session a cookie value stands for; None if malformed, forged, expired or revoked."""
    parsed = _parse(value or "")
    if parsed is None:
        return None
    key_id, expires, nonce, signature = parsed
    if expires < (time.time() if now is None else now):
        return None
    with conn.app.state.sessions() as session:
        key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return None
    signing_key = _signing_key(conn.app.state.settings, key)
    expected = _mac(signing_key, f"{_VERSION}.{key_id}.{expires}.{nonce}")
    if not hmac.compare_digest(expected, signature):
        return None
    return WebSession(key=key, csrf=_mac(signing_key, f"csrf.{nonce}")[:32])


def from_cookie(conn: HTTPConnection) -> WebSession | None:
    return verify(conn, conn.cookies.get(COOKIE))


def same_origin(conn: HTTPConnection) -> bool:
    """False only when the browser says the request comes from another origin."""
    origin = conn.headers.get("origin")
    if not origin:
        return True
    return urlsplit(origin).netloc.lower() == conn.headers.get("host", "").lower()


def csrf_ok(conn: HTTPConnection, web: WebSession, sent: str | None) -> bool:
    return bool(sent) and same_origin(conn) and hmac.compare_digest(sent.encode(), web.csrf.encode())


def csrf_failed() -> ApiError:
    return ApiError(
        403, "csrf_failed",
        "缺少或无效的 CSRF 令牌，请刷新页面 / missing or invalid CSRF token: reload the page",
    )


# -- the API's key dependency, extended with the cookie -----------------------------------------
_bearer = HTTPBearer(auto_error=False)


def cookie_key(conn: HTTPConnection) -> ApiKey | None:
    """The key of the request's session cookie (None without one); a state-changing request made
    with the cookie must carry the session's CSRF header (else 403 ``csrf_failed``)."""
    if COOKIE not in conn.cookies:
        return None
    web = from_cookie(conn)
    if web is None:
        return None
    if conn.scope.get("method", "GET") in UNSAFE_METHODS and not csrf_ok(conn, web, conn.headers.get(CSRF_HEADER)):
        raise csrf_failed()
    return web.key


def bearer_or_cookie_key(
    conn: HTTPConnection, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKey:
    """``deps.current_key``, plus the session cookie when there is no bearer key.

    Installed by ``api.web.install`` as the override of ``deps.current_key``, so every ``/v1``
    endpoint (and its role checks) accepts the pages' cookie; unsafe methods need the CSRF header.
    """
    if credentials is not None:
        return deps.current_key(conn, credentials)
    key = cookie_key(conn)
    if key is None:
        raise unauthorized()
    return key
