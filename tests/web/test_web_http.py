"""The web app's sessions, roles, CSRF and exports over plain HTTP (no browser needed)."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import httpx
import pytest
from web_support import EXAMPLE, Server, bearer, login, new_key, upload
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def session_cookie(c: httpx.Client) -> str:
    return c.cookies["hs_session"]


def test_a_page_without_a_session_redirects_to_the_login_page(client):
    for path in ("/web/calls", "/web/calls/x", "/web/agents?agent=a", "/web/upload", "/web/live", "/web/verdicts.csv"):
        r = client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/web/login?next=%2Fweb%2F"), r.headers["location"]
    assert client.get("/web/").headers["location"] == "/web/login"
    page = client.get("/web/login")
    assert page.status_code == 200 and 'name="key"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_login_sets_a_signed_httponly_strict_cookie_never_the_key(client, keys):
    assert client.post("/web/login", data={"key": "hs_nope"}).status_code == 401
    r = client.post("/web/login", data={"key": keys["supervisor"], "next": "/web/agents"})
    assert r.status_code == 303 and r.headers["location"] == "/web/agents"
    header = r.headers["set-cookie"]
    assert "HttpOnly" in header and "samesite=strict" in header.lower() and "Path=/" in header
    value = session_cookie(client)
    assert keys["supervisor"] not in value
    import hashlib

    assert hashlib.sha256(keys["supervisor"].encode()).hexdigest() not in value
    assert client.get("/web/agents").status_code == 200


def test_a_login_goes_only_to_pages_of_this_app(client, keys):
    for target in ("//evil.example/web", "https://evil.example/web/calls", "/docs", "/web\\evil"):
        r = client.post("/web/login", data={"key": keys["analyst"], "next": target})
        assert r.headers["location"] == "/web/calls", target


def test_a_login_posted_from_another_site_is_refused(client, keys):
    r = client.post("/web/login", data={"key": keys["supervisor"]}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "hs_session" not in r.headers.get("set-cookie", "")


def test_a_forged_or_revoked_session_is_no_session(client, http, server, keys):
    key = new_key(http, server.admin_key, "supervisor", "soon revoked")
    login(client, key)
    good = session_cookie(client)
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    client.cookies.set("hs_session", forged)
    assert client.get("/web/calls").status_code == 303
    other_id = good.split(".")
    other_id[1] = "1"  # the admin's key id, with this session's signature
    client.cookies.set("hs_session", ".".join(other_id))
    assert client.get("/web/calls").status_code == 303
    assert client.get("/v1/transcripts").status_code == 401

    client.cookies.set("hs_session", good)
    assert client.get("/web/calls").status_code == 200
    key_id = next(k["id"] for k in http.get("/v1/keys", headers=bearer(server.admin_key)).json() if k["name"] == "soon revoked")
    assert http.delete(f"/v1/keys/{key_id}", headers=bearer(server.admin_key)).status_code == 200
    assert client.get("/web/calls").status_code == 303  # revoking the key ends its sessions
    assert client.get("/v1/transcripts").status_code == 401


def test_the_api_takes_the_cookie_with_a_csrf_token_for_changes(client, http, keys):
    call = upload(http, keys["supervisor"], b"# csrf\n" + EXAMPLE, name="csrf.txt")  # a file of its own
    flag_id = next(f["id"] for t in call["turns"] for f in t["flags"])
    token = login(client, keys["supervisor"])
    assert client.get(f"/v1/transcripts/{call['id']}").status_code == 200  # reads need no token

    url = f"/v1/flags/{flag_id}/verdict"
    r = client.post(url, json={"verdict": "confirmed"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    assert client.post(url, json={"verdict": "confirmed"}, headers={"X-CSRF-Token": "0" * 32}).status_code == 403
    foreign = {"X-CSRF-Token": token, "Origin": "https://evil.example"}
    assert client.post(url, json={"verdict": "confirmed"}, headers=foreign).status_code == 403
    r = client.post(url, json={"verdict": "confirmed"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["verdict"]["key"]["name"] == "王主管"

    r = client.post("/v1/transcripts", files={"file": ("x.txt", "坐席：你好\n客户：你好\n".encode())})
    assert r.status_code == 403  # uploads need the token too
    r = client.post("/v1/transcripts", files={"file": ("x.txt", "坐席：你好\n客户：你好\n".encode())},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    # a bearer key still works as before, cookie or not
    assert client.get("/v1/transcripts", headers=bearer(keys["analyst"])).status_code == 200


def test_roles_decide_the_pages(server, keys, calls):
    expected = {
        "agent": {"/web/live": 200, "/web/calls": 403, "/web/agents": 403, "/web/upload": 403},
        "analyst": {"/web/live": 403, "/web/calls": 200, "/web/agents": 200, "/web/upload": 403},
        "supervisor": {"/web/live": 200, "/web/calls": 200, "/web/agents": 200, "/web/upload": 200},
        "admin": {"/web/live": 200, "/web/calls": 200, "/web/agents": 200, "/web/upload": 200},
    }
    for who, pages in expected.items():
        with httpx.Client(base_url=server.url, timeout=30) as c:
            token = login(c, keys[who])
            got = {path: c.get(path).status_code for path in pages}
            assert got == pages, who
            page = c.get(f"/web/calls/{calls['example']['id']}")
            if who in ("supervisor", "admin"):
                assert "data-verdict" in page.text
            elif who == "analyst":
                assert "<mark" in page.text and "data-verdict" not in page.text
                flag = calls["example"]["turns"][2]["flags"][0]["id"]
                r = c.post(f"/v1/flags/{flag}/verdict", json={"verdict": "dismissed"}, headers={"X-CSRF-Token": token})
                assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_logout_needs_the_token_and_ends_the_session(client, keys):
    token = login(client, keys["analyst"])
    assert client.post("/web/logout", data={"csrf": "wrong"}).status_code == 403
    r = client.post("/web/logout", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/web/login"
    assert "hs_session" not in client.cookies
    assert client.get("/web/calls").status_code == 303


def test_the_live_socket_takes_the_session(server, keys):
    with httpx.Client(base_url=server.url) as c:
        login(c, keys["agent"])
        cookie = f"hs_session={session_cookie(c)}"
    url = server.ws_url + "/web/live/ws"
    with connect(url, additional_headers={"Cookie": cookie, "Origin": server.url}) as ws:
        ws.send(json.dumps({"id": 7, "text": "你必须先付款"}))
        reply = json.loads(ws.recv(timeout=5))
        assert reply["id"] == 7 and reply["flags"][0]["rule"] == "command.ni-bixu"
        ws.send(json.dumps({"text": ""}))
        assert json.loads(ws.recv(timeout=5))["error"]["code"] == "empty_text"
    for headers, code in (({}, 4401), ({"Cookie": cookie, "Origin": "https://evil.example"}, 4401)):
        with connect(url, additional_headers=headers) as ws, pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == code
    with httpx.Client(base_url=server.url) as c:
        login(c, keys["analyst"])
        analyst = f"hs_session={session_cookie(c)}"
    with connect(url, additional_headers={"Cookie": analyst}) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd.code == 4403


def test_the_verdict_exports(client, http, keys):
    call = upload(http, keys["supervisor"], b"# export\n" + EXAMPLE, name="export.txt")  # a file of its own
    flag = call["turns"][2]["flags"][0]
    r = http.post(f"/v1/flags/{flag['id']}/verdict", json={"verdict": "dismissed", "note": "客户先说错了"},
                  headers=bearer(keys["supervisor2"]))
    assert r.status_code == 200
    login(client, keys["analyst"])
    rows = [json.loads(line) for line in client.get("/web/verdicts.jsonl").text.splitlines()]
    mine = [row for row in rows if row["flag_id"] == flag["id"]]
    assert len(mine) == 1
    row = mine[0]
    assert row["utterance"][row["start"]:row["end"]] == row["span"] == flag["text"]
    assert (row["verdict"], row["note"], row["by"], row["category"]) == ("dismissed", "客户先说错了", "李主管", flag["category"])
    r = client.get("/web/verdicts.csv")
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert any(t["flag_id"] == flag["id"] and t["by"] == "李主管" for t in table)


def test_static_files_and_language(client, keys):
    assert "livePage" in client.get("/web/static/app.js").text
    assert client.get("/web/static/../app.py").status_code == 404
    login(client, keys["analyst"])
    r = client.get("/web/lang/en", params={"next": "/web/agents"})
    assert r.status_code == 303 and r.headers["location"] == "/web/agents"
    assert "<h1>Agents and teams</h1>" in client.get("/web/agents").text
    assert client.get("/web/lang/en", params={"next": "https://evil.example"}).headers["location"] == "/web/"
    client.get("/web/lang/zh")
    assert "<h1>坐席与团队</h1>" in client.get("/web/agents").text
