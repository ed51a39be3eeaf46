"""Transcript ingestion: every format, timestamp style, encoding, role label and error.

Fixtures are written into tmp_path from the strings below, so each test shows its input.
"""
from __future__ import annotations

import io
import json
import random
import zipfile
from datetime import datetime, time

import openpyxl
import pytest

from analyzer.ingest import FORMATS, decode_text, parse_transcript, read_transcript
from analyzer.model import AGENT, CUSTOMER, IngestError

A, C = AGENT, CUSTOMER


def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def rows(transcript):
    """(role, speaker, text, start, end, line) per turn; indices are checked to be 0..n-1."""
    assert [turn.index for turn in transcript.turns] == list(range(len(transcript.turns)))
    return [
        (t.role, t.speaker, t.text, t.start_time, t.end_time, t.line) for t in transcript.turns
    ]


def ingest_error(data, name, **kwargs):
    with pytest.raises(IngestError) as info:
        parse_transcript(data, name, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(name + ":")
    return info.value


# ---------------------------------------------------------------------------------------------
# Speaker text


def test_speaker_text_colons_blank_lines_and_continuations(tmp_path):
    path = write(
        tmp_path,
        "call.txt",
        "通话记录\n"
        "\n"
        "坐席：您好，请问有什么可以帮您？\n"
        "客户: 我的快递到哪了\n"
        "  单号是 SF1234\n"
        "坐席 ：  请稍等，\n"
        "我帮您查一下\n"
        "客户：\n"
        "customer:  where is it\n"
        "now\n",
    )
    transcript = read_transcript(path)
    assert (transcript.source, transcript.format, transcript.encoding) == (
        str(path), "speaker-text", "utf-8"
    )
    assert transcript.script == "simplified"
    assert rows(transcript) == [
        (A, "坐席", "您好，请问有什么可以帮您？", None, None, 3),
        (C, "客户", "我的快递到哪了单号是 SF1234", None, None, 4),
        (A, "坐席", "请稍等，我帮您查一下", None, None, 6),
        (C, "customer", "where is it now", None, None, 9),
    ]


def test_speaker_text_keeps_text_as_written():
    text = "客戶：你們的系統怎麼又壞了！！ＡＢＣ　１２３"
    transcript = parse_transcript(text.encode(), "t.txt")
    assert transcript.turns[0].text == "你們的系統怎麼又壞了！！ＡＢＣ　１２３"


def test_colon_inside_text_and_urls_do_not_start_turns():
    transcript = parse_transcript(
        "坐席：时间是 10:30，网址：http://example.com\nhttps://example.com/track\n".encode(),
        "t.txt",
    )
    assert rows(transcript) == [
        (A, "坐席", "时间是 10:30，网址：http://example.com https://example.com/track",
         None, None, 1),
    ]


def test_sentence_with_colon_continues_the_turn():
    transcript = parse_transcript(
        "坐席：我们的规定如下\n另外，退款的话请注意：七天内有效\n".encode(), "t.txt"
    )
    assert rows(transcript) == [
        (A, "坐席", "我们的规定如下另外，退款的话请注意：七天内有效", None, None, 1)
    ]


@pytest.mark.parametrize(
    ("line", "speaker", "start", "end"),
    [
        ("[00:01:23] 坐席: 您好", "坐席", 83.0, None),
        ("[01:23] 客服：您好", "客服", 83.0, None),
        ("00:01:23 坐席：您好", "坐席", 83.0, None),
        ("01:02:03.250 坐席：您好", "坐席", 3723.25, None),
        ("[00:00:01.500 - 00:00:04.200] 坐席: 您好", "坐席", 1.5, 4.2),
        ("[00:01.5-00:04.2] 坐席: 您好", "坐席", 1.5, 4.2),
        ("2025-03-01 10:02:11 小李(客服): 您好", "小李(客服)", 0.0, None),
        ("2025/03/01 10:02:11 坐席：您好", "坐席", 0.0, None),
        ("[2025-03-01 10:02:11] 坐席：您好", "坐席", 0.0, None),
    ],
)
def test_timestamp_styles(line, speaker, start, end):
    transcript = parse_transcript(f"{line}\n".encode(), "t.txt")
    assert rows(transcript) == [(A, speaker, "您好", start, end, 1)]


def test_date_times_become_seconds_since_the_first_turn():
    text = (
        "2025-03-01 10:02:11 小李(客服): 您好\n"
        "2025-03-01 10:02:30 客户: 快递丢了\n"
        "2025/03/01 10:03:01 小李（客服）：我查一下\n"
        "2025-03-02 00:00:00 客户：第二天了\n"
    )
    transcript = parse_transcript(text.encode(), "t.txt")
    assert [(t.speaker, t.start_time) for t in transcript.turns] == [
        ("小李(客服)", 0.0), ("客户", 19.0), ("小李（客服）", 50.0), ("客户", 50269.0),
    ]


def test_empty_text_turns_are_skipped():
    transcript = parse_transcript("坐席：\n客户：你好\n坐席：   \n".encode(), "t.txt")
    assert rows(transcript) == [(C, "客户", "你好", None, None, 2)]


def test_crlf_and_cr_line_endings_count_lines():
    transcript = parse_transcript("坐席：一\r\n\r\n客户：二\r坐席：三".encode(), "t.txt")
    assert [(t.text, t.line) for t in transcript.turns] == [("一", 1), ("二", 3), ("三", 4)]


# ---------------------------------------------------------------------------------------------
# Role labels


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("坐席", A), ("座席", A), ("客服", A), ("人工客服", A), ("在线客服", A),
        ("工号1234", A), ("工号:1234", A), ("工号：1234", A), ("客服(工号:1234)", A),
        ("客服007", A), ("agent", A), ("Agent", A), ("AGENT", A), ("服务代表", A), ("话务员", A),
        ("小李(客服)", A), ("小李（客服）", A), ("王芳(坐席)", A), ("王芳 (坐席)", A),
        ("客户", C), ("顾客", C), ("客戶", C), ("顧客", C), ("用户", C), ("用戶", C),
        ("来电人", C), ("来电者", C), ("买家", C), ("访客", C), ("customer", C),
        ("Customer", C), ("caller", C), ("user", C), ("张女士(客户)", C), ("张女士（顾客）", C),
        ("王先生(用户)", C),
    ],
)
def test_role_labels(label, role):
    transcript = parse_transcript(f"{label}：你好\n".encode(), "t.txt")
    assert rows(transcript) == [(role, label, "你好", None, None, 1)]


