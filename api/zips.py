"""A ZIP of many transcripts, opened safely: each member becomes its own upload.

Checked before anything is analysed (the whole archive refused, nothing stored, a bilingual 4xx):
- not a ZIP, a damaged one, or an encrypted member: 422 ``invalid_zip``;
- more than ``MAX_MEMBERS`` entries: 413 ``zip_too_many_members``;
- unpacked sizes (as the archive declares them) over ``MAX_UNPACKED_BYTES`` in all: 413
  ``zip_too_large_unpacked`` (a zip bomb is refused here, before a byte is inflated).
Then each member is read with a cap (``max_upload_bytes`` + 1 bytes, and what is left of the
total), so an archive that lies about its sizes cannot inflate past them either.

A member is not analysed, and is reported by name with the reason, when it is:
- a folder, or a file a system leaves behind (``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``, ``._*``);
- another archive (ZIPs are not opened inside ZIPs: one level only);
- not a transcript by its name (``TRANSCRIPT_SUFFIXES``), e.g. a PDF or an image;
- over the per-file upload limit.

Member names: ZIPs made on Chinese Windows store names in GBK without the UTF-8 flag; those are
decoded as GBK (what ``zipfile`` read as CP437 is turned back into bytes). Only the name inside
the archive is used (as the call's source); nothing is written to disk, so ``../`` in a name
reaches nothing.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import ApiError

MAX_MEMBERS = 500
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
TRANSCRIPT_SUFFIXES = (".txt", ".text", ".log", ".csv", ".tsv", ".tab", ".json", ".jsonl", ".ndjson", ".xlsx", ".xlsm")
ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst")
SYSTEM_NAMES = (".ds_store", "thumbs.db", "desktop.ini")
UTF8_FLAG = 0x800


@dataclass
class Member:
    """One entry of the archive: its bytes to analyse, or why it is not analysed."""

    name: str
    data: bytes | None = None
    skipped: str = ""  # a reason code: folder, system_file, nested_archive, not_a_transcript, too_large
    message: str = ""  # the bilingual reason


SKIP_MESSAGES = {
    "system_file": "系统生成的文件，已跳过 / a file the operating system left, skipped",
    "nested_archive": "压缩包内的压缩包不会被打开（只解一层） / archives inside the archive are not opened (one level only)",
    "not_a_transcript": "不是通话记录文件（支持 .txt .csv .tsv .json .jsonl .xlsx），已跳过 / not a transcript file "
                        "(.txt .csv .tsv .json .jsonl .xlsx are read), skipped",
}


def member_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its maker wrote it: GBK when the UTF-8 flag is off and it is not ASCII."""
    name = info.filename
    if not info.flag_bits & UTF8_FLAG:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            return name
        if not raw.isascii():
            for codec in ("utf-8", "gb18030", "big5"):
                try:
                    return raw.decode(codec)
                except UnicodeDecodeError:
                    continue
    return name


def _bad(message: str) -> ApiError:
    return ApiError(422, "invalid_zip", message)


def open_members(archive: bytes, archive_name: str, max_file_bytes: int) -> list[Member]:
    """Every entry of ``archive`` (in the archive's order), read or skipped; ``ApiError`` when the
    archive itself is refused."""
    try:
        book = zipfile.ZipFile(io.BytesIO(archive))
        infos = book.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, NotImplementedError):
        raise _bad(f"{archive_name}: 不是有效的 ZIP 文件 / not a readable ZIP file") from None
    if len(infos) > MAX_MEMBERS:
        raise ApiError(
            413, "zip_too_many_members",
            f"{archive_name}: 共 {len(infos)} 个文件，超过上限 {MAX_MEMBERS}，未保存任何通话 / {len(infos)} entries, "
            f"over the limit of {MAX_MEMBERS}; nothing was stored",
        )
    declared = sum(max(0, i.file_size) for i in infos)
    if declared > MAX_UNPACKED_BYTES:
        mib = MAX_UNPACKED_BYTES // (1024 * 1024)
        raise ApiError(
            413, "zip_too_large_unpacked",
            f"{archive_name}: 解压后共 {declared} 字节，超过上限 {mib} MiB，未保存任何通话 / {declared} bytes unpacked, "
            f"over the limit of {mib} MiB; nothing was stored",
        )
    for info in infos:
        if info.flag_bits & 0x1:
            raise _bad(f"{archive_name}: {member_name(info)} 已加密，无法读取 / is encrypted and cannot be read")
    members, budget = [], MAX_UNPACKED_BYTES
    for info in infos:
        name = member_name(info)
        path = PurePosixPath(name.replace("\\", "/"))
        base = path.name.casefold()
        if info.is_dir():
            continue  # folders are not files: not listed
        if "__macosx" in (p.casefold() for p in path.parts) or base in SYSTEM_NAMES or base.startswith("._"):
            members.append(Member(name, skipped="system_file", message=SKIP_MESSAGES["system_file"]))
        elif base.endswith(ARCHIVE_SUFFIXES):
            members.append(Member(name, skipped="nested_archive", message=SKIP_MESSAGES["nested_archive"]))
        elif not base.endswith(TRANSCRIPT_SUFFIXES):
            members.append(Member(name, skipped="not_a_transcript", message=SKIP_MESSAGES["not_a_transcript"]))
        elif info.file_size > max_file_bytes:
            members.append(Member(name, skipped="too_large", message=_too_large(max_file_bytes)))
        else:
            try:
                with book.open(info) as fh:
                    data = fh.read(min(max_file_bytes, budget) + 1)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                raise _bad(f"{archive_name}: {name} 无法解压（{type(exc).__name__}） / cannot be unpacked") from None
            if len(data) > max_file_bytes:  # the archive said less: a lying header
                members.append(Member(name, skipped="too_large", message=_too_large(max_file_bytes)))
                continue
            if len(data) > budget:
                raise ApiError(413, "zip_too_large_unpacked",
                               f"{archive_name}: 解压后超过 {MAX_UNPACKED_BYTES} 字节，未保存任何通话 / over "
                               f"{MAX_UNPACKED_BYTES} bytes unpacked; nothing was stored")
            budget -= len(data)
            members.append(Member(name, data=data))
    if not any(m.data is not None for m in members):
        raise _bad(f"{archive_name}: 压缩包里没有可读的通话记录文件 / the archive holds no transcript file"
                   + "".join(f"; {m.name}: {m.skipped}" for m in members[:20]))
    return members


def _too_large(limit: int) -> str:
    return f"文件超过 {limit} 字节，未分析 / the file is over {limit} bytes and was not analysed"
