"""Batch throughput of ``huashu report``: transcripts and utterances per second, in one process and
on local Dask clusters (2 worker processes by default), measured back to back in one run.

    python bench/batch_speed.py                          # 1000 calls; prints the table, updates bench/BATCH_RESULTS.md
    python bench/batch_speed.py --calls 4000 --workers 2 4 8

Each configuration runs the whole report into a temporary folder (see ``BATCH_RESULTS.md`` for what
is timed). The corpus comes from ``make_corpus`` below: deterministic for a seed; mixed formats
(speaker text with clock or date-time stamps, CSV, TSV, JSON, JSON Lines, XLSX, GB18030 and Big5
files), folders ``<team>/<date>/``, calls of 8–24 turns with greetings, holds, complaints, triggers
from the lexicon's own examples and farewells. ``tests/test_batch.py`` and ``tests/test_notebook.py``
use it too.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SEED = 20261122
TEAMS = ("售后一组", "售后二组", "电商客服")
AGENTS = {
    "售后一组": ("工号1024", "工号1031", "小李(客服)"),
    "售后二组": ("工号2001", "王芳(坐席)", "工号2017"),
    "电商客服": ("客服007", "客服012", "小美(在线客服)"),
}
COMPANIES = ("顺达快递", "东方大峡谷", "优家电器", "云联通信")
ISSUES = (
    "我的包裹三天了还没到，单号是SD20250301。", "我上个月的话费怎么多扣了五十块？", "我买的空调到现在还没人来安装。",
    "你们寄来的洗衣机外壳是坏的。", "我想问一下退款什么时候能到账。", "宽带从昨天晚上开始就连不上了。",
    "我下单的时候显示有货，现在又说缺货。", "会员积分怎么突然清零了？",
)
NEUTRAL = ("好的。", "嗯，你说。", "单号是SD20250301。", "我的手机号是一三八零零零零一二三四。", "是的，就是这个地址。",
           "那要多久？", "我昨天下午下的单。", "行，那我等一下。")
NEGATIVE = ("不可能，我上周就下单了！", "怎么又是这样，每次都要等。", "你们这服务也太差了吧。", "这都第三次了，还没解决？",
            "你们效率可真高啊，我要投诉。", "我要投诉你们，太过分了！", "气死我了，到底能不能处理？", "我不想听解释，就要退钱。")
POSITIVE = ("好的，谢谢。", "好吧，谢谢你。", "那太好了，麻烦你了。", "行，谢谢你们这么快处理。", "明白了，谢谢。",
            "好的，没问题，辛苦了。")
CLEAN = ("好的，我这边帮您查询一下。", "麻烦您提供一下订单号，我帮您核实。", "您的订单已经发货了，预计明天送达。",
         "我已经帮您提交了加急处理。", "退款会在三到五个工作日内原路退回。", "我帮您看一下物流信息。",
         "系统显示您的工单已经受理。", "我再跟您确认一下地址。", "好的，明白了。", "没问题，我来帮您处理。")
TRIGGERS = ("你搞错了吧，这个单号是昨天才揽收的。", "你必须先把下单截图发过来，我才能查。", "我不能给您退款。",
            "这个我也不清楚。", "这是公司的规定，我们也没办法。", "我们不能那样做，您的订单已经出库了。",
            "你自己看错了吧，页面上写的是满299减30。", "您结婚了吗？这款对戒卖得特别好。", "随便你。",
            "你必須本人到營業廳辦理。")
COMPLAINT_REPLIES = ("非常抱歉给您带来不便，我能理解您的心情。", "这是因为中转站滞留了，所以延误了。",
                     "我马上帮您加急处理，今天内给您回复。", "再次向您致歉，我们会改进服务。")
HOLD = ("请您稍候，我帮您查一下。", "麻烦您稍等一下。")
HOLD_BACK = ("让您久等了，查到了。", "感谢您的耐心等待。")
FAREWELL = ("感谢您的来电，祝您生活愉快，再见！", "还有其他可以帮您的吗？没有的话再见。", "好的，感谢来电，再见。")


def _call(rng: random.Random, agent_label: str) -> list[tuple[str, str]]:
    """One call as (role, text) turns."""
    turns = [("agent", f"您好，这里是{rng.choice(COMPANIES)}客服中心，请问有什么可以帮您？" if rng.random() < 0.8
              else "你好，请讲。"), ("customer", rng.choice(ISSUES))]
    mood = rng.random()
    for _ in range(rng.randint(2, 9)):
        if rng.random() < 0.22:
            turns.append(("agent", rng.choice(TRIGGERS)))
            turns.append(("customer", rng.choice(NEGATIVE)))
            if rng.random() < 0.5:
                turns.extend(("agent", reply) for reply in COMPLAINT_REPLIES[: rng.randint(1, 4)])
        elif rng.random() < 0.15:
            turns.append(("agent", rng.choice(HOLD)))
            if rng.random() < 0.7:
                turns.append(("agent", rng.choice(HOLD_BACK)))
        else:
            turns.append(("agent", rng.choice(CLEAN)))
            pool = NEUTRAL if mood > 0.3 else NEGATIVE + NEUTRAL
            turns.append(("customer", rng.choice(pool)))
    turns.append(("customer", rng.choice(POSITIVE if mood > 0.25 else NEGATIVE)))
    if rng.random() < 0.85:
        turns.append(("agent", rng.choice(FAREWELL)))
    return turns


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _timed(rng: random.Random, turns):
    """(role, text, start, end) with plausible times: ~4.5 characters a second, short gaps."""
    t, out = rng.uniform(0, 2), []
    for role, text in turns:
        length = len(text) / rng.uniform(3.5, 5.5)
        gap = rng.uniform(0.2, 2.5) if rng.random() > 0.05 else rng.uniform(12, 25)
        if role == "agent" and out and out[-1][0] == "customer" and rng.random() < 0.05:
            gap = -rng.uniform(0.5, 1.5)  # the agent cuts in
        start = max(0.0, t + gap)
        out.append((role, text, round(start, 2), round(start + length, 2)))
        t = start + length
    return out


def _write(path: Path, fmt: str, rng: random.Random, agent: str, day: str, turns) -> None:
    timed = _timed(rng, turns)
    customer = "客户" if rng.random() < 0.7 else "顾客"
    labels = {"agent": agent, "customer": customer}
    hh = rng.randint(8, 19)
    if fmt == "txt-clock":
        lines = [f"[{_clock(s)}] {labels[r]}：{x}" for r, x, s, _ in timed]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "txt-datetime":
        lines = [f"{day} {hh:02d}:{int(s) // 60 % 60:02d}:{int(s) % 60:02d} {labels[r]}: {x}" for r, x, s, _ in timed]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "txt-plain":
        path.write_text("".join(f"{labels[r]}：{x}\n" for r, x, _, _ in timed), encoding="utf-8-sig")
    elif fmt == "txt-gb18030":
        path.write_text("".join(f"{labels[r]}：{x}\n" for r, x, _, _ in timed), encoding="gb18030")
    elif fmt == "txt-big5":
        import opencc

        conv = opencc.OpenCC("s2tw")
        text = "".join(f"{conv.convert(labels[r])}：{conv.convert(x)}\n" for r, x, _, _ in timed)
        path.write_bytes(text.encode("big5", errors="replace"))
    elif fmt in ("csv", "tsv"):
        import csv

        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter="," if fmt == "csv" else "\t")
            w.writerow(["speaker", "text", "start", "end"])
            w.writerows([labels[r], x, s, e] for r, x, s, e in timed)
    elif fmt == "json":
        data = [{"speaker": labels[r], "text": x, "start": s, "end": e} for r, x, s, e in timed]
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"role": r, "speaker": labels[r], "text": x}, ensure_ascii=False) + "\n"
                                for r, x, _, _ in timed), encoding="utf-8")
    elif fmt == "xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["说话人", "内容", "开始时间"])
        for r, x, s, _ in timed:
            sheet.append([labels[r], x, f"{day} {hh:02d}:{int(s) // 60 % 60:02d}:{int(s) % 60:02d}"])
        book.save(path)
    else:
        raise ValueError(fmt)


FORMATS = {"txt-clock": ".txt", "txt-datetime": ".txt", "txt-plain": ".txt", "txt-gb18030": ".txt",
           "txt-big5": ".txt", "csv": ".csv", "tsv": ".tsv", "json": ".json", "jsonl": ".jsonl", "xlsx": ".xlsx"}


def make_corpus(root: str | os.PathLike[str], n_calls: int = 100, seed: int = SEED, days: int = 5,
                broken: bool = True, formats: tuple[str, ...] = tuple(FORMATS)) -> list[Path]:
    """Write ``n_calls`` transcripts under ``root/<team>/<date>/`` (and, with ``broken``, three
    files that cannot be read); return the paths of the good ones."""
    rng = random.Random(seed)
    root = Path(root)
    written = []
    for k in range(n_calls):
        team = TEAMS[k % len(TEAMS)]
        agent = rng.choice(AGENTS[team])
        day = f"2025-03-{1 + rng.randrange(days):02d}"
        fmt = formats[k % len(formats)]
        folder = root / team / day
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"call-{k:05d}{FORMATS[fmt]}"
        _write(path, fmt, rng, agent, day, _call(rng, agent))
        written.append(path)
    if broken:
        bad = root / "broken"
        bad.mkdir(parents=True, exist_ok=True)
        (bad / "empty.txt").write_text("", encoding="utf-8")
        (bad / "unknown-speaker.txt").write_text("张三：你好\n李四：你好\n", encoding="utf-8")
        (bad / "not-a-table.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    return written


# -- the benchmark -------------------------------------------------------------------------
def _measure(corpus: Path, workers: int | None, chunk_size: int, model: bool = False) -> dict:
    """``model``: with the trigger model (``bench/model_speed.py``); by default the lexicon alone."""
    from analyzer.batch import Options, run_report

    out = Path(tempfile.mkdtemp(prefix="huashu-bench-"))
    arrivals: list[float] = []
    try:
        started = time.perf_counter()
        report = run_report([corpus], out, options=Options.of(sentiment="none", model=model), workers=workers,
                            chunk_size=chunk_size, progress=False, xlsx=False,
                            on_result=lambda _: arrivals.append(time.perf_counter()))
        total = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    calls = len(report.tables["calls"])
    # steady state: from the first file's result to the last (no start-up, no tables or HTML at the end)
    steady = (arrivals[-1] - arrivals[0]) * len(arrivals) / max(1, len(arrivals) - 1) if len(arrivals) > 1 else total
    return {"calls": calls, "utterances": report.utterances, "errors": len(report.tables["errors"]),
            "seconds": total, "startup": arrivals[0] - started if arrivals else 0.0, "steady": steady}


HEADER = """# Batch report throughput

