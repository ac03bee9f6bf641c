"""The OpenAPI document and its reference page at `/schema`, which works offline.

Swagger UI's script and style come from the `swagger-ui-py` package and are served by the service
itself at `/schema-assets/`: the page loads nothing from a CDN.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from litestar import Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.static_files import create_static_files_router

from app.lib.auth import SECURITY_COMPONENTS

ASSETS_PATH = "/schema-assets"
ASSETS_DIR = Path(swagger_ui.__file__).parent / "static"


def openapi_config(version: str) -> OpenAPIConfig:
    """`/schema` (Swagger UI), `/schema/openapi.json` and `/schema/openapi.yaml`."""
    swagger = SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
        path=["/", "/swagger"],
    )
    return OpenAPIConfig(
        title="Music Genie",
        version=version,
        description=(
            "Text to music: queue generations, follow their progress, play and download audio. "
            "Every error is JSON with a stable `error_type`."
        ),
        path="/schema",
        components=SECURITY_COMPONENTS,
        render_plugins=[swagger, JsonRenderPlugin(), YamlRenderPlugin()],
    )


def docs_assets_router() -> Router:
    """Swagger UI's files, for the reference page."""
    return create_static_files_router(
        path=ASSETS_PATH, directories=[ASSETS_DIR], include_in_schema=False, name="schema-assets"
    )
