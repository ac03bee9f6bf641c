"""The web UI: the static files of `frontend/out` (built by `make frontend`) served at `/`.

Mounted after the API's routes, which keep precedence; an unknown path still answers the API's JSON
404. Without a build, `/` answers a short page that says how to make one.
"""

from __future__ import annotations

from pathlib import Path

from litestar import MediaType, Response, Router, get
from litestar.handlers import HTTPRouteHandler
from litestar.static_files import create_static_files_router

FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend" / "out"

HINT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Music Genie</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem">
<h1>Music Genie</h1>
<p>The API is running, but the web UI is not built: run <code>make frontend</code>
(or <code>make run</code>, which builds it) and reload this page.</p>
<p>The API's documentation is at <a href="/schema">/schema</a>.</p>
</body></html>
"""


def frontend_router(directory: Path | None = None) -> Router | HTTPRouteHandler:
    """Handlers for `/`: the built UI from `directory` (default `frontend/out`), or the hint page."""
    directory = directory or FRONTEND_DIR
    index = directory / "index.html"
    if not index.is_file():

        @get("/", include_in_schema=False, media_type=MediaType.HTML, sync_to_thread=False)
        def frontend_missing() -> Response[str]:
            return Response(HINT, media_type=MediaType.HTML)

        return frontend_missing

    # html_mode=False: misses raise NotFoundException (the API's JSON 404), not the UI's 404.html.
    static = create_static_files_router(
        path="/",
        directories=[directory],
        html_mode=False,
        include_in_schema=False,
        name="frontend",
    )

    @get("/", include_in_schema=False, media_type=MediaType.HTML, sync_to_thread=False, cache_control=None)
    def frontend_index() -> Response[bytes]:
        return Response(index.read_bytes(), media_type=MediaType.HTML, headers={"Cache-Control": "no-cache"})

    return Router(path="/", route_handlers=[frontend_index, static])
