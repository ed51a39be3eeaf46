"""What ``huashu serve`` and ``huashu keys`` run (``analyzer.cli`` imports this lazily)."""
from __future__ import annotations

import copy
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from analyzer.model import HuashuError
from analyzer.sanitize import UnsafeInput, check_text

from . import store
from .db import open_database
from .settings import Settings

T = TypeVar("T")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise HuashuError(f"配置无效 / invalid settings (HUASHU_*): {problems}") from None


def with_session(settings: Settings, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one committed transaction on the (migrated) database."""
    try:
        engine, sessions = open_database(settings.database_url)
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0]
        raise HuashuError(f"无法打开数据库 / cannot open the database: {reason}") from None
    try:
        with sessions.begin() as session:
            return work(session)
    finally:
        engine.dispose()


# -- keys --------------------------------------------------------------------------------------
def keys_create(role: str, name: str, agent_id: str | None = None) -> int:
    from .errors import ApiError
    from .review import check_agent_id

    try:
        check_text(name, "--name", multiline=False)  # NUL and control characters never reach the database
        if agent_id is not None:
            check_text(agent_id, "--agent-id", multiline=False)
        agent_id = check_agent_id(agent_id, role)
    except UnsafeInput as exc:
        raise HuashuError(str(exc)) from None
    except ApiError as exc:
        raise HuashuError(f"--agent-id: {exc.message}") from None
    plain = with_session(load_settings(), lambda s: store.create_key(s, name, role, agent_id)[1])
    print(plain)
    return 0


def keys_list() -> int:
    def rows(session: Session) -> list[str]:
        return [
            f"{k.id}\t{k.role}\t{k.prefix}…\t{k.name}{' (' + k.agent_id + ')' if k.agent_id else ''}\t"
            f"{k.created_at:%Y-%m-%d %H:%M}\t"
            + (f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active")
            for k in store.list_keys(session)
        ]

    for line in with_session(load_settings(), rows):
        print(line)
    return 0


def keys_revoke(key_id: int) -> int:
    """Revoke a key and delete its web sessions; its open live sockets close within 0.5 s (each
    socket re-reads its key from the database)."""
    try:
        found = with_session(load_settings(), lambda s: store.revoke_key(s, key_id) is not None)
    except store.LastAdminKey:
        raise HuashuError(f"不能吊销最后一个管理员密钥 {key_id} / cannot revoke the last admin key {key_id}") from None
    if not found:
        raise HuashuError(f"找不到密钥 {key_id} / no key {key_id}")
    print(f"已吊销 / revoked: {key_id}")
    return 0


# -- serve -------------------------------------------------------------------------------------
def ensure_admin_key(settings: Settings) -> str | None:
    """Create an admin key when the database has none; return it (None if one exists)."""
    def make(session: Session) -> str | None:
        if store.active_admin_count(session):
            return None
        return store.create_key(session, "admin (created by huashu serve)", "admin")[1]

    return with_session(settings, make)


def admin_banner(plain: str, host: str, port: int) -> str:
    """The first admin key, for a terminal: the key once, and nowhere else in the text."""
    rule = "=" * 72
    return (
        f"{rule}\n"
        "话术 Huashu：数据库里没有管理员密钥，已新建一个。它只显示这一次，请妥善保存：\n"
        "Huashu: the database had no admin key, so one was created. It is shown only this once; keep it:\n\n"
        f"    {plain}\n\n"
        "试试 / try:  KEY=<上面的密钥 / the key above>\n"
        f'    curl -H "Authorization: Bearer $KEY" http://{host}:{port}/v1/keys\n'
        f"文档 / docs: http://{host}:{port}/docs\n"
        f"{rule}"
    )


def admin_key_file_banner(path: Path) -> str:
    """The first admin key's whereabouts, for a log (no terminal attached): never the key itself."""
    return (
        f"话术 Huashu：数据库里没有管理员密钥，已新建一个并写入 {path}（仅本用户可读），读取后请删除该文件。\n"
        f"Huashu: the database had no admin key, so one was created and written to {path} "
        "(readable by this user only); read it, then delete the file."
    )


def write_admin_key(path: Path, plain: str) -> None:
    """Write the key to ``path``, readable and writable by this user only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(plain + "\n")


def announce_admin_key(plain: str, settings: Settings, host: str, port: int) -> None:
    """Show a new admin key once on the terminal; with no terminal (a service, output captured into
    a log), write it to ``HUASHU_ADMIN_KEY_FILE`` instead, so that it never enters a log."""
    if sys.stdout.isatty():
        print(admin_banner(plain, host, port), flush=True)
        return
    path = Path(settings.admin_key_file).resolve()
    write_admin_key(path, plain)
    print(admin_key_file_banner(path), flush=True)


class RedactKeys(logging.Filter):
    """Keeps API keys out of the logs: browsers send them as ``/v1/live?key=...``."""

    _KEY = re.compile(r"([?&]key=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "key=" in message:
            record.msg, record.args = self._KEY.sub(r"\1***", message), ()
        return True


def log_config() -> dict:
    """uvicorn's logging configuration, with API keys redacted from its messages."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_keys"] = {"()": RedactKeys}
    for name in ("uvicorn.error", "uvicorn.access"):
        config["loggers"].setdefault(name, {})["filters"] = ["redact_keys"]
    return config


def serve(host: str, port: int, workers: int = 1) -> int:
    import uvicorn

    from .app import create_app

    settings = load_settings()
    plain = ensure_admin_key(settings)
    if plain:
        announce_admin_key(plain, settings, host, port)
    options = {"host": host, "port": port, "ws_max_size": settings.max_body_bytes, "log_config": log_config()}
    if workers > 1:  # each worker process builds its own app from the same HUASHU_* settings
        uvicorn.run("api.app:create_app", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
    return 0
