"""Guards against requests a page of another site makes in a visitor's browser.

A form post or a `text/plain` fetch is a "simple" request: browsers send it cross-site without a CORS
preflight. So JSON endpoints accept only a JSON body (415 otherwise), and a state-changing request whose
`Origin` is neither the service's own nor one of CORS_ORIGINS is refused (403) before it acts.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from app.lib.errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_json(content_type: str) -> bool:
    """`application/json` or a `+json` type, parameters (charset) ignored."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _has_body(connection: ASGIConnection) -> bool:
    length = connection.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in connection.headers


def require_json_body(connection: ASGIConnection, route_handler: BaseRouteHandler) -> None:
    """Guard: a handler that takes a JSON body gets JSON or nothing (415 for any other content type)."""
    if connection.scope.get("method") not in BODY_METHODS:
        return
    if "data" not in route_handler.parsed_fn_signature.parameters or not _has_body(connection):
        return
    content_type = connection.headers.get("content-type", "")
    if not is_json(content_type):
        raise ApiError(
            415,
            "unsupported_media_type",
            "this endpoint takes a JSON body: send Content-Type: application/json, "
            f"not {content_type or 'none'!r}",
        )


class OriginCheck:
    """Guard: refuse state-changing requests from a page of a site that is not allowed."""

    def __init__(self, allowed_origins: Iterable[str]) -> None:
        self.allowed = {origin.rstrip("/").lower() for origin in allowed_origins}

    def __call__(self, connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if connection.scope.get("method") in SAFE_METHODS:
            return
        origin = connection.headers.get("origin")
        if origin is None or self.allows(origin, connection.headers.get("host", "")):
            return
        raise ApiError(
            403,
            "forbidden",
            f"requests from {origin} may not change anything here; allow the site in CORS_ORIGINS",
        )

    def allows(self, origin: str, host: str) -> bool:
        """The service's own origin (same host and port as the request) or one of CORS_ORIGINS."""
        origin = origin.strip().lower()
        if origin in self.allowed or "*" in self.allowed:
            return True
        if origin == "null":  # sandboxed frames, local files
            return False
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host.strip().lower()
