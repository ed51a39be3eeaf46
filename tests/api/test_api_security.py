"""Issue 16, finding 8 (the service's part): the last admin key survives concurrent revocations,
failed keys are rate-limited per address, /docs loads nothing from outside, no key in the server's
log, ``Cache-Control: no-store`` on stored data, and no NaN echoed by the live socket."""
from __future__ import annotations

import json
import os
import pty
import re
import select
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from api_support import Server, bearer, huashu_env, new_key, serve, upload
from real_server import ADMIN_KEY_FILE, free_port
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api import store
from api.db import create_db_engine, migrate, session_factory
from api.settings import Settings

KEY = re.compile(r"hs_[A-Za-z0-9_-]{20,}")
POSTGRES_URL = os.environ.get("HUASHU_TEST_POSTGRES_URL", "")


# -- the last admin key ----------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="HUASHU_TEST_POSTGRES_URL is not set"))])
def sessions(request, tmp_path) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        engine, drop = create_db_engine(f"sqlite:///{tmp_path / 'keys.db'}"), None
    else:
        schema = f"huashu_test_{uuid.uuid4().hex[:10]}"
        drop = create_db_engine(POSTGRES_URL)
        with drop.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_db_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()
    if drop is not None:
        with drop.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        drop.dispose()


def _revoke(sessions: sessionmaker[Session], key_id: int, start: threading.Barrier) -> str:
    with sessions() as session:
        session.get(store.ApiKey, key_id)  # as the endpoint: the key is read, then revoked
        start.wait()
        try:
            store.revoke_key(session, key_id)
        except store.LastAdminKey:
            session.rollback()
            return "refused"
        session.commit()
        return "revoked"


def test_two_admins_revoking_each_other_at_once_leave_one(sessions):
    with sessions.begin() as session:
        survivor = store.create_key(session, "admin 0", "admin")[0].id
    for round_ in range(1, 21):
        with sessions.begin() as session:
            other = store.create_key(session, f"admin {round_}", "admin")[0].id
        start = threading.Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(lambda k: _revoke(sessions, k, start), (survivor, other)))
        assert sorted(outcomes) == ["refused", "revoked"], outcomes
        with sessions() as session:
            assert store.active_admin_count(session) == 1
            survivor = survivor if store.key_is_active(session, survivor) else other


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Iterator[Server]:
    """A server of its own (one admin key, the default failure limit)."""
    limit = Settings.model_fields["auth_failure_limit"].default
    with serve(tmp_path_factory.mktemp("fresh"), {"HUASHU_AUTH_FAILURE_LIMIT": limit}) as running:
        yield running


def _active_admins(http: httpx.Client, admin: str) -> list[int]:
    return [k["id"] for k in http.get("/v1/keys", headers=bearer(admin)).json()
            if k["role"] == "admin" and k["revoked_at"] is None]


def test_the_last_admin_cannot_be_revoked_even_by_two_concurrent_requests(fresh):
    with httpx.Client(base_url=fresh.url, timeout=30, headers={"X-Forwarded-For": "198.51.100.1"}) as http:
        [admin_id] = _active_admins(http, fresh.admin_key)
        r = http.delete(f"/v1/keys/{admin_id}", headers=bearer(fresh.admin_key))
        assert r.status_code == 409 and r.json() == {"error": {"code": "last_admin_key", "message": r.json()["error"]["message"]}}
        survivor = (admin_id, fresh.admin_key)
        for _ in range(5):
            other = new_key(http, survivor[1], "admin", "second admin")
            start = threading.Barrier(2)

            def revoke(me: tuple[int, str], target: tuple[int, str]) -> int:
                start.wait()
                return http.delete(f"/v1/keys/{target[0]}", headers=bearer(me[1])).status_code

            with ThreadPoolExecutor(2) as pool:
                codes = sorted(pool.map(revoke, (survivor, other), (other, survivor)))
            assert codes in ([200, 401], [200, 409]), codes  # the loser's key is gone, or it is the last
            left = [k for k in (survivor, other) if http.get("/v1/keys", headers=bearer(k[1])).status_code == 200]
            assert len(left) == 1 and _active_admins(http, left[0][1]) == [left[0][0]]
            survivor = left[0]
    fresh.admin_key = survivor[1]  # the admin key left standing, for the tests after this one


