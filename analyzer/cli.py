"""``huashu``: check utterances, analyse transcripts, evaluate, test lexicon files, serve the API.

Every error a user can cause ends as one line on stderr (file and line where there is one) and a
non-zero exit status, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from .model import AGENT, ROLES, HuashuError
from .sanitize import escape_unsafe, json_int, walk_json

EXIT_USAGE = 2


def _lexicon_files(args: argparse.Namespace) -> list[str]:
    from_env = [p for p in os.environ.get("HUASHU_LEXICON", "").split(os.pathsep) if p]
    return from_env + list(args.lexicon or [])


def _engine(args: argparse.Namespace, model: bool = False, sentiment: str = "none"):
    """The engine; with ``model`` the fine-tuned classifier too (``--no-model`` turns it off).
    A model that cannot be loaded is one clear line telling what to run, never a traceback."""
    from .engine import Engine

    if not model:
        return Engine(_lexicon_files(args), sentiment=sentiment).initialize()
    try:
        from models.classifier import ModelUnavailable
    except ImportError as exc:
        raise HuashuError(f"模型依赖缺失 / model dependencies missing ({exc.name}): run `make setup`, "
                          f"or use --no-model for the lexicon alone") from None
    try:
        return Engine(_lexicon_files(args), model=True, sentiment=sentiment).initialize()
    except ModelUnavailable as exc:
        raise HuashuError(f"{exc} — 或用 / or use --no-model for the lexicon alone") from None


def _open_input(path: str) -> TextIO:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8-sig")
    except OSError as exc:
        raise HuashuError(f"{path}: 无法打开 / cannot open: {exc.strerror}") from None


# -- check ---------------------------------------------------------------------------------
def check_line(engine, line: str) -> dict[str, Any]:
    """One JSON Lines record in, one result out (an ``error`` field instead of raising)."""
    return check_lines(engine, [line])[0]


def check_lines(engine, lines: list[str]) -> list[dict[str, Any]]:
    """Many records at once: the valid ones go through ``engine.check_many`` in one batch."""
    parsed = [_parse_line(line) for line in lines]
    from .sentiment import rate_many

    todo = [r for r in parsed if "error" not in r]
    texts, roles = [r.pop("text") for r in todo], [r.pop("role") for r in todo]
    flags = engine.check_many(texts, roles) if todo else []
    moods = rate_many(getattr(engine, "sentiment", None), texts, roles)
    for r, found, mood in zip(todo, flags, moods):
        r["flags"], r["sentiment"] = [f.to_dict() for f in found], mood
    return parsed


def _parse_line(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line, parse_int=json_int)
    except json.JSONDecodeError as exc:
        return {"id": None, "error": f"不是有效的 JSON / invalid JSON: {exc.msg} (column {exc.colno})"}
    except RecursionError:
        return {"id": None, "error": "JSON 嵌套过深 / JSON nested too deeply"}
    if not isinstance(record, dict):
        return {"id": None, "error": "每行须是 JSON 对象 / each line must be a JSON object"}
    if (found := walk_json(record)) is not None:  # lone surrogates, NUL, NaN, ... (analyzer/sanitize.py)
        uid = record.get("id")
        return {"id": uid if walk_json(uid) is None else None, "error": escape_unsafe(found)}
    uid = record.get("id")
    text, role = record.get("text"), record.get("role", AGENT)
    if not isinstance(text, str):
        return {"id": uid, "error": "缺少 text 字段 / missing 'text' (a string)"}
    if role not in ROLES:
        return {"id": uid, "error": f"role 须为 agent 或 customer / role must be one of {list(ROLES)}"}
    return {"id": uid, "text": text, "role": role}


def cmd_check(args: argparse.Namespace) -> int:
    stream = _open_input(args.file)
    lines = ((n, line) for n, line in enumerate(stream, 1) if line.strip())
    try:  # empty, unreadable or non-UTF-8 input is refused before anything heavy loads
        first = next(lines, None)
    except UnicodeDecodeError:
        raise HuashuError(f"{args.file}: 不是 UTF-8 文本 / not UTF-8 text") from None
    if first is None:
        raise HuashuError(f"{args.file}: 输入为空 / empty input: no JSON lines to check")
    engine = _engine(args, model=not args.no_model, sentiment=args.sentiment)
    failed = 0
    batch = 1 if args.file == "-" else 64  # stdin answers line by line; a file goes in batches
    pending: list[tuple[int, str]] = [first]

    def flush() -> None:
        nonlocal failed
        for (n, _), result in zip(pending, check_lines(engine, [line for _, line in pending])):
            if "error" in result:
                failed += 1
                print(f"{args.file}:{n}: {result['error']}", file=sys.stderr)
            print(json.dumps(result, ensure_ascii=False), flush=args.file == "-")
        pending.clear()

    try:
        if len(pending) >= batch:
            flush()
        for n, line in lines:
            pending.append((n, line))
            if len(pending) >= batch:
                flush()
        flush()
    except UnicodeDecodeError:
        raise HuashuError(f"{args.file}: 不是 UTF-8 文本 / not UTF-8 text") from None
    finally:
        if stream is not sys.stdin:
            stream.close()
    return 1 if failed else 0


# -- analyze -------------------------------------------------------------------------------
def cmd_analyze(args: argparse.Namespace) -> int:
    from . import report
    from .ingest import parse_transcript, read_transcript

    options = {
        "fmt": args.input_format, "agent_labels": tuple(args.agent_label or ()),
        "customer_labels": tuple(args.customer_label or ()),
    }
    if args.file == "-":
        transcript = parse_transcript(sys.stdin.buffer.read(), "<stdin>", **options)
    else:
        transcript = read_transcript(args.file, **options)
    from .privacy import mask_transcript, mask_wanted

    if mask_wanted(args.mask_pii):  # before analysis: flag offsets point into the masked text
        mask_transcript(transcript)
    _engine(args, model=not args.no_model, sentiment=args.sentiment).analyze(transcript)
    if args.format == "json":
        out = json.dumps(report.to_dict(transcript), ensure_ascii=False, indent=2) + "\n"
    elif args.format == "html":
        out = report.to_html(transcript)
    else:
        color = args.out is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        out = report.to_text(transcript, color=color)
    if args.out:
        try:
            Path(args.out).write_text(out, encoding="utf-8")
        except OSError as exc:
            raise HuashuError(f"{args.out}: 无法写入 / cannot write: {exc.strerror}") from None
    else:
        sys.stdout.write(out)
    return 0


# -- eval ----------------------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, format_table, load_dataset

    items = load_dataset(args.data)
    fused = None if args.no_model else _engine(args, model=True)
    result = evaluate(fused.lexicon_only() if fused else _engine(args), items, fused)
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_table(result))
    return 0


# -- lexicon -------------------------------------------------------------------------------
def cmd_lexicon(args: argparse.Namespace) -> int:
    from .verify import entry_problems

    engine = _engine(args)
    chosen = {str(Path(p)) for p in args.files}
    entries = [e for e in engine.lexicon.entries if not chosen or e.file in chosen]
    bad = 0
    for entry in entries:
        problems = entry_problems(engine, entry)
        bad += bool(problems)
        for p in problems:
            print(f"{entry.file}: {entry.id}: {p}")
    print(f"{len(entries) - bad} 条通过, {bad} 条失败 / {len(entries) - bad} entries passed, {bad} failed")
    return 1 if bad else 0


# -- train ---------------------------------------------------------------------------------
def _train_arguments(p: argparse.ArgumentParser) -> None:
    from models.options import add_arguments  # light: no numpy, no torch

    add_arguments(p)


def cmd_train(args: argparse.Namespace) -> int:
    try:
        from models.train import run_from_args
    except ImportError as exc:
        raise HuashuError(f"训练依赖缺失 / training dependencies missing ({exc.name}): run `make setup`") from None
    return run_from_args(args)


# -- serve and keys (the HTTP service; ``api`` is imported here only, never at module level) -----
def cmd_serve(args: argparse.Namespace) -> int:
    from api.cli import serve

    return serve(args.host, args.port, args.workers)


def cmd_keys(args: argparse.Namespace) -> int:
    from api import cli as api_cli

    if args.action == "create":
        return api_cli.keys_create(args.role, args.name)
    if args.action == "revoke":
        return api_cli.keys_revoke(args.id)
    return api_cli.keys_list()


# -- wiring --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="huashu", description="话术 Huashu：客服冲突导火索检测与改写 / conflict-trigger checks for service talk"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lex = argparse.ArgumentParser(add_help=False)
    lex.add_argument("--lexicon", action="append", metavar="FILE",
                     help="额外词库文件 / extra lexicon file (repeatable; also HUASHU_LEXICON)")

    p = sub.add_parser("check", parents=[lex], help="检查 JSON Lines 话语 / check JSON Lines utterances")
    p.add_argument("file", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    p.add_argument("--no-model", action="store_true", help="只用词库 / the lexicon alone, without the classifier")
    p.add_argument("--sentiment", choices=("auto", "baseline", "finetuned", "none"), default="auto",
                   help="客户情绪模型 / customer-sentiment model (auto: fine-tuned if present, else baseline)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("analyze", parents=[lex], help="分析一通对话 / analyse one transcript")
    p.add_argument("file", help="transcript file, or - for stdin")
    p.add_argument("--format", choices=("json", "text", "html"), default="json")
    p.add_argument("--out", metavar="PATH", help="写入文件 / write to a file instead of stdout")
    p.add_argument("--mask-pii", action=argparse.BooleanOptionalAction, default=None,
                   help="遮盖电话、身份证、银行卡号（默认开；HUASHU_MASK_PII）/ mask phone, ID-card and bank-card "
                        "numbers before analysis and in every output (default on; HUASHU_MASK_PII)")
    p.add_argument("--input-format", choices=("speaker-text", "csv", "tsv", "json", "jsonl", "xlsx"))
    p.add_argument("--agent-label", action="append", metavar="LABEL", help="该说话人是坐席 / this speaker is the agent")
    p.add_argument("--customer-label", action="append", metavar="LABEL", help="该说话人是客户 / this speaker is the customer")
    p.add_argument("--no-model", action="store_true", help="只用词库 / the lexicon alone, without the classifier")
    p.add_argument("--sentiment", choices=("auto", "baseline", "finetuned", "none"), default="auto",
                   help="客户情绪模型 / customer-sentiment model (auto: fine-tuned if present, else baseline)")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("train", help="训练分类器 / train the classifier (baseline + transformer), evaluate, "
                                     "write models/trigger/")
    _train_arguments(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", parents=[lex], help="在标注集上评测 / evaluate on a labelled set")
    p.add_argument("--data", default=None, help="JSON Lines with text and label (default: corpora/dev/dev.jsonl)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--no-model", action="store_true",
                   help="只评测词库 / the lexicon alone (default: also lexicon + model, side by side)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("lexicon", parents=[lex], help="运行词库条目的例句 / run lexicon entries' examples")
    p.add_argument("files", nargs="*", help="only entries from these files (default: all loaded)")
    p.set_defaults(func=cmd_lexicon)

    from models.sentiment_train import add_parser as add_train_sentiment  # light: no numpy, no torch

    from .batch import add_report_parser  # light: pandas, Dask, matplotlib load when it runs

    add_report_parser(sub, [lex])
    add_train_sentiment(sub)

    p = sub.add_parser("serve", help="运行 HTTP 服务 / run the HTTP service (settings: HUASHU_* variables)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes (use PostgreSQL for more than one)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("keys", help="管理 API 密钥 / manage API keys")
    keys = p.add_subparsers(dest="action", required=True)
    k = keys.add_parser("create", help="新建密钥并打印 / create a key and print it")
    k.add_argument("--role", required=True, choices=("agent", "supervisor", "analyst", "admin"))
    k.add_argument("--name", required=True)
    keys.add_parser("list", help="列出密钥（不含密钥本身） / list keys, without secrets")
    k = keys.add_parser("revoke", help="吊销密钥 / revoke a key")
    k.add_argument("id", type=int)
    p.set_defaults(func=cmd_keys)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "command", None) == "lexicon":
        args.lexicon = list(args.lexicon or []) + [f for f in args.files if f not in (args.lexicon or [])]
    try:
        return args.func(args)
    except HuashuError as exc:
        print(f"huashu: 错误 / error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, still reported as one line; HUASHU_DEBUG=1 shows the traceback
        if os.environ.get("HUASHU_DEBUG"):
            raise
        print(f"huashu: 内部错误 / internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