def test_unknown_label_names_the_line_and_the_escape_hatch():
    data = "坐席：您好\n客户：你好\n张女士：我要投诉\n".encode()
    error = ingest_error(data, "call.txt")
    assert str(error) == (
        "call.txt:3: 无法判断说话人“张女士”的角色（用 --agent-label 或 --customer-label 指定）"
        ' / cannot tell the role of speaker "张女士" (use --agent-label or --customer-label)'
    )
    assert (error.source, error.line) == ("call.txt", 3)

    transcript = parse_transcript(data, "call.txt", customer_labels=["张女士"])
    assert [(t.role, t.speaker) for t in transcript.turns] == [
        (A, "坐席"), (C, "客户"), (C, "张女士")
    ]


def test_caller_labels_add_exact_labels():
    data = "小王：您好\n老张：你好\n".encode()
    transcript = parse_transcript(data, "t.txt", agent_labels=("小王",), customer_labels=("老张",))
    assert [(t.role, t.speaker) for t in transcript.turns] == [(A, "小王"), (C, "老张")]
    error = ingest_error(data, "t.txt", agent_labels=("小王 ",))
    assert error.line == 2 and "老张" in str(error)
    error = ingest_error("小王2：您好\n".encode(), "t.txt", agent_labels=("小王",))
    assert error.line == 1 and "小王2" in str(error)


def test_caller_labels_take_precedence_over_built_in_ones():
    data = "客服：我是来咨询的客服公司\n坐席：您好\n".encode()
    transcript = parse_transcript(data, "t.txt", customer_labels=["客服"])
    assert [(t.role, t.speaker) for t in transcript.turns] == [(C, "客服"), (A, "坐席")]


def test_label_given_as_both_roles_is_an_error():
    error = ingest_error(b"x", "t.txt", agent_labels=["A"], customer_labels=["A"])
    assert '"A" cannot be both agent and customer' in str(error)


# ---------------------------------------------------------------------------------------------
# Encodings


def test_utf8_bom(tmp_path):
    path = write(tmp_path, "bom.txt", "\ufeff坐席：您好\n客户：你好\n")
    transcript = read_transcript(path)
    assert transcript.encoding == "utf-8-sig"
    assert rows(transcript) == [
        (A, "坐席", "您好", None, None, 1),
        (C, "客户", "你好", None, None, 2),
    ]


