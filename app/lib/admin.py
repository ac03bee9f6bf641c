"""The admin guard: `X-Admin-Key` must match ADMIN_API_KEY (or the key made at start-up)."""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from app.lib.errors import ApiError

ADMIN_HEADER = "X-Admin-Key"


def require_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Refuse the request unless it carries the admin key."""
    provided = connection.headers.get(ADMIN_HEADER)
    if not provided:
        raise ApiError(401, "unauthorized", f"this endpoint needs the admin key in the {ADMIN_HEADER} header")
    expected: str = connection.app.state.admin_key
    if not hmac.compare_digest(provided.encode(), expected.encode()):
        raise ApiError(403, "forbidden", f"the {ADMIN_HEADER} header does not hold the admin key")
