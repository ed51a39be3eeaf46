"""Every benchmark in one command; writes bench/RESULTS.md.

    python bench/run_all.py            # the full run (200,000 utterances; ~10 min on 2 cores)
    python bench/run_all.py --quick    # the same benches, small sizes (~3-4 min)

Sections (each also runs alone, see bench/README.md):
1. trigger matching: Huashu vs a plain substring loop, a regex alternation and raw pyahocorasick,
   plus the cost split of ``Engine.check`` and jieba segmentation alone (``matcher_speed.py``);
2. the full pipeline with and without the model at batch sizes 1 and 64 (``pipeline_speed.py``);
3. memory: RSS of the CLI, the library and one API worker, from outside (``memory.py``);
4. the API: ``POST /v1/suggest`` at 1, 8 and 32 clients (``api_load.py``);
5. the model alone and fused, and 6. batch reports on Dask: ``model_speed.py`` and
   ``batch_speed.py``, run as they run alone (subprocesses), their tables embedded;
7. start-up of ``huashu check`` with and without the compiled-lexicon cache (``startup.py``).
Every section's systems are measured in this one process run, side by side; each figure is the
median of several rounds.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for p in (str(REPO), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

import api_load
import corpus as corpus_mod
import httpx
import matcher_speed
import memory
import pipeline_speed
import psutil
import startup
from host import cpu_name
from host import versions as machine_versions

SECTIONS = ("matching", "pipeline", "memory", "api", "model", "batch", "startup")
SIZES = {  # full, quick
    "corpus": (200_000, 20_000),
    "rounds": (3, 3),
    "pipeline_n": (20_000, 2_000),
    "model_seconds": (10.0, 3.0),
    "cli_lines": (20_000, 2_000),
    "api_requests": (2_000, 300),
    "api_runs": (3, 3),
    "model_speed": (["--seconds", "20"], ["--quick", "--no-report"]),  # with the previous commit (a worktree)
    "model_timeout": (1800, 900),
    "batch_speed": (["--calls", "1000"], ["--calls", "200"]),
    "external_timeout": (600, 300),
    "startup_runs": (5, 3),
}
LEVELS = (1, 8, 32)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> list[str]:
    cpu = cpu_name()
    versions = machine_versions(("jieba", "pyahocorasick", "opencc", "fastapi", "uvicorn", "SQLAlchemy", "torch",
                                 "transformers"))
    return [
        (f"- Machine: {cpu}; {psutil.cpu_count(logical=True)} logical CPUs; "
         f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM; {platform.system()} {platform.release()}"),
        f"- Python {platform.python_version()} ({platform.python_implementation()}); {', '.join(versions)}",
    ]


def api_section(texts: list[str], requests: int, runs: int) -> str:
    """``api_load.level`` at each client count, ``runs`` times (levels interleaved); medians. Then
    the same with ``HUASHU_MODEL=on`` (the classifier on the live path), once, at fewer requests."""
    results: dict[int, list[dict]] = {n: [] for n in LEVELS}
    with tempfile.TemporaryDirectory() as home:
        server = api_load.start_server(Path(home))
        try:
            with httpx.Client(base_url=server.url) as http:
                key = api_load.make_key(http, server.admin_key, "agent")
            api_load.level(server.url, key, texts, 4, 300, 60)  # warm-up
            for r in range(runs):
                for n in LEVELS:
                    results[n].append(api_load.level(server.url, key, texts, n, requests, 60))
                    row = results[n][-1]
                    log(f"  api run {r + 1}/{runs}: {n} clients: {row['rps']:.0f} req/s, p50 {row['p50_ms']:.1f} ms")
        finally:
            server.stop()
    lines = ["| HUASHU_MODEL | clients | requests per run | failures (all runs) | p50 (ms) | p99 (ms) | requests/s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for n, rows in results.items():
        med = {k: statistics.median(r[k] for r in rows) for k in ("p50_ms", "p99_ms", "rps", "requests")}
        lines.append(f"| off (lexicon) | {n} | {med['requests']:,.0f} | {sum(r['failures'] for r in rows)} | "
                     f"{med['p50_ms']:.2f} | {med['p99_ms']:.2f} | {med['rps']:,.0f} |")
    with tempfile.TemporaryDirectory() as home:
        try:
            server = api_load.start_server(Path(home), {"HUASHU_MODEL": "on"}, timeout=300)
        except api_load.ServerError as exc:
            return "\n".join(lines + ["", f"With the model: not available ({exc})."])
        try:
            if httpx.get(server.url + "/healthz", timeout=30).json().get("model_status") != "loaded":
                return "\n".join(lines + ["", "With the model: not available (the server did not load it)."])
            with httpx.Client(base_url=server.url) as http:
                key = api_load.make_key(http, server.admin_key, "agent")
            api_load.level(server.url, key, texts, 2, 50, 60)  # warm-up
            for n in (1, 8):
                row = api_load.level(server.url, key, texts, n, max(50, requests // 10), 120)
                log(f"  api with the model: {n} clients: {row['rps']:.0f} req/s, p50 {row['p50_ms']:.1f} ms")
                lines.append(f"| on (lexicon + model) | {n} | {row['requests']:,} | {row['failures']} | "
                             f"{row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['rps']:,.0f} |")
        finally:
            server.stop()
    return "\n".join(lines)


def external(script: str, args: list[str], timeout: float) -> str:
    """Run another bench of this folder as it runs alone, into a temporary ``--out`` file; its
    Markdown comes back with the title dropped and the headings one level down."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.md"
        cmd = [sys.executable, str(BENCH / script), *args, "--out", str(out)]
        try:
            done = subprocess.run(cmd, cwd=REPO, env=api_load.server_env(), capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return f"not finished within {timeout:.0f} s: `{' '.join(cmd[1:])}`"
        if done.returncode != 0 or not out.exists():
            tail = "\n".join(done.stderr.strip().splitlines()[-8:])
            return f"`python bench/{script}` failed (exit {done.returncode}):\n\n```\n{tail}\n```"
        lines = out.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join("#" + line if line.startswith("##") else line for line in lines).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a few minutes")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    size = {k: v[1] if args.quick else v[0] for k, v in SIZES.items()}
    sections = [s for s in args.sections.split(",") if s]
    if unknown := set(sections) - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    started, t_start, load_start = datetime.now(UTC), time.perf_counter(), os.getloadavg()
    command = "python bench/run_all.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")

    log(f"building the corpus ({size['corpus']:,} utterances)")
    corpus = corpus_mod.build(size["corpus"])
    texts = [u.text for u in corpus]
    info = corpus_mod.describe(corpus)
    gc.collect()
    gc.freeze()  # the corpus is long-lived: keep the collector from walking it in every timed loop
    body: list[str] = []

    def section(name: str, title: str, intro: str, work) -> None:
        if name not in sections:
            return
        log(f"section: {name}")
        t0 = time.perf_counter()
        try:
            result = work()
        except Exception:  # noqa: BLE001 (one broken section must not lose the others)
            result = "```\n" + traceback.format_exc(limit=5) + "```"
            log(f"section {name} failed:\n{result}")
        body.extend([f"## {title}", "", intro, "", result, "", f"_({time.perf_counter() - t0:.0f} s)_", ""])

    engine = matcher_speed.Engine().initialize()
    section(
        "matching", "1. Trigger matching: Huashu vs the obvious alternatives",
        f"Command: `python bench/matcher_speed.py --n {size['corpus']} --rounds {size['rounds']}` (same code). "
        f"All systems on the same {info['utterances']:,} utterances ({info['mb_utf8']:.1f} MB UTF-8), taking turns "
        f"within each of {size['rounds']} rounds; medians. The alternatives run on the raw text and only say which "
        "categories' phrases occur; Huashu also normalises (Traditional, full width), checks context and word "
        "boundaries, and (Engine.check) builds flags with rewrites. The two slow rows over all lexicon literals run "
        f"on the corpus's first utterances within {matcher_speed.SLOW_BUDGET_S:.0f} s per round. "
        "\"speed vs X\" = X's time per utterance / this row's (higher is faster).",
        lambda: matcher_speed.tables(matcher_speed.run(texts, size["rounds"], engine, log=log)),
    )
    section(
        "pipeline", "2. The full pipeline, with and without the model",
        f"Command: `python bench/pipeline_speed.py --n {size['pipeline_n']} --model-seconds {size['model_seconds']:g} "
        f"--rounds {size['rounds']}` (same code). Lexicon-only rows: the corpus's first {size['pipeline_n']:,} "
        f"utterances; model rows: as many as fit in {size['model_seconds']:g} s per round. Batch 1 = `Engine.check` "
        "per utterance, batch 64 = `Engine.check_many` per 64. Medians of rounds; latency percentiles over all calls.",
        lambda: pipeline_speed.table(pipeline_speed.run(texts, size["rounds"], size["model_seconds"],
                                                        size["pipeline_n"], engine, log=log)),
    )
    section(
        "memory", "3. Memory (RSS, measured from outside with psutil)",
        f"Command: `python bench/memory.py --cli-lines {size['cli_lines']}` (same code). MiB = 2^20 bytes.",
        lambda: memory.table(memory.run(texts, size["cli_lines"], log=log)),
    )
    api_texts = api_load.utterances()
    section(
        "api", "4. The API: POST /v1/suggest over loopback",
        f"`huashu serve` (one uvicorn worker, SQLite, key checked on every request) in a subprocess; clients are "
        f"threads with one keep-alive httpx connection each, on the same 2 cores ({os.cpu_count()} CPUs here). "
        f"300 warm-up requests, then {size['api_requests']:,} requests per level (or 60 s), levels interleaved, "
        f"{size['api_runs']} runs; medians of the runs. Same measurement as `python bench/api_load.py "
        f"--requests {size['api_requests']}` (which runs each level once). Utterances: `api_load.utterances()`, "
        "dev-set sentences mixed with neutral service lines. `HUASHU_MODEL=off` is the live path of the default "
        "setting (`uploads`); the `on` rows run the classifier on every suggest (one run, a tenth of the requests).",
        lambda: api_section(api_texts, size["api_requests"], size["api_runs"]),
    )

    model_args, batch_args = size["model_speed"], size["batch_speed"]
    section(
        "model", "5. The model: lexicon vs fused ONNX vs the tagger vs torch vs the previous path (`bench/model_speed.py`)",
        f"Run as a subprocess: `python bench/model_speed.py {' '.join(model_args)}`; its own output follows "
        "(the bench is kept with the model; see its docstring).",
        lambda: external("model_speed.py", model_args, size["model_timeout"]),
    )
    section(
        "batch", "6. Batch reports, one process vs Dask (`bench/batch_speed.py`)",
        f"Run as a subprocess: `python bench/batch_speed.py {' '.join(batch_args)}`; its own output follows "
        "(the bench is kept with the batch path; see its docstring).",
        lambda: external("batch_speed.py", batch_args, size["external_timeout"]),
    )

    if "startup" in sections:  # its section carries its own heading and markers (startup.py updates it alone)
        log("section: startup")
        try:
            body.extend([startup.section(startup.measure(size["startup_runs"], log=log), size["startup_runs"]), ""])
        except (Exception, SystemExit):  # noqa: BLE001
            body.extend(["## 7. Start-up", "", "```\n" + traceback.format_exc(limit=5) + "```", ""])

    elapsed = time.perf_counter() - t_start
    load_end = os.getloadavg()
    styles = ", ".join(f"{k} {100 * v:.0f}%" for k, v in info["styles"].items())
    head = [
        "# Benchmarks", "",
        (f"Generated by `{command}` ({'quick' if args.quick else 'full'} run). See `bench/README.md` for what "
         "each bench measures and how to run it alone."), "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC; the run took {elapsed / 60:.1f} min",
        *machine(),
        (f"- Load average (1/5/15 min) at the start {load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f}, "
         f"at the end {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f}: other work on the machine shows up "
         "as noise; the CPU µs/utt column of section 1 is less sensitive to it than wall time."),
        (f"- Corpus (`bench/corpus.py`, seed {corpus_mod.SEED}): {info['utterances']:,} agent utterances "
         f"({info['distinct']:,} distinct), {info['chars']:,} characters, {info['mb_utf8']:.1f} MB UTF-8, "
         f"{info['mean_chars']:.0f} characters on average; {100 * info['trigger_source']:.0f}% built around a trigger "
         f"sentence (dev-set positives incl. paraphrases, handbook sentences, lexicon examples), the rest clean "
         f"(service lines, dev-set neutrals and hard negatives, lexicon counter-examples); styles: {styles}; "
         f"{100 * info['traditional']:.0f}% converted to Traditional (OpenCC s2twp), {100 * info['full_width']:.0f}% "
         "full-width ASCII."),
        "",
    ]
    args.out.write_text("\n".join(head + body).rstrip() + "\n", encoding="utf-8")
    log(f"written: {args.out} ({elapsed / 60:.1f} min)")


if __name__ == "__main__":
    main()
