"""JSON errors with a stable `error_type` and a message a person can act on; never a traceback.

`ErrorBody` is the one shape of every error answer, and `error_responses()` declares it in the OpenAPI
document for the statuses an endpoint can answer.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from advanced_alchemy.exceptions import NotFoundError as RepositoryNotFoundError
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from app.jobs.errors import (
    AudioMissing,
    InvalidJob,
    JobRefused,
    ModelUnavailable,
    NotFinished,
    ReloadFailed,
    ShuttingDown,
    UploadNotKept,
)
from app.jobs.queue import QueueFull
from app.lib.text import PATTERN_MEANINGS
from inference import InferenceError

log = logging.getLogger("app.errors")


class ErrorItem(msgspec.Struct):
    """One problem of an invalid request."""

    field: str | None
    source: str | None
    message: str


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """Every error answer: a stable `error_type`, a message, the status code again.

    `field` names the input at fault (validation errors); `errors` lists every problem found;
    `status` is the generation's status where an action needs another one (`not_ready`).
    """

    error_type: str
    message: str
    status_code: int
    field: str | None = None
    errors: list[ErrorItem] | None = None
    status: str | None = None


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed (`bad_request`): a body that is not JSON, or nests too deeply.",
    401: "A credential is missing (`unauthorized`).",
    403: "The credential is wrong, or the request came from a page of another site (`forbidden`).",
    404: "Nothing has this id (`not_found`).",
    409: "The generation is not in a state that allows this (`not_ready`); `status` says which it is in.",
    410: "The generation's audio is no longer on disk (`file_missing`).",
    413: "The request body is too large (`payload_too_large`), or the uploaded file is larger than "
    "MAX_UPLOAD_MB (`upload_too_large`); refused before it is read.",
    415: "The body is not JSON (`unsupported_media_type`): send `Content-Type: application/json` (or, "
    "where the endpoint takes a file, `multipart/form-data`).",
    416: "The range lies outside the file (`range_not_satisfiable`); `Content-Range` gives its size.",
    422: "An input is out of bounds (`validation_error`, with `field`) or cannot be served "
    "(`device_unavailable`, `unsupported_precision`, `unknown_model`, `unknown_backend`), or an uploaded "
    "file is not audio the service reads (`unsupported_audio`).",
    429: "Too many requests (`rate_limited`) or a full queue (`queue_full`); retry after `Retry-After` s.",
    503: "The model cannot serve (`model_unavailable`, `backend_unavailable`, with the reason), the "
    "service is shutting down (`shutting_down`), or it cannot store an upload (`storage_error`).",
}


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """The OpenAPI responses of an endpoint's error statuses, each with the `ErrorBody` schema.

    400 is always among them: any request can be malformed, and Litestar documents it otherwise with a
    body of its own that this service never sends.
    """
    return {
        code: ResponseSpec(
            data_container=ErrorBody, description=ERROR_DESCRIPTIONS[code], generate_examples=False
        )
        for code in sorted({400, *codes})
    }


class ApiError(Exception):
    """An error answer: status code, stable `error_type`, message, optional field and headers."""

    def __init__(
        self,
        status_code: int,
        error_type: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        status: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_type = error_type
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.status = status


class NotFound(RepositoryNotFoundError):
    """Nothing has this id: what services raise (advanced-alchemy's NotFoundError, so it maps to the
    404 in one place, `_not_found`); `detail` is the message."""


def not_found(what: str = "generation", ident: str | None = None) -> NotFound:
    """The error for an id that names nothing (or could not name anything)."""
    return NotFound(detail=f"no {what} with id {ident!r}" if ident is not None else f"no such {what}")


# Engine errors: where the request was at fault, 422; where the server lacks something, 503.
_INFERENCE_STATUS = {
    "invalid_parameter": 422,
    "unknown_model": 422,
    "unknown_backend": 422,
    "unsupported_precision": 422,
    "device_unavailable": 422,
    "model_unavailable": 503,
    "backend_unavailable": 503,
    "engine_not_loaded": 503,
}


def api_error_from_inference(exc: InferenceError) -> ApiError:
    """The API error for an engine error (`invalid_parameter` becomes a `validation_error` on its field)."""
    field = getattr(exc, "field", None)
    if exc.error_type == "invalid_parameter":
        return ApiError(422, "validation_error", str(exc), field=field)
    error_type = "model_unavailable" if exc.error_type == "engine_not_loaded" else exc.error_type
    status = _INFERENCE_STATUS.get(exc.error_type, 503)
    return ApiError(status, error_type, str(exc), field=field)


def api_error_from_refusal(exc: JobRefused | QueueFull) -> ApiError:
    """The API error for a job the runtime refused."""
    message = str(exc)
    match exc:
        case QueueFull():
            retry = {"Retry-After": str(exc.retry_after)}
            return ApiError(429, "queue_full", f"{message}; retry in {exc.retry_after} s", headers=retry)
        case ShuttingDown():
            return ApiError(503, "shutting_down", message, headers={"Retry-After": str(exc.retry_after)})
        case ModelUnavailable():
            return ApiError(503, "model_unavailable", message)
        case InvalidJob():
            return ApiError(422, "validation_error", message, field=exc.field)
        case NotFinished():
            return ApiError(409, "not_ready", message, status=exc.status)
        case AudioMissing():
            return ApiError(410, "file_missing", message)
        case UploadNotKept():
            return ApiError(503, "storage_error", message)
        case ReloadFailed():
            return ApiError(503, "reload_failed", message)
    raise TypeError(f"no API error for {type(exc).__name__}")  # a new refusal needs its case above


def error_response(
    status_code: int,
    error_type: str,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[ErrorItem] | None = None,
    status: str | None = None,
) -> Response[ErrorBody]:
    """The one shape of every error body."""
    body = ErrorBody(error_type, message, status_code, field=field, errors=errors, status=status)
    return Response(body, status_code=status_code, headers=headers, media_type=MediaType.JSON)


def _api_error(_: Request, exc: ApiError) -> Response:
    return error_response(
        exc.status_code, exc.error_type, exc.message, field=exc.field, headers=exc.headers, status=exc.status
    )


def _inference_error(request: Request, exc: InferenceError) -> Response:
    return _api_error(request, api_error_from_inference(exc))


def _job_refused(request: Request, exc: JobRefused | QueueFull) -> Response:
    return _api_error(request, api_error_from_refusal(exc))


def _validation_error(_: Request, exc: ValidationException) -> Response:
    problems = [p for p in (exc.extra or []) if isinstance(p, dict)] if isinstance(exc.extra, list) else []
    if not problems:
        message = _clean(exc.detail) or "the request is not valid"
        named = _NAMED_PARAMETER.search(message)
        return error_response(422, "validation_error", message, field=named.group(1) if named else None)
    details = [
        ErrorItem(
            field=_field_of(p),
            source=_source(p.get("source")),
            message=_clean(str(p.get("message", ""))),
        )
        for p in problems
    ]
    message = "; ".join(f"{d.field}: {d.message}" if d.field else d.message for d in details)
    return error_response(422, "validation_error", message, field=details[0].field, errors=details)


def _not_found(request: Request, exc: NotFoundException | RepositoryNotFoundError) -> Response:
    """The one 404: a service's `NotFound` says which id; any other miss names the path."""
    if isinstance(exc, NotFound):
        return error_response(404, "not_found", exc.detail)
    return error_response(404, "not_found", f"nothing at {request.method} {request.url.path}")


