"""Issue 16, findings 6, 8 (idempotency) and 9: uploads as bounded jobs, paginated turns, and the
server's memory.

Each test starts its own server (real ``huashu serve``, SQLite) with the budgets it needs:
- the work budget: turns and characters over the limits are a 413, analysis over its seconds a
  422; in every case nothing is stored and the worker's CPU is freed (its process is gone);
- a client that leaves stops its job: nothing is stored, the worker is replaced;
- ``GET /v1/transcripts/{id}`` pages turns (``turn_offset``/``turn_limit``, ``turn_page.total``);
- ``Idempotency-Key``: a retry is answered from storage (200, nothing new), another upload under
  the same key is a 409, concurrent twins store one call;
- the server process's RSS after large uploads and reads stays near where it was.
"""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest
from api_support import EXAMPLE, bearer, row_counts, serve, upload
from sqlalchemy import Engine

from api.db import create_db_engine

MIB = 1024 * 1024
LINES = [line.split("] ", 1)[1] for line in EXAMPLE.decode("utf-8").splitlines()]


def call_of(turns: int, pad: str = "") -> bytes:
    """A call of ``turns`` distinct turns (the example call's lines, numbered)."""
    return "\n".join(f"{LINES[i % len(LINES)]}{pad}（{i}）" for i in range(turns)).encode("utf-8")


def worker_pid(server) -> int | None:
    """The analysis worker: the server's child that runs at nice +10."""
    children = psutil.Process(server.process.pid).children()
    return next((c.pid for c in children if c.nice() > 0), None)


@pytest.fixture
def started(tmp_path) -> Iterator:
    """``started(env)``: a server with extra settings, stopped after the test."""
    running = []

    def start(env: dict[str, str] | None = None):
        home = tmp_path / f"s{len(running)}"
        home.mkdir()
        context = serve(home, env)
        server = context.__enter__()
        running.append(context)
        server.db = create_db_engine(server.database_url)
        _, server.supervisor = server.new_key("supervisor")
        _, server.supervisor2 = server.new_key("supervisor")
        return server

    yield start
    for context in running:
        context.__exit__(None, None, None)


def _counts(db: Engine) -> dict[str, int]:
    return row_counts(db)


def test_turns_and_characters_over_the_budget_are_413_and_nothing_is_stored(started):
    server = started({"HUASHU_MAX_UPLOAD_TURNS": "100", "HUASHU_MAX_UPLOAD_CHARS": "3000"})
    before = _counts(server.db)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        r = upload(http, server.supervisor, call_of(101), name="long.txt")
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_turns", r.text[:300]
        assert "101" in r.json()["error"]["message"] and "100" in r.json()["error"]["message"]
        r = upload(http, server.supervisor, call_of(40, pad="这是一句用来凑字数的话" * 10), name="wide.txt")
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_characters", r.text[:300]
        assert _counts(server.db) == before
        r = upload(http, server.supervisor, call_of(100), name="ok.txt")
        assert r.status_code == 201, r.text[:300]


def test_analysis_over_its_seconds_is_stopped_and_nothing_is_stored(started):
    server = started({"HUASHU_ANALYSIS_SECONDS": "0.5"})
    first = worker_pid(server)
    before = _counts(server.db)
    big = call_of(4000, pad="你必须先把身份证复印件传过来，这不是我的事，你搞错了")
    with httpx.Client(base_url=server.url, timeout=120) as http:
        t0 = time.monotonic()
        r = upload(http, server.supervisor, big, name="slow.txt")
        elapsed = time.monotonic() - t0
        assert r.status_code == 422 and r.json()["error"]["code"] == "analysis_too_long", r.text[:300]
        assert "slow.txt" in r.json()["error"]["message"]
        assert elapsed < 10, f"answered after {elapsed:.1f} s"
        assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
        assert _counts(server.db) == before
        r = upload(http, server.supervisor, name="small.txt")  # a new worker takes the next job
        assert r.status_code == 201, r.text[:300]
    assert worker_pid(server) not in (None, first)


