"""Upload, read back, list; verdicts on flags; personal numbers masked in what is stored."""
from __future__ import annotations

import hashlib
import json

from api_support import EXAMPLE, bearer, new_key, row_counts, upload
from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer import report
from analyzer.config import Config
from analyzer.pipeline import Pipeline
from analyzer.ingest import parse_transcript
from api.tables import StoredTranscript, StoredTurn

META = {"id", "masked", "created_at", "uploaded_by", "turn_page"}


def _without_ids(analysis: dict) -> dict:
    """The analysis as ``report.to_dict`` gives it: our additions (ids, verdicts, meta) removed."""
    out = {k: v for k, v in analysis.items() if k not in META}
    out["turns"] = [
        {**t, "flags": [{k: v for k, v in f.items() if k not in ("id", "verdicts")} for f in t["flags"]]}
        for t in analysis["turns"]
    ]
    return out


def test_upload_returns_201_with_id_and_the_analysis(uploaded, engine):
    """The service's answer is the pipeline's analysis (the server runs on the lexicon and the
    baseline sentiment model, tests/real_server.py), plus ids, verdicts and storage metadata."""
    config = Config(model="off", sentiment="baseline")
    expected = report.to_dict(Pipeline(config, engine=engine).analyze(parse_transcript(EXAMPLE, "call.txt")))
    assert _without_ids(uploaded) == expected
    assert uploaded["masked"] is True
    assert uploaded["uploaded_by"]["name"] == "supervisor (tests)"
    flags = [f for t in uploaded["turns"] for f in t["flags"]]
    assert len(flags) == uploaded["summary"]["flags"] >= 2
    assert len({f["id"] for f in flags}) == len(flags)
    for turn in uploaded["turns"]:
        for f in turn["flags"]:
            assert turn["text"][f["start"]:f["end"]] == f["text"]
            assert f["verdicts"] == [] or all(v["flag_id"] == f["id"] for v in f["verdicts"])


def test_get_returns_the_stored_analysis(http, keys, uploaded):
    for role in ("supervisor", "analyst", "admin"):
        r = http.get(f"/v1/transcripts/{uploaded['id']}", headers=bearer(keys[role]))
        assert r.status_code == 200
        assert _without_ids(r.json()) == _without_ids(uploaded)
        assert r.json()["id"] == uploaded["id"]


def test_get_unknown_id_is_404_in_the_error_shape(http, keys):
    r = http.get("/v1/transcripts/00000000-0000-0000-0000-000000000000", headers=bearer(keys["analyst"]))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_list_newest_first_with_summaries_and_paging(http, keys, uploaded):
    # the same call with a line before the first speaker (ignored): other bytes, so not a duplicate
    second = upload(http, keys["supervisor"], b"# second\n" + EXAMPLE, name="second.txt").json()
    r = http.get("/v1/transcripts", params={"limit": 1}, headers=bearer(keys["analyst"]))
    page = r.json()
    assert r.status_code == 200
    assert page["limit"] == 1 and page["offset"] == 0 and page["total"] >= 2
    [item] = page["items"]
    assert item["id"] == second["id"]
    assert set(item) == {"id", "source", "format", "encoding", "script", "call", "masked", "created_at",
                         "uploaded_by", "summary"}
    assert item["summary"] == second["summary"]
    everything = http.get("/v1/transcripts", params={"limit": 200}, headers=bearer(keys["analyst"])).json()
    assert {uploaded["id"], second["id"]} <= {i["id"] for i in everything["items"]}
    assert http.get("/v1/transcripts", params={"offset": 10_000}, headers=bearer(keys["analyst"])).json()["items"] == []


def test_upload_with_labels_and_format(http, keys):
    data = "张三：你必须先登录。\n李女士：好的。\n".encode()
    r = upload(http, keys["supervisor"], data, name="chat.log", agent_label="张三",
               customer_label="李女士", format="speaker-text")
    assert r.status_code == 201, r.text
    assert [t["role"] for t in r.json()["turns"]] == ["agent", "customer"]
    assert r.json()["format"] == "speaker-text"


