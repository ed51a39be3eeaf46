"""ZIP uploads (``POST /v1/transcripts/zip``) and the web exports (calls, scorecards, agents as
XLSX and CSV) over HTTP against the real server; the files are read back with openpyxl and csv."""
from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile

import httpx
import openpyxl
import pytest
from web_support import EXAMPLE, XIAOLI, Server, bearer, login

# Traditional characters, chat style without punctuation, an emoji, full-width letters.
TRADITIONAL = """\
客服小美：您好 請問有什麼可以幫您
客戶：我的ＶＩＰ會員怎麼被取消了😡
客服小美：這不是我的事 你去問別的部門
客戶：你們這是什麼態度
客服小美：規定就是這樣 我也沒辦法
""".encode()
BAD = "这一行没有说话人。\n第二行也没有。\n".encode()


def make_zip(members: list[tuple[str, bytes]], gbk: dict[str, str] | None = None) -> bytes:
    """A ZIP of ``members``; ``gbk``: placeholder name → the Chinese name it stands for, written in
    GBK without the UTF-8 flag, as Windows' own "send to compressed folder" does."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in members:
            book.writestr(name, data)
    raw = out.getvalue()
    for placeholder, name in (gbk or {}).items():
        encoded = name.encode("gbk")
        assert len(encoded) == len(placeholder.encode()), "the placeholder must have the GBK name's length"
        raw = raw.replace(placeholder.encode(), encoded)
    return raw


def post_zip(http: httpx.Client, key: str, archive: bytes, team: str, name: str = "calls.zip") -> httpx.Response:
    return http.post("/v1/transcripts/zip", files={"file": (name, archive, "application/zip")},
                     data={"team": team}, headers=bearer(key))


def total_calls(http: httpx.Client, key: str) -> int:
    return http.get("/v1/transcripts", params={"limit": 1}, headers=bearer(key)).json()["total"]


@pytest.fixture(scope="module")
def zipped(http: httpx.Client, keys: dict[str, str]) -> dict:
    """One ZIP with three calls, a bad file, a PDF, a nested ZIP and macOS leftovers, uploaded under
    a team of its own (so the exports below read only these calls from the shared server)."""
    tag = uuid.uuid4().hex[:6]
    team = f"导出组-{tag}"
    unique = f"\n客户：我的订单号是{tag}\n".encode()  # other tests' uploads of the same files are other files
    archive = make_zip([
        ("calls/example.txt", EXAMPLE + unique), ("calls/XXXXXXXX.txt", XIAOLI + unique), ("=1+1.txt", TRADITIONAL + unique),
        ("calls/bad.txt", BAD), ("calls/readme.pdf", b"%PDF-1.4"), ("calls/more.zip", make_zip([("a.txt", EXAMPLE)])),
        ("__MACOSX/calls/._example.txt", b"\x00\x05\x16\x07"),
    ], gbk={"XXXXXXXX": "小李通话"})
    r = post_zip(http, keys["supervisor"], archive, team)
    assert r.status_code == 200, r.text
    return {"team": team, "answer": r.json()}


def test_a_zip_stores_each_transcript_and_reports_every_other_file_by_name(zipped, http, keys):
    answer = zipped["answer"]
    by_name = {f["name"]: f for f in answer["files"]}
    assert list(by_name) == ["calls/example.txt", "calls/小李通话.txt", "=1+1.txt", "calls/bad.txt",
                             "calls/readme.pdf", "calls/more.zip", "__MACOSX/calls/._example.txt"]  # GBK name read
    assert (answer["stored"], answer["existing"], answer["failed"], answer["skipped"]) == (3, 0, 1, 3)
    assert {by_name[n]["status"] for n in ("calls/example.txt", "calls/小李通话.txt", "=1+1.txt")} == {"stored"}
    assert by_name["calls/bad.txt"]["status"] == "failed"
    assert by_name["calls/bad.txt"]["error"]["code"] == "invalid_transcript" and "bad.txt:1" in by_name["calls/bad.txt"]["error"]["message"]
    assert [by_name[n]["error"]["code"] for n in ("calls/readme.pdf", "calls/more.zip", "__MACOSX/calls/._example.txt")] == [
        "not_a_transcript", "nested_archive", "system_file"]
    assert "不是" in by_name["calls/readme.pdf"]["error"]["message"] and "not a transcript" in by_name["calls/readme.pdf"]["error"]["message"]
    stored = http.get(f"/v1/transcripts/{by_name['calls/小李通话.txt']['id']}", headers=bearer(keys["analyst"])).json()
    assert stored["source"] == "calls/小李通话.txt" and stored["summary"]["flags"] == by_name["calls/小李通话.txt"]["flags"] > 0


def test_a_member_already_stored_is_not_stored_twice(http, keys):
    """A ZIP member whose bytes match a stored call (uploaded alone or in an earlier ZIP) is
    answered ``existing`` with that call's id, as a single upload of it is (content hash)."""
    tag = uuid.uuid4().hex[:6]
    call = EXAMPLE + f"\n客户：我的订单号是{tag}\n".encode()
    alone = http.post("/v1/transcripts", files={"file": (f"{tag}.txt", call, "text/plain")},
                      headers=bearer(keys["supervisor"]))
    assert alone.status_code == 201, alone.text
    before = total_calls(http, keys["analyst"])
    again = post_zip(http, keys["supervisor"], make_zip([("again.txt", call), ("new.txt", call + b"\n")]), f"dup-{tag}")
    assert again.status_code == 200, again.text
    files = {f["name"]: f for f in again.json()["files"]}
    assert files["again.txt"]["status"] == "existing" and files["again.txt"]["id"] == alone.json()["id"]
    assert files["new.txt"]["status"] == "stored"
    assert total_calls(http, keys["analyst"]) == before + 1
    twice = post_zip(http, keys["supervisor"], make_zip([("new-again.txt", call + b"\n")]), f"dup-{tag}")
    assert twice.json()["files"][0] == {**files["new.txt"], "name": "new-again.txt", "status": "existing"}


