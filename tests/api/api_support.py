"""Helpers shared by the service tests (fixtures are in conftest.py)."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api import store

REPO = Path(__file__).resolve().parents[2]
ROLES = ("agent", "supervisor", "analyst", "admin")
EXAMPLE = (REPO / "examples" / "call-0001.txt").read_bytes()


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
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


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