def test_upload_gb18030_csv(http, keys):
    data = "speaker,text\n客服,你搞错了\n客户,没有啊\n".encode("gb18030")
    r = upload(http, keys["supervisor"], data, name="call.csv")
    assert r.status_code == 201, r.text
    assert (r.json()["format"], r.json()["encoding"]) == ("csv", "gb18030")
    assert r.json()["turns"][0]["flags"][0]["text"] == "你搞错了"


# -- verdicts ---------------------------------------------------------------------------------
def _flag_in(analysis: dict, flag_id: str) -> dict:
    return next(f for t in analysis["turns"] for f in t["flags"] if f["id"] == flag_id)


def test_verdicts_are_stored_replaced_per_key_and_visible(http, keys, server):
    fresh = upload(http, keys["supervisor"], b"# verdicts\n" + EXAMPLE).json()
    flag_id = next(f["id"] for t in fresh["turns"] for f in t["flags"])
    boss = bearer(keys["supervisor"])
    _, other_key = new_key(http, server.admin_key, "supervisor", "second supervisor")

    r = http.post(f"/v1/flags/{flag_id}/verdict", json={"verdict": "confirmed", "note": "确实是导火索"}, headers=boss)
    assert r.status_code == 200, r.text
    assert r.json()["verdict"]["verdict"] == "confirmed"
    assert r.json()["verdict"]["note"] == "确实是导火索"
    assert r.json()["verdict"]["key"]["name"] == "supervisor (tests)"
    assert r.json()["verdict"]["at"]

    r = http.post(f"/v1/flags/{flag_id}/verdict", json={"verdict": "dismissed"}, headers=boss)
    assert [v["verdict"] for v in r.json()["verdicts"]] == ["dismissed"]  # replaced, not added
    assert r.json()["verdicts"][0]["note"] is None

    r = http.post(f"/v1/flags/{flag_id}/verdict", json={"verdict": "confirmed"}, headers=bearer(other_key))
    assert sorted(v["verdict"] for v in r.json()["verdicts"]) == ["confirmed", "dismissed"]

    stored = http.get(f"/v1/transcripts/{fresh['id']}", headers=bearer(keys["analyst"])).json()
    seen = {v["key"]["name"]: v["verdict"] for v in _flag_in(stored, flag_id)["verdicts"]}
    assert seen == {"supervisor (tests)": "dismissed", "second supervisor": "confirmed"}


def test_verdict_on_an_unknown_flag_is_404(http, keys):
    r = http.post("/v1/flags/no-such-flag/verdict", json={"verdict": "confirmed"}, headers=bearer(keys["supervisor"]))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_verdict_must_be_confirmed_or_dismissed(http, keys, uploaded):
    flag_id = next(f["id"] for t in uploaded["turns"] for f in t["flags"])
    r = http.post(f"/v1/flags/{flag_id}/verdict", json={"verdict": "maybe"}, headers=bearer(keys["supervisor"]))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


# -- privacy ----------------------------------------------------------------------------------
PII_CALL = (
    "坐席：您好，请问有什么可以帮您？\n"
    "客户：我手机是138 1234 5678，身份证11010519491231002X，订单号SD20250301。\n"
    "坐席：你搞错了，卡号4111111111111111不是您的吗？退款金额是138.50元，2025-03-01到账。\n"
).encode()


def test_personal_numbers_are_masked_in_stored_text(http, keys, uploaded, db):
    r = upload(http, keys["supervisor"], PII_CALL, name="pii.txt")
    assert r.status_code == 201, r.text
    body = r.json()
    texts = [t["text"] for t in body["turns"]]
    assert texts[1] == "我手机是138 **** 5678，身份证110***********002X，订单号SD20250301。"
    assert texts[2] == "你搞错了，卡号4111********1111不是您的吗？退款金额是138.50元，2025-03-01到账。"
    assert body["masked"] is True
    [flag] = body["turns"][2]["flags"]
    assert texts[2][flag["start"]:flag["end"]] == flag["text"] == "你搞错了"
    with Session(db) as session:
        stored = session.scalars(select(StoredTurn.text).where(StoredTurn.transcript_id == body["id"])).all()
    assert stored == texts
    dump = json.dumps(body, ensure_ascii=False)
    for secret in ("13812345678", "1234 5678", "11010519491231002X", "4111111111111111"):
        assert secret not in dump