def test_gb18030_csv(tmp_path):
    text = "说话人,内容\n客服,您好，请问有什么可以帮您？\n客户,我的快递到哪了\n"
    transcript = read_transcript(write(tmp_path, "call.csv", text, "gb18030"))
    assert (transcript.format, transcript.encoding) == ("csv", "gb18030")
    assert rows(transcript) == [
        (A, "客服", "您好，请问有什么可以帮您？", None, None, 2),
        (C, "客户", "我的快递到哪了", None, None, 3),
    ]


def test_big5_speaker_text_with_traditional_text(tmp_path):
    text = "客服：您好，請問有什麼可以幫您？\n客戶：你們的系統怎麼又壞了\n顧客：謝謝\n"
    transcript = read_transcript(write(tmp_path, "call.txt", text, "big5"))
    assert (transcript.format, transcript.encoding) == ("speaker-text", "big5")
    assert rows(transcript) == [
        (A, "客服", "您好，請問有什麼可以幫您？", None, None, 1),
        (C, "客戶", "你們的系統怎麼又壞了", None, None, 2),
        (C, "顧客", "謝謝", None, None, 3),
    ]


@pytest.mark.parametrize(
    "sentence",
    ["客戶：你們的系統怎麼又壞了", "客服：您好，請問有什麼可以幫您？", "客戶：等了三天還沒到！",
     "坐席：麻煩您提供一下訂單號碼。", "退款"],
)
def test_short_big5_text_is_read_as_big5(sentence):
    assert decode_text(sentence.encode("big5"), "t") == (sentence, "big5")


@pytest.mark.parametrize(
    "sentence",
    ["客户：你们的系统怎么又坏了", "客服：您好，请问有什么可以帮您？", "客户：等了三天还没到！",
     "坐席：麻烦您提供一下订单号码。", "客服：稍等", "客户：快递呢", "谢谢您", "好的"],
)
def test_short_gb18030_text_is_read_as_gb18030(sentence):
    assert decode_text(sentence.encode("gb18030"), "t") == (sentence, "gb18030")


def test_gbk_encoded_file_reports_gb18030():
    assert decode_text("客户：我要退货".encode("gbk"), "t") == ("客户：我要退货", "gb18030")


def test_big5hkscs_only_characters_decode():
    text = "客戶：我想問下個單，佢哋幾時送到？"  # 佢 and 哋 are HKSCS characters
    assert decode_text(text.encode("big5hkscs"), "t") == (text, "big5")


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01\x02\x03", "坐席：您好\x00".encode(), "坐席：您好".encode("utf-16-le"),
     b"\xef\xbb\xbf\xff\xfe\xfd", b"\x80\xff" * 10, b"\x1b[31m\x07"],
)
def test_undecodable_bytes(data):
    error = ingest_error(data, "bad.txt")
    assert str(error) == "bad.txt: 无法识别文件编码 / cannot detect the text encoding"


@pytest.mark.parametrize("name", ["junk", "junk.txt", "junk.csv", "junk.tsv", "junk.json",
                                  "junk.jsonl", "junk.xlsx"])
@pytest.mark.parametrize("seed", range(12))
def test_random_binary_bytes_give_ingest_error(name, seed):
    rng = random.Random(seed)
    low = 0x80 if seed % 2 else 0  # odd seeds: high bytes only, no control bytes
    data = bytes(rng.randrange(low, 256) for _ in range(rng.choice([1, 7, 64, 4096])))
    if seed % 3 == 0:
        data = b"PK\x03\x04" + data  # looks like a zip
    ingest_error(data, name)


# ---------------------------------------------------------------------------------------------
# CSV and TSV


def test_csv_with_quoted_comma_newline_and_times(tmp_path):
    text = (
        "Speaker,Start,End,Text\n"
        '坐席,0,2.5,"您好，请问有什么可以帮您？"\n'
        '客户,00:00:03.250,00:07,"我买了两件, 一件是蓝色的\n另一件还没到"\n'
        "\n"
        '坐席,00:01:02,1:02:03,"他说""马上到""，您稍等"\n'
        "客户,,,\n"
    )
    transcript = read_transcript(write(tmp_path, "call.csv", text))
    assert (transcript.format, transcript.encoding) == ("csv", "utf-8")
    assert rows(transcript) == [
        (A, "坐席", "您好，请问有什么可以帮您？", 0.0, 2.5, 2),
        (C, "客户", "我买了两件, 一件是蓝色的\n另一件还没到", 3.25, 7.0, 3),
        (A, "坐席", '他说"马上到"，您稍等', 62.0, 3723.0, 6),
    ]


