"""Issue 16, finding 7 (the service): crafted input is a 4xx with the error shape, never a 5xx,
never stored; one test per sub-item.

- a 400- or 4,301-digit number, NaN, Infinity or 1e999 as a JSON start time (422 naming the line);
- a lone surrogate in upload text, speaker, ``POST /v1/suggest``, or on the live socket (an error
  reply; the socket stays open and answers the next message);
- NUL and control characters in any text field: JSON bodies, form fields, file names, query
  strings, paths (422: never sent to the database);
- NaN/Infinity times stored before these checks: the call is still readable (null times);
- a 400-digit timestamp line: an error naming the line.
"""
from __future__ import annotations

import json

import pytest
from api_support import EXAMPLE, bearer, row_counts, upload
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.tables import StoredTurn


def _error(r, status: int = 422, code: str | None = None) -> dict:
    assert r.status_code == status, r.text[:300]
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def _raw_json(http, key: str, path: str, body: str):
    return http.post(path, content=body.encode("utf-8"), headers={**bearer(key), "Content-Type": "application/json"})


TIMES = {"400-digits": "4" * 400, "4301-digits": "4" * 4301, "NaN": "NaN", "Infinity": "Infinity",
         "-Infinity": "-Infinity", "1e999": "1e999"}


@pytest.mark.parametrize("start", TIMES.values(), ids=TIMES.keys())
def test_json_start_times_that_are_not_times_are_a_422_naming_the_line(http, keys, db, start):
    before = row_counts(db)
    data = '[{"speaker": "坐席", "text": "您好"},\n{"speaker": "客户", "text": "你好", "start": ' + start + "}]"
    error = _error(upload(http, keys["supervisor"], data.encode(), name="times.json"), 422, "invalid_transcript")
    assert error["message"].startswith("times.json:2: ")
    assert row_counts(db) == before


def test_a_400_digit_timestamp_line_is_a_422_naming_the_line(http, keys):
    data = ("坐席：您好\n[" + "1" * 400 + "] 客户：你好\n").encode()
    error = _error(upload(http, keys["supervisor"], data, name="stamp.txt"), 422, "invalid_transcript")
    assert error["message"].startswith("stamp.txt:2: ")


@pytest.mark.parametrize("where", ["text", "speaker"])
@pytest.mark.parametrize("bad", ["\\ud800", "\\udc00", "\\u0000", "\\u0007"])
def test_unsafe_characters_in_uploaded_turns(http, keys, db, where, bad):
    before = row_counts(db)
    turn = {"speaker": "客户", "text": "你好"}
    turn[where] = "@@" + turn[where]
    data = json.dumps([{"speaker": "坐席", "text": "您好"}, turn], ensure_ascii=False).replace("@@", bad)
    error = _error(upload(http, keys["supervisor"], data.encode(), name="bad.json"), 422, "invalid_transcript")
    assert error["message"].startswith("bad.json:1: ") and where in error["message"]
    assert row_counts(db) == before


@pytest.mark.parametrize("bad", ["\\ud800", "\\udfff", "\\u0000", "\\u001b", "\\u007f"])
def test_suggest_refuses_unsafe_text(http, keys, bad):
    error = _error(_raw_json(http, keys["agent"], "/v1/suggest", '{"text": "你必须' + bad + '先传"}'), 422, "invalid_text")
    assert "text" in error["message"]
    r = _raw_json(http, keys["agent"], "/v1/suggest", '{"text": "你必须先传", "role": "agent\\u0000"}')
    _error(r, 422, "invalid_text")
    assert http.post("/v1/suggest", json={"text": "😊 你必須\t先傳"}, headers=bearer(keys["agent"])).status_code == 200


@pytest.mark.parametrize("body", ['{"text": NaN}', '{"text": "x", "n": Infinity}', '{"text": "x", "n": 1e999}'])
def test_non_finite_numbers_in_json_bodies_are_refused(http, keys, body):
    _error(_raw_json(http, keys["agent"], "/v1/suggest", body), 422, "invalid_text")


