"""Fixtures for the service tests: ONE real server per session (``huashu serve`` in a subprocess,
on a free loopback port, over a temporary SQLite file), keys for every role, the server's
database for counting rows, and the example call uploaded once.
"""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_support import ROLES, Server, bearer, new_key, serve, upload
from sqlalchemy import Engine

from api.db import create_db_engine


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("server")) as running:
        yield running


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
