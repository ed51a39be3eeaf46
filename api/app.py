"""The app factory: ``create_app(settings=None)``.

Settings are read here (from ``HUASHU_*``), not at import. The lifespan opens the database,
applies the migrations and builds the engine once; handlers get them as typed dependencies
(``api.deps``). Run it with ``huashu serve`` or ``uvicorn --factory api.app:create_app``.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from analyzer.engine import Engine
from models.classifier import ModelUnavailable

from . import errors, web
from .auth_limit import AuthLimiter
from .db import open_database
from .guard import InputGuardMiddleware
from .headers import HeadersMiddleware
from .limits import BodyLimitMiddleware
from .live_sockets import OpenSockets
from .routes import flags, health, keys, live, suggest, transcripts
from .settings import Settings

UPLOAD_PATH = "/v1/transcripts"
log = logging.getLogger("huashu")


def build_engines(settings: Settings) -> tuple[Engine, Engine, str]:
    """The live path's engine, the uploads' engine and the model's status for /healthz: "off",
    "loaded", or "unavailable" (then both engines are lexicon-only and the log says why). One
    engine is built; the lexicon-only one is its twin (``Engine.lexicon_only``)."""
    engine = Engine(settings.lexicon, model=settings.model != "off")
    try:
        engine.initialize()
    except (ModelUnavailable, ImportError) as exc:
        log.warning("模型不可用，仅用词库 / the model is not available, running on the lexicon alone: %s", exc)
        lexicon = engine.lexicon_only().initialize()
        return lexicon, lexicon, "unavailable"
    if not engine.model:
        return engine, engine, "off"
    return (engine if settings.model == "on" else engine.lexicon_only()), engine, "loaded"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db, sessions = await run_in_threadpool(open_database, settings.database_url)
        app.state.sessions = sessions
        app.state.engine, app.state.upload_engine, app.state.model_status = await run_in_threadpool(
            build_engines, settings)
        try:
            yield
        finally:
            db.dispose()

    # /docs and /redoc are public (the API's shape is no secret; every call needs a key) and load
    # Swagger UI and ReDoc from this server (the fastapi-offline package), nothing from a CDN.
    app = FastAPIOffline(
        title="话术 Huashu",
        summary="客服冲突导火索检测与改写 / conflict-trigger checks for service talk",
        version="1.0.0",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from validator.swagger.io
    )
    app.state.settings = settings
    app.state.auth_limiter = AuthLimiter(settings.auth_failure_limit)  # api/auth_limit.py
    app.state.live_sockets = OpenSockets()  # api/live_sockets.py
    errors.install(app)

    def body_limit(scope: Scope) -> int:
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") == UPLOAD_PATH
        return settings.upload_body_bytes if upload else settings.max_body_bytes

    app.add_middleware(InputGuardMiddleware)  # unsafe text in query strings and JSON bodies (api/guard.py)
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit)
    app.add_middleware(HeadersMiddleware)  # Cache-Control: no-store on /v1 and /web (api/headers.py)
    for module in (health, suggest, live, transcripts, flags, keys):
        app.include_router(module.router)
    web.install(app)  # the supervisor's web pages under /web (api/web)
    return app