def test_csv_chinese_headers_with_role_and_speaker_columns():
    text = (
        "\ufeff角色,说话人,开始时间,结束时间,话术\n"
        "agent,小李,2025-03-01 10:00:00,2025-03-01 10:00:04,您好\n"
        "customer,张女士,2025-03-01 10:00:05,,我要退款\n"
    )
    transcript = parse_transcript(text.encode(), "call.csv")
    assert rows(transcript) == [
        (A, "小李", "您好", 0.0, 4.0, 2),
        (C, "张女士", "我要退款", 5.0, None, 3),
    ]


@pytest.mark.parametrize(
    ("speaker_column", "text_column"),
    [("speaker", "text"), ("ROLE", "Content"), ("说话人", "内容"), ("角色", "文本"),
     ("发言人", "话术"), ("身份", "消息"), ("role", "utterance")],
)
def test_csv_column_names(speaker_column, text_column):
    text = f"{speaker_column},{text_column}\n客服,您好\n"
    transcript = parse_transcript(text.encode(), "c.csv")
    assert rows(transcript) == [(A, "客服", "您好", None, None, 2)]


def test_tsv(tmp_path):
    text = (
        "role\tstart_time\tend_time\tcontent\n"
        "坐席\t1\t2\t您好, 有什么可以帮您\n"
        "用户\t3\t4\t我要退款\n"
    )
    transcript = read_transcript(write(tmp_path, "call.tsv", text))
    assert transcript.format == "tsv"
    assert rows(transcript) == [
        (A, "坐席", "您好, 有什么可以帮您", 1.0, 2.0, 2),
        (C, "用户", "我要退款", 3.0, 4.0, 3),
    ]


def test_csv_bad_time_names_the_line():
    error = ingest_error("speaker,text,start\n坐席,您好,1\n客户,你好,soon\n".encode(), "c.csv")
    assert str(error) == 'c.csv:3: 无法识别的时间“soon” / cannot read the time "soon"'


def test_csv_row_without_speaker_names_the_line():
    error = ingest_error("speaker,text\n坐席,您好\n,你好\n".encode(), "c.csv")
    assert str(error) == "c.csv:3: 缺少说话人 / the turn has no speaker"


def test_csv_unknown_speaker_names_the_line():
    error = ingest_error('speaker,text\n坐席,"您\n好"\n张女士,你好\n'.encode(), "c.csv")
    assert error.line == 4 and "张女士" in str(error)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("name,text", "c.csv:1: 找不到说话人列（现有列：name, text） / "
                      "no speaker column (columns found: name, text)"),
        ("speaker,msg", "c.csv:1: 找不到文本列（现有列：speaker, msg） / "
                        "no text column (columns found: speaker, msg)"),
        ("a,b", "c.csv:1: 找不到说话人列和文本列（现有列：a, b） / "
                "no speaker column and no text column (columns found: a, b)"),
    ],
)
def test_csv_without_speaker_or_text_column(header, message):
    error = ingest_error(f"{header}\n坐席,您好\n".encode(), "c.csv")
    assert str(error) == message


# ---------------------------------------------------------------------------------------------
# JSON and JSON Lines


def test_json_list(tmp_path):
    text = json.dumps(
        [
            {"speaker": "坐席", "text": "您好", "start": 0, "end": 1.5},
            {"role": "customer", "speaker": "张女士", "content": " 我要投诉 ",
             "start_time": "00:02", "end_time": "00:00:04.5"},
            {"role": "agent", "text": "好的"},
            {"speaker": "客户", "text": ""},
        ],
        ensure_ascii=False,
        indent=2,
    )
    transcript = read_transcript(write(tmp_path, "call.json", text))
    assert (transcript.format, transcript.encoding) == ("json", "utf-8")
    assert rows(transcript) == [
        (A, "坐席", "您好", 0.0, 1.5, 2),
        (C, "张女士", "我要投诉", 2.0, 4.5, 8),
        (A, "agent", "好的", None, None, 15),
    ]


