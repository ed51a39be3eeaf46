"""Fixtures for the service tests: ONE real server per session (``huashu serve`` in a subprocess,
on a free loopback port, over a temporary SQLite file), keys for every role, the server's
database for counting rows, and the example call uploaded once.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import ROLES, Server, bearer, free_port, huashu_env, new_key, upload
from sqlalchemy import Engine

from api.db import create_db_engine

KEY = re.compile(r"^\s+(hs_[A-Za-z0-9_-]+)\s*$", re.MULTILINE)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("server")
    database_url = f"sqlite:///{home / 'huashu.db'}"
    env = huashu_env(database_url)
    port = free_port()
    log = home / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "analyzer.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        admin_key = _wait_until_up(process, url, log)
        yield Server(url=url, database_url=database_url, admin_key=admin_key, log=log, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> str:
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


@pytest.fixture(scope="session")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def keys(http: httpx.Client, server: Server) -> dict[str, str]:
    """A plain key per role, plus "revoked" (a supervisor key, revoked) and "wrong" (never issued)."""
    found = {role: new_key(http, server.admin_key, role, f"{role} (tests)")[1] for role in ROLES}
    found["admin"] = server.admin_key
    key_id, revoked = new_key(http, server.admin_key, "supervisor", "revoked (tests)")
    assert http.delete(f"/v1/keys/{key_id}", headers=bearer(server.admin_key)).status_code == 200
    found["revoked"] = revoked
    found["wrong"] = "hs_" + "x" * 43
    return found


@pytest.fixture(scope="session")
def db(server: Server) -> Iterator[Engine]:
    """The server's database, opened by the tests (to count rows; never to write)."""
    engine = create_db_engine(server.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def uploaded(http: httpx.Client, keys: dict[str, str]) -> dict:
    """The example call, uploaded once by the supervisor: the 201 response body."""
    r = upload(http, keys["supervisor"])
    assert r.status_code == 201, r.text
    return r.json()
