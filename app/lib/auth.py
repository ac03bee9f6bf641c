"""Who may do what: the admin key, and the token a generation's creator gets back.

`POST /generate` answers a fresh token once; the database keeps only its SHA-256. Cancelling or
deleting a generation needs that token (`X-Generation-Token`) or the admin key (`X-Admin-Key`).
Both are declared in the OpenAPI document as API-key security schemes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme

from app.lib.errors import ApiError

ADMIN_HEADER = "X-Admin-Key"
TOKEN_HEADER = "X-Generation-Token"
ADMIN_SCHEME = "AdminKey"
TOKEN_SCHEME = "GenerationToken"

ADMIN_ONLY: list[SecurityRequirement] = [{ADMIN_SCHEME: []}]
OWNER_OR_ADMIN: list[SecurityRequirement] = [{TOKEN_SCHEME: []}, {ADMIN_SCHEME: []}]

SECURITY_COMPONENTS = Components(
    security_schemes={
        ADMIN_SCHEME: SecurityScheme(
            type="apiKey",
            name=ADMIN_HEADER,
            security_scheme_in="header",
            description="ADMIN_API_KEY (or the key the service logged at start-up when it is unset).",
        ),
        TOKEN_SCHEME: SecurityScheme(
            type="apiKey",
            name=TOKEN_HEADER,
            security_scheme_in="header",
            description="The `token` that `POST /generate` answered to the generation's creator.",
        ),
    }
)


def new_token() -> tuple[str, str]:
    """A fresh generation token and the hash to store."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """SHA-256 of a token, hex: tokens are random, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def _matches(provided: str, expected: str) -> bool:
    return hmac.compare_digest(provided.encode(), expected.encode())


def is_admin(connection: ASGIConnection) -> bool:
    """Whether the request carries the admin key (a wrong key is refused, not ignored)."""
    provided = connection.headers.get(ADMIN_HEADER)
    if not provided:
        return False
    if not _matches(provided, connection.app.state.admin_key):
        raise ApiError(403, "forbidden", f"the {ADMIN_HEADER} header does not hold the admin key")
    return True


def require_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: refuse the request unless it carries the admin key."""
    if not connection.headers.get(ADMIN_HEADER):
        raise ApiError(401, "unauthorized", f"this endpoint needs the admin key in the {ADMIN_HEADER} header")
    is_admin(connection)


def require_owner_or_admin(connection: ASGIConnection, token_hash: str | None, generation_id: str) -> None:
    """Refuse unless the request holds the generation's token or the admin key."""
    if is_admin(connection):
        return
    provided = connection.headers.get(TOKEN_HEADER)
    if not provided:
        raise ApiError(
            401,
            "unauthorized",
            f"changing generation {generation_id} needs its token (the `token` POST /generate answered) "
            f"in the {TOKEN_HEADER} header, or the admin key in {ADMIN_HEADER}",
        )
    if token_hash is None or not _matches(hash_token(provided), token_hash):
        raise ApiError(403, "forbidden", f"the {TOKEN_HEADER} header does not hold this generation's token")