def test_json_object_with_turns():
    text = (
        '{"id": "call-1", "meta": {"turns": 3},\n'
        ' "turns": [\n'
        '  {"speaker": "客服", "text": "您好"},\n'
        '  {"speaker": "客户", "text": "你好"}]}\n'
    )
    transcript = parse_transcript(text.encode(), "call.json")
    assert rows(transcript) == [
        (A, "客服", "您好", None, None, 3),
        (C, "客户", "你好", None, None, 4),
    ]


def test_jsonl(tmp_path):
    text = (
        '{"role": "agent", "text": "您好"}\n'
        "\n"
        '{"speaker": "顾客", "text": "我的快递", "start": 3}\n'
    )
    transcript = read_transcript(write(tmp_path, "call.jsonl", text))
    assert transcript.format == "jsonl"
    assert rows(transcript) == [
        (A, "agent", "您好", None, None, 1),
        (C, "顾客", "我的快递", 3.0, None, 3),
    ]


def test_json_syntax_error_gives_the_decoder_line():
    error = ingest_error('[\n {"speaker": "坐席", "text": "您好"},\n {"speaker": }\n]'.encode(),
                         "c.json")
    assert str(error) == (
        "c.json:3: JSON 语法错误：Expecting value / JSON syntax error: Expecting value"
    )


def test_jsonl_syntax_error_gives_the_line():
    error = ingest_error(b'{"speaker": "a", "text": "b"}\n{"speaker": \n', "c.jsonl")
    assert error.line == 2 and "JSON syntax error" in str(error)


def test_json_turn_without_text():
    error = ingest_error(
        '[{"speaker": "坐席", "text": "您好"},\n {"speaker": "客户", "txt": "hm"}]'.encode(),
        "c.json",
    )
    assert str(error) == "c.json:2: 对话轮次缺少 text / a turn has no text"


def test_json_turn_without_speaker():
    error = ingest_error(b'{"text": "hi"}\n', "c.jsonl")
    assert str(error) == "c.jsonl:1: 对话轮次缺少 speaker 或 role / a turn has no speaker or role"


def test_json_turn_that_is_not_an_object():
    error = ingest_error(b'[\n"hello"\n]', "c.json")
    assert str(error) == "c.json:2: 对话轮次应为 JSON 对象 / a turn must be a JSON object"


def test_json_without_a_list_of_turns():
    error = ingest_error(b'{"speaker": "a",\n "text": "b"}', "c.json")
    assert error.line == 1 and 'no list of turns' in str(error)


# ---------------------------------------------------------------------------------------------
# XLSX


def xlsx_bytes(*sheet_rows, leading_blank_rows=0):
    book = openpyxl.Workbook()
    sheet = book.active
    for _ in range(leading_blank_rows):
        sheet.append([])
    for row in sheet_rows:
        sheet.append(list(row))
    other = book.create_sheet("ignored")
    other.append(["speaker", "text"])
    other.append(["客户", "not read"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx(tmp_path):
    data = xlsx_bytes(
        ("说话人", "内容", "开始", "结束"),
        ("坐席", "您好，请问有什么可以帮您？", 0, 2.5),
        (None, None, None, None),
        ("客户", "我的快递到哪了", time(0, 0, 3, 500000), "00:00:06"),
        ("工号1234", 12345, datetime(2025, 3, 1, 10, 0, 0), datetime(2025, 3, 1, 10, 0, 9)),
        ("客户", None, None, None),
        leading_blank_rows=1,
    )
    transcript = read_transcript(write(tmp_path, "call.xlsx", data))
    assert (transcript.format, transcript.encoding) == ("xlsx", "binary")
    assert rows(transcript) == [
        (A, "坐席", "您好，请问有什么可以帮您？", 0.0, 2.5, 3),
        (C, "客户", "我的快递到哪了", 3.5, 6.0, 5),
        (A, "工号1234", "12345", 0.0, 9.0, 6),
    ]


def test_xlsx_without_text_column():
    error = ingest_error(xlsx_bytes(("speaker", "备注"), ("坐席", "您好")), "c.xlsx")
    assert str(error) == (
        "c.xlsx:1: 找不到文本列（现有列：speaker, 备注） / "
        "no text column (columns found: speaker, 备注)"
    )


def test_empty_xlsx():
    error = ingest_error(xlsx_bytes(), "c.xlsx")
    assert str(error) == "c.xlsx: 文件是空的 / the file is empty"


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize("data", [b"", b"speaker,text\n", zip_bytes(), zip_bytes()[:40]])
def test_invalid_xlsx(data):
    error = ingest_error(data, "c.xlsx")
    assert str(error) == "c.xlsx: 不是有效的 XLSX 工作簿 / not a valid XLSX workbook"


# ---------------------------------------------------------------------------------------------
# Format detection


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        ('[{"speaker": "坐席", "text": "您好"}]', "json"),
        ('  {"turns": [{"speaker": "坐席", "text": "您好"}]}', "json"),
        ('{"speaker": "坐席", "text": "您好"}', "jsonl"),
        ('{"speaker": "坐席", "text": "您好"}\n{"speaker": "客户", "text": "嗯"}\n', "jsonl"),
        ("speaker,text\n坐席,您好\n", "csv"),
        ("Role\tContent\n坐席\t您好\n", "tsv"),
        ("[00:01:23] 坐席：您好\n", "speaker-text"),
        ("坐席：您好\n", "speaker-text"),
    ],
)
@pytest.mark.parametrize("name", ["upload", "call.txt", "call.dat"])
def test_content_sniffing(content, fmt, name):
    transcript = parse_transcript(content.encode(), name)
    assert transcript.format == fmt
    assert [(t.role, t.text) for t in transcript.turns][0] == (A, "您好")


