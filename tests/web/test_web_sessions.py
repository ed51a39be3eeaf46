"""Sessions on the server (issue 16, findings 1-3): a cookie cannot be made from the database, logout
and revocation end sessions at once, and a revoked key's or ended session's live sockets close
within a second, on both sockets (``WS /v1/live`` and the page's ``WS /web/live/ws``)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web_support import Server, bearer, login, new_key
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api import store
from api.db import create_db_engine
from api.tables import ApiKey, StoredSession

CLOSE_WITHIN = 1.0  # seconds


@pytest.fixture(scope="module")
def db(server: Server):
    engine = create_db_engine(server.database_url)
    yield engine
    engine.dispose()


def key_id(http: httpx.Client, server: Server, name: str) -> int:
    return next(k["id"] for k in http.get("/v1/keys", headers=bearer(server.admin_key)).json() if k["name"] == name)


@contextmanager
def logged_in(server: Server, key: str) -> Iterator[tuple[httpx.Client, str]]:
    """A client logged in with ``key``, and its CSRF token."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client, login(client, key)


def refused(server: Server, cookie: str) -> bool:
    """Whether a fresh client holding only this cookie value gets nowhere (page and API)."""
    with httpx.Client(base_url=server.url, timeout=30, cookies={"hs_session": cookie}) as c:
        page, api = c.get("/web/calls"), c.get("/v1/transcripts")
    return page.status_code == 303 and api.status_code == 401


def old_style_cookie(key: ApiKey) -> str:
    """What the signed cookie of before could be made from: the key's id and stored hash."""
    signing_key = hashlib.sha256(b"huashu-web-session\0" + b"\0" + key.key_hash.encode()).digest()
    body = f"v1.{key.id}.{int(time.time()) + 3600}.bm9uY2Vub25jZQ"
    return f"{body}.{hmac.new(signing_key, body.encode(), hashlib.sha256).hexdigest()}"


def test_a_cookie_minted_from_the_database_alone_is_refused(server, http, keys, db):
    """Everything the database holds about an admin's session and key does not make a cookie."""
    with logged_in(server, keys["admin"]) as (client, _):
        real = client.cookies["hs_session"]
        assert client.get("/v1/keys").status_code == 200
    token = real.split(".", 1)[1]
    with Session(db) as s:
        rows = s.scalars(select(StoredSession)).all()
        admin = s.scalar(select(ApiKey).where(ApiKey.key_hash == store.hash_key(keys["admin"])))
        stored = [str(getattr(row, column.name)) for row in rows for column in StoredSession.__table__.columns]
    assert rows and not any(token in value for value in stored)  # only the token's hash is stored
    candidates = [old_style_cookie(admin), f"s1.{admin.key_hash}"]
    candidates += [f"s1.{row.token_hash}" for row in rows] + [f"s1.{row.token_hash[:43]}" for row in rows]
    for cookie in candidates:
        assert refused(server, cookie), cookie
        with httpx.Client(base_url=server.url, timeout=30, cookies={"hs_session": cookie}) as c:
            r = c.post("/v1/keys", json={"name": "minted", "role": "admin"}, headers={"X-CSRF-Token": "0" * 32})
            assert r.status_code == 401
    assert not refused(server, real)  # the real cookie still works


def test_logout_ends_the_session_on_the_server(server, keys, db):
    with logged_in(server, keys["analyst"]) as (client, token):
        copied = client.cookies["hs_session"]
        with Session(db) as s:
            before = s.scalar(select(StoredSession).where(StoredSession.token_hash == store.hash_key(copied.split(".", 1)[1])))
        assert before is not None and not refused(server, copied)
        assert client.post("/web/logout", data={"csrf": token}).status_code == 303
    assert refused(server, copied)  # the copy kept by someone else is worth nothing now
    with Session(db) as s:
        assert s.get(StoredSession, before.id) is None


def test_the_session_cookie_is_capped_by_the_server(server, keys):
    with logged_in(server, keys["analyst"]) as (client, _):
        r = client.post("/web/login", data={"key": keys["analyst"]})
    header = r.headers["set-cookie"]
    assert "Max-Age=43200" in header and "HttpOnly" in header  # 12 h; the row's expires_at decides


# -- live sockets --------------------------------------------------------------------------------
def api_socket(server: Server, key: str):
    return connect(server.ws_url + "/v1/live", additional_headers=bearer(key), open_timeout=10)


def page_socket(server: Server, cookie: str):
    return connect(server.ws_url + "/web/live/ws", additional_headers={"Cookie": f"hs_session={cookie}"},
                   open_timeout=10)


def answers(ws) -> bool:
    ws.send(json.dumps({"text": "你搞错了"}))
    return bool(json.loads(ws.recv(timeout=5))["flags"])


def closed_within(ws, seconds: float = CLOSE_WITHIN) -> float:
    """Seconds until the server closed ``ws`` with 4401; fails if it stays open for ``seconds``."""
    start = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=max(0.01, seconds - (time.monotonic() - start)))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    return time.monotonic() - start


@pytest.mark.parametrize("how", ["DELETE /v1/keys", "another process"])
def test_a_revoked_keys_open_sockets_close_within_a_second(how, server, http, keys, db):
    name = f"live, revoked by {how}"
    plain = new_key(http, server.admin_key, "agent", name)
    with logged_in(server, plain) as (client, _), api_socket(server, plain) as api, page_socket(server, client.cookies["hs_session"]) as page:
        assert answers(api) and answers(page)
        if how == "DELETE /v1/keys":  # this worker: its registry closes the sockets at once
            assert http.delete(f"/v1/keys/{key_id(http, server, name)}", headers=bearer(server.admin_key)).status_code == 200
        else:  # as another worker or `huashu keys revoke` would: only the database knows
            with Session(db) as s:
                store.revoke_key(s, key_id(http, server, name))
                s.commit()
        waited = [closed_within(api), closed_within(page)]
    assert max(waited) < CLOSE_WITHIN, waited
    print(f"\n{how}: /v1/live closed after {waited[0]:.3f} s, /web/live/ws after {waited[1]:.3f} s")  # pytest -s
    with pytest.raises(ConnectionClosed), api_socket(server, plain) as again:
        again.recv(timeout=5)


def test_logout_closes_the_pages_socket(server, keys):
    with logged_in(server, keys["agent"]) as (client, token), page_socket(server, client.cookies["hs_session"]) as page:
        assert answers(page)
        assert client.post("/web/logout", data={"csrf": token}).status_code == 303
        assert closed_within(page) < CLOSE_WITHIN


def test_the_pages_socket_answers_nan_with_an_error(server, keys):
    with logged_in(server, keys["agent"]) as (client, _), page_socket(server, client.cookies["hs_session"]) as page:
        for raw in ("NaN", '{"text": "你搞错了", "id": NaN}', '{"text": "你好", "id": -Infinity}', "不是 JSON"):
            page.send(raw)
            reply = json.loads(page.recv(timeout=5), parse_constant=lambda c: pytest.fail(f"{c} echoed"))
            assert reply == {"error": {"code": "invalid_json", "message": reply["error"]["message"]}}, raw
        assert answers(page)  # the socket stays open
