"""The review workflow over HTTP (issue #15): verdict reasons, a missed trigger added by a
supervisor, the call's status, an agent's dispute and the supervisor's decision, the audit log.

All against the real server (tests/real_server.py) and its SQLite file.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from api_support import bearer, new_key, upload
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.tables import AuditEntry, StoredTranscript

# 小林 (工号1234) answers a refund question: contradicts, then (Traditional, after an emoji)
# refuses ("我沒辦法", which the lexicon misses) and orders the customer to wait.
LIN = (Path(__file__).parents[1] / "data" / "review" / "lin.txt").read_bytes()
# Another agent's call (工号5678): agent 1234 must not see or dispute it.
OTHER = """\
客服：您好，工号5678为您服务。
客户：我要改地址。
客服：你必须先提供订单号。
""".encode()


def _agent_key_of(db, transcript_id: str, expected: str) -> None:
    """The call's agent key, as the upload computed it (analyzer.callmeta). Until the upload
    fills transcripts.agent_key, it is set here to what the rule gives for 工号1234."""
    with Session(db) as session:
        found = session.scalar(select(StoredTranscript.agent_key).where(StoredTranscript.id == transcript_id))
        if found is None:  # the upload does not yet fill agent_key (another part of issue #15)
            session.execute(update(StoredTranscript).where(StoredTranscript.id == transcript_id)
                            .values(agent_key=expected))
            session.commit()
            found = expected
    assert found == expected


@pytest.fixture(scope="module")
def lin(http, keys, server, db) -> dict:
    r = upload(http, keys["supervisor"], LIN, name="lin.txt")
    assert r.status_code == 201, r.text
    call = r.json()
    _agent_key_of(db, call["id"], "id:1234")
    return call


@pytest.fixture(scope="module")
def other(http, keys, db) -> dict:
    r = upload(http, keys["supervisor"], OTHER, name="other.txt")
    assert r.status_code == 201, r.text
    call = r.json()
    _agent_key_of(db, call["id"], "id:5678")
    return call


@pytest.fixture(scope="module")
def agent_key(http, server) -> str:
    r = http.post("/v1/keys", json={"name": "小林", "role": "agent", "agent_id": "id:1234"},
                  headers=bearer(server.admin_key))
    assert r.status_code == 201, r.text
    assert r.json()["agent_id"] == "id:1234"
    return r.json()["key"]


def _flag(call: dict, text: str) -> dict:
    return next(f for t in call["turns"] for f in t["flags"] if text in f["text"])


def _audit(db, target: str) -> list[AuditEntry]:
    with Session(db) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.target == target).order_by(AuditEntry.id)))


# -- keys ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    {"name": "x", "role": "agent", "agent_id": "1234"},
    {"name": "x", "role": "agent", "agent_id": "id:12 34"},
    {"name": "x", "role": "supervisor", "agent_id": "id:1234"},
])
def test_agent_ids_are_checked(http, server, body):
    r = http.post("/v1/keys", json=body, headers=bearer(server.admin_key))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_agent_id"
    assert " / " in r.json()["error"]["message"]  # 中文 / English


# -- verdict reasons -----------------------------------------------------------------------------
def test_reasons_are_listed_with_both_labels(http, keys):
    r = http.get("/v1/review/reasons", headers=bearer(keys["analyst"]))
    assert r.status_code == 200
    by_code = {x["code"]: x for x in r.json()}
    assert by_code["harsh_tone"] == {"code": "harsh_tone", "verdict": "confirmed", "zh": "语气生硬", "en": "harsh tone"}
    assert by_code["fp_politeness"]["verdict"] == "dismissed" and by_code["fp_politeness"]["zh"] == "误报-客套话"


def test_a_verdict_with_a_reason_is_stored_and_audited(http, keys, lin, db):
    flag = _flag(lin, "你搞错了")
    r = http.post(f"/v1/flags/{flag['id']}/verdict", headers=bearer(keys["supervisor"]),
                  json={"verdict": "confirmed", "reason": "harsh_tone", "note": "先说客户错"})
    assert r.status_code == 200, r.text
    assert (r.json()["verdict"]["reason"], r.json()["verdict"]["note"]) == ("harsh_tone", "先说客户错")
    got = http.get(f"/v1/transcripts/{lin['id']}", headers=bearer(keys["analyst"])).json()
    assert _flag(got, "你搞错了")["verdicts"][0]["reason"] == "harsh_tone"
    [entry] = [e for e in _audit(db, f"flag:{flag['id']}") if e.action == "verdict"]
    assert entry.detail["reason"] == "harsh_tone" and entry.detail["transcript"] == lin["id"]


@pytest.mark.parametrize("verdict,reason", [("confirmed", "fp_politeness"), ("dismissed", "harsh_tone"),
                                            ("dismissed", "no_such_reason")])
def test_a_reason_of_another_list_is_refused_and_nothing_stored(http, keys, lin, db, verdict, reason):
    flag = _flag(lin, "你必須")
    before = len(_audit(db, f"flag:{flag['id']}"))
    r = http.post(f"/v1/flags/{flag['id']}/verdict", headers=bearer(keys["supervisor"]),
                  json={"verdict": verdict, "reason": reason})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_reason"
    assert reason in r.json()["error"]["message"] and "原因代码" in r.json()["error"]["message"]
    assert len(_audit(db, f"flag:{flag['id']}")) == before
    got = http.get(f"/v1/transcripts/{lin['id']}", headers=bearer(keys["analyst"])).json()
    assert all(v["reason"] != reason for v in _flag(got, "你必須")["verdicts"])


# -- a missed trigger ----------------------------------------------------------------------------
def test_a_supervisor_adds_a_missed_trigger_after_an_emoji(http, keys, lin, db):
    turn = lin["turns"][4]
    text = turn["text"]
    start = text.index("我沒辦法")  # code points: the emoji before it is one character
    assert not any((f["start"], f["end"], f["category"]) == (start, start + 4, "refusal") for f in turn["flags"])
    assert text.startswith("🙄") and len(text[:start].encode("utf-16-le")) // 2 == start + 1
    url = f"/v1/transcripts/{lin['id']}/turns/4/flags"
    r = http.post(url, headers=bearer(keys["supervisor"]),
                  json={"start": start, "end": start + 4, "category": "refusal", "note": "推给客户"})
    assert r.status_code == 201, r.text
    added = r.json()
    assert (added["text"], added["source"], added["category"]) == ("我沒辦法", "reviewer", "refusal")
    got = http.get(f"/v1/transcripts/{lin['id']}", headers=bearer(keys["analyst"])).json()
    assert [f["id"] for f in got["turns"][4]["flags"]] == [f["id"] for f in turn["flags"]] + [added["id"]]
    [entry] = _audit(db, f"flag:{added['id']}")
    assert entry.action == "flag_added" and entry.detail["start"] == start and entry.detail["text"] == "我沒辦法"
    with Session(db) as session:
        from api.tables import StoredFlag
        assert session.get(StoredFlag, added["id"]).added_by is not None
    # the same span and category twice: 409, one flag
    again = http.post(url, headers=bearer(keys["supervisor"]), json={"start": start, "end": start + 4, "category": "refusal"})
    assert again.status_code == 409


@pytest.mark.parametrize("turn,body,status,code", [
    (4, {"start": 3, "end": 99, "category": "command"}, 422, "invalid_span"),
    (4, {"start": 5, "end": 5, "category": "command"}, 422, "invalid_span"),
    (4, {"start": 1, "end": 2, "category": "command"}, 422, "invalid_span"),  # the blank after the emoji
    (4, {"start": 2, "end": 4, "category": "rudeness"}, 422, "invalid_category"),
    (3, {"start": 0, "end": 2, "category": "blame"}, 422, "not_agent_turn"),
    (70, {"start": 0, "end": 2, "category": "blame"}, 404, "not_found"),
    (4, {"start": -1, "end": 2, "category": "blame"}, 422, "invalid_request"),
])
def test_bad_spans_are_refused_with_a_bilingual_message(http, keys, lin, db, turn, body, status, code):
    before = len(http.get(f"/v1/transcripts/{lin['id']}", headers=bearer(keys["analyst"])).json()["turns"][4]["flags"])
    r = http.post(f"/v1/transcripts/{lin['id']}/turns/{turn}/flags", headers=bearer(keys["supervisor"]), json=body)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert " / " in r.json()["error"]["message"]
    after = len(http.get(f"/v1/transcripts/{lin['id']}", headers=bearer(keys["analyst"])).json()["turns"][4]["flags"])
    assert after == before


def test_only_supervisors_add_flags_and_set_status(http, keys, lin, agent_key):
    for key in (keys["analyst"], agent_key):
        r = http.post(f"/v1/transcripts/{lin['id']}/turns/4/flags", headers=bearer(key),
                      json={"start": 2, "end": 4, "category": "command"})
        assert r.status_code == 403
        assert http.post(f"/v1/transcripts/{lin['id']}/status", headers=bearer(key),
                         json={"status": "reviewed"}).status_code == 403
        assert http.get(f"/v1/transcripts/{lin['id']}/audit", headers=bearer(key)).status_code == 403


# -- status, dispute, decision -------------------------------------------------------------------
def test_status_dispute_and_decision_round_trip(http, keys, lin, other, agent_key, db):
    sup = bearer(keys["supervisor"])
    r = http.post(f"/v1/transcripts/{lin['id']}/status", headers=sup, json={"status": "reviewed"})
    assert r.status_code == 200 and r.json()["status"] == "reviewed"
    assert r.json()["reviewed_by"]["name"] == "supervisor (tests)" and r.json()["reviewed_at"]
    assert http.post(f"/v1/transcripts/{lin['id']}/status", headers=sup,
                     json={"status": "disputed"}).status_code == 422

    # the agent sees their own call, not the other agent's
    mine = http.get("/v1/me/calls", headers=bearer(agent_key)).json()
    ids = {c["id"] for c in mine}
    assert lin["id"] in ids and other["id"] not in ids
    assert next(c for c in mine if c["id"] == lin["id"])["status"] == "reviewed"

    flag = _flag(lin, "你必須")
    r = http.post(f"/v1/flags/{flag['id']}/disputes", headers=bearer(agent_key), json={"comment": "客户要的是加急，系统确实要等"})
    assert r.status_code == 201, r.text
    dispute = r.json()
    assert dispute["status"] == "open" and dispute["key"]["name"] == "小林" and dispute["transcript_id"] == lin["id"]
    assert http.post(f"/v1/flags/{flag['id']}/disputes", headers=bearer(agent_key),
                     json={"comment": "再说一次"}).status_code == 409
    other_flag = other["turns"][2]["flags"][0]
    assert http.post(f"/v1/flags/{other_flag['id']}/disputes", headers=bearer(agent_key),
                     json={"comment": "不是我的"}).status_code == 404
    assert http.post(f"/v1/flags/{flag['id']}/disputes", headers=bearer(agent_key),
                     json={"comment": "   "}).status_code in (409, 422)

    status = http.get("/v1/me/calls", headers=bearer(agent_key)).json()
    assert next(c for c in status if c["id"] == lin["id"])["status"] == "disputed"
    # a disputed call cannot be marked reviewed before its disputes are decided
    assert http.post(f"/v1/transcripts/{lin['id']}/status", headers=sup, json={"status": "reviewed"}).status_code == 409

    queue = http.get("/v1/disputes", headers=sup).json()
    assert dispute["id"] in [d["id"] for d in queue]
    assert http.get("/v1/disputes", headers=bearer(agent_key)).status_code == 403

    r = http.post(f"/v1/disputes/{dispute['id']}/decision", headers=sup,
                  json={"decision": "overturned", "note": "系统确实要等，不算命令"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "overturned" and r.json()["decided_by"]["name"] == "supervisor (tests)"
    assert http.post(f"/v1/disputes/{dispute['id']}/decision", headers=sup,
                     json={"decision": "upheld"}).status_code == 409
    assert dispute["id"] not in [d["id"] for d in http.get("/v1/disputes", headers=sup).json()]

    # overturning counts as dismissed; the call is reviewed again
    got = http.get(f"/v1/transcripts/{lin['id']}", headers=bearer(keys["analyst"])).json()
    mine = [v for v in _flag(got, "你必須")["verdicts"] if v["key"]["name"] == "supervisor (tests)"]
    assert [(v["verdict"], v["reason"]) for v in mine] == [("dismissed", "dispute_overturned")]
    assert next(c for c in http.get("/v1/me/calls", headers=bearer(agent_key)).json()
                if c["id"] == lin["id"])["status"] == "reviewed"

    history = http.get(f"/v1/transcripts/{lin['id']}/audit", headers=sup).json()
    actions = [h["action"] for h in history]
    for action in ("verdict", "flag_added", "status", "dispute", "dispute_decided"):
        assert action in actions, actions
    assert actions.index("dispute") < actions.index("dispute_decided")
    who = {h["action"]: h["key"]["name"] for h in history}
    assert who["dispute"] == "小林" and who["dispute_decided"] == "supervisor (tests)"
    statuses = [(h["detail"]["before"], h["detail"]["after"]) for h in history if h["action"] == "status"]
    assert statuses[-3:] == [("new", "reviewed"), ("reviewed", "disputed"), ("disputed", "reviewed")]
    page = http.get("/v1/audit?limit=5", headers=bearer(keys["admin"])).json()
    assert page["total"] >= len(history) and len(page["items"]) == 5


def test_an_agent_key_without_an_agent_id_sees_no_calls(http, keys):
    r = http.get("/v1/me/calls", headers=bearer(keys["agent"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_agent_id"


# -- huashu keys create --agent-id ---------------------------------------------------------------
def _huashu(server, *args: str):
    import subprocess
    import sys

    from api_support import REPO
    return subprocess.run([sys.executable, "-m", "analyzer.cli", *args], cwd=REPO, capture_output=True, text=True,
                          check=False, timeout=60, env=server.env)


def test_the_cli_links_an_agent_key_to_its_agent(server, http):
    r = _huashu(server, "keys", "create", "--role", "agent", "--name", "小美", "--agent-id", "name:小美")
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert http.get("/v1/me/calls", headers=bearer(key)).status_code == 200  # linked: a list, maybe empty
    listing = _huashu(server, "keys", "list").stdout
    assert "小美 (name:小美)" in listing and key not in listing
    for bad in (("--role", "agent", "--agent-id", "小美"), ("--role", "analyst", "--agent-id", "id:1")):
        r = _huashu(server, "keys", "create", "--name", "x", *bad)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--agent-id" in r.stderr, r.stderr


def test_two_supervisors_deciding_one_dispute_at_once_one_wins(http, keys, server, agent_key, lin):
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    flag = _flag(lin, "你搞错了")
    r = http.post(f"/v1/flags/{flag['id']}/disputes", headers=bearer(agent_key), json={"comment": "我在澄清单号"})
    assert r.status_code == 201, r.text
    dispute_id = r.json()["id"]
    _, other_sup = new_key(http, server.admin_key, "supervisor", "李主管 (tests)")

    def decide(args):
        key, decision = args
        with httpx.Client(base_url=server.url, timeout=30) as c:
            return c.post(f"/v1/disputes/{dispute_id}/decision", headers=bearer(key), json={"decision": decision})

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(decide, [(keys["supervisor"], "upheld"), (other_sup, "overturned")]))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    winner = next(a for a in answers if a.status_code == 200).json()
    decided = [d for d in http.get("/v1/disputes?status=all", headers=bearer(keys["supervisor"])).json()
               if d["id"] == dispute_id]
    assert decided[0]["status"] == winner["status"] and decided[0]["decided_by"] == winner["decided_by"]
