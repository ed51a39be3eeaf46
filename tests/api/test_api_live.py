"""``POST /v1/suggest`` and ``WS /v1/live``: the documented flag shape, offsets, errors."""
from __future__ import annotations

import json

import pytest
from api_support import bearer
from websockets.sync.client import connect

FLAG_FIELDS = {"start", "end", "text", "category", "confidence", "source", "rule", "principle",
               "suggestions", "rewrite", "promise"}


def suggest(http, keys, body, role="agent"):
    return http.post("/v1/suggest", json=body, headers=bearer(keys[role]))


def test_suggest_flags_ni_gaocuole_with_the_documented_shape(http, keys):
    r = suggest(http, keys, {"text": "你搞错了", "role": "agent"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"flags"}
    [flag] = body["flags"]
    assert set(flag) == FLAG_FIELDS
    assert (flag["start"], flag["end"], flag["text"]) == (0, 4, "你搞错了")
    assert flag["category"] == "you_statement"
    assert flag["source"] == "lexicon"
    assert flag["rule"] == "you_statement.ni-gaocuole"
    assert 0 < flag["confidence"] <= 1
    assert flag["principle"]
    assert flag["suggestions"] and all(isinstance(s, str) for s in flag["suggestions"])
    assert flag["rewrite"] == flag["suggestions"][0]


@pytest.mark.parametrize("text", ["好的，你搞错了吧，单号是昨天揽收的。", "先生您好，你必须先把截图发过来。"])
def test_suggest_offsets_point_into_the_text(http, keys, engine, text):
    from analyzer.rewrite import splice

    flags = suggest(http, keys, {"text": text}).json()["flags"]
    assert flags
    for f in flags:
        assert text[f["start"]:f["end"]] == f["text"]
        # the catalyst in place of the span and of the particle the span leaves out (你搞错了【吧】)
        particles = engine.lexicon.checks.trailing_particles
        assert f["rewrite"] == splice(text, f["start"], f["end"], f["suggestions"][0], particles)


def test_suggest_traditional_offsets_are_into_the_original(http, keys):
    text = "先生，你搞錯了。"
    [flag] = suggest(http, keys, {"text": text}).json()["flags"]
    assert text[flag["start"]:flag["end"]] == flag["text"]
    assert flag["start"] == 3 and "搞錯" in flag["text"]


def test_suggest_role_defaults_to_agent_and_customers_get_no_flags(http, keys):
    assert suggest(http, keys, {"text": "你搞错了"}).json()["flags"]
    assert suggest(http, keys, {"text": "你搞错了", "role": "customer"}).json() == {"flags": []}
    assert suggest(http, keys, {"text": "您好，请问有什么可以帮您？"}).json() == {"flags": []}


def test_suggest_equals_the_engine(http, keys, engine):
    text = "你必须先把身份证复印件传过来。这不是我的事。"
    expected = [f.to_dict() for f in engine.check(text, "agent")]
    assert suggest(http, keys, {"text": text}).json() == {"flags": expected}


# -- live -------------------------------------------------------------------------------------
@pytest.fixture
def ws(server, keys):
    with connect(server.ws_url + "/v1/live", additional_headers=bearer(keys["agent"]), open_timeout=10) as socket:
        yield socket


def ask(ws, message) -> dict:
    ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message, ensure_ascii=False))
    return json.loads(ws.recv(timeout=10))


def test_live_answers_each_message_in_order(ws):
    partials = ["你", "你搞", "你搞错", "你搞错了", "你搞错了，这个单号"]
    replies = [ask(ws, {"text": p}) for p in partials]
    assert [len(r["flags"]) for r in replies] == [0, 0, 0, 1, 1]
    for text, reply in zip(partials[3:], replies[3:]):
        [flag] = reply["flags"]
        assert (flag["start"], flag["end"], flag["text"]) == (0, 4, "你搞错了")
        assert flag["rewrite"] == flag["suggestions"][0] + text[4:]


def test_live_echoes_an_id_and_honours_the_role(ws):
    assert ask(ws, {"id": "p7", "text": "你搞错了"})["id"] == "p7"
    assert ask(ws, {"text": "你搞错了", "role": "customer"}) == {"flags": []}


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ({"txt": "你搞错了"}, "invalid_message"),
        ({"text": 42}, "invalid_message"),
        ({"text": "你搞错了", "role": "robot"}, "invalid_message"),
        ({"text": ""}, "empty_text"),
        ({"text": "   "}, "empty_text"),
        ({"text": "好" * 2001}, "text_too_long"),
        (b"\x00\x01binary", "invalid_message"),
    ],
)
def test_live_bad_message_gets_an_error_and_the_socket_stays_open(ws, message, code):
    reply = ask(ws, message)
    assert set(reply) == {"error"}
    assert reply["error"]["code"] == code and reply["error"]["message"]
    assert ask(ws, {"text": "你搞错了"})["flags"][0]["text"] == "你搞错了"  # still open