def test_nul_in_other_json_bodies_never_reaches_the_database(http, keys, uploaded):
    _error(_raw_json(http, keys["admin"], "/v1/keys", '{"name": "a\\u0000b", "role": "agent"}'), 422, "invalid_text")
    flag_id = next(f["id"] for t in uploaded["turns"] for f in t["flags"])
    r = _raw_json(http, keys["supervisor"], f"/v1/flags/{flag_id}/verdict", '{"verdict": "confirmed", "note": "\\u0000"}')
    _error(r, 422, "invalid_text")


@pytest.mark.parametrize(("field", "value"), [("team", "A\x00B"), ("team", "A\x1bB"), ("agent_label", "坐\x00席"),
                                              ("customer_label", "客\x07户"), ("format", "json\x00")])
def test_unsafe_form_fields_are_refused(http, keys, db, field, value):
    before = row_counts(db)
    error = _error(upload(http, keys["supervisor"], **{field: value}), 422, "invalid_text")
    assert field in error["message"]
    assert row_counts(db) == before


@pytest.mark.parametrize("name", [b"call\x00.txt", b"call\x1b[31m.txt"])
def test_unsafe_file_names_are_refused(http, keys, db, name):
    """A raw multipart body (httpx would percent-encode the name)."""
    before = row_counts(db)
    body = (b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name + b"\"\r\n"
            b"Content-Type: text/plain\r\n\r\n" + EXAMPLE + b"\r\n--b0undary--\r\n")
    r = http.post("/v1/transcripts", content=body,
                  headers={**bearer(keys["supervisor"]), "Content-Type": "multipart/form-data; boundary=b0undary"})
    assert "file name" in _error(r, 422, "invalid_text")["message"]
    assert row_counts(db) == before


@pytest.mark.parametrize("query", ["limit=1%00", "offset=%01", "x%00=1"])
def test_unsafe_query_strings_and_paths_are_refused(http, keys, query):
    _error(http.get(f"/v1/transcripts?{query}", headers=bearer(keys["analyst"])), 422, "invalid_text")
    _error(http.get("/v1/transcripts/abc%00def", headers=bearer(keys["analyst"])), 422, "invalid_text")


@pytest.mark.parametrize("bad", ["\\ud800", "\\u0000", "\\u0001"])
def test_the_live_socket_answers_unsafe_text_with_an_error_and_stays_open(server, keys, bad):
    from websockets.sync.client import connect

    with connect(server.ws_url + "/v1/live", additional_headers=bearer(keys["agent"])) as ws:
        for message in ('{"text": "你必须' + bad + '先传"}', '{"text": "ok", "id": "' + bad + '"}'):
            ws.send(message)
            reply = json.loads(ws.recv(timeout=10))
            assert reply["error"]["code"] == "invalid_text", reply
        ws.send(json.dumps({"text": "你必须先把资料传过来"}))
        assert json.loads(ws.recv(timeout=10))["flags"]


def test_non_finite_times_stored_before_the_checks_do_not_break_reading(http, keys, server, uploaded):
    """Rows written by an older version (NaN and Infinity start times): read as null, 200."""
    from api.db import create_db_engine

    r = upload(http, keys["supervisor"], b"# legacy\n" + EXAMPLE, name="legacy.txt")  # a file of its own, not a duplicate
    call_id = r.json()["id"]
    engine = create_db_engine(server.database_url)
    try:
        with Session(engine) as session:
            session.execute(update(StoredTurn).where(StoredTurn.transcript_id == call_id, StoredTurn.index == 0)
                            .values(start_time=float("nan"), end_time=float("inf")))
            session.commit()
    finally:
        engine.dispose()
    got = http.get(f"/v1/transcripts/{call_id}", headers=bearer(keys["analyst"]))
    assert got.status_code == 200, got.text[:300]
    assert got.json()["turns"][0]["start_time"] is None and got.json()["turns"][0]["end_time"] is None
