"""JSON request bodies: JSON only, and read as strictly as the OpenAPI document describes them.

A handler taking `data` gets a JSON body or none: any other content type is 415 (a `text/plain` or
form post is what a page of another site can send without a preflight). The body is decoded with
msgspec in strict mode before Litestar's own lenient conversion, so `"favorite": 0` or
`"duration": "10"` is the 422 the document promises, not a silent coercion.
"""

from __future__ import annotations

import re

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import ValidationException
from litestar.handlers import BaseRouteHandler

from app.lib.errors import ApiError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_AT_FIELD = re.compile(r"at `\$\.([A-Za-z0-9_]+)")


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


async def json_body(connection: ASGIConnection, route_handler: BaseRouteHandler) -> None:
    """Guard: a JSON body, of the handler's type in strict mode (415, 400 or 422 otherwise)."""
    if connection.scope.get("method") not in BODY_METHODS:
        return
    field = route_handler.parsed_fn_signature.parameters.get("data")
    if field is None or not _has_body(connection):
        return
    content_type = connection.headers.get("content-type", "")
    if not is_json(content_type):
        raise ApiError(
            415,
            "unsupported_media_type",
            "this endpoint takes a JSON body: send Content-Type: application/json, "
            f"not {content_type or 'none'!r}",
        )
    body = await connection.body()
    try:
        msgspec.json.decode(body, type=field.annotation, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        named = _AT_FIELD.search(message)
        raise ValidationException(
            message, extra=[{"key": named.group(1) if named else None, "message": message, "source": "body"}]
        ) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_request", f"the body is not valid JSON: {exc}") from None
