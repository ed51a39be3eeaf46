"""``huashu``: check utterances, analyse transcripts, evaluate, test lexicon files; ``serve``, ``keys``,
``train`` and ``train-sentiment`` come from the service and the training code as plugins.

Every error a user can cause ends as one line on stderr (file and line where there is one) and a
non-zero exit status, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .model import AGENT, ROLES, HuashuError
from .sanitize import escape_unsafe, json_int, walk_json

EXIT_USAGE = 2


def _config(args: argparse.Namespace, *, model: bool | None = None):
    """The configuration (``HUASHU_*``) with this command's flags over it."""
    from .config import Config

    return Config().with_args(args, model=model)


def _pipeline(args: argparse.Namespace, *, model: bool, sentiment: bool = True):
    from .pipeline import build

    return build(_config(args, model=model), sentiment=sentiment)


def _engine(args: argparse.Namespace):
    """The lexicon alone (``huashu lexicon``, the lexicon side of ``huashu eval``)."""
    from .engine import Engine

    config = _config(args)
    return Engine(config.lexicon, cache_dir=config.cache_dir, lexicon_cache=config.lexicon_cache).initialize()


def _open_input(path: str) -> TextIO:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8-sig")
    except OSError as exc:
        raise HuashuError(f"{path}: 无法打开 / cannot open: {exc.strerror}") from None


# -- check ---------------------------------------------------------------------------------
def check_lines(pipeline, lines: list[str]) -> list[dict[str, Any]]:
    """JSON Lines records in, one result each (an ``error`` field instead of raising); the valid
    ones go through ``pipeline.check`` in one batch."""
    from .pipeline import Utterance

    parsed = [_parse_line(line) for line in lines]
    todo = [r for r in parsed if "error" not in r]
    utterances = [Utterance(r.pop("text"), r.pop("role"), r.pop("context")) for r in todo]
    for r, result in zip(todo, pipeline.check(utterances) if todo else []):
        r.update(result.to_dict())
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
    text, role, context = record.get("text"), record.get("role", AGENT), record.get("context")
    if not isinstance(text, str):
        return {"id": uid, "error": "缺少 text 字段 / missing 'text' (a string)"}
    if role not in ROLES:
        return {"id": uid, "error": f"role 须为 agent 或 customer / role must be one of {list(ROLES)}"}
    if context is not None and not isinstance(context, str):
        return {"id": uid, "error": "context 须为字符串 / 'context' must be a string (the customer's last turn)"}
    return {"id": uid, "text": text, "role": role, "context": context}


def cmd_check(args: argparse.Namespace) -> int:
    stream = _open_input(args.file)
    lines = ((n, line) for n, line in enumerate(stream, 1) if line.strip())
    try:  # empty, unreadable or non-UTF-8 input is refused before anything heavy loads
        first = next(lines, None)
    except UnicodeDecodeError:
        raise HuashuError(f"{args.file}: 不是 UTF-8 文本 / not UTF-8 text") from None
    if first is None:
        raise HuashuError(f"{args.file}: 输入为空 / empty input: no JSON lines to check")
    # the sentiment model (--sentiment auto) loads with the first customer line: agent lines never pay for it
    pipeline = _pipeline(args, model=not args.no_model, sentiment=False)
    failed = 0
    batch = 1 if args.file == "-" else 64  # stdin answers line by line; a file goes in batches
    pending: list[tuple[int, str]] = [first]

    def flush() -> None:
        nonlocal failed
        for (n, _), result in zip(pending, check_lines(pipeline, [line for _, line in pending])):
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
    pipeline = _pipeline(args, model=not args.no_model)
    given = _given_meta(args.meta, args.file, pipeline.config.timezone) if args.meta else {}
    analysis = pipeline.analyze(transcript, given=given)
    if args.format == "json":
        out = json.dumps(report.to_dict(analysis), ensure_ascii=False, indent=2) + "\n"
    elif args.format == "html":
        out = report.to_html(analysis)
    else:
        color = args.out is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        out = report.to_text(analysis, color=color)
    if args.out:
        try:
            Path(args.out).write_text(out, encoding="utf-8")
        except OSError as exc:
            raise HuashuError(f"{args.out}: 无法写入 / cannot write: {exc.strerror}") from None
    else:
        sys.stdout.write(out)
    return 0


