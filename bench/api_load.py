"""Load on the live HTTP path, ``POST /v1/suggest``, through the real server over loopback, with
the trigger model off and on; then the API server's memory under a sustained load with uploads.

Per model mode (``--models off,on``; ``HUASHU_MODEL=off`` is the live path of the default setting,
the lexicon alone; ``on`` sends every suggest through the lexicon and the ONNX tagger, the
concurrent checks micro-batched by ``api/batcher.py``): starts ``huashu serve`` (one uvicorn
worker, a temporary SQLite file) on a free 127.0.0.1 port, makes an agent key, warms up, then
sends a fixed number of requests at each level of concurrent clients (``--levels``; threads, each
with its own httpx client and keep-alive connection; httpx's async pool was itself the bottleneck
at 32 clients), and stops the server. Each level stops at its request count or its time limit,
whichever comes first.

Then the soak (``--soak-seconds``, 0 skips it), on a fresh server with the model on: 8 client
threads sending suggests without pause and one thread uploading a call every ``--upload-every``
seconds through ``POST /v1/transcripts`` (a supervisor key; a call of a few thousand characters
built from the example calls in ``examples/``, different bytes each time, so that duplicate
detection does not answer with the stored call). The RSS (psutil) of the server process (the
uvicorn worker answering suggest) and of its whole process tree (with the upload analysis worker,
a child process) is sampled every second. Reported: RSS after start-up (before any request),
after the warm-up (suggests at 8 clients and one upload), half-way, at the end of the soak, the
maximum, and the growth from after the warm-up to the end; the suggests' p50/p99 during the soak;
the uploads (one at a time: the next is sent once the last was answered), their time and failures.

Issue #13's targets (met / not met next to each figure): with the model, suggest p99 <= 15 ms at
1 client and <= 40 ms at 8; the API worker <= 600 MiB after start-up and growing < 5 % over the
soak. Writes bench/API_RESULTS.md (or ``--out``) with the machine, the load average at the start
and the end, the command and the tables.

    python bench/api_load.py [--models off,on] [--requests 2000] [--levels 1,8] [--max-seconds 60]
                             [--soak-seconds 300] [--upload-every 5]
    python bench/api_load.py --requests 200 --soak-seconds 20 --out /tmp/api_quick.md   # quick look

The clients run on the same machine as the server and share its CPUs.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "API_RESULTS.md"
FILLERS = ["您好，请问有什么可以帮您？", "好的，我这边帮您查询一下。", "请您稍候。", "感谢您的耐心等待。"]
MODES = ("off", "on")
SOAK_CLIENTS = 8
MiB = 2 ** 20
# issue #13's targets: (what, comparison, value)
TARGETS = {
    "p99_1": ("suggest p99 with the model, 1 client, ms", "<=", 15.0),
    "p99_8": ("suggest p99 with the model, 8 clients, ms", "<=", 40.0),
    "rss_start": ("API worker RSS after start-up, MiB", "<=", 600.0),
    "rss_growth": ("API worker RSS growth over the soak, %", "<", 5.0),
}
LEVEL_TARGETS = {1: "p99_1", 8: "p99_8"}  # clients -> target, with the model on
SIGNS = {">=": "≥", "<=": "≤", "<": "<"}


def utterances(n: int = 500, seed: int = 7) -> list[str]:
    """Dev-set sentences (about a third with triggers) mixed with neutral service lines."""
    dev = [json.loads(line)["text"] for line in (REPO / "corpora/dev/dev.jsonl").open(encoding="utf-8")]
    rng = random.Random(seed)
    return [rng.choice(dev) if rng.random() < 0.5 else rng.choice(FILLERS) for _ in range(n)]


# -- the server ------------------------------------------------------------------------------
KEY_LINE = re.compile(r"^(hs_[A-Za-z0-9_-]+)\s*$", re.MULTILINE)
ADMIN_KEY_FILE = "huashu-admin-key.txt"  # written by huashu serve into its working directory (no terminal)


class ServerError(RuntimeError):
    """The server did not come up (its log is in the message)."""


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    admin_key: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment minus HUASHU_* settings, the repository on PYTHONPATH, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUASHU_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["HUASHU_MODEL"] = "off"  # the live path's default (lexicon); ``extra`` may turn the model on
    env.update(extra or {})
    return env


def start_server(home: Path, extra_env: dict[str, str] | None = None, timeout: float = 120) -> Server:
    """``huashu serve`` on a free loopback port over ``home/bench.db``; returns once /healthz answers."""
    port = free_port()
    env = server_env({"HUASHU_DATABASE_URL": f"sqlite:///{home / 'bench.db'}", **(extra_env or {})})
    log = home / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "analyzer.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                key_file = home / ADMIN_KEY_FILE
                found = KEY_LINE.search(key_file.read_text(encoding="utf-8")) if key_file.exists() else None
                if not found:
                    process.terminate()
                    raise ServerError(f"the server wrote no admin key:\n{log.read_text()}")
                return Server(process, url, found.group(1), log)
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise ServerError(f"server did not start within {timeout:.0f} s:\n{log.read_text()}")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_key(http: httpx.Client, admin_key: str, role: str, name: str = "bench") -> str:
    made = http.post("/v1/keys", json={"name": name, "role": role}, headers=bearer(admin_key))
    made.raise_for_status()
    return made.json()["key"]


# -- the load --------------------------------------------------------------------------------
def timed_suggest(http: httpx.Client, text: str) -> tuple[float, bool]:
    """One ``POST /v1/suggest``: its wall time in seconds and whether it answered 200."""
    t0 = time.perf_counter()
    try:
        ok = http.post("/v1/suggest", json={"text": text}).status_code == 200
    except httpx.HTTPError:
        ok = False
    return time.perf_counter() - t0, ok


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile of already sorted values (``q=0.99``: p99), as this bench has always taken it."""
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def level(url: str, key: str, texts: list[str], clients: int, requests: int, max_seconds: float) -> dict:
    """``requests`` POSTs shared by ``clients`` threads, each with its own keep-alive connection."""
    latencies: list[float] = []
    failures = 0
    counter = itertools.count()
    deadline = time.perf_counter() + max_seconds
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {key}"}
    start = threading.Barrier(clients + 1)

    def client() -> None:
        nonlocal failures
        mine, bad = [], 0
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            http.get("/healthz")  # connect before the clock starts
            start.wait()
            while (n := next(counter)) < requests and time.perf_counter() < deadline:
                seconds, ok = timed_suggest(http, texts[n % len(texts)])
                mine.append(seconds)
                bad += not ok
        with lock:
            latencies.extend(mine)
            failures += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "clients": clients, "requests": len(latencies), "failures": failures, "seconds": elapsed,
        "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * percentile(latencies, 0.99),
        "rps": len(latencies) / elapsed,
    }


