"""Every endpoint, called with no key, a wrong key, a revoked key, and each role's key."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx
import pytest
from api_support import EXAMPLE, ROLES, bearer, new_key
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

# endpoint -> (roles allowed besides admin, status on success)
ALLOWED = {
    "suggest": (("agent", "supervisor"), 200),
    "upload": (("supervisor",), 201),
    "read": (("supervisor", "analyst"), 200),
    "list": (("supervisor", "analyst"), 200),
    "verdict": (("supervisor",), 200),
    "create_key": ((), 201),
    "list_keys": ((), 200),
    "revoke_key": ((), 200),
}
CALLERS = (*ROLES, "none", "wrong", "revoked")


def _call(endpoint: str, http: httpx.Client, headers: dict, uploaded: dict, admin_key: str) -> httpx.Response:
    flag_id = next(f["id"] for t in uploaded["turns"] for f in t["flags"])
    calls: dict[str, Callable[[], httpx.Response]] = {
        "suggest": lambda: http.post("/v1/suggest", json={"text": "你搞错了"}, headers=headers),
        # a line before the first speaker (ignored) makes each upload a file of its own (not a duplicate: 200)
        "upload": lambda: http.post("/v1/transcripts", files={"file": ("c.txt", f"# {uuid.uuid4()}\n".encode() + EXAMPLE)},
                                    headers=headers),
        "read": lambda: http.get(f"/v1/transcripts/{uploaded['id']}", headers=headers),
        "list": lambda: http.get("/v1/transcripts", headers=headers),
        "verdict": lambda: http.post(f"/v1/flags/{flag_id}/verdict", json={"verdict": "confirmed"}, headers=headers),
        "create_key": lambda: http.post("/v1/keys", json={"name": "n", "role": "agent"}, headers=headers),
        "list_keys": lambda: http.get("/v1/keys", headers=headers),
        "revoke_key": lambda: http.delete(f"/v1/keys/{new_key(http, admin_key, 'agent')[0]}", headers=headers),
    }
    return calls[endpoint]()


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ALLOWED)
def test_each_role_on_each_endpoint(endpoint, caller, http, keys, uploaded, server):
    headers = {} if caller == "none" else bearer(keys[caller])
    r = _call(endpoint, http, headers, uploaded, server.admin_key)
    roles, ok = ALLOWED[endpoint]
    if caller in ("none", "wrong", "revoked"):
        expected, code = 401, "unauthorized"
    elif caller == "admin" or caller in roles:
        expected, code = ok, None
    else:
        expected, code = 403, "forbidden"
    assert r.status_code == expected, r.text
    if code:
        assert r.json()["error"]["code"] == code
        assert set(r.json()["error"]) == {"code", "message"}


def test_401_says_bearer_and_other_schemes_are_refused(http):
    r = http.get("/v1/transcripts")
    assert r.headers["www-authenticate"] == "Bearer"
    r = http.get("/v1/transcripts", headers={"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"})
    assert r.status_code == 401


@pytest.mark.parametrize(("path", "options"), [
    ("/v1/suggest", {"content": "你必须先付款", "headers": {"Content-Type": "text/plain"}}),
    ("/v1/suggest", {"data": {"text": "你好"}}),
    ("/v1/transcripts", {"json": {"text": "你好"}}),
])
def test_no_key_is_401_whatever_the_body(http, path, options):
    """Who you are is checked before what you sent: a keyless request with the wrong content type
    gets 401, not 415."""
    r = http.post(path, **options)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] and r.headers["www-authenticate"] == "Bearer"


def test_health_needs_no_key_and_reports_the_database(http):
    r = http.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "db": "ok", "model": "off", "model_status": "off"}


def test_openapi_docs_are_public(http):
    assert http.get("/openapi.json").status_code == 200
    assert "/v1/suggest" in http.get("/openapi.json").json()["paths"]
    assert http.get("/docs").status_code == 200


# -- the WebSocket ----------------------------------------------------------------------------
def _live(server, key: str | None, via: str = "header"):
    url = server.ws_url + "/v1/live"
    if key and via == "query":
        return connect(url + f"?key={key}", open_timeout=10)
    return connect(url, additional_headers=bearer(key) if key else {}, open_timeout=10)


def _close_code(server, key, via="header") -> int:
    with _live(server, key, via) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)
    return closed.value.rcvd.code


@pytest.mark.parametrize("caller", ["none", "wrong", "revoked"])
def test_live_without_a_good_key_closes_4401(caller, server, keys):
    key = None if caller == "none" else keys[caller]
    assert _close_code(server, key) == 4401
    if key:
        assert _close_code(server, key, via="query") == 4401


def test_live_analyst_closes_4403(server, keys):
    assert _close_code(server, keys["analyst"]) == 4403
    assert _close_code(server, keys["analyst"], via="query") == 4403


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
@pytest.mark.parametrize("via", ["header", "query"])
def test_live_allowed_roles(role, via, server, keys):
    with _live(server, keys[role], via) as ws:
        ws.send(json.dumps({"text": "你搞错了"}))
        reply = json.loads(ws.recv(timeout=10))
    assert [f["text"] for f in reply["flags"]] == ["你搞错了"]