def _given_meta(meta: str, file: str, timezone: str) -> dict[str, str]:
    """The ``--meta`` CSV row of ``file`` (its path as given, or its name), as call metadata."""
    from .batch import read_meta

    rows = read_meta(meta, timezone)
    row = rows.get(file) or rows.get(os.path.abspath(file)) or rows.get(Path(file).name)
    return row.given() if row else {}


# -- eval ----------------------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, format_table, load_dataset

    if args.real is not None:  # the real-text benchmark (analyzer/real_eval.py)
        from .real_eval import format_real, run

        result = run(args, _config(args))
        print(json.dumps(result, ensure_ascii=False, indent=2) if args.format == "json" else format_real(result))
        return 0
    if args.rewrites is not None:  # the rewrite set (analyzer/rewrite_eval.py)
        return _eval_rewrites(args)
    items = load_dataset(args.data)
    fused = None if args.no_model else _pipeline(args, model=True).engine
    result = evaluate(fused.lexicon_only() if fused else _engine(args), items, fused)
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_table(result))
    return 0


def _eval_rewrites(args: argparse.Namespace) -> int:
    from .rewrite_eval import format_rewrites, run

    engine = _engine(args) if args.no_model else _pipeline(args, model=True).engine
    result = run(engine, args.rewrites or None, args.reading)
    if not args.rows:
        result.pop("rows")
    if args.format == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_rewrites(result, "lexicon" if args.no_model else "lexicon+model"))
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


