"""Issue 16 #4 on the running service: every personal-number form of ``tests/pii_support.py`` is
masked in what is stored (turns, speaker, file name, team, verdict notes), in every API answer,
in the web call page and list, and in the verdict export; flags still point into the masked text."""
from __future__ import annotations

import csv
import html
import io
import json
import re

import httpx
import pytest
from api_support import bearer, upload
from pii_support import (
    CUSTOMER,
    FILE_NAME,
    FILE_NAME_MASKED,
    NOTE,
    NOTE_MASKED,
    TEAM,
    TEAM_MASKED,
    assert_masked,
    call_text,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.tables import StoredTranscript, StoredTurn, Verdict

EXTRA = ((FILE_NAME, FILE_NAME_MASKED), (TEAM, TEAM_MASKED))


@pytest.fixture(scope="module")
def pii_call(http, keys) -> dict:
    r = upload(http, keys["supervisor"], call_text().encode(), name=FILE_NAME, team=TEAM, customer_label=[CUSTOMER])
    assert r.status_code == 201, r.text
    return r.json()


def test_upload_answer_is_masked_and_flags_point_into_it(pii_call):
    dump = json.dumps(pii_call, ensure_ascii=False)
    assert_masked(dump)
    assert FILE_NAME not in dump and pii_call["source"] == FILE_NAME_MASKED and pii_call["masked"] is True
    flags = [(turn["text"], f) for turn in pii_call["turns"] for f in turn["flags"]]
    assert flags  # the agent's 你搞错了
    for text, f in flags:
        assert text[f["start"]:f["end"]] == f["text"]


def test_stored_rows_are_masked(pii_call, db):
    with Session(db) as session:
        stored = session.get(StoredTranscript, pii_call["id"])
        turns = session.execute(select(StoredTurn.speaker, StoredTurn.text)
                                .where(StoredTurn.transcript_id == pii_call["id"])).all()
        assert stored.source == FILE_NAME_MASKED
        assert stored.team == TEAM_MASKED
        assert_masked("\n".join(f"{speaker}：{text}" for speaker, text in turns))


def test_read_and_list_answers_are_masked(http, keys, pii_call):
    one = http.get(f"/v1/transcripts/{pii_call['id']}", headers=bearer(keys["analyst"]))
    assert one.status_code == 200
    assert_masked(one.text if "\\u" not in one.text else json.dumps(one.json(), ensure_ascii=False))
    listed = json.dumps(http.get("/v1/transcripts?limit=200", headers=bearer(keys["analyst"])).json(), ensure_ascii=False)
    assert FILE_NAME_MASKED in listed and FILE_NAME not in listed and TEAM not in listed


def test_verdict_note_is_masked_when_stored_and_exported(http, keys, pii_call, db, server):
    flag_id = next(f["id"] for t in pii_call["turns"] for f in t["flags"])
    r = http.post(f"/v1/flags/{flag_id}/verdict", json={"verdict": "confirmed", "note": NOTE},
                  headers=bearer(keys["supervisor"]))
    assert r.status_code == 200, r.text
    assert r.json()["verdict"]["note"] == NOTE_MASKED
    with Session(db) as session:
        assert session.scalars(select(Verdict.note).where(Verdict.flag_id == flag_id)).all() == [NOTE_MASKED]
    with httpx.Client(base_url=server.url, timeout=30) as web:
        _login(web, keys["analyst"])
        for ext in ("csv", "jsonl"):
            body = web.get(f"/web/verdicts.{ext}").text
            body = body if ext == "csv" else "\n".join(json.dumps(json.loads(line), ensure_ascii=False)
                                                       for line in body.splitlines())
            assert NOTE not in body and NOTE_MASKED in body, ext
            assert FILE_NAME not in body and FILE_NAME_MASKED in body, ext


def test_web_call_page_and_list_are_masked(keys, pii_call, server):
    with httpx.Client(base_url=server.url, timeout=30) as web:
        _login(web, keys["analyst"])
        page = web.get(f"/web/calls/{pii_call['id']}")
        assert page.status_code == 200
        text = html.unescape(re.sub(r"<[^>]+>", "", page.text))
        assert_masked(text, extra=EXTRA)
        listing = html.unescape(web.get("/web/calls").text)
        assert FILE_NAME not in listing and TEAM not in listing


def test_unreadable_upload_error_names_the_file_masked(http, keys):
    r = upload(http, keys["supervisor"], b"", name=FILE_NAME)
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert FILE_NAME_MASKED in message and FILE_NAME not in message


def _login(client: httpx.Client, key: str) -> None:
    r = client.post("/web/login", data={"key": key})
    assert r.status_code == 303, r.text


# -- issue 16 #5: the verdict export holds no formula --------------------------------------------
AGENT = '=HYPERLINK("http://evil.example","点我")'
CUSTOMER_LABEL = "+cmd|' /C calc'!A0"
HOSTILE_CALL = (
    f"{AGENT}：您好，这里是话术客服，请问有什么可以帮您？\n"
    f"{CUSTOMER_LABEL}：=1+1 你们这个怎么回事\n"
    f"{AGENT}：@SUM(1,1) 你搞错了，这个不归我们管\n"
    f"{CUSTOMER_LABEL}：-2+3 那我要投诉\n"
)


def test_verdict_csv_holds_no_formula(http, keys, server):
    r = upload(http, keys["supervisor"], HOSTILE_CALL.encode(), name="@evil.txt", team="=team",
               agent_label=[AGENT], customer_label=[CUSTOMER_LABEL])
    assert r.status_code == 201, r.text
    call = r.json()
    assert call["turns"][2]["text"].startswith("@SUM") and call["turns"][0]["speaker"] == AGENT
    r = http.post("/v1/keys", json={"name": "=1+2 boss", "role": "supervisor"}, headers=bearer(keys["admin"]))
    assert r.status_code == 201, r.text
    evil_key = r.json()["key"]
    flag_id = next(f["id"] for t in call["turns"] for f in t["flags"])
    r = http.post(f"/v1/flags/{flag_id}/verdict", json={"verdict": "confirmed", "note": "-1+1 备注"},
                  headers=bearer(evil_key))
    assert r.status_code == 200, r.text
    with httpx.Client(base_url=server.url, timeout=30) as web:
        _login(web, keys["analyst"])
        body = web.get("/web/verdicts.csv").text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(body)))
    cells = [value for row in rows for value in row]
    for value in cells:
        if value.startswith(("=", "+", "-", "@", "\t", "\r")):
            float(value)  # only a real number may start with - or +
    # the hostile values are there, escaped (the test would prove nothing otherwise)
    for escaped in ("'@evil.txt", f"'{AGENT}", "'@SUM(1,1) 你搞错了，这个不归我们管", "'-1+1 备注", "'=1+2 boss"):
        assert escaped in cells, escaped
