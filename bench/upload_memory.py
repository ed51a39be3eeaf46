"""The API server's memory through large uploads and reads (issue 16, finding 9).

Starts ``huashu serve`` from a checkout (this one, or ``--repo DIR``: e.g. an older commit
exported with ``git archive``), uploads ``--rounds`` calls of ``--turns`` turns and reads each
back whole (in pages of 2,000 turns where the server pages turns), and prints the RSS of the
server process (the one answering suggest) and of its whole process tree (with the analysis
worker, where there is one): after start-up, after the first round, after the last, and after
2 s idle.

    python bench/upload_memory.py [--repo DIR] [--rounds 6] [--turns 4000] [--model off] [--sentiment baseline]
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

MIB = 1024 * 1024
HERE = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(turns: int, seed: int) -> bytes:
    lines = ["坐席：您好，这里是客服中心，请问有什么可以帮您？", "客户：我的包裹三天了还没到，单号是SD20250301。",
             "坐席：你必须先把下单截图发过来，我才能查。", "客户：你们效率可真高啊，我要投诉。",
             "坐席：非常抱歉让您着急了，我马上帮您核对，请您稍候。"]
    return "\n".join(f"{lines[i % len(lines)]}（{seed}-{i}）" for i in range(turns)).encode("utf-8")


def _rss(pid: int) -> tuple[int, int]:
    proc = psutil.Process(pid)
    tree = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    return proc.memory_info().rss, tree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, default=HERE)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--turns", type=int, default=4000)
    ap.add_argument("--model", default="off", help="HUASHU_MODEL for the server (off, uploads, on)")
    ap.add_argument("--sentiment", default="baseline", help="HUASHU_SENTIMENT (where the server reads it)")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="upload-memory-"))
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUASHU_")}
    env.update(HUASHU_DATABASE_URL=f"sqlite:///{home / 'huashu.db'}", HUASHU_MODEL=args.model, HUASHU_SENTIMENT=args.sentiment,
               HUASHU_MAX_UPLOAD_TURNS=str(max(args.turns, 5000)), PYTHONPATH=str(args.repo.resolve()),
               HUASHU_AUTH_FAILURE_LIMIT="100000/minute")
    log = open(home / "server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "analyzer.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                              cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        key_file = home / "huashu-admin-key.txt"
        text = key_file.read_text() if key_file.exists() else (home / "server.log").read_text(errors="replace")
        key = re.search(r"hs_[A-Za-z0-9_-]{43}", text).group(0)
        headers = {"Authorization": f"Bearer {key}"}
        rows = [("after start-up", *_rss(server.pid))]
        with httpx.Client(base_url=url, headers=headers, timeout=600) as http:
            for n in range(args.rounds):
                t0 = time.perf_counter()
                r = http.post("/v1/transcripts", files={"file": (f"big-{n}.txt", _call(args.turns, n))})
                assert r.status_code == 201, r.text[:300]
                call_id, got, size = r.json()["id"], 0, len(r.content)
                while got < args.turns:
                    page = http.get(f"/v1/transcripts/{call_id}", params={"turn_offset": got, "turn_limit": 2000})
                    assert page.status_code == 200, page.text[:300]
                    turns = page.json()["turns"]
                    got, size = got + len(turns), size + len(page.content)
                    if "turn_page" not in page.json():  # a server that does not page: one read is all
                        break
                print(f"round {n + 1}: upload + read of {args.turns} turns in {time.perf_counter() - t0:.1f} s "
                      f"({size / MIB:.1f} MiB of JSON)", flush=True)
                if n == 0:
                    rows.append(("after round 1", *_rss(server.pid)))
        rows.append((f"after round {args.rounds}", *_rss(server.pid)))
        time.sleep(2)
        rows.append(("after 2 s idle", *_rss(server.pid)))
    finally:
        server.terminate()
        server.wait(30)
    print(f"\n{args.repo} · HUASHU_MODEL={args.model} HUASHU_SENTIMENT={args.sentiment} · {args.rounds} × {args.turns} turns\n")
    print("| when | server process RSS | process tree RSS |\n|---|---|---|")
    for when, own, tree in rows:
        print(f"| {when} | {own / MIB:.0f} MiB | {tree / MIB:.0f} MiB |")


if __name__ == "__main__":
    main()
