"""``/v1/keys`` (admin): create a key (its secret shown once), list keys, revoke one."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from .. import review, store, views
from ..deps import AdminKey, SessionDep
from ..errors import ApiError, not_found
from ..routing import CheckedRoute
from ..schemas import ErrorOut, KeyCreated, KeyIn, KeyOut
from . import ERRORS, MAX_DB_INT

router = APIRouter(prefix="/v1", tags=["keys"], route_class=CheckedRoute, responses=ERRORS)


@router.post("/keys", status_code=201, response_model=KeyCreated)
def create_key(body: KeyIn, admin: AdminKey, session: SessionDep) -> dict[str, Any]:
    """新建密钥，只显示一次 / a new key; the whole key is in this response only."""
    agent_id = review.check_agent_id(body.agent_id, body.role)
    key, plain = store.create_key(session, body.name, body.role, agent_id)
    session.commit()
    return {**views.key_view(key), "key": plain}


@router.get("/keys", response_model=list[KeyOut])
def list_keys(admin: AdminKey, session: SessionDep) -> list[dict[str, Any]]:
    """所有密钥（不含密钥本身） / every key, without secrets."""
    return [views.key_view(k) for k in store.list_keys(session)]


LAST_ADMIN = {409: {"model": ErrorOut, "description": "最后一个管理员密钥 / the last active admin key"}}


@router.delete("/keys/{key_id}", response_model=KeyOut, responses=LAST_ADMIN)
def revoke_key(
    key_id: Annotated[int, Path(ge=1, le=MAX_DB_INT)], admin: AdminKey, session: SessionDep, request: Request,
) -> dict[str, Any]:
    """吊销密钥 / revoke a key: at once, with its web sessions and open live sockets; revoking twice
    is harmless; the last active admin key cannot be revoked (409)."""
    try:
        key = store.revoke_key(session, key_id)
    except store.LastAdminKey:
        session.rollback()
        raise ApiError(409, "last_admin_key", "不能吊销最后一个管理员密钥 / cannot revoke the last admin key") from None
    if key is None:
        raise not_found("key", "该密钥")
    session.commit()
    request.app.state.live_sockets.end_key(key_id)  # this worker's sockets now; others' within 0.5 s
    return views.key_view(key)