# -- chat exports, call metadata, duplicates (issue #15) ---------------------------------------
WECOM = (
    "客服小林 2025-03-30 14:03:10\n"
    "您好，我是客服小林，工号1234，很高兴为您服务😊\n"
    "\n"
    "王女士 2025-03-30 14:03:41\n"
    "我的快递三天了还没到！！\n"
    "客服小林 2025-03-30 14:04:30\n"
    "你必须先把单号发过来\n"
).encode()


def test_a_chat_export_is_stored_with_its_agent_start_and_channel(http, keys, db):
    r = upload(http, keys["supervisor"], WECOM, name="wecom.txt")
    assert r.status_code == 201, r.text
    body = r.json()
    assert [t["role"] for t in body["turns"]] == ["agent", "customer", "agent"]
    call = body["call"]
    assert call["agent"] == {"name": "小林", "employee_id": "1234"}
    assert call["started_at"] == "2025-03-30T14:03:10+08:00"  # the server's zone: the default
    assert call["channel"] == "chat" == body["scorecard"]["channel"]
    with Session(db) as session:
        row = session.get(StoredTranscript, body["id"])
        assert row.agent_key == "id:1234"
        assert row.started_at.isoformat() == "2025-03-30T06:03:10+00:00"  # stored in UTC
        assert row.content_sha256 == hashlib.sha256(WECOM).hexdigest()


def test_the_same_file_again_is_not_stored_twice(http, keys, db):
    data = b"# duplicate test\n" + WECOM
    first = upload(http, keys["supervisor"], data, name="first.txt")
    assert first.status_code == 201, first.text
    before = row_counts(db)["transcripts"]
    again = upload(http, keys["admin"], data, name="renamed copy.txt")  # another uploader, another name
    assert again.status_code == 200, again.text
    assert again.headers["Huashu-Duplicate-Of"] == first.json()["id"] == again.json()["id"]
    assert again.headers["Content-Location"] == f"/v1/transcripts/{first.json()['id']}"
    assert again.json()["source"] == "first.txt"  # the stored call, as stored
    assert row_counts(db)["transcripts"] == before
    other = upload(http, keys["supervisor"], data + "客户：谢谢\n".encode(), name="first.txt")
    assert other.status_code == 201 and "Huashu-Duplicate-Of" not in other.headers


def test_upload_fields_override_the_call_metadata(http, keys, db):
    data = "坐席：您好，请问有什么可以帮您\n客户：我要改地址\n".encode()
    r = upload(http, keys["supervisor"], data, name="fields.txt", agent_name="王芳", employee_id="A-77",
               started_at="2025-03-01 09:30", channel="chat")
    assert r.status_code == 201, r.text
    call = r.json()["call"]
    assert call["agent"] == {"name": "王芳", "employee_id": "A-77"}
    assert call["started_at"] == "2025-03-01T09:30:00+08:00"
    assert call["channel"] == "chat" == r.json()["scorecard"]["channel"]
    with Session(db) as session:
        assert session.get(StoredTranscript, r.json()["id"]).agent_key == "id:A-77"


def test_bad_upload_fields_are_422_and_nothing_is_stored(http, keys, db):
    data = "坐席：您好\n客户：你好\n".encode()
    before = row_counts(db)["transcripts"]
    for field, value, code in (("channel", "fax", "invalid_channel"), ("started_at", "yesterday", "invalid_started_at"),
                               ("employee_id", "12 34", "invalid_employee_id")):
        r = upload(http, keys["supervisor"], data, name="bad.txt", **{field: value})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == code
        message = r.json()["error"]["message"]
        assert " / " in message and message.index(" / ") > 0  # 中文 / English
    assert row_counts(db)["transcripts"] == before


def test_a_file_no_rule_can_read_names_the_line(http, keys):
    r = upload(http, keys["supervisor"], "\n小林：你好\n老王：嗯\n".encode(), name="who.txt")
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert message.startswith("who.txt:2: 无法判断说话人“小林”的角色") and "two-party export" in message
