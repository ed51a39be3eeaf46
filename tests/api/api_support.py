"""Helpers shared by the service tests (fixtures are in conftest.py)."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api import store

REPO = Path(__file__).resolve().parents[2]
ROLES = ("agent", "supervisor", "analyst", "admin")
EXAMPLE = (REPO / "examples" / "call-0001.txt").read_bytes()
KEY = re.compile(r"^\s+(hs_[A-Za-z0-9_-]+)\s*$", re.MULTILINE)


@dataclass
class Server:
    url: str
    database_url: str
    admin_key: str
    log: Path
    env: dict[str, str]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def huashu_env(database_url: str) -> dict[str, str]:
    """The environment for a ``huashu`` subprocess: this one's, minus any HUASHU_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUASHU_")}
    env["HUASHU_DATABASE_URL"] = database_url
    env["HUASHU_MODEL"] = "off"  # the lexicon alone: fast start-up; tests/api/test_api_model.py covers the model
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


@contextmanager
def serve(home: Path, extra_env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[Server]:
    """``huashu serve`` in a subprocess on a free loopback port over ``home/huashu.db``, stopped on exit."""
    database_url = f"sqlite:///{home / 'huashu.db'}"
    env = {**huashu_env(database_url), **(extra_env or {})}
    port = free_port()
    log = home / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "analyzer.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        admin_key = _wait_until_up(process, url, log, timeout)
        yield Server(url=url, database_url=database_url, admin_key=admin_key, log=log, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen, url: str, log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"huashu serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                found = KEY.search(log.read_text(encoding="utf-8"))
                assert found, "serve printed no admin key:\n" + log.read_text()
                return found.group(1)
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"huashu serve did not answer within {timeout}s:\n{log.read_text()}")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_key(http: httpx.Client, admin_key: str, role: str, name: str = "test") -> tuple[int, str]:
    r = http.post("/v1/keys", json={"name": name, "role": role}, headers=bearer(admin_key))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["key"]


def row_counts(db: Engine) -> dict[str, int]:
    with Session(db) as session:
        return store.row_counts(session)


def upload(http: httpx.Client, key: str, data: bytes = EXAMPLE, name: str = "call.txt", **form) -> httpx.Response:
    return http.post("/v1/transcripts", files={"file": (name, data)}, data=form, headers=bearer(key))