def test_the_cli_refuses_to_revoke_the_last_admin_key_too(fresh):
    with httpx.Client(base_url=fresh.url, timeout=30, headers={"X-Forwarded-For": "198.51.100.2"}) as http:
        [admin_id] = _active_admins(http, fresh.admin_key)
        done = subprocess.run([sys.executable, "-m", "analyzer.cli", "keys", "revoke", str(admin_id)],
                              cwd=fresh.home, env=fresh.env, capture_output=True, text=True, timeout=120)
        assert done.returncode != 0 and done.stderr.count("\n") == 1 and "last admin key" in done.stderr, done.stderr
        assert _active_admins(http, fresh.admin_key) == [admin_id]


# -- failed authentication ------------------------------------------------------------------------
def test_wrong_keys_get_429_after_the_limit(fresh):
    limit = int(Settings.model_fields["auth_failure_limit"].default.split("/")[0])
    wrong = bearer("hs_" + "x" * 43)
    with httpx.Client(base_url=fresh.url, timeout=30, headers={"X-Forwarded-For": "203.0.113.7"}) as http:
        for _ in range(limit):
            assert http.get("/v1/transcripts", headers=wrong).status_code == 401
        r = http.get("/v1/transcripts", headers=wrong)
        assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_failures"
        assert set(r.json()["error"]) == {"code", "message"} and 1 <= int(r.headers["retry-after"]) <= 60
        # locked: the right key from this address is refused too, on the API, the socket and the login form
        assert http.get("/v1/keys", headers=bearer(fresh.admin_key)).status_code == 429
        r = http.post("/web/login", data={"key": fresh.admin_key})
        assert r.status_code == 429 and "retry-after" in r.headers and "hs_session" not in r.headers.get("set-cookie", "")
        headers = {**bearer(fresh.admin_key), "X-Forwarded-For": "203.0.113.7"}
        with connect(fresh.ws_url + "/v1/live", additional_headers=headers) as ws, pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 4429
    # another address is not affected; requests without a key are not counted
    with httpx.Client(base_url=fresh.url, timeout=30, headers={"X-Forwarded-For": "203.0.113.8"}) as http:
        for _ in range(limit * 2):
            assert http.get("/v1/transcripts").status_code == 401
        assert http.get("/v1/keys", headers=bearer(fresh.admin_key)).status_code == 200


