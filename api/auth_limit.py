"""Failed authentications per client address: after ``HUASHU_AUTH_FAILURE_LIMIT`` (10 a minute) an
address gets 429 with ``Retry-After`` on every attempt that presents a key, until its oldest failure
leaves the window (a moving window, from the ``limits`` library).

What counts as a failure: a wrong or revoked API key (``Authorization: Bearer`` or ``?key=`` on the
live socket) and a wrong key in the web login form. A request without any key is a plain 401 and
is not counted, nor is a stale session cookie (its token is random and cannot be guessed).

The count is kept in memory by each worker process: with N workers an address may fail up to N
times the limit before every worker refuses it, and a restart forgets it. The client address is
the connection's peer, or what a trusted proxy sends in ``X-Forwarded-For`` (uvicorn trusts it from
``--forwarded-allow-ips``, by default 127.0.0.1 only); behind one proxy all clients share one count.
"""
from __future__ import annotations

import math
import time

from limits import parse, storage, strategies
from starlette.requests import HTTPConnection

from . import store
from .errors import ApiError
from .tables import ApiKey

SCOPE = "auth-failure"


class TooManyFailures(ApiError):
    def __init__(self, retry_after: int):
        super().__init__(
            429, "too_many_failures",
            f"认证失败次数过多，请 {retry_after} 秒后再试 / too many failed authentications: "
            f"try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class AuthLimiter:
    def __init__(self, rate: str) -> None:
        self.rate = parse(rate)
        self._window = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def check(self, conn: HTTPConnection) -> None:
        """Raise ``TooManyFailures`` when the caller's address has used up its failures."""
        address = client_address(conn)
        if not self._window.test(self.rate, SCOPE, address):
            reset = self._window.get_window_stats(self.rate, SCOPE, address).reset_time
            raise TooManyFailures(max(1, math.ceil(reset - time.time())))

    def failed(self, conn: HTTPConnection) -> None:
        """Count one failed authentication from the caller's address."""
        self._window.hit(self.rate, SCOPE, client_address(conn))


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def limiter(conn: HTTPConnection) -> AuthLimiter:
    return conn.app.state.auth_limiter


def find_key(conn: HTTPConnection, plain: str) -> ApiKey | None:
    """The active key ``plain`` names (None for a wrong or revoked one, counted as a failure of
    the caller's address); raises ``TooManyFailures`` for an address that has failed too often.
    The one lookup behind the bearer header, the live socket's key and the login form."""
    limiter(conn).check(conn)
    with conn.app.state.sessions() as session:
        key = store.find_active_key(session, plain)
    if key is None:
        limiter(conn).failed(conn)
    return key
