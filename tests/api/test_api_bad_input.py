"""Bad input of every kind: a 4xx in the error shape, nothing stored, and the server goes on."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

import pytest
from api_support import bearer, row_counts, upload

MIB = 1024 * 1024


def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


@dataclass
class Bad:
    name: str
    status: int
    code: str
    method: str = "POST"
    path: str = "/v1/suggest"  # "{flag}" becomes the id of a stored flag
    key: str = "supervisor"
    content_type: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # httpx request options

    def send(self, http, keys, flag_id: str):
        headers = bearer(keys[self.key])
        if self.content_type:
            headers["Content-Type"] = self.content_type
        options = {k: v() if callable(v) else v for k, v in self.options.items()}
        return http.request(self.method, self.path.format(flag=flag_id), headers=headers, **options)


def raw_json(name, body: str | bytes, status, code, path="/v1/suggest"):
    content = body.encode() if isinstance(body, str) else body
    return Bad(name, status, code, path=path, content_type="application/json", options={"content": content})


def suggest(name, body, status, code):
    return Bad(name, status, code, options={"json": body})


def upload_file(name, data: bytes, status, code, filename="call.txt", **form):
    return Bad(name, status, code, path="/v1/transcripts", options={"files": {"file": (filename, data)}, "data": form})


BAD = [
    raw_json("body over MAX_BODY_BYTES (Content-Length)", b'{"text": "' + b"a" * (MIB + 10) + b'"}',
             413, "payload_too_large"),
    Bad("chunked body over MAX_BODY_BYTES (no Content-Length)", 413, "payload_too_large",
        content_type="application/json", options={"content": lambda: _chunks(2 * MIB)}),
    suggest("1 MB of Chinese text in one utterance", {"text": "好" * 1_000_000}, 413, "payload_too_large"),
    suggest("1 MB of ASCII text in one utterance (under the body limit)", {"text": "a" * 1_000_000},
            422, "text_too_long"),
    suggest("utterance over MAX_UTTERANCE_CHARS", {"text": "好" * 2001}, 422, "text_too_long"),
    raw_json("malformed JSON", '{"text": "你搞错了"', 400, "invalid_json"),
    raw_json("JSON that is not an object", '["text"]', 422, "invalid_request"),
    raw_json("empty body", "", 422, "invalid_request"),
    suggest("empty text", {"text": ""}, 422, "empty_text"),
    suggest("blank text", {"text": " \n "}, 422, "empty_text"),
    suggest("missing text", {"role": "agent"}, 422, "invalid_request"),
    suggest("text not a string", {"text": 42}, 422, "invalid_request"),
    suggest("unknown role", {"text": "你好", "role": "boss"}, 422, "invalid_request"),
    Bad("text/plain body", 415, "unsupported_media_type", content_type="text/plain",
        options={"content": '{"text": "你好"}'.encode()}),
    Bad("form body to a JSON endpoint", 415, "unsupported_media_type", options={"data": {"text": "你好"}}),
    Bad("JSON to the upload endpoint", 415, "unsupported_media_type", path="/v1/transcripts",
        options={"json": {"file": "坐席：你好"}}),
    upload_file("upload over MAX_UPLOAD_BYTES (refused by Content-Length)", b"a" * (6 * MIB),
                413, "payload_too_large"),
    upload_file("upload just over MAX_UPLOAD_BYTES (refused after reading)", b"a" * (5 * MIB + 1),
                413, "upload_too_large"),
    Bad("upload without a file field", 422, "invalid_request", path="/v1/transcripts",
        options={"files": {"format": (None, "csv")}}),
    Bad("a broken multipart body", 400, "bad_request", path="/v1/transcripts",
        content_type="multipart/form-data; boundary=xyz", options={"content": b"--nope\r\ngarbage"}),
    upload_file("unknown format", "坐席：你好\n".encode(), 422, "invalid_transcript", format="docx"),
    upload_file("broken encoding", bytes(range(0x80, 0x100)) * 8, 422, "invalid_transcript"),
    upload_file("binary file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), 422, "invalid_transcript",
                filename="photo.png"),
    upload_file("damaged XLSX", b"PK\x03\x04" + bytes(100), 422, "invalid_transcript", filename="call.xlsx"),
    upload_file("empty file", b"", 422, "invalid_transcript"),
    upload_file("no turns", "这只是一段说明。\n没有说话人。\n".encode(), 422, "invalid_transcript"),
    upload_file("unknown speaker on line 3", "坐席：您好。\n客户：你好。\n路人甲：我是谁？\n".encode(),
                422, "invalid_transcript"),
    upload_file("broken JSON transcript", b'[{"speaker": "agent", "text": "hi"', 422, "invalid_transcript",
                filename="call.json"),
    upload_file("one turn over MAX_UTTERANCE_CHARS", ("坐席：您好。\n客户：" + "好" * 2001 + "\n").encode(),
                422, "text_too_long"),
    Bad("list limit 0", 422, "invalid_request", "GET", "/v1/transcripts", options={"params": {"limit": 0}}),
    Bad("list limit not a number", 422, "invalid_request", "GET", "/v1/transcripts",
        options={"params": {"limit": "ten"}}),
    raw_json("verdict malformed JSON", "{", 400, "invalid_json", path="/v1/flags/{flag}/verdict"),
    Bad("verdict note too long", 422, "invalid_request", path="/v1/flags/{flag}/verdict",
        options={"json": {"verdict": "confirmed", "note": "x" * 2001}}),
    Bad("key with an unknown role", 422, "invalid_request", path="/v1/keys", key="admin",
        options={"json": {"name": "x", "role": "root"}}),
    Bad("key with an empty name", 422, "invalid_request", path="/v1/keys", key="admin",
        options={"json": {"name": "", "role": "agent"}}),
    Bad("revoke a key id that is not a number", 422, "invalid_request", "DELETE", "/v1/keys/abc", key="admin"),
    Bad("revoke an unknown key", 404, "not_found", "DELETE", "/v1/keys/999999", key="admin"),
    Bad("unknown path", 404, "not_found", "GET", "/v1/nothing-here"),
    Bad("wrong method", 405, "method_not_allowed", "PUT", "/v1/suggest"),
]


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_bad_input_gets_the_error_shape_and_stores_nothing(bad: Bad, http, keys, uploaded, db):
    flag_id = next(f["id"] for t in uploaded["turns"] for f in t["flags"])
    before = row_counts(db)
    r = bad.send(http, keys, flag_id)
    assert r.status_code == bad.status, r.text
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == bad.code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert row_counts(db) == before
    assert http.get("/healthz").status_code == 200  # still serving


def test_ingest_errors_name_the_line(http, keys):
    r = upload(http, keys["supervisor"], "坐席：您好。\n客户：你好。\n路人甲：我是谁？\n".encode())
    assert "call.txt:3" in r.json()["error"]["message"]
    assert "路人甲" in r.json()["error"]["message"]


def test_a_good_xlsx_still_works_after_all_that(http, keys):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["speaker", "text"])
    sheet.append(["客服", "你必须先登录"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert zipfile.is_zipfile(io.BytesIO(buffer.getvalue()))
    r = upload(http, keys["supervisor"], buffer.getvalue(), "call.xlsx")
    assert r.status_code == 201, r.text
    assert r.json()["turns"][0]["flags"][0]["text"] == "你必须"


def test_cannot_revoke_the_last_admin_key(http, keys):
    listing = http.get("/v1/keys", headers=bearer(keys["admin"])).json()
    admins = [k for k in listing if k["role"] == "admin" and k["revoked_at"] is None]
    if len(admins) == 1:
        r = http.delete(f"/v1/keys/{admins[0]['id']}", headers=bearer(keys["admin"]))
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "last_admin_key"