`python bench/batch_speed.py` runs the same report (`huashu report`'s code: find and read the files,
ingest, flag, score, mood, the tables as CSV + Parquet, one annotated page per call, the HTML report
with its charts; XLSX off) in one process and on local Dask clusters, back to back in one run, on
one synthetic corpus (`make_corpus` in `bench/batch_speed.py`, seed {seed}: calls of mixed formats
and encodings in `<team>/<date>/` folders), with the lexicon engine (no classifier) and no sentiment
model. Each machine it ran on has its own section below (a new run replaces its machine's section).

- **total s**: wall-clock for the whole report; a Dask row includes starting the cluster and
  building the engine on each worker (in parallel). An untimed 20-call run goes first (jieba's
  disk cache, imports, fonts), so the first row pays no one-off cost the others skip.
- **until first result s**: start-up (engine, or cluster + engines) until the first file is done.
- **steady utterances/s**: from the first file's result to the last: the analysis rate once running.

The client process reads the files, sends them in chunks, writes every call's page and builds the
tables; the workers analyse. A Dask run pays a fixed start-up of a few seconds before its first
result, so it pays off on runs long enough to amortise it and on more cores (or another machine's
workers, `--scheduler`). The default single-process path imports no Dask at all.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--chunk-size", type=int, default=32)
    parser.add_argument("--out", default=str(REPO / "bench" / "BATCH_RESULTS.md"))
    parser.add_argument("--note", default="", help="a line about the machine, printed under its heading")
    args = parser.parse_args(argv)
    corpus = Path(tempfile.mkdtemp(prefix="huashu-corpus-"))
    try:
        make_corpus(corpus / "warm-up", 20, seed=SEED + 1, broken=False)
        _measure(corpus / "warm-up", None, args.chunk_size)  # untimed: jieba's disk cache, imports, fonts
        import analyzer.batch

        analyzer.batch._STATE.clear()  # the measured local run builds its engine again, as the workers do
        make_corpus(corpus / "calls", args.calls, broken=False)
        corpus = corpus / "calls"
        rows = [("local, 1 process", _measure(corpus, None, args.chunk_size))]
        for n in args.workers:
            rows.append((f"Dask LocalCluster, {n} worker processes", _measure(corpus, n, args.chunk_size)))
    finally:
        shutil.rmtree(corpus.parent if corpus.name == "calls" else corpus, ignore_errors=True)
    base = rows[0][1]["seconds"]
    steady_base = rows[0][1]["steady"]
    header = ("| run | calls | utterances | total s | calls/s | utterances/s | vs local | until first result s "
              "| steady utterances/s | steady vs local |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [header]
    for name, r in rows:
        lines.append(f"| {name} | {r['calls']} | {r['utterances']} | {r['seconds']:.2f} | {r['calls'] / r['seconds']:.1f} "
                     f"| {r['utterances'] / r['seconds']:.0f} | {base / r['seconds']:.2f}× | {r['startup']:.2f} "
                     f"| {r['utterances'] / r['steady']:.0f} | {steady_base / r['steady']:.2f}× |")
    table = "\n".join(lines)
    print(table)
    cpu = os.cpu_count()
    key = f"{platform.machine()}, {cpu} CPUs"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    command = f"python bench/batch_speed.py --calls {args.calls} --workers {' '.join(map(str, args.workers))}"
    if args.chunk_size != 32:
        command += f" --chunk-size {args.chunk_size}"
    section = (f"<!-- run: {key} -->\n## {key}\n\n`{command}` — Python {platform.python_version()}, "
               f"{time.strftime('%Y-%m-%d')}; load average during the run {load} (1 / 5 / 15 min)."
               + (f" {args.note}" if args.note else "") + f"\n\n{table}\n<!-- end run -->\n")
    out = Path(args.out)
    text = out.read_text(encoding="utf-8") if out.is_file() else ""
    if "<!-- run: " not in text:
        text = HEADER.format(seed=SEED) + "\n"
    marker = f"<!-- run: {key} -->"
    if marker in text:
        head, rest = text.split(marker, 1)
        text = head + section + rest.split("<!-- end run -->\n", 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
