"""``GET /healthz``: no key needed; says whether the database answers and whether the model is loaded."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..deps import SessionDep, SettingsDep
from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    model = {"model": settings.model, "model_status": request.app.state.model_status}
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "degraded", "db": "error", **model}, status_code=503)
    return JSONResponse({"status": "ok", "db": "ok", **model})
