"""One router per resource."""
from __future__ import annotations

from typing import Any

from ..schemas import ErrorOut

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (401, "缺少或无效的密钥 / missing, invalid or revoked key"),
        (403, "角色无权 / role not allowed"),
        (413, "请求体过大 / body too large"),
        (415, "内容类型不对 / wrong content type"),
        (422, "输入无效 / invalid input"),
        (429, "认证失败次数过多，见 Retry-After / too many failed authentications, see Retry-After"),
    )
}

# The largest value an integer column holds (32-bit on PostgreSQL): integer parameters that reach
# the database are bounded by it, so a larger one is a 422, not an overflow inside the driver.
MAX_DB_INT = 2**31 - 1
