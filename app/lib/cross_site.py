"""The guard against requests a page of another site makes in a visitor's browser.

A form post or a `text/plain` fetch is a "simple" request: browsers send it cross-site without a CORS
preflight. So a state-changing request whose `Origin` is neither the service's own nor one of
CORS_ORIGINS is refused (403) before it acts; JSON endpoints also take only JSON (`app.lib.bodies`).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from app.lib.errors import ApiError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
