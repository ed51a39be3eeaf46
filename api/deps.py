"""Typed dependencies for the handlers: settings, the pipeline, a database session, the caller's key.

Everything lives on ``app.state`` (built by ``create_app`` and its lifespan); nothing here is
built at import time.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from analyzer.pipeline import Pipeline

from .auth_limit import find_key
from .batcher import MicroBatcher
from .errors import forbidden, unauthorized
from .settings import Settings
from .tables import ApiKey

ADMIN = "admin"


# Dependencies that do no I/O are ``async def``: FastAPI runs plain ``def`` ones in a thread.
async def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


async def get_pipeline(conn: HTTPConnection) -> Pipeline:
    """The live path's pipeline (suggest, live): the lexicon alone unless ``HUASHU_MODEL=on``
    (uploads are analysed by the analysis worker's own pipeline, ``api.jobs``)."""
    return conn.app.state.pipeline


def get_session(conn: HTTPConnection) -> Iterator[Session]:  # closing may talk to the database
    with conn.app.state.sessions() as session:
        yield session


async def get_batcher(conn: HTTPConnection) -> MicroBatcher | None:
    """The live path's micro-batcher (``api.batcher``); None when ``live_batch_ms`` is 0."""
    return getattr(conn.app.state, "batcher", None)


SettingsDep = Annotated[Settings, Depends(get_settings)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
BatcherDep = Annotated[MicroBatcher | None, Depends(get_batcher)]
SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="API 密钥 / API key: `Authorization: Bearer <key>`")


def current_key(
    conn: HTTPConnection, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKey:
    """The caller's active key; 401 when it is missing, unknown or revoked, 429 when the caller's
    address has failed too often (``api.auth_limit``).

    Looked up in a short session of its own (one thread hop per request instead of three);
    the key comes back detached, its fields loaded.
    """
    if credentials is None:
        raise unauthorized()
    key = find_key(conn, credentials.credentials)
    if key is None:
        raise unauthorized()
    return key


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def role_allowed(role: str, roles: tuple[str, ...]) -> bool:
    """Whether a key with ``role`` may call an endpoint open to ``roles`` (admin may do all)."""
    return role == ADMIN or role in roles


def require(*roles: str) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency: the caller's key, if its role is one of ``roles`` (or admin); else 403."""

    async def checked(key: CurrentKey) -> ApiKey:
        if not role_allowed(key.role, roles):
            raise forbidden(key.role)
        return key

    return checked


# Who may call what (admin may call everything).
LIVE_ROLES = ("agent", "supervisor")
AgentKey = Annotated[ApiKey, Depends(require(*LIVE_ROLES))]  # suggest, live
SupervisorKey = Annotated[ApiKey, Depends(require("supervisor"))]  # upload, verdicts
ReaderKey = Annotated[ApiKey, Depends(require("supervisor", "analyst"))]  # read transcripts
AdminKey = Annotated[ApiKey, Depends(require())]  # keys