@pytest.mark.parametrize("case", ["not_a_zip", "too_many", "bomb", "nothing_to_read"])
def test_a_zip_over_the_limits_is_refused_whole_and_nothing_is_stored(case, http, keys):
    from api import zips

    archive = {
        "not_a_zip": lambda: EXAMPLE,
        "too_many": lambda: make_zip([(f"c{i}.txt", b"x") for i in range(zips.MAX_MEMBERS + 1)]),
        # 65 MiB of zeros packs into ~65 KB: refused from the sizes the archive declares, never inflated
        "bomb": lambda: make_zip([("ok.txt", EXAMPLE), ("bomb.txt", b"\0" * (zips.MAX_UNPACKED_BYTES + 1024 * 1024))]),
        "nothing_to_read": lambda: make_zip([("a.pdf", b"%PDF"), ("b.png", b"\x89PNG")]),
    }[case]()
    before = total_calls(http, keys["supervisor"])
    r = post_zip(http, keys["supervisor"], archive, "限额")
    expected = {"not_a_zip": (422, "invalid_zip"), "too_many": (413, "zip_too_many_members"),
                "bomb": (413, "zip_too_large_unpacked"), "nothing_to_read": (422, "invalid_zip")}[case]
    assert (r.status_code, r.json()["error"]["code"]) == expected, r.text
    message = r.json()["error"]["message"]
    assert re.search(r"[\u4e00-\u9fff]", message) and re.search(r"[a-z]{4}", message)  # 中文 / English
    assert total_calls(http, keys["supervisor"]) == before


def test_only_supervisors_upload_zips(http, keys):
    archive = make_zip([("a.txt", EXAMPLE)])
    assert post_zip(http, keys["analyst"], archive, "x").status_code == 403
    assert http.post("/v1/transcripts/zip", files={"file": ("a.zip", archive)}).status_code == 401


# -- exports --------------------------------------------------------------------------------------
@pytest.fixture
def analyst(server: Server, keys) -> httpx.Client:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        login(client, keys["analyst"])
        yield client


def _stored(zipped) -> list[str]:
    return [f["id"] for f in zipped["answer"]["files"] if f["status"] in ("stored", "existing")]


