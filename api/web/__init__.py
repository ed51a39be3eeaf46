"""The supervisor's web app, served by the API itself (same origin, same keys): see ``pages``.

``install(app)`` is all ``create_app`` needs to call: it adds the pages' router, serves
``static/`` at ``/web/static``, turns "no session" into a redirect to the login page, and lets
every ``/v1`` endpoint accept the pages' session cookie (``session.bearer_or_cookie_key``, with
its CSRF check) where a bearer key is absent. Importing this package builds nothing.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .. import deps
from . import exports, review, rules
from .pages import EXCEPTION_HANDLERS, router
from .session import bearer_or_cookie_key

STATIC = Path(__file__).with_name("static")

__all__ = ["install", "router"]


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(review.router)  # /web/me (agents), /web/disputes (supervisors)
    app.include_router(exports.router)  # /web/calls.xlsx, scorecards, agents (XLSX, CSV)
    app.include_router(rules.router)  # /web/rules
    app.mount("/web/static", StaticFiles(directory=STATIC), name="web-static")
    for exc_class, handler in EXCEPTION_HANDLERS.items():
        app.add_exception_handler(exc_class, handler)
    app.dependency_overrides[deps.current_key] = bearer_or_cookie_key
