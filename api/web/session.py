"""Browser sessions: a login with an API key starts a session on the server; the raw key never
leaves the form.

The cookie is ``s1.<token>``, a random 256-bit token. The server keeps only its sha256 in the
``web_sessions`` table, with the key, the creation time, the last request and an absolute expiry
(``HUASHU_SESSION_MAX_HOURS``, 12 h); a session unused for ``HUASHU_SESSION_IDLE_MINUTES`` (120)
ends too. Nothing in the database (a backup, a replica, a read-only SQL user) is enough to make a
cookie, and there is no signing secret to keep. Logout deletes the row; revoking the key deletes all
its rows (``store.revoke_key``); either closes the session's live sockets at once
(``api.live_sockets``). The cookie is HttpOnly and SameSite=Strict.

State-changing requests made with the cookie (POST, PUT, PATCH, DELETE) must also carry the
session's CSRF token in the ``X-CSRF-Token`` header (or, for the logout form, a ``csrf``
field); the token is a hash of the session token (so also unknown to the database) and is rendered
into every page. A request with ``Authorization: Bearer`` is checked exactly as before and ignores
the cookie.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from .. import deps, store
from ..errors import ApiError, unauthorized
from ..settings import Settings
from ..tables import ApiKey

COOKIE = "hs_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_VERSION = "s1"


@dataclass(frozen=True)
class WebSession:
    key: ApiKey  # detached, its fields loaded
    csrf: str
    id: int  # the stored session's row (its live sockets are registered under it)


def max_age(settings: Settings) -> int:
    """The session's (and its cookie's) lifetime in seconds."""
    return int(settings.session_max_hours * 3600)


def _idle(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.session_idle_minutes)


def _token(value: str | None) -> str | None:
    version, _, token = (value or "").partition(".")
    return token if version == _VERSION and 32 <= len(token) <= 64 else None


def _csrf(token: str) -> str:
    return hashlib.sha256(b"huashu-csrf\0" + token.encode()).hexdigest()[:32]


def issue(conn: HTTPConnection, key: ApiKey) -> str:
    """Start a session for ``key``: a new row, and the cookie value that names it."""
    with conn.app.state.sessions.begin() as session:
        _, token = store.create_web_session(session, key, timedelta(seconds=max_age(conn.app.state.settings)))
    return f"{_VERSION}.{token}"


def verify(
    conn: HTTPConnection, value: str | None, now: datetime | None = None, *, touch: bool = True,
) -> WebSession | None:
    """The session a cookie value stands for; None if malformed, unknown, ended, expired, idle or
    its key revoked. ``touch``: this is a use of the session (see ``store.find_web_session``)."""
    token = _token(value)
    if token is None:
        return None
    with conn.app.state.sessions.begin() as session:
        row = store.find_web_session(session, token, _idle(conn.app.state.settings), now, touch=touch)
        if row is None:
            return None
        return WebSession(key=row.key, csrf=_csrf(token), id=row.id)


def end(conn: HTTPConnection, value: str | None) -> int | None:
    """Logout: delete the session of a cookie value; the ended session's id, if there was one."""
    token = _token(value)
    if token is None:
        return None
    with conn.app.state.sessions.begin() as session:
        row = store.end_web_session(session, token)
        return row.id if row is not None else None


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
