"""A worker killed (SIGKILL) in the middle of a stream of uploads loses nothing it acknowledged
and leaves nothing half-stored.

Three clients upload transcripts of different sizes (11 to 201 turns) back to back; once some
uploads have been acknowledged, the server is killed while others are in flight, restarted on
the same SQLite database, and the cycle runs again. Then:
- every upload that got a 201 is there: GET returns it with every turn and every flag, exactly
  as the 201 said;
- counting rows in the database directly, every transcript has all its turns (indices 0..n-1,
  n = the agent and customer turns its stored summary counts) and all its flags.
"""
from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
from robustness_support import EXAMPLE, bearer, make_server
from sqlalchemy import text

from api.db import create_db_engine

CLIENTS = 3
CYCLES = 2
ACKED_BEFORE_KILL = 5  # per cycle: kill once this many more uploads were acknowledged
EXAMPLE_LINES = [line.split("] ", 1)[1] for line in EXAMPLE.decode("utf-8").splitlines()]


def transcript(n: int, repeats: int) -> bytes:
    # distinct bytes per upload (the same file uploaded twice is stored once), also across restarts
    lines = [f"坐席：您好，这是第{n}通测试电话，编号{uuid.uuid4().hex[:8]}。"] + EXAMPLE_LINES * repeats
    return "\n".join(lines).encode("utf-8")


@dataclass
class Stream:
    url: str
    key: str
    acked: dict[str, dict] = field(default_factory=dict)  # id -> the 201 body
    in_flight: int = 0
    sent: int = 0
    failed: int = 0  # transport errors: the server went away mid-request
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=self.url, headers=bearer(self.key), timeout=60) as http:
            while not self.stop.is_set():
                with self.lock:
                    self.sent += 1
                    n = self.sent
                    self.in_flight += 1
                data = transcript(n, rng.choice([1, 3, 10, 20]))
                try:
                    r = http.post("/v1/transcripts", files={"file": (f"call-{n}.txt", data)})
                except httpx.TransportError:
                    with self.lock:
                        self.in_flight -= 1
                        self.failed += 1
                    time.sleep(0.05)
                    continue
                with self.lock:
                    self.in_flight -= 1
                    assert r.status_code == 201, r.text
                    self.acked[r.json()["id"]] = r.json()


def test_kill_during_uploads_loses_nothing_acknowledged(tmp_path):
    server = make_server(tmp_path).start()
    try:
        _, key = server.new_key("supervisor")
        in_flight_at_kill = []
        for _ in range(CYCLES):
            stream = Stream(server.url, key)
            threads = [threading.Thread(target=stream.client, args=(i,), daemon=True) for i in range(CLIENTS)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 60
            while len(stream.acked) < ACKED_BEFORE_KILL and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(stream.acked) >= ACKED_BEFORE_KILL, "uploads too slow to reach the kill point"
            time.sleep(random.uniform(0, 0.2))
            with stream.lock:
                in_flight_at_kill.append(stream.in_flight)
            server.kill()
            time.sleep(0.2)
            stream.stop.set()
            for t in threads:
                t.join(timeout=60)
            t0 = time.monotonic()
            server.start()  # same port, same database
            print(f"cycle: {len(stream.acked)} acknowledged, {stream.failed} cut off, "
                  f"{in_flight_at_kill[-1]} in flight at the kill; restart {time.monotonic() - t0:.1f} s")
            check_acknowledged(server, stream.acked)
        assert max(in_flight_at_kill) > 0, "the server was never killed with an upload in flight"
        check_no_partial_transcripts(server.database_url)
    finally:
        server.stop()


def check_acknowledged(server, acked: dict[str, dict]) -> None:
    with httpx.Client(base_url=server.url, headers=bearer(server.admin_key), timeout=60) as http:
        for transcript_id, body in acked.items():
            r = http.get(f"/v1/transcripts/{transcript_id}")
            assert r.status_code == 200, f"acknowledged upload {transcript_id} lost: {r.status_code}"
            got = r.json()
            assert got["turns"] == body["turns"], f"turns or flags of {transcript_id} differ"
            assert got["summary"] == body["summary"]


def check_no_partial_transcripts(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as db:
            assert db.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            rows = db.execute(text(
                "SELECT t.id, t.summary, COUNT(u.id), MIN(u.\"index\"), MAX(u.\"index\"),"
                " (SELECT COUNT(*) FROM flags f JOIN turns v ON f.turn_id = v.id WHERE v.transcript_id = t.id)"
                " FROM transcripts t LEFT JOIN turns u ON u.transcript_id = t.id GROUP BY t.id"
            )).all()
            orphans = db.execute(text(
                "SELECT COUNT(*) FROM turns u LEFT JOIN transcripts t ON u.transcript_id = t.id WHERE t.id IS NULL"
            )).scalar()
    finally:
        engine.dispose()
    assert rows, "no transcript stored at all"
    assert orphans == 0, f"{orphans} turns belong to no transcript"
    for transcript_id, summary, turns, first, last, flags in rows:
        summary = json.loads(summary) if isinstance(summary, str) else summary
        expected = summary["agent_turns"] + summary["customer_turns"]
        assert turns == expected, f"transcript {transcript_id}: {turns} of {expected} turns stored"
        assert (first, last) == (0, expected - 1), f"transcript {transcript_id}: turn indices {first}..{last}"
        assert flags == summary["flags"], f"transcript {transcript_id}: {flags} of {summary['flags']} flags stored"