def test_the_calls_export_is_the_filtered_list_with_chinese_headers_and_names(zipped, analyst, http, keys):
    r = analyst.get("/web/calls.csv", params={"team": zipped["team"], "sort": "flags_desc"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="huashu-calls-')
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:6] == ["通话时间（Asia/Shanghai） (Call time (Asia/Shanghai))", "上传时间（Asia/Shanghai） (Uploaded (Asia/Shanghai))",
                          "文件 (File)", "坐席 (Agent)", "团队 (Team)", "审核状态 (Review status)"]
    col = {h: i for i, h in enumerate(header)}
    assert sorted(row[col["通话编号 (Call id)"]] for row in body) == sorted(_stored(zipped))
    api = {i: http.get(f"/v1/transcripts/{i}", headers=bearer(keys["analyst"])).json() for i in _stored(zipped)}
    flags = [int(row[col["导火索数 (Triggers)"]]) for row in body]
    assert flags == sorted(flags, reverse=True)  # the list's order: most triggers first
    for row in body:
        call = api[row[col["通话编号 (Call id)"]]]
        assert int(row[col["导火索数 (Triggers)"]]) == call["summary"]["flags"]
        assert row[col["审核状态 (Review status)"]] == "未审核"
    by_source = {row[col["文件 (File)"]]: row for row in body}
    assert "'=1+1.txt" in by_source and "=1+1.txt" not in by_source  # a formula-like name is escaped
    xiaoli = by_source["calls/小李通话.txt"]
    assert "负起责任" in xiaoli[col["导火索类别 (Trigger categories)"]] and "refusal" not in xiaoli[col["导火索类别 (Trigger categories)"]]

    book = openpyxl.load_workbook(io.BytesIO(analyst.get("/web/calls.xlsx", params={"team": zipped["team"]}).content))
    sheet = book["通话 (Calls)"]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == header and len(values) == len(body) + 1
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)  # no formulas, ever
    assert "'=1+1.txt" in [row[2] for row in values]
    assert analyst.get("/web/calls.csv", params={"team": zipped["team"], "q": "什麼態度"}).content.decode("utf-8-sig").count("\n") == 3


def test_the_scorecards_export_counts_each_item_from_the_calls_own_scorecards(zipped, analyst, http, keys):
    book = openpyxl.load_workbook(io.BytesIO(analyst.get("/web/scorecards.xlsx", params={"team": zipped["team"]}).content))
    assert book.sheetnames == ["评分卡 (Scorecards)", "评分项汇总 (Item summary)"]
    cards = [http.get(f"/v1/transcripts/{i}", headers=bearer(keys["analyst"])).json()["scorecard"] for i in _stored(zipped)]
    expected: dict[str, list[int]] = {}
    for card in cards:
        for item in card["items"]:
            label = f"{item['label_zh']} ({item['label_en']})"
            if isinstance(item["passed"], bool):
                expected.setdefault(label, [0, 0])
                expected[label][0] += item["passed"]
                expected[label][1] += 1
    summary = list(book["评分项汇总 (Item summary)"].iter_rows(values_only=True))
    assert summary[0] == ("评分项 (Item)", "通过通话数 (Calls passed)", "判定通话数 (Calls judged)", "通过率 (Pass rate)", "通过情况 (As shown)")
    got = {row[0]: [row[1], row[2]] for row in summary[1:] if row[2]}
    assert got == expected and expected
    for row in summary[1:]:
        if row[2]:
            assert row[3] == pytest.approx(row[1] / row[2], abs=1e-4) and row[4].startswith(f"{row[1]}/{row[2]} 通过")
    per_call = list(book["评分卡 (Scorecards)"].iter_rows(values_only=True))
    assert len(per_call) == len(cards) + 1 and set(expected) <= set(per_call[0])
    assert {v for row in per_call[1:] for v in row[per_call[0].index(next(iter(expected))):][:1]} <= {"通过", "未通过", "不适用"}


def test_the_agents_export_has_the_pages_figures(zipped, analyst):
    r = analyst.get("/web/agents.csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert list(rows[0])[:5] == ["坐席 (Agent)", "通话数 (Calls)", "坐席发言数 (Agent turns)", "导火索数 (Triggers)",
                                 "每百句导火索 (Triggers per 100 agent turns)"]
    page = analyst.get("/web/agents").text
    for row in rows:
        name = row["坐席 (Agent)"].lstrip("'")
        shown = re.search(r'<tr data-name="' + re.escape(name.replace("&", "&amp;").replace('"', "&#34;")) + r'">(.*?)</tr>', page, re.S)
        assert shown, name
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r'<td class="num[^"]*">(.*?)</td>', shown.group(1))]
        assert cells[:4] == [row["通话数 (Calls)"], row["坐席发言数 (Agent turns)"], row["导火索数 (Triggers)"],
                             f"{float(row['每百句导火索 (Triggers per 100 agent turns)']):.1f}"]
    book = openpyxl.load_workbook(io.BytesIO(analyst.get("/web/agents.xlsx").content))
    assert book.sheetnames == ["坐席 (Agents)", "团队 (Teams)"]
    teams = {row[0]: row for row in book["团队 (Teams)"].iter_rows(values_only=True)}
    assert teams[zipped["team"]][1] == len(_stored(zipped))  # calls of the ZIP's team


def test_exports_need_a_reader_session(server, keys, http):
    for path in ("/web/calls.xlsx", "/web/scorecards.csv", "/web/agents.xlsx"):
        assert http.get(path).status_code == 303  # no session: the login page
    with httpx.Client(base_url=server.url, timeout=30) as agent:
        login(agent, keys["agent"])
        assert agent.get("/web/calls.csv").status_code == 403