def _method_not_allowed(request: Request, exc: MethodNotAllowedException) -> Response:
    return error_response(
        405,
        "method_not_allowed",
        f"{request.method} is not allowed on {request.url.path}",
        headers=exc.headers,
    )


def _rate_limited(request: Request, exc: TooManyRequestsException) -> Response:
    headers = dict(exc.headers or {})
    reset = headers.get("RateLimit-Reset", "60")
    headers["Retry-After"] = str(max(1, int(reset))) if reset.lstrip("-").isdigit() else "60"
    return error_response(
        429,
        "rate_limited",
        f"too many requests to {request.method} {request.url.path}; retry in {headers['Retry-After']} s",
        headers=headers,
    )


_HTTP_ERROR_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _http_error(_: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    error_type = _HTTP_ERROR_TYPES.get(status, "http_error" if status < 500 else "internal_error")
    message = _clean(exc.detail) or "request failed"
    return error_response(status, error_type, message, headers=exc.headers)


def _recursion_error(request: Request, exc: RecursionError) -> Response:
    # msgspec refuses a body nested deeper than Python's recursion limit with this error.
    if "deserializ" in str(exc):
        return error_response(400, "bad_request", "the JSON body nests too deeply")
    return _internal_error(request, exc)


def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "internal_error", "the server failed to handle this request; the error is in the server log"
    )


_NAMED_FIELD = re.compile(r"(?:missing required field|unknown field) `([^`]+)`")
_NAMED_PARAMETER = re.compile(r"(?:query|header|path|cookie) parameter '([^']+)'")


def _field_of(problem: dict[str, Any]) -> str | None:
    """The field a problem is about; for a body-level problem, the field its message names."""
    key = problem.get("key")
    if key and key != "data":
        return str(key)
    match = _NAMED_FIELD.search(str(problem.get("message", "")))
    return match.group(1) if match else (str(key) if key else None)


def _source(source: object) -> str | None:
    """Where the input was: `body`, `query`, `path`, `header` (Litestar gives an enum member)."""
    if source is None:
        return None
    return str(getattr(source, "value", source))


_AT_PATH = re.compile(r" - at `\$[^`]*`$")


def _clean(text: str | None) -> str:
    """msgspec's and Litestar's messages in words: what a pattern asks, not the regex; no JSON path."""
    message = _AT_PATH.sub("", (text or "").strip())
    for pattern, meaning in PATTERN_MEANINGS.items():
        message = message.replace(f"Expected `str` matching regex {pattern!r}", meaning)
    return message


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ApiError: _api_error,
    InferenceError: _inference_error,
    JobRefused: _job_refused,
    QueueFull: _job_refused,
    ValidationException: _validation_error,
    NotFoundException: _not_found,
    RepositoryNotFoundError: _not_found,
    MethodNotAllowedException: _method_not_allowed,
    TooManyRequestsException: _rate_limited,
    HTTPException: _http_error,
    RecursionError: _recursion_error,
    Exception: _internal_error,
}
