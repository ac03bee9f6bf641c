"""The web UI's static files at `/` (app/lib/frontend.py): API routes win, misses stay JSON 404s."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, get
from litestar.testing import TestClient

from app.lib.errors import EXCEPTION_HANDLERS
from app.lib.frontend import frontend_router


@get("/recent", sync_to_thread=False)
def recent() -> dict[str, str]:
    return {"from": "api"}


def make_app(directory: Path) -> Litestar:
    handlers = [recent, frontend_router(directory)]
    return Litestar(route_handlers=handlers, exception_handlers=EXCEPTION_HANDLERS)


def test_serves_the_built_ui_and_keeps_the_api(tmp_path: Path) -> None:
    (tmp_path / "_next" / "static").mkdir(parents=True)
    (tmp_path / "index.html").write_text("<!doctype html><title>Music Genie</title>")
    (tmp_path / "404.html").write_text("<!doctype html><title>Not found</title>")
    (tmp_path / "_next" / "static" / "app.js").write_text("console.log(1)")
    with TestClient(make_app(tmp_path)) as client:
        index = client.get("/")
        assert index.status_code == 200
        assert "Music Genie" in index.text
        assert index.headers["content-type"].startswith("text/html")
        assert client.get("/_next/static/app.js").text == "console.log(1)"
        assert client.get("/recent").json() == {"from": "api"}
        missing = client.get("/no/such/path")
        assert missing.status_code == 404
        assert missing.json()["error_type"] == "not_found"
        assert client.get("/../secret").status_code == 404
        assert client.put("/recent").status_code == 405


def test_without_a_build_the_root_says_how_to_make_one(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path / "out")) as client:
        hint = client.get("/")
        assert hint.status_code == 200
        assert "make frontend" in hint.text
        assert client.get("/recent").json() == {"from": "api"}
        assert client.get("/index.html").status_code == 404


def test_the_ui_is_not_in_the_api_schema(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>")
    schema = make_app(tmp_path).openapi_schema.to_schema()
    assert list(schema["paths"]) == ["/recent"]
