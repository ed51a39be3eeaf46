"""The app factory: ``create_app(settings=None)``.

Settings are read here (from ``HUASHU_*``), not at import. The lifespan opens the database,
applies the migrations and builds the live pipeline once; handlers get them as typed dependencies
(``api.deps``). Run it with ``huashu serve`` or ``uvicorn --factory api.app:create_app``.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from . import errors, web
from .analysis import build_live_pipeline, live_batcher
from .auth_limit import AuthLimiter
from .db import open_database
from .guard import InputGuardMiddleware
from .headers import HeadersMiddleware
from .jobs import AnalysisWorker
from .limits import BodyLimitMiddleware
from .live_sockets import OpenSockets
from .routes import batch, flags, health, keys, live, review, rules, suggest, transcripts
from .settings import Settings

UPLOAD_PATH = "/v1/transcripts"
log = logging.getLogger("huashu")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db, sessions = await run_in_threadpool(open_database, settings.database_url)
        app.state.sessions = sessions
        # Uploads are analysed in a separate worker process with its own pipeline (api/jobs.py);
        # this process builds only the live path's pipeline. Both start at once.
        worker = AnalysisWorker(settings)
        app.state.pipeline, app.state.model_status = await asyncio.gather(
            run_in_threadpool(build_live_pipeline, settings), run_in_threadpool(worker.start))
        app.state.analysis = worker
        app.state.batcher = live_batcher(app.state.pipeline, settings)  # api/batcher.py
        try:
            yield
        finally:
            if app.state.batcher is not None:
                await app.state.batcher.close()
            worker.stop()
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
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") in (UPLOAD_PATH, batch.ZIP_PATH)
        return settings.upload_body_bytes if upload else settings.max_body_bytes

    app.add_middleware(InputGuardMiddleware)  # unsafe text in query strings and JSON bodies (api/guard.py)
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit)
    app.add_middleware(HeadersMiddleware)  # Cache-Control: no-store on /v1 and /web (api/headers.py)
    for module in (health, suggest, live, transcripts, batch, flags, keys, rules, review):
        app.include_router(module.router)
    web.install(app)  # the supervisor's web pages under /web (api/web)
    return app
