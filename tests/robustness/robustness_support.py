"""Helpers for the robustness tests (fuzzing, faults, load): example budgets, a real server.

The server is started the way ``tests/api`` starts it: ``python -m analyzer.cli serve`` (what
``huashu serve`` runs) in a subprocess on a free loopback port over a SQLite file, the admin key
read from its first-start banner. Unlike the shared ``tests/api`` server, each robustness module
owns its server: the fault tests kill it, the load test watches its memory.

Budgets: CI runs bounded example counts; ``HUASHU_FUZZ_LONG=1`` multiplies them (and
``HUASHU_LOAD_LONG=1`` lengthens the load test, see test_load_suggest.py).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = (REPO / "examples" / "call-0001.txt").read_bytes()
FUZZ_LONG = os.environ.get("HUASHU_FUZZ_LONG", "") not in ("", "0")
LOAD_LONG = os.environ.get("HUASHU_LOAD_LONG", "") not in ("", "0")
LONG_FACTOR = 25
_KEY = re.compile(r"^\s+(hs_[A-Za-z0-9_-]+)\s*$", re.MULTILINE)


def examples(ci: int) -> int:
    """The example budget of a property: ``ci`` in CI, ``LONG_FACTOR`` times more when long."""
    return ci * LONG_FACTOR if FUZZ_LONG else ci


def fuzz(ci: int) -> settings:
    """Hypothesis settings for one property: bounded examples, no deadline (CI machines vary).

    In CI the examples are derandomised (the same on every run, so CI does not turn red by
    chance); the long run draws new ones each time and keeps failures in .hypothesis/.
    """
    return settings(
        max_examples=examples(ci),
        deadline=None,
        derandomize=not FUZZ_LONG,
        suppress_health_check=list(HealthCheck),
    )


# -- a real server -----------------------------------------------------------------------------
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
                    found = _KEY.search(self.log.read_text(encoding="utf-8"))
                    if found:
                        self.admin_key = found.group(1)
                    if not self.admin_key:
                        raise RuntimeError(f"huashu serve printed no admin key:\n{self.log.read_text()}")
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

    def new_key(self, role: str, name: str = "robustness") -> tuple[int, str]:
        r = httpx.post(self.url + "/v1/keys", json={"name": name, "role": role}, headers=bearer(self.admin_key),
                       timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["id"], r.json()["key"]


def make_server(home: Path, extra_env: dict[str, str] | None = None) -> Server:
    """A server (not yet started) over ``home/huashu.db``, with this environment minus HUASHU_*."""
    database_url = f"sqlite:///{home / 'huashu.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUASHU_")}
    env["HUASHU_DATABASE_URL"] = database_url
    env["HUASHU_MODEL"] = "off"  # the lexicon alone: fast start-up; tests/api/test_api_model.py covers the model
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra_env or {})
    return Server(home=home, database_url=database_url, env=env)


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from outside (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {pid}") from None
    return psutil.Process(pid).memory_info().rss
