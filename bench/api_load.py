"""Load on the live HTTP path: ``POST /v1/suggest`` through the real server, over loopback.

Starts ``huashu serve`` (one uvicorn worker, a temporary SQLite file) on a free 127.0.0.1 port,
makes an agent key, warms up, then sends a fixed number of requests at 1, 8 and 32 concurrent
clients (threads, each with its own httpx client and keep-alive connection; httpx's async pool
was itself the bottleneck at 32 clients). Each level stops at its request count or its
time limit, whichever comes first. Prints p50/p99 latency and requests/s per level, and writes
bench/API_RESULTS.md.

    python bench/api_load.py [--requests 2000] [--levels 1,8,32] [--max-seconds 60]

The client runs on the same machine as the server and shares its CPUs.
"""
from __future__ import annotations

import argparse
import itertools
import json
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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "API_RESULTS.md"
FILLERS = ["您好，请问有什么可以帮您？", "好的，我这边帮您查询一下。", "请您稍候。", "感谢您的耐心等待。"]


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
                t0 = time.perf_counter()
                try:
                    ok = http.post("/v1/suggest", json={"text": texts[n % len(texts)]}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                mine.append(time.perf_counter() - t0)
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
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "rps": len(latencies) / elapsed,
    }


def table(rows: list[dict]) -> str:
    lines = ["| clients | requests | failures | p50 (ms) | p99 (ms) | requests/s |",
             "|--------:|---------:|---------:|---------:|---------:|-----------:|"]
    lines += [f"| {r['clients']} | {r['requests']} | {r['failures']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
              f"| {r['rps']:.0f} |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        info = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per level")
    parser.add_argument("--levels", default="1,8,32", help="concurrent clients per level")
    parser.add_argument("--max-seconds", type=float, default=60, help="time limit per level")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    texts = utterances()

    with tempfile.TemporaryDirectory() as home:
        try:
            server = start_server(Path(home))
        except ServerError as exc:
            sys.exit(str(exc))
        try:
            with httpx.Client(base_url=server.url) as http:
                key = make_key(http, server.admin_key, "agent")
            level(server.url, key, texts, 4, args.warmup, args.max_seconds)
            rows = [level(server.url, key, texts, n, args.requests, args.max_seconds) for n in levels]
        finally:
            server.stop()

    command = "python bench/api_load.py " + " ".join(sys.argv[1:])
    result = table(rows)
    print(result)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    args.out.write_text(
        "# API load: POST /v1/suggest\n\n"
        f"- Machine: {machine()}\n- Date: {when}\n- Command: `{command.strip()}`\n"
        f"- Server: `huashu serve` (1 uvicorn worker, SQLite, key checked on every request), loopback; "
        f"client: one thread and one httpx keep-alive connection per client, on the same machine; "
        f"{args.warmup} warm-up requests first.\n"
        f"- Utterances: dev-set sentences mixed with neutral service lines ({len(texts)} distinct).\n\n"
        f"{result}\n\n"
        "One worker process saturates its CPU long before 32 clients; past that point the added latency is\n"
        "queueing (clients / throughput). For more cores run more workers over PostgreSQL\n"
        "(`huashu serve --workers N`). Each request: key lookup (SQLite), match, rewrites, JSON.\n",
        encoding="utf-8",
    )
    print(f"\nwritten: {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")


if __name__ == "__main__":
    main()