def _leave_during_upload(server, data: bytes, after_s: float) -> None:
    """Send a whole upload, then close the connection before the answer comes."""
    boundary = "xYzBoundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"gone.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    head = (f"POST /v1/transcripts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.supervisor}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head + body)
        time.sleep(after_s)


def test_a_client_that_leaves_stops_its_job_and_nothing_is_stored(started):
    server = started()
    first = worker_pid(server)
    before = _counts(server.db)
    big = call_of(4000, pad="你必须先把身份证复印件传过来，这不是我的事，你搞错了")
    _leave_during_upload(server, big, after_s=1.0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and psutil.pid_exists(first) and worker_pid(server) == first:
        time.sleep(0.1)
    assert worker_pid(server) != first, "the job went on after its client left"
    time.sleep(1.0)
    assert _counts(server.db) == before
    with httpx.Client(base_url=server.url, timeout=60) as http:
        assert upload(http, server.supervisor, name="next.txt").status_code == 201


def test_turns_come_a_page_at_a_time(started):
    server = started()
    with httpx.Client(base_url=server.url, timeout=120, headers=bearer(server.supervisor)) as http:
        r = http.post("/v1/transcripts", files={"file": ("paged.txt", call_of(1200))})
        assert r.status_code == 201, r.text[:300]
        created = r.json()
        assert len(created["turns"]) == 500 and created["turn_page"] == {"offset": 0, "limit": 500, "total": 1200}
        call_id = created["id"]
        got = http.get(f"/v1/transcripts/{call_id}").json()
        assert got["turns"] == created["turns"] and got["turn_page"]["total"] == 1200
        page = http.get(f"/v1/transcripts/{call_id}", params={"turn_offset": 1000, "turn_limit": 500}).json()
        assert [t["index"] for t in page["turns"]] == list(range(1000, 1200))
        assert page["turn_page"] == {"offset": 1000, "limit": 500, "total": 1200}
        whole = http.get(f"/v1/transcripts/{call_id}", params={"turn_limit": 2000}).json()
        assert len(whole["turns"]) == 1200
        assert http.get(f"/v1/transcripts/{call_id}", params={"turn_offset": 5000}).json()["turns"] == []
        for bad in ({"turn_limit": 2001}, {"turn_limit": 0}, {"turn_offset": -1}):
            r = http.get(f"/v1/transcripts/{call_id}", params=bad)
            assert r.status_code == 422 and set(r.json()) == {"error"}, r.text[:200]


def test_an_idempotency_key_stores_an_upload_once(started):
    server = started()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        def send(key: str, data: bytes = EXAMPLE, who: str = server.supervisor, **form):
            return http.post("/v1/transcripts", files={"file": ("call.txt", data)}, data=form,
                             headers={**bearer(who), "Idempotency-Key": key})

        first = send("retry-1")
        assert first.status_code == 201, first.text[:300]
        counts = _counts(server.db)
        again = send("retry-1")
        assert again.status_code == 200 and again.json() == first.json()
        assert _counts(server.db) == counts
        other = send("retry-1", EXAMPLE + "\n客户：还有一件事".encode())
        assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
        assert send("retry-1", team="A组").status_code == 409  # the form is part of the upload
        assert _counts(server.db) == counts
        # keys are per uploader (other bytes: the same file again would be a duplicate, stored once)
        elsewhere = send("retry-1", b"# elsewhere\n" + EXAMPLE, who=server.supervisor2)
        assert elsewhere.status_code == 201 and elsewhere.json()["id"] != first.json()["id"]
        for bad in ("", "x" * 201):  # (control characters in a header never get past the HTTP parser: 400)
            r = http.post("/v1/transcripts", files={"file": ("call.txt", EXAMPLE)},
                          headers={**bearer(server.supervisor), "Idempotency-Key": bad})
            assert r.status_code == 422, (bad, r.status_code, r.text[:200])


def test_concurrent_twins_with_one_idempotency_key_store_one_call(started):
    server = started()
    counts = _counts(server.db)
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(4)

    def twin() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            barrier.wait()
            answers.append(http.post("/v1/transcripts", files={"file": ("call.txt", EXAMPLE)},
                                     headers={**bearer(server.supervisor), "Idempotency-Key": "twins"}))

    threads = [threading.Thread(target=twin) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201], [r.text[:200] for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    assert _counts(server.db)["transcripts"] == counts["transcripts"] + 1


def test_server_memory_goes_back_after_large_uploads_and_reads(started):
    """Finding 9: RSS rose 1.0 -> 2.26 GiB and stayed. Uploads are analysed in the worker process
    and pages are read a page at a time; after 6 uploads of 4,000 turns, each read whole in pages
    of 2,000, the server's RSS is within 60 MiB of where it was after one warm-up round."""
    server = started()
    big = call_of(4000, pad="您好，请问还有什么可以帮您")
    pid = server.process.pid

    rounds = iter(range(100))

    def round_trip(http: httpx.Client) -> None:
        # each round other bytes (a line before the first speaker): the same file again is a duplicate
        data = f"# round {next(rounds)}\n".encode() + big
        r = http.post("/v1/transcripts", files={"file": ("big.txt", data)})
        assert r.status_code == 201, r.text[:300]
        for offset in (0, 2000):
            page = http.get(f"/v1/transcripts/{r.json()['id']}", params={"turn_offset": offset, "turn_limit": 2000})
            assert page.status_code == 200 and len(page.json()["turns"]) == 2000

    with httpx.Client(base_url=server.url, timeout=300, headers=bearer(server.supervisor)) as http:
        round_trip(http)
        time.sleep(0.5)
        before = psutil.Process(pid).memory_info().rss
        for _ in range(6):
            round_trip(http)
        time.sleep(0.5)
        after = psutil.Process(pid).memory_info().rss
    growth = (after - before) / MIB
    print(f"\nserver RSS {before / MIB:.0f} MiB after one round, {after / MIB:.0f} MiB after six more ({growth:+.0f} MiB)")
    assert growth < 60, f"server RSS grew {growth:.0f} MiB"