# -- report (analyzer.batch, imported only when it runs) ------------------------------------------
def add_report_parser(sub, parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """``huashu report``: add the sub-command to the ``huashu`` parser; ``parents`` carry the
    pipeline's options (``analyzer.cli``: lexicon, model, sentiment, masking, scorecard, channel,
    input format and speaker labels)."""
    p = sub.add_parser("report", parents=list(parents),
                       help="批量报告 / batch report over files and folders of transcripts")
    p.add_argument("paths", nargs="+", metavar="PATH", help="transcript files or folders (recursive)")
    p.add_argument("--out", required=True, metavar="DIR", help="输出文件夹 / output folder")
    p.add_argument("--meta", metavar="CSV", help="file→agent/team/date mapping (columns file, agent, employee_id, "
                                                 "team, date, started_at, channel)")
    p.add_argument("--workers", type=int, metavar="N", help="run on a local Dask cluster of N worker processes")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster (e.g. tcp://10.0.0.5:8786)")
    p.add_argument("--chunk-size", type=int, default=32, help="files per Dask task (default 32)")
    p.add_argument("--no-xlsx", action="store_true", help="skip report.xlsx")
    p.add_argument("--worst", type=int, default=20, help="worst calls listed (default 20)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_report)
    return p


def _cmd_report(args: argparse.Namespace) -> int:
    from .batch import cmd_report

    return cmd_report(args)


# -- wiring --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="huashu", description="话术 Huashu：客服冲突导火索检测与改写 / conflict-trigger checks for service talk"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lex = argparse.ArgumentParser(add_help=False)
    lex.add_argument("--lexicon", action="append", metavar="FILE",
                     help="额外词库文件 / extra lexicon file (repeatable; also HUASHU_LEXICON)")

    # The pipeline's options (analyzer.config.Config) that commands share: one definition each.
    models = argparse.ArgumentParser(add_help=False)
    models.add_argument("--no-model", action="store_true", help="只用词库 / the lexicon alone, without the classifier")
    models.add_argument("--sentiment", choices=("auto", "baseline", "finetuned", "none"),
                        help="客户情绪模型 / customer-sentiment model (default HUASHU_SENTIMENT, else auto: "
                             "fine-tuned if present, else baseline)")
    calls = argparse.ArgumentParser(add_help=False)
    calls.add_argument("--mask-pii", action=argparse.BooleanOptionalAction, default=None,
                       help="遮盖电话、身份证、银行卡号（默认开；HUASHU_MASK_PII）/ mask phone, ID-card and bank-card "
                            "numbers before analysis and in every output (default on; HUASHU_MASK_PII)")
    calls.add_argument("--scorecard", action="append", metavar="FILE",
                       help="公司评分卡文件 / company scorecard file (repeatable; also HUASHU_SCORECARD)")
    calls.add_argument("--channel", choices=("auto", "call", "chat"),
                       help="渠道 / the channel: call, chat or auto (default HUASHU_CHANNEL, else auto)")
    calls.add_argument("--input-format", choices=("speaker-text", "csv", "tsv", "json", "jsonl", "xlsx"))
    calls.add_argument("--agent-label", action="append", metavar="LABEL",
                       help="该说话人是坐席 / this speaker is the agent")
    calls.add_argument("--customer-label", action="append", metavar="LABEL",
                       help="该说话人是客户 / this speaker is the customer")

    p = sub.add_parser("check", parents=[lex, models], help="检查 JSON Lines 话语 / check JSON Lines utterances")
    p.add_argument("file", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("analyze", parents=[lex, models, calls], help="分析一通对话 / analyse one transcript")
    p.add_argument("file", help="transcript file, or - for stdin")
    p.add_argument("--format", choices=("json", "text", "html"), default="json")
    p.add_argument("--out", metavar="PATH", help="写入文件 / write to a file instead of stdout")
    p.add_argument("--meta", metavar="CSV", help="通话元数据 / call metadata CSV (columns file, agent, employee_id, "
                                                 "started_at, channel), as for huashu report")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("eval", parents=[lex], help="在标注集上评测 / evaluate on a labelled set")
    p.add_argument("--data", default=None, help="JSON Lines with text and label (default: corpora/dev/dev.jsonl)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--no-model", action="store_true",
                   help="只评测词库 / the lexicon alone (default: also lexicon + model, side by side)")
    p.add_argument("--real", nargs="?", const="", metavar="DIR",
                   help="真实语料评测 / the real-text benchmark (corpora/real/) on the turn cache DIR "
                        "(default $HUASHU_REAL_CACHE, else .cache/real)")
    p.add_argument("--part", choices=("dev", "test", "all"), default="dev",
                   help="--real: dev（默认，误差分析）；test 每个模型版本只读一次 / dev (default, error analysis); "
                        "test is read once per model release, never for tuning")
    p.add_argument("--previous-model", metavar="DIR", help="--real: 同时评测旧模型 / also a previous trigger-model "
                   "folder (like models/trigger)")
    p.add_argument("--context", action=argparse.BooleanOptionalAction, default=True,
                   help="--real: 传入上一句客户话语 / pass the customer's previous turn as context (default on)")
    p.add_argument("--real-data", metavar="DIR", help=argparse.SUPPRESS)  # samples/ and labels/ (tests)
    p.add_argument("--rewrites", nargs="?", const="", metavar="FILE",
                   help="改写评测 / grade the rewrites on the rewrite set (default corpora/rewrites/rewrites.jsonl): "
                        "trigger gone, content kept, fluent, no false promise, usable")
    p.add_argument("--reading", metavar="FILE", help="--rewrites: 人工阅读记录 / the recorded reading "
                   "(default corpora/rewrites/reading.jsonl)")
    p.add_argument("--rows", action="store_true", help="--rewrites --format json: 每条结果 / every item's row")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("lexicon", parents=[lex], help="运行词库条目的例句 / run lexicon entries' examples")
    p.add_argument("files", nargs="*", help="only entries from these files (default: all loaded)")
    p.set_defaults(func=cmd_lexicon)

    add_report_parser(sub, [lex, models, calls])
    for plugin in _plugins():  # huashu serve/keys (api), huashu train/train-sentiment (models)
        plugin(sub, [lex])
    return parser


def _plugins():
    """The sub-commands other layers add (``[project.entry-points."huashu.commands"]``), so this
    module imports neither the service nor the training code."""
    from importlib.metadata import entry_points

    return [ep.load() for ep in sorted(entry_points(group="huashu.commands"), key=lambda ep: ep.name)]


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
        from .config import Config

        if Config.debug():
            raise
        print(f"huashu: 内部错误 / internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