def test_xlsx_detected_by_signature_whatever_the_name():
    data = xlsx_bytes(("speaker", "text"), ("坐席", "您好"))
    for name in ("upload", "call.bin", "call.csv"):
        assert parse_transcript(data, name).format == "xlsx"


def test_extension_decides_before_content():
    data = "speaker,text\n坐席,您好\n".encode()
    assert parse_transcript(data, "CALL.CSV").format == "csv"
    error = ingest_error(data, "call.json")
    assert error.line == 1 and "JSON syntax error" in str(error)


def test_explicit_format_overrides_detection():
    data = "speaker,text\n坐席：您好\n".encode()
    transcript = parse_transcript(data, "call.csv", fmt="speaker-text")
    assert transcript.format == "speaker-text"
    assert rows(transcript) == [(A, "坐席", "您好", None, None, 2)]


def test_unknown_format_name():
    error = ingest_error("坐席：您好".encode(), "t.txt", fmt="docx")
    assert str(error) == (
        "t.txt: 未知格式“docx”（可选：speaker-text, csv, tsv, json, jsonl, xlsx） / "
        'unknown format "docx" (one of: speaker-text, csv, tsv, json, jsonl, xlsx)'
    )


def test_formats_constant():
    assert FORMATS == ("speaker-text", "csv", "tsv", "json", "jsonl", "xlsx")


# ---------------------------------------------------------------------------------------------
# Other errors


@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t", "\ufeff\n".encode()])
@pytest.mark.parametrize("name", ["empty.txt", "empty.csv", "empty.json", "empty.jsonl"])
def test_empty_file(data, name):
    error = ingest_error(data, name)
    assert str(error) == f"{name}: 文件是空的 / the file is empty"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ("坐席：\n客户：  \n", "t.txt"),
        ("speaker,text\n坐席,\n", "c.csv"),
        ("speaker,text\n", "c.csv"),
        ("[]", "c.json"),
        ('{"turns": []}', "c.json"),
        ('{"speaker": "坐席", "text": ""}', "c.jsonl"),
    ],
)
def test_no_turns(data, name):
    error = ingest_error(data.encode(), name)
    assert str(error) == f"{name}: 文件里没有任何对话 / no turns found in the file"


def test_speaker_text_without_any_speaker_prefix():
    error = ingest_error("您好，请问有什么可以帮您？\n我的快递到哪了\n".encode(), "t.txt")
    assert str(error) == (
        't.txt:1: 没有一行是“说话人：内容”的格式 / no line has a speaker prefix ("speaker: text")'
    )


def test_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(IngestError) as info:
        read_transcript(path)
    assert str(info.value).startswith(f"{path}: 无法读取文件：")
    assert "cannot read the file" in str(info.value)


def test_utf16_with_bom_excel_unicode_text(tmp_path):
    path = tmp_path / "export.tsv"
    path.write_bytes("speaker\ttext\n坐席\t您好\n客户\t我要退货\n".encode("utf-16"))
    t = read_transcript(path)
    assert (t.format, t.encoding) == ("tsv", "utf-16")
    assert [(x.role, x.text) for x in t.turns] == [("agent", "您好"), ("customer", "我要退货")]