def model_status(url: str) -> str:
    """What /healthz says of the model: "off", "loaded" or "unavailable"."""
    return httpx.get(url + "/healthz", timeout=30).json().get("model_status") or "unknown"


def run_mode(mode: str, texts: list[str], levels: list[int], requests: int, warmup: int,
             max_seconds: float, log=print) -> list[dict]:
    """One server with ``HUASHU_MODEL=mode``: warm-up, then each level; rows carry ``model``."""
    with tempfile.TemporaryDirectory() as home:
        server = start_server(Path(home), {"HUASHU_MODEL": mode}, timeout=300)
        try:
            status = model_status(server.url)
            with httpx.Client(base_url=server.url) as http:
                key = make_key(http, server.admin_key, "agent")
            level(server.url, key, texts, 4, warmup, max_seconds)
            rows = []
            for n in levels:
                rows.append({"model": mode, "model_status": status,
                             **level(server.url, key, texts, n, requests, max_seconds)})
                r = rows[-1]
                log(f"model {mode}: {n} clients: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
                    f"{r['rps']:.0f} req/s, {r['failures']} failed")
            return rows
        finally:
            server.stop()


# -- the soak: suggests and uploads, memory sampled --------------------------------------------
SPEAKER_LINE = re.compile(r"^(?:\[[\d:]+\]|\d{4}-\d\d-\d\d [\d:]+)?\s*(?P<who>[^：:]+)[：:]\s*(?P<text>.+)$")


def example_turns() -> list[tuple[str, str]]:
    """(speaker, text) of every turn of the example calls in ``examples/``, the speaker as
    ``坐席`` (agent) or ``客户`` (customer)."""
    found: list[tuple[str, str]] = []
    for path in sorted((REPO / "examples").iterdir()):
        if path.suffix == ".json":
            found += [(row["speaker"], row["text"]) for row in json.loads(path.read_text(encoding="utf-8"))]
        elif path.suffix == ".txt":
            found += [(m["who"], m["text"]) for line in path.read_text(encoding="utf-8").splitlines()
                      if (m := SPEAKER_LINE.match(line.strip()))]
    return [("坐席" if "坐席" in who or "客服" in who else "客户", text.strip()) for who, text in found]


