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
import multiprocessing
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


# -- the held rate while hostile uploads are analysed (issue 16, finding 6) -----------------------
HOSTILE_SECONDS = 300 if LOAD_LONG else 5
HOSTILE_P99_BOUND_S = 0.05 if LOAD_LONG else 0.1  # long: the 50 ms; CI: a hostile upload may not push it past 100 ms
HOSTILE_RSS_GROWTH = 0.05  # the server's RSS may grow less than 5% over the run
HOSTILE_UPLOADERS = 2


def hostile_call(seed: int) -> bytes:
    """The attack of finding 6: a ~60 KB call of long lines packed with triggers (each line costs
    the engine far more than a normal turn), distinct per upload."""
    rng = random.Random(seed)
    triggers = ["你必须", "我不知道", "你搞错了", "这不是我的事", "随便你", "不可能"]
    lines = []
    for i in range(16):
        body = "".join(rng.choice(triggers) + "，" for _ in range(300))[:1990]
        lines.append(f"{'坐席' if i % 2 == 0 else '客户'}：{body}{seed}")
    return "\n".join(lines).encode("utf-8")


def hostile_uploader(url: str, key: str, n: int, stop, results) -> None:
    """One client uploading hostile calls back to back until ``stop``; every other one leaves
    after 0.5 s. Puts the list of outcomes (status codes, "left") on ``results``."""
    bodies = [hostile_call(seed) for seed in range(n, 40, HOSTILE_UPLOADERS)]
    outcomes: list[int | str] = []
    with httpx.Client(base_url=url, headers=bearer(key), timeout=60) as http:
        http.get("/healthz")
        results.put("ready")
        for i in itertools.count():
            if stop.is_set():
                break
            try:
                r = http.post("/v1/transcripts", files={"file": (f"hostile-{n}-{i}.txt", bodies[i % len(bodies)])},
                              timeout=0.5 if i % 2 else 60)
                outcomes.append(r.status_code)
            except httpx.TimeoutException:
                outcomes.append("left")
    results.put(outcomes)


def test_held_rate_on_suggest_while_hostile_uploads_are_analysed(tmp_path):
    """Suggest at RATE/s for HOSTILE_SECONDS while HOSTILE_UPLOADERS clients upload hostile calls
    back to back (and half of them leave before the answer): every suggest answered, p99 within
    HOSTILE_P99_BOUND_S, the server's RSS within 5%. The analysis runs in the niced worker process,
    never in the server's threads; an upload over its budget is refused, never stored.

    The same rate without uploads is measured first (``quiet``). On a machine busy with other
    work, where even the quiet p99 passes the bound, the hostile p99 may be at most 1.5 times the
    quiet one instead (the uploads must not be what makes it slow); the long run always holds the
    absolute bound, and the rate must be held as well as it was without uploads."""
    server = make_server(tmp_path, {"HUASHU_ANALYSIS_SECONDS": "20"}).start()
    stop = multiprocessing.get_context("spawn").Event()
    outcomes: list[int | str] = []
    try:
        _, agent = server.new_key("agent")
        _, supervisor = server.new_key("supervisor")
        texts = utterances()
        warm = held_rate(server.url, agent, texts, rate=500, seconds=WARMUP / 500)
        assert not warm["errors"], warm["errors"][:3]
        quiet = held_rate(server.url, agent, texts, rate=RATE, seconds=min(HOSTILE_SECONDS, 10))

        # The uploaders run in processes of their own: reading their ~10 MB answers must not take
        # the GIL from this process's suggest clients (their latency is what is measured).
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        uploaders = [ctx.Process(target=hostile_uploader, args=(server.url, supervisor, n, stop, results), daemon=True)
                     for n in range(HOSTILE_UPLOADERS)]
        for p in uploaders:
            p.start()
        for _ in uploaders:
            assert results.get(timeout=120) == "ready"
        time.sleep(1.0)  # the worker is busy before the clock starts
        before = rss_bytes(server.process.pid)
        run = held_rate(server.url, agent, texts, rate=RATE, seconds=HOSTILE_SECONDS)
        after = rss_bytes(server.process.pid)
        stop.set()
        for p in uploaders:
            outcomes.extend(results.get(timeout=120))
            p.join(timeout=30)
    finally:
        stop.set()
        server.stop()
    growth = (after - before) / before
    print(f"\nwithout uploads: {quiet['achieved']:.1f} req/s, p50 {1000 * quiet['p50']:.1f} ms, "
          f"p99 {1000 * quiet['p99']:.1f} ms\n"
          f"{run['requests']} suggests in {run['elapsed']:.1f} s = {run['achieved']:.1f} req/s with hostile uploads "
          f"({len(outcomes)} uploads: {sorted(set(map(str, outcomes)))}); p50 {1000 * run['p50']:.1f} ms, "
          f"p99 {1000 * run['p99']:.1f} ms; server RSS {before / MIB:.0f} -> {after / MIB:.0f} MiB ({100 * growth:+.1f}%)")
    assert not run["errors"], run["errors"][:3]
    assert run["achieved"] >= min(0.95 * RATE, 0.9 * quiet["achieved"]), f"held {run['achieved']:.1f} req/s, target {RATE}"
    assert len(outcomes) >= 2, "the uploads did not overlap the run"
    assert all(o in (201, 413, 422, "left") for o in outcomes), outcomes
    bound = HOSTILE_P99_BOUND_S
    if not LOAD_LONG and quiet["p99"] > bound:  # a busy machine: the uploads may not make it worse
        bound = 1.5 * quiet["p99"]
    assert run["p99"] <= bound, f"p99 {1000 * run['p99']:.0f} ms (bound {1000 * bound:.0f} ms)"
    assert growth < HOSTILE_RSS_GROWTH, f"server RSS grew {100 * growth:.1f}%"
