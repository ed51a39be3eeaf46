"""Opening a ZIP of transcripts (``api/zips.py``) without a server: which members are read, which
are reported by name, and what refuses the archive as a whole."""
from __future__ import annotations

import io
import zipfile

import pytest

from api import zips
from api.errors import ApiError

CALL = "坐席：您好，请问有什么可以帮您？\n客户：我的快递没到。\n".encode()


def archive(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in members:
            book.writestr(name, data)
    return out.getvalue()


def test_members_are_read_in_order_and_the_others_are_named_with_a_reason():
    members = zips.open_members(archive([
        ("a/一.txt", CALL), ("a/", b""), ("a/二.JSONL", b"{}"), ("a/scan.PNG", b"\x89PNG"), ("a/inner.7z", b"7z"),
        ("a/.DS_Store", b"\0"), ("a/big.csv", b"x" * 101),
    ]), "week.zip", max_file_bytes=100)
    assert [(m.name, m.skipped) for m in members] == [
        ("a/一.txt", ""), ("a/二.JSONL", ""), ("a/scan.PNG", "not_a_transcript"), ("a/inner.7z", "nested_archive"),
        ("a/.DS_Store", "system_file"), ("a/big.csv", "too_large"),
    ]  # the folder entry is no file: not listed
    assert members[0].data == CALL and members[1].data == b"{}"
    assert all(m.data is None and "/" in m.message for m in members[2:])  # 中文 / English


def test_a_gbk_name_without_the_utf8_flag_is_read_as_gbk():
    raw = archive([("XXXX.txt", CALL)]).replace(b"XXXX", "通话".encode("gbk"))
    [member] = zips.open_members(raw, "w.zip", max_file_bytes=1000)
    assert member.name == "通话.txt"


@pytest.mark.parametrize(("raw", "code"), [
    (b"PK\x03\x04 not really", "invalid_zip"),
    (archive([("a.pdf", b"%PDF")]), "invalid_zip"),
    (archive([(f"{i}.txt", b"x") for i in range(zips.MAX_MEMBERS + 1)]), "zip_too_many_members"),
])
def test_the_archive_is_refused_whole(raw, code):
    with pytest.raises(ApiError) as refused:
        zips.open_members(raw, "w.zip", max_file_bytes=1000)
    assert refused.value.code == code and "w.zip" in refused.value.message


def test_a_member_whose_header_understates_its_size_is_not_inflated_past_it():
    raw = bytearray(archive([("a.txt", CALL * 50)]))
    true_size = len(CALL * 50).to_bytes(4, "little")
    assert raw.count(true_size) == 2  # the local header and the central directory
    raw = bytes(raw).replace(true_size, (10).to_bytes(4, "little"))
    with pytest.raises(ApiError) as refused:  # zipfile stops at the declared size: the CRC fails
        zips.open_members(raw, "w.zip", max_file_bytes=100_000)
    assert refused.value.code == "invalid_zip"