def upload_call(seed: int, chars: int = 3000, turns: list[tuple[str, str]] | None = None) -> bytes:
    """A speaker-text call of at least ``chars`` characters: the example turns, starting at a
    turn that depends on ``seed``, and an opening line naming ``seed`` (other seeds, other bytes)."""
    turns = turns or example_turns()
    lines = [f"坐席：您好，这里是客服中心，本次通话编号{seed}，请问有什么可以帮您？"]
    i = seed
    while sum(len(line) + 1 for line in lines) < chars:
        who, text = turns[i % len(turns)]
        lines.append(f"{who}：{text}")
        i += 1
    return "\n".join(lines).encode("utf-8")


def rss(process: psutil.Process) -> tuple[int, int]:
    """(RSS of the process, RSS of it and all its descendants), bytes."""
    own = process.memory_info().rss
    tree = own
    for child in process.children(recursive=True):
        try:
            tree += child.memory_info().rss
        except psutil.Error:  # a child that just ended
            pass
    return own, tree


def growth_pct(before: float, after: float) -> float:
    """How much ``after`` exceeds ``before``, in % of ``before`` (negative: it shrank)."""
    return 100 * (after - before) / before


def soak(url: str, pid: int, agent: str, supervisor: str, texts: list[str], seconds: float,
         upload_every: float, clients: int = SOAK_CLIENTS, first_seed: int = 1) -> dict:
    """``clients`` threads sending suggests, one uploading a call every ``upload_every`` s (the
    next one at once when an upload took longer), for ``seconds``; RSS sampled every second."""
    process = psutil.Process(pid)
    stop = threading.Event()
    lock = threading.Lock()
    latencies: list[float] = []
    failures = 0
    samples: list[tuple[int, int]] = []
    uploads: dict = {"count": 0, "failures": 0, "statuses": Counter(), "seconds": [], "errors": []}

    def suggester(offset: int) -> None:
        nonlocal failures
        mine, bad, n = [], 0, offset
        with httpx.Client(base_url=url, headers=bearer(agent), timeout=30) as http:
            while not stop.is_set():
                seconds, ok = timed_suggest(http, texts[n % len(texts)])
                mine.append(seconds)
                bad += not ok
                n += clients
        with lock:
            latencies.extend(mine)
            failures += bad

    def uploader() -> None:
        turns = example_turns()
        next_at = time.monotonic()
        with httpx.Client(base_url=url, headers=bearer(supervisor), timeout=300) as http:
            for seed in itertools.count(first_seed):
                t0 = time.perf_counter()
                try:
                    r = http.post("/v1/transcripts", files={"file": (f"soak-{seed}.txt", upload_call(seed, turns=turns))})
                    status = str(r.status_code)
                    if r.status_code != 201 and len(uploads["errors"]) < 3:
                        uploads["errors"].append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                uploads["seconds"].append(time.perf_counter() - t0)
                uploads["count"] += 1
                uploads["failures"] += status != "201"
                uploads["statuses"][status] += 1
                next_at += upload_every
                if stop.wait(max(0.0, next_at - time.monotonic())):
                    return

    def sampler() -> None:
        while not stop.wait(1.0):
            samples.append(rss(process))

    threads = [threading.Thread(target=suggester, args=(i,)) for i in range(clients)]
    threads += [threading.Thread(target=uploader), threading.Thread(target=sampler)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    end = rss(process)
    samples.append(end)
    latencies.sort()
    return {
        "seconds": elapsed, "requests": len(latencies), "failures": failures, "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * percentile(latencies, 0.99),
        "uploads": uploads, "scheduled": math.ceil(seconds / upload_every), "end": end,
        "half": samples[len(samples) // 2], "max": (max(s[0] for s in samples), max(s[1] for s in samples)),
        "samples": len(samples),
    }


def run_soak(texts: list[str], seconds: float, upload_every: float, warmup: int, log=print) -> dict:
    """A fresh server with the model on: RSS after start-up, warm-up (suggests at the soak's
    concurrency and one upload), RSS again, then ``soak``."""
    with tempfile.TemporaryDirectory() as home:
        server = start_server(Path(home), {"HUASHU_MODEL": "on"}, timeout=300)
        try:
            process = psutil.Process(server.process.pid)
            status = model_status(server.url)
            startup = rss(process)
            with httpx.Client(base_url=server.url, timeout=300) as http:
                agent = make_key(http, server.admin_key, "agent")
                supervisor = make_key(http, server.admin_key, "supervisor")
                level(server.url, agent, texts, SOAK_CLIENTS, warmup, 60)  # the soak's batch sizes
                t0 = time.perf_counter()
                first = http.post("/v1/transcripts", files={"file": ("warm-up.txt", upload_call(0))},
                                  headers=bearer(supervisor))
                first_seconds = time.perf_counter() - t0
            warm = rss(process)
            log(f"soak: model {status}; RSS after start-up {startup[0] / MiB:.0f} MiB, after warm-up "
                f"{warm[0] / MiB:.0f} MiB (warm-up upload: {first.status_code} in {first_seconds:.1f} s); "
                f"{seconds:g} s of load")
            result = soak(server.url, server.process.pid, agent, supervisor, texts, seconds, upload_every)
        finally:
            server.stop()
    return {**result, "model_status": status, "startup": startup, "warm": warm,
            "warmup_upload": (first.status_code, first_seconds), "call_chars": len(upload_call(0).decode("utf-8"))}


# -- the results -----------------------------------------------------------------------------
def verdict(key: str, value: float | None) -> str:
    """``target ≤ 15: met`` / ``not met`` / ``no figure``, for one of ``TARGETS``."""
    _, op, target = TARGETS[key]
    shown = f"{SIGNS[op]} {target:,g}"
    if value is None:
        return f"target {shown}: no figure"
    met = {">=": value >= target, "<=": value <= target, "<": value < target}[op]
    return f"target {shown}: {'met' if met else 'not met'}"


def model_cell(row: dict) -> str:
    """``off`` / ``on``, with what /healthz said when the model was not what was asked for."""
    wanted = "loaded" if row["model"] == "on" else "off"
    return row["model"] if row.get("model_status", wanted) == wanted else f"{row['model']} (model {row['model_status']})"


def table(rows: list[dict]) -> str:
    lines = ["| model | clients | requests | failures | p50 (ms) | p99 (ms) | requests/s | issue #13 target |",
             "|---|--------:|---------:|---------:|---------:|---------:|-----------:|---|"]
    for r in rows:
        key = LEVEL_TARGETS.get(r["clients"]) if r["model"] == "on" else None
        target = f"p99 {verdict(key, r['p99_ms'])}" if key else ""
        lines.append(f"| {model_cell(r)} | {r['clients']} | {r['requests']} | {r['failures']} | {r['p50_ms']:.2f} "
                     f"| {r['p99_ms']:.2f} | {r['rps']:.0f} | {target} |")
    return "\n".join(lines)


def soak_table(s: dict) -> str:
    """RSS of the API worker and of its process tree: after start-up, after warm-up, half-way
    through the soak, at its end, the maximum, growth from after warm-up to the end; the targets
    on the worker's row."""
    lines = [("| process | after start-up MiB | after warm-up MiB | half-way MiB | end of soak MiB | max MiB "
              "| growth warm-up → end | issue #13 target |"),
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for i, what in enumerate(("API worker (uvicorn, answers suggest)", "process tree (+ upload analysis worker)")):
        start, warm, half, end, top = (s[k][i] / MiB for k in ("startup", "warm", "half", "end", "max"))
        growth = growth_pct(warm, end)
        target = (f"start-up {verdict('rss_start', start)}; growth {verdict('rss_growth', growth)}" if i == 0 else "")
        lines.append(f"| {what} | {start:,.0f} | {warm:,.0f} | {half:,.0f} | {end:,.0f} | {top:,.0f} | {growth:+.1f} % "
                     f"| {target} |")
    return "\n".join(lines)


def soak_summary(s: dict) -> str:
    up = s["uploads"]
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(up["statuses"].items())) or "none"
    secs = sorted(up["seconds"])
    timing = (f"; upload answered in {statistics.median(secs):.1f} s median, {secs[-1]:.1f} s max" if secs else "")
    lines = [f"Suggests during the soak ({SOAK_CLIENTS} clients, {s['seconds']:.0f} s): {s['requests']:,} requests, "
             f"{s['failures']} failed, p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, {s['rps']:.0f} requests/s.",
             (f"Uploads: {up['count']} of {s['scheduled']} scheduled (one at a time, the next when the last was "
              f"answered; {up['failures']} failed; statuses {statuses}){timing}.")]
    status, seconds = s["warmup_upload"]
    lines.append(f"The warm-up's upload, with no other load: {status} in {seconds:.1f} s.")
    lines += [f"Upload error: `{e}`" for e in up["errors"]]
    return "\n".join(lines)


def machine() -> str:
    if str(BENCH) not in sys.path:  # imported from elsewhere (the tests)
        sys.path.insert(0, str(BENCH))
    from host import cpu_name, versions

    names = ("onnxruntime", "tokenizers", "fastapi", "uvicorn", "httpx")
    return (f"{cpu_name()}, {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {', '.join(versions(names))}")


def load_line(start: tuple[float, ...], end: tuple[float, ...]) -> str:
    return (f"Load average (1/5/15 min) at the start {start[0]:.2f}/{start[1]:.2f}/{start[2]:.2f}, "
            f"at the end {end[0]:.2f}/{end[1]:.2f}/{end[2]:.2f} ({os.cpu_count()} CPUs).")


def render(ctx: dict, rows: list[dict], soaked: dict | None) -> str:
    lines = [
        "# API load: POST /v1/suggest, the model off and on; memory under load with uploads", "",
        f"- Machine: {ctx['machine']}",
        f"- Date: {ctx['date']} UTC, {ctx['minutes']:.1f} min",
        f"- Command: `{ctx['command']}`",
        f"- {load_line(ctx['load_start'], ctx['load_end'])}",
        ("- Server: `huashu serve` (1 uvicorn worker, SQLite, key checked on every request), loopback, one "
         f"fresh server per model mode (`HUASHU_MODEL=off`: the lexicon alone, the live path's default; `on`: "
         "every suggest through the lexicon and the ONNX tagger, concurrent checks micro-batched); client: one "
         "thread and one httpx keep-alive connection per client, on the same machine; "
         f"{ctx['warmup']} warm-up requests first. Inference threads: the server's default (HUASHU_* settings are not passed on)."),
        f"- Utterances: dev-set sentences mixed with neutral service lines ({ctx['texts']} distinct).",
        "", "## Suggest latency", "", table(rows) if rows else "Not run (`--models` empty).", "",
        "One worker process saturates its CPU long before 32 clients; past that point the added latency is",
        "queueing (clients / throughput). For more cores run more workers over PostgreSQL",
        "(`huashu serve --workers N`). Each request: key lookup (SQLite), match (and the model), rewrites, JSON.",
    ]
    if soaked is not None:
        lines += [
            "", f"## Memory under load with uploads, model on ({soaked['seconds']:.0f} s)", "",
            (f"A fresh server with `HUASHU_MODEL=on` (model {soaked['model_status']}). RSS (psutil) after start-up "
             f"(before any request), after the warm-up ({ctx['warmup']} suggests at {SOAK_CLIENTS} clients and one upload), then "
             f"{SOAK_CLIENTS} client threads sending suggests without pause and one thread uploading a call every "
             f"{ctx['upload_every']:g} s (`POST /v1/transcripts`, a supervisor key; {soaked['call_chars']:,} "
             "characters from the turns of `examples/`, different bytes each time), sampled every second "
             f"({soaked['samples']} samples); growth from after the warm-up to the end of the soak."),
            "", soak_table(soaked), "", soak_summary(soaked),
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="off,on", help="HUASHU_MODEL per server, comma-separated (off, on)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per level")
    parser.add_argument("--levels", default="1,8", help="concurrent clients per level")
    parser.add_argument("--max-seconds", type=float, default=60, help="time limit per level")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--soak-seconds", type=float, default=300, help="the soak with uploads, model on (0: none)")
    parser.add_argument("--upload-every", type=float, default=5, help="seconds between the soak's uploads")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    if unknown := set(models) - set(MODES):
        parser.error(f"unknown models: {', '.join(sorted(unknown))} (off, on)")
    levels = [int(x) for x in args.levels.split(",") if x]
    texts = utterances()
    started, t0, load_start = datetime.now(UTC), time.perf_counter(), os.getloadavg()

    rows: list[dict] = []
    try:
        for mode in models:
            rows += run_mode(mode, texts, levels, args.requests, args.warmup, args.max_seconds)
        soaked = run_soak(texts, args.soak_seconds, args.upload_every, args.warmup) if args.soak_seconds > 0 else None
    except ServerError as exc:
        sys.exit(str(exc))

    given = sys.argv[1:] if argv is None else argv
    ctx = {"machine": machine(), "date": f"{started:%Y-%m-%d %H:%M}", "minutes": (time.perf_counter() - t0) / 60,
           "command": " ".join(["python bench/api_load.py", *given]), "load_start": load_start,
           "load_end": os.getloadavg(), "warmup": args.warmup, "texts": len(texts),
           "upload_every": args.upload_every}
    text = render(ctx, rows, soaked)
    args.out.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"written: {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
