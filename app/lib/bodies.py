"""JSON request bodies: JSON only, and read as strictly as the OpenAPI document describes them.

A handler taking `data` gets a JSON body or none: any other content type is 415 (a `text/plain` or
form post is what a page of another site can send without a preflight). The body is decoded with
msgspec in strict mode before Litestar's own lenient conversion, so `"favorite": 0` or
`"duration": "10"` is the 422 the document promises, not a silent coercion.

`POST /generate` also takes a multipart form (an audio file to continue) and so reads its body itself
(`app.domain.generations.requests`), with the same decoders: `decode_json`, and `convert_form` for the
form's text fields.
"""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import ValidationException
from litestar.handlers import BaseRouteHandler

from app.lib.errors import ApiError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
T = TypeVar("T")
_AT_FIELD = re.compile(r"at `\$\.([A-Za-z0-9_]+)")


def is_json(content_type: str) -> bool:
    """`application/json` or a `+json` type, parameters (charset) ignored."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def has_body(connection: ASGIConnection) -> bool:
    length = connection.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in connection.headers


async def json_body(connection: ASGIConnection, route_handler: BaseRouteHandler) -> None:
    """Guard: a JSON body, of the handler's type in strict mode (415, 400 or 422 otherwise)."""
    if connection.scope.get("method") not in BODY_METHODS:
        return
    field = route_handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return
    if not has_body(connection):
        if field.is_optional or field.has_default:
            return
        raise ApiError(422, "validation_error", "the body is missing: send this endpoint's fields as JSON")
    content_type = connection.headers.get("content-type", "")
    if not is_json(content_type):
        raise ApiError(
            415,
            "unsupported_media_type",
            "this endpoint takes a JSON body: send Content-Type: application/json, "
            f"not {content_type or 'none'!r}",
        )
    decode_json(await connection.body(), field.annotation)


def decode_json(body: bytes, type_: type[T]) -> T:
    """A JSON body as `type_`, strictly (no `"10"` for a number): 400 for bad JSON, 422 for bad values."""
    try:
        return msgspec.json.decode(body, type=type_, strict=True)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "bad_request", f"the body is not valid JSON: {exc}") from None


def convert_form(fields: dict[str, str], type_: type[T]) -> T:
    """Form fields (text) as `type_`: numbers from their text, the same bounds and 422s as JSON."""
    try:
        return msgspec.convert(fields, type=type_, strict=False)
    except msgspec.ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: msgspec.ValidationError) -> ValidationException:
    message = str(exc)
    named = _AT_FIELD.search(message)
    return ValidationException(
        message, extra=[{"key": named.group(1) if named else None, "message": message, "source": "body"}]
    )
