"""The live path keeps answering while a large batch of uploads is being analysed.

Four clients upload big transcripts (201 turns each) back to back while one agent client sends
``POST /v1/suggest`` requests one after another. Every suggest must succeed (200, the same flags
as when the server is idle) within a bounded time: uploads are analysed in worker threads, the
live path must not queue behind them.
"""
from __future__ import annotations

import statistics
import threading
import time

import httpx
from robustness_support import EXAMPLE, LOAD_LONG, bearer, make_server

UPLOADERS = 4
UPLOADS = 48 if LOAD_LONG else 16  # transcripts of 201 turns, shared by the uploaders
SUGGEST_TIMEOUT_S = 5.0  # no single suggest may take longer (a hard failure)
P95_BOUND_S = 0.5  # the 95th percentile while the uploads run
EXAMPLE_LINES = [line.split("] ", 1)[1] for line in EXAMPLE.decode("utf-8").splitlines()]
UTTERANCES = ["你必须先把身份证复印件传过来。", "您好，请问有什么可以帮您？", "你搞错了，这个套餐不含宽带。",
              "这不是我的事，您去找物流公司。", "好的，我这边帮您查询一下。"]


def test_suggest_answers_while_uploads_are_analysed(tmp_path):
    server = make_server(tmp_path).start()
    try:
        _, supervisor = server.new_key("supervisor")
        _, agent = server.new_key("agent")
        with httpx.Client(base_url=server.url, headers=bearer(agent), timeout=SUGGEST_TIMEOUT_S) as http:
            expected = {t: http.post("/v1/suggest", json={"text": t}).json() for t in UTTERANCES}
        big = "\n".join(["坐席：您好，这是一通很长的测试电话。"] + EXAMPLE_LINES * 20).encode("utf-8")

        todo = iter(range(UPLOADS))
        lock = threading.Lock()
        uploaded, upload_errors = [], []

        def uploader() -> None:
            with httpx.Client(base_url=server.url, headers=bearer(supervisor), timeout=120) as up:
                while True:
                    with lock:
                        n = next(todo, None)
                    if n is None:
                        return
                    data = big + f"\n坐席：这是第{n}通。".encode()  # distinct bytes: a repeated file is stored once
                    r = up.post("/v1/transcripts", files={"file": (f"big-{n}.txt", data)})
                    with lock:
                        (uploaded if r.status_code == 201 else upload_errors).append(r.status_code)

        threads = [threading.Thread(target=uploader, daemon=True) for _ in range(UPLOADERS)]
        started = time.monotonic()
        for t in threads:
            t.start()
        latencies, wrong = [], []
        with httpx.Client(base_url=server.url, headers=bearer(agent), timeout=SUGGEST_TIMEOUT_S) as http:
            i = 0
            while any(t.is_alive() for t in threads):
                text = UTTERANCES[i % len(UTTERANCES)]
                t0 = time.perf_counter()
                r = http.post("/v1/suggest", json={"text": text})  # a timeout raises: the test fails
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200 or r.json() != expected[text]:
                    wrong.append((r.status_code, r.text[:200]))
                i += 1
                time.sleep(0.01)
        elapsed = time.monotonic() - started
        for t in threads:
            t.join()
    finally:
        server.stop()

    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"\n{len(uploaded)} uploads of 201 turns in {elapsed:.1f} s; {len(latencies)} suggests meanwhile: "
          f"p50 {1000 * statistics.median(latencies):.1f} ms, p95 {1000 * p95:.1f} ms, max {1000 * latencies[-1]:.1f} ms")
    assert not upload_errors, upload_errors
    assert len(uploaded) == UPLOADS
    assert not wrong, wrong[:3]
    assert len(latencies) >= 20, "too few suggests overlapped the uploads to say anything"
    assert p95 < P95_BOUND_S, f"suggest p95 {1000 * p95:.0f} ms while uploads run (bound {1000 * P95_BOUND_S:.0f} ms)"
