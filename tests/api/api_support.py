"""Helpers shared by the service tests (fixtures are in conftest.py)."""
from __future__ import annotations

import httpx
from real_server import REPO, Server, bearer, huashu_env, serve  # noqa: F401 (the service tests' imports)
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api import store

ROLES = ("agent", "supervisor", "analyst", "admin")
EXAMPLE = (REPO / "examples" / "call-0001.txt").read_bytes()


def new_key(http: httpx.Client, admin_key: str, role: str, name: str = "test") -> tuple[int, str]:
    r = http.post("/v1/keys", json={"name": name, "role": role}, headers=bearer(admin_key))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["key"]


def row_counts(db: Engine) -> dict[str, int]:
    with Session(db) as session:
        return store.row_counts(session)


def upload(http: httpx.Client, key: str, data: bytes = EXAMPLE, name: str = "call.txt", **form) -> httpx.Response:
    return http.post("/v1/transcripts", files={"file": (name, data)}, data=form, headers=bearer(key))
