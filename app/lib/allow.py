"""`OPTIONS` answers every method of the path in `Allow`.

Litestar makes a path's OPTIONS handler when the path's first handler is registered and keeps it when
more handlers join the path, so its `Allow` lists only the methods known then (GET /generations/{id}
without DELETE). This middleware answers from the app's final routing table instead.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def allow_every_method(app: ASGIApp) -> ASGIApp:
    """Middleware factory: fix the `Allow` header of OPTIONS answers."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "OPTIONS":
            await app(scope, receive, send)
            return
        route = next(
            (r for r in scope["litestar_app"].routes if r.path_format == scope.get("path_template")), None
        )
        methods = ", ".join(sorted(route.methods)) if route is not None else None

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and methods:
                MutableScopeHeaders(message)["Allow"] = methods
            await send(message)

        await app(scope, receive, send_with_allow)

    return middleware
