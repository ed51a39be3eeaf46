"""A held request rate on ``POST /v1/suggest`` over loopback: zero errors, no memory growth.

Open loop: request i is due at ``start + i / RATE`` whatever happened to the others; a few
client threads (one keep-alive connection each) take the next due request, wait for its time and
send it. The test states its rate and duration and checks that the rate was held (requests
completed / elapsed >= 95% of the target, no request started more than LATE_S after it was
due), that every answer was a 200 with the expected shape, and the latency bound.

Memory: the server's RSS (measured from outside) after a warm-up, and again after the run. The
utterances are all distinct (a dev-set sentence with a running number), so a cache that grows
per distinct text would show. Growth beyond RSS_GROWTH_MIB fails.

CI: 100 req/s for 10 s. ``HUASHU_LOAD_LONG=1``: 100 req/s for 5 minutes.
"""
from __future__ import annotations

import itertools
import json
import random
import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from robustness_support import LOAD_LONG, REPO, bearer, make_server, rss_bytes

RATE = 100  # requests per second
SECONDS = 300 if LOAD_LONG else 10
CLIENTS = 8
WARMUP = 1500  # requests before the first RSS reading (allocator pools, jieba's caches, ...)
LATE_S = 1.0  # a request may start at most this long after it was due (a stall, not a backlog)
P99_BOUND_S = 0.5
RSS_GROWTH_MIB = 10 if not LOAD_LONG else 20
MIB = 1024 * 1024


def utterances() -> Iterator[str]:
    """Endless distinct utterances: dev-set sentences (a third with triggers), numbered."""
    dev = [json.loads(line)["text"] for line in (REPO / "corpora/dev/dev.jsonl").open(encoding="utf-8")]
    for i in itertools.count():
        yield f"{dev[i % len(dev)]}（第{i}条）"


@pytest.fixture(scope="module")
def load_server(tmp_path_factory):
    server = make_server(tmp_path_factory.mktemp("load")).start()
    try:
        yield server
    finally:
        server.stop()


def held_rate(url: str, key: str, texts: Iterator[str], rate: float, seconds: float) -> dict:
    total = int(rate * seconds)
    schedule = itertools.count()
    lock = threading.Lock()
    latencies, lateness, errors = [], [], []
    ready = threading.Barrier(CLIENTS + 1)
    start_at: list[float] = []

    def client() -> None:
        mine_lat, mine_late, mine_err = [], [], []
        with httpx.Client(base_url=url, headers=bearer(key), timeout=10) as http:
            http.get("/healthz")  # connect before the clock starts
            ready.wait()
            while True:
                with lock:
                    i = next(schedule)
                    text = next(texts)
                if i >= total:
                    break
                due = start_at[0] + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                t0 = time.perf_counter()
                mine_late.append(t0 - due)
                try:
                    r = http.post("/v1/suggest", json={"text": text})
                    ok = r.status_code == 200 and isinstance(r.json().get("flags"), list)
                    if not ok:
                        mine_err.append(f"{r.status_code}: {r.text[:200]}")
                except httpx.HTTPError as exc:
                    mine_err.append(repr(exc))
                mine_lat.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine_lat)
            lateness.extend(mine_late)
            errors.extend(mine_err)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    start_at.append(time.perf_counter() + 0.05)
    ready.wait()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - start_at[0]
    latencies.sort()
    return {
        "requests": len(latencies), "errors": errors, "elapsed": elapsed, "achieved": len(latencies) / elapsed,
        "p50": statistics.median(latencies), "p99": latencies[int(0.99 * (len(latencies) - 1))],
        "max_late": max(lateness),
    }


def test_held_rate_on_suggest_without_errors_or_memory_growth(load_server):
    _, key = load_server.new_key("agent")
    texts = utterances()
    pid = load_server.process.pid
    warm = held_rate(load_server.url, key, texts, rate=500, seconds=WARMUP / 500)  # as fast as it goes
    assert not warm["errors"], warm["errors"][:3]
    before = rss_bytes(pid)
    run = held_rate(load_server.url, key, texts, rate=RATE, seconds=SECONDS)
    time.sleep(0.2)
    after = rss_bytes(pid)
    growth = (after - before) / MIB
    print(f"\n{run['requests']} requests in {run['elapsed']:.1f} s = {run['achieved']:.1f} req/s (target {RATE}); "
          f"p50 {1000 * run['p50']:.1f} ms, p99 {1000 * run['p99']:.1f} ms, latest start {1000 * run['max_late']:.0f} ms "
          f"after due; server RSS {before / MIB:.1f} MiB after warm-up, {after / MIB:.1f} MiB after ({growth:+.1f} MiB)")
    assert not run["errors"], run["errors"][:3]
    assert run["requests"] == RATE * SECONDS
    assert run["achieved"] >= 0.95 * RATE, f"held {run['achieved']:.1f} req/s, target {RATE}"
    assert run["max_late"] < LATE_S, f"a request started {run['max_late']:.2f} s late"
    assert run["p99"] < P99_BOUND_S, f"p99 {1000 * run['p99']:.0f} ms (bound {1000 * P99_BOUND_S:.0f} ms)"
    assert growth < RSS_GROWTH_MIB, f"server RSS grew {growth:.1f} MiB (bound {RSS_GROWTH_MIB} MiB)"


def _packed_with_examples(engine, seed: int) -> str:
    """2,000 characters of lexicon example sentences back to back, in a seeded random order."""
    rng = random.Random(seed)
    examples = [x.text for entry in engine.lexicon.entries for x in entry.examples]
    text = ""
    while len(text) < 2000:
        text += rng.choice(examples)
    return text[:2000]


@pytest.mark.parametrize("kind", ["你必须", "我不知道", "你搞错了", "examples-1", "examples-2"])
def test_worst_case_utterance_is_bounded(engine, kind):
    """The longest utterance /v1/suggest accepts (2,000 characters), packed with triggers: one
    repeated, or the lexicon's examples mixed. Every flag's rewrite is re-checked in a window,
    identical windows once and at most a budget of windows per utterance, so the CPU cost stays
    bounded (before that bound: 1.0-1.3 s for the repeated triggers)."""
    if kind.startswith("examples"):
        text = _packed_with_examples(engine, int(kind[-1]))
    else:
        text = (kind * 2000)[:2000]
    t0 = time.process_time()
    flags = engine.check(text)
    cpu = time.process_time() - t0
    print(f"\n{len(flags)} flags in {1000 * cpu:.0f} ms of CPU")
    assert len(flags) >= 30
    assert cpu < 0.4