def test_wrong_keys_in_the_login_form_and_on_the_socket_count_too(fresh):
    limit = int(Settings.model_fields["auth_failure_limit"].default.split("/")[0])
    with httpx.Client(base_url=fresh.url, timeout=30, headers={"X-Forwarded-For": "203.0.113.9"}) as http:
        for i in range(limit):
            if i % 2:
                assert http.post("/web/login", data={"key": f"hs_wrong{i}"}).status_code == 401
            else:
                with connect(fresh.ws_url + f"/v1/live?key=hs_wrong{i}",
                             additional_headers={"X-Forwarded-For": "203.0.113.9"}) as ws, pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=5)
                assert closed.value.rcvd.code == 4401
        r = http.post("/web/login", data={"key": "hs_again"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert f'请 {r.headers["retry-after"]} 秒后再试' in r.text  # the login page says how long


def test_the_schema_documents_the_new_answers(http):
    paths = http.get("/openapi.json").json()["paths"]
    assert "429" in paths["/v1/transcripts"]["get"]["responses"]
    assert "409" in paths["/v1/keys/{key_id}"]["delete"]["responses"]


# -- /docs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_load_nothing_from_outside(http, page):
    r = http.get(page)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert not re.search(r"(?:https?:)?//[A-Za-z0-9]", r.text), re.findall(r"(?:https?:)?//[^\s\"')]+", r.text)
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", r.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert http.get(asset).status_code == 200, asset
    assert http.get("/openapi.json").status_code == 200  # public: the API's shape, no data


# -- the server's log -------------------------------------------------------------------------------
def test_the_server_log_holds_no_key(server, http, keys, uploaded):
    """Traffic with every kind of key (header, query, login form, wrong, revoked), then the log."""
    http.get("/v1/transcripts", headers=bearer(keys["analyst"]))
    http.get("/v1/transcripts", headers=bearer(keys["wrong"]))
    with httpx.Client(base_url=server.url, timeout=30) as browser:  # its cookie stays out of `http`
        browser.post("/web/login", data={"key": keys["supervisor"]})
        browser.post("/web/login", data={"key": keys["revoked"]})
    for key in (keys["agent"], keys["wrong"]):
        with connect(server.ws_url + f"/v1/live?key={key}") as ws:
            try:
                ws.send(json.dumps({"text": "你好"}))
                ws.recv(timeout=5)
            except ConnectionClosed:
                pass
    log = server.log.read_text(encoding="utf-8")
    assert "/v1/live?key=***" in log  # the access log is on, with the key redacted
    assert not KEY.search(log), KEY.findall(log)
    assert ADMIN_KEY_FILE in log  # where the first admin key went instead
    key_file = server.home / ADMIN_KEY_FILE
    assert key_file.read_text(encoding="utf-8").strip() == server.admin_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_on_a_terminal_the_admin_key_is_shown_once_and_not_written(tmp_path):
    port = free_port()
    env = huashu_env(f"sqlite:///{tmp_path / 'tty.db'}")
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "analyzer.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdin=child, stdout=child, stderr=child, close_fds=True,
    )
    os.close(child)
    shown = b""
    try:
        while b"/docs" not in shown:
            ready, _, _ = select.select([main], [], [], 60)
            assert ready, shown.decode(errors="replace")
            try:
                shown += os.read(main, 65536)
            except OSError:  # the server exited: its output is all there is
                break
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.close(main)
    keys = KEY.findall(shown.decode())
    assert len(keys) == 1, shown.decode(errors="replace")
    assert not (tmp_path / ADMIN_KEY_FILE).exists()


# -- Cache-Control ----------------------------------------------------------------------------------
def test_responses_with_stored_data_say_no_store(server, http, keys, uploaded):
    admin, reader = bearer(keys["admin"]), bearer(keys["analyst"])
    flag = next(f for t in uploaded["turns"] for f in t["flags"])
    responses = {
        "upload": upload(http, keys["supervisor"], name="no-store.txt"),
        "list": http.get("/v1/transcripts", headers=reader),
        "read": http.get(f"/v1/transcripts/{uploaded['id']}", headers=reader),
        "verdict": http.post(f"/v1/flags/{flag['id']}/verdict", json={"verdict": "confirmed"}, headers=bearer(keys["supervisor"])),
        "keys": http.get("/v1/keys", headers=admin),
        "suggest": http.post("/v1/suggest", json={"text": "你搞错了"}, headers=bearer(keys["agent"])),
        "not found": http.get("/v1/transcripts/nope", headers=reader),
    }
    with httpx.Client(base_url=server.url, timeout=30) as web:
        web.post("/web/login", data={"key": keys["supervisor"]})
        for path in ("/web/calls", f"/web/calls/{uploaded['id']}", "/web/agents", "/web/verdicts.csv",
                     "/web/verdicts.jsonl", "/v1/transcripts"):
            responses["web " + path] = web.get(path)
        static = web.get("/web/static/app.css")
    for what, r in responses.items():
        assert r.status_code < 500 and r.headers.get("cache-control") == "no-store", (what, r.status_code, r.headers)
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"


# -- the live socket --------------------------------------------------------------------------------
def test_live_answers_nan_and_other_non_json_with_an_error(server, keys):
    strict = {"parse_constant": lambda c: pytest.fail(f"{c} in a reply")}
    with connect(server.ws_url + "/v1/live", additional_headers=bearer(keys["agent"])) as ws:
        for raw in ("NaN", "Infinity", '{"text": "你搞错了", "id": NaN}', '{"text": "你好", "id": 1e999}',
                    '{"text": "你好", "score": -Infinity}', "{'text': '你好'}", '{"text": "你好"'):
            ws.send(raw)
            reply = json.loads(ws.recv(timeout=5), **strict)
            assert set(reply) == {"error"} and reply["error"]["code"] == "invalid_json", (raw, reply)
        ws.send(json.dumps({"id": 3, "text": "你搞错了"}))
        reply = json.loads(ws.recv(timeout=5), **strict)
        assert reply["id"] == 3 and reply["flags"]
