"""JSON errors with a stable `error_type` and a message a person can act on; never a traceback."""

from __future__ import annotations

import logging
import re
from typing import Any

from advanced_alchemy.exceptions import NotFoundError as RepositoryNotFoundError
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap

from inference import InferenceError

log = logging.getLogger("app.errors")


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
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_type = error_type
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}


def not_found(what: str = "generation", ident: str | None = None) -> ApiError:
    """404 for an id that names nothing (or could not name anything)."""
    message = f"no {what} with id {ident!r}" if ident is not None else f"no such {what}"
    return ApiError(404, "not_found", message)


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
    return ApiError(_INFERENCE_STATUS.get(exc.error_type, 500), error_type, str(exc), field=field)


def error_response(
    status_code: int,
    error_type: str,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    """The one shape of every error body."""
    body: dict[str, Any] = {"error_type": error_type, "message": message, "status_code": status_code}
    if field is not None:
        body["field"] = field
    body.update(extra or {})
    return Response(body, status_code=status_code, headers=headers, media_type=MediaType.JSON)


def _api_error(_: Request, exc: ApiError) -> Response:
    return error_response(
        exc.status_code, exc.error_type, exc.message, field=exc.field, headers=exc.headers, extra=exc.extra
    )


def _inference_error(request: Request, exc: InferenceError) -> Response:
    return _api_error(request, api_error_from_inference(exc))


def _validation_error(_: Request, exc: ValidationException) -> Response:
    problems = [p for p in (exc.extra or []) if isinstance(p, dict)] if isinstance(exc.extra, list) else []
    if not problems:
        return error_response(422, "validation_error", _clean(exc.detail) or "the request is not valid")
    details = [
        {"field": _field_of(p), "source": p.get("source"), "message": _clean(str(p.get("message", "")))}
        for p in problems
    ]
    field = details[0]["field"]
    message = "; ".join(f"{d['field']}: {d['message']}" if d["field"] else d["message"] for d in details)
    return error_response(422, "validation_error", message, field=field, extra={"errors": details})


def _not_found(request: Request, exc: NotFoundException | RepositoryNotFoundError) -> Response:
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


def _http_error(_: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    error_type = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 413: "payload_too_large"}.get(
        status, "http_error" if status < 500 else "internal_error"
    )
    message = _clean(exc.detail) or "request failed"
    return error_response(status, error_type, message, headers=exc.headers)


def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "internal_error", "the server failed to handle this request; the error is in the server log"
    )


_NAMED_FIELD = re.compile(r"(?:missing required field|unknown field) `([^`]+)`")


def _field_of(problem: dict[str, Any]) -> str | None:
    """The field a problem is about; for a body-level problem, the field its message names."""
    key = problem.get("key")
    if key and key != "data":
        return str(key)
    match = _NAMED_FIELD.search(str(problem.get("message", "")))
    return match.group(1) if match else (str(key) if key else None)


def _clean(text: str | None) -> str:
    """Litestar's messages without its internal wording (`Validation failed for POST ...`)."""
    return (text or "").strip()


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ApiError: _api_error,
    InferenceError: _inference_error,
    ValidationException: _validation_error,
    NotFoundException: _not_found,
    RepositoryNotFoundError: _not_found,
    MethodNotAllowedException: _method_not_allowed,
    TooManyRequestsException: _rate_limited,
    HTTPException: _http_error,
    Exception: _internal_error,
}
