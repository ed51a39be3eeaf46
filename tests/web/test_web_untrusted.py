"""Issue 16 on the web pages: extreme filter values are not a 500 (finding 7), a stored NaN time
does not make the call page a permanent 500 (finding 7), a long call's page shows its turns 500 at
a time (finding 6)."""
from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session
from web_support import EXAMPLE, login, upload

from api.db import create_db_engine
from api.tables import StoredTurn


@pytest.fixture(scope="module")
def client(server, keys):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        login(c, keys["supervisor"])
        yield c


@pytest.mark.parametrize("query", [
    "date_to=9999-12-31", "date_from=0001-01-01&date_to=9999-12-31", "date_from=9999-12-31",
    "page=" + "9" * 5000, "page=99999999", "date_to=99999-01-01",
])
@pytest.mark.parametrize("path", ["/web/calls", "/web/agents"])
def test_extreme_filter_values_are_no_server_error(client, calls, path, query):
    r = client.get(f"{path}?{query}")
    assert r.status_code == 200, r.text[:300]


def test_the_newest_call_is_found_up_to_the_last_day(client, calls):
    assert calls["example"]["id"] in client.get("/web/calls?date_to=9999-12-31").text


def test_unsafe_filter_values_are_a_4xx(client, calls):
    r = client.get("/web/calls?agent=%00")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_text"


def test_a_long_call_is_shown_500_turns_a_page(client, http, keys):
    text = "\n".join(f"{'坐席' if i % 2 == 0 else '客户'}：第{i}句话，您好。" for i in range(1200))
    call = upload(http, keys["supervisor"], text.encode(), name="long-call.txt")
    turns = re.compile(r'<div class="turn (?:agent|customer)[^"]*" id="turn-(\d+)"')
    first = client.get(f"/web/calls/{call['id']}")
    assert first.status_code == 200
    assert [int(i) for i in turns.findall(first.text)] == list(range(500))
    assert 'rel="next" href="?page=2' in first.text and 'rel="prev"' not in first.text
    last = client.get(f"/web/calls/{call['id']}?page=3")
    assert [int(i) for i in turns.findall(last.text)] == list(range(1000, 1200))
    assert 'rel="prev" href="?page=2' in last.text and 'rel="next"' not in last.text
    beyond = client.get(f"/web/calls/{call['id']}?page=9")
    assert beyond.status_code == 200 and not turns.findall(beyond.text)


def test_a_call_with_non_finite_times_stored_still_shows(client, http, keys, server):
    """Rows written before the entry checks (NaN, Infinity): the page shows no time for them."""
    call = upload(http, keys["supervisor"], b"# legacy\n" + EXAMPLE, name="legacy-times.txt")  # a file of its own
    engine = create_db_engine(server.database_url)
    try:
        with Session(engine) as session:
            session.execute(update(StoredTurn).where(StoredTurn.transcript_id == call["id"])
                            .values(start_time=float("nan"), end_time=float("inf")))
            session.commit()
    finally:
        engine.dispose()
    r = client.get(f"/web/calls/{call['id']}")
    assert r.status_code == 200, r.text[:300]
    assert client.get(f"/v1/transcripts/{call['id']}").json()["turns"][0]["start_time"] is None
