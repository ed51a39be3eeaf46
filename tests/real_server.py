"""A real ``huashu serve`` for the tests: a subprocess on a free loopback port over a SQLite file,
the admin key read from the file it writes on first start (``HUASHU_ADMIN_KEY_FILE``: with no
terminal attached the key never goes to its output); started, restarted, killed and stopped by the
tests (tests/api, tests/web and tests/robustness all use it).

This folder holds ``conftest.py``, so pytest puts it on ``sys.path``: test modules
``import real_server``.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ADMIN_KEY_FILE = "huashu-admin-key.txt"  # relative to the server's working directory, its home
_KEY = re.compile(r"hs_[A-Za-z0-9_-]{43}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Server:
    home: Path
    database_url: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    admin_key: str = ""
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    @property
    def log(self) -> Path:
        return self.home / f"server-{self.starts}.log"

    def start(self, timeout: float = 90) -> Server:
        """Start (or restart, same port and database) and wait until /healthz answers."""
        self.starts += 1
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "analyzer.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.home, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"huashu serve exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    key_file = self.home / ADMIN_KEY_FILE
                    found = _KEY.fullmatch(key_file.read_text(encoding="utf-8").strip()) if key_file.exists() else None
                    if found:
                        self.admin_key = found.group(0)
                    if not self.admin_key:
                        raise RuntimeError(f"huashu serve wrote no admin key:\n{self.log.read_text()}")
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"huashu serve did not answer within {timeout:.0f} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing; what the kernel does to an OOM victim."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def new_key(self, role: str, name: str = "test") -> tuple[int, str]:
        r = httpx.post(self.url + "/v1/keys", json={"name": name, "role": role}, headers=bearer(self.admin_key),
                       timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["id"], r.json()["key"]


def huashu_env(database_url: str, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment minus any HUASHU_* settings, the repository importable, the
    lexicon alone and the baseline sentiment model (fast start-up; tests/api/test_api_model.py covers
    the classifier), plus ``extra_env``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUASHU_")}
    env["HUASHU_DATABASE_URL"] = database_url
    env["HUASHU_MODEL"] = "off"
    env["HUASHU_SENTIMENT"] = "baseline"  # the fast customer-sentiment model (uploads still get sentiment)
    # The suites share one server and one client address and try wrong keys on purpose; the
    # failed-authentication limit has its own test (tests/api/test_api_security.py).
    env["HUASHU_AUTH_FAILURE_LIMIT"] = "100000/minute"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra_env or {})
    return env


def make_server(home: Path, extra_env: dict[str, str] | None = None) -> Server:
    """A server (not yet started) over ``home/huashu.db``."""
    database_url = f"sqlite:///{home / 'huashu.db'}"
    return Server(home=home, database_url=database_url, env=huashu_env(database_url, extra_env))


@contextmanager
def serve(home: Path, extra_env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[Server]:
    """A started server, stopped on exit."""
    server = make_server(home, extra_env).start(timeout)
    try:
        yield server
    finally:
        server.stop()
