"""The runtime's front door: what `submit` takes mirrors the HTTP body, and every refusal it raises has
one HTTP answer, the same as when the controller made it."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from app.domain.generations.schemas import GenerateRequest
from app.jobs import errors
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
from app.jobs.submissions import GenerationRequest
from app.lib.errors import api_error_from_refusal


def test_the_runtime_request_has_the_fields_of_the_http_body() -> None:
    body = GenerateRequest(prompt=" drums ", seed=7, variations=3)
    request = GenerationRequest(**msgspec.structs.asdict(body))  # as the controller builds it
    assert {field.name for field in dataclasses.fields(GenerationRequest)} == set(
        GenerateRequest.__struct_fields__
    )
    assert (request.prompt, request.seed, request.variations) == (" drums ", 7, 3)


ANSWERS: list[tuple[Exception, int, str, str, dict[str, str]]] = [
    (
        QueueFull(16, 12, 16),
        429,
        "queue_full",
        "the generation queue is full (16 jobs waiting, at most 16); retry in 12 s",
        {"Retry-After": "12"},
    ),
    (
        QueueFull(16, 12, 14, 4),
        429,
        "queue_full",
        "the generation queue has room for 2 more jobs, not the 4 asked for (14 waiting, at most 16); "
        "retry in 12 s",
        {"Retry-After": "12"},
    ),
    (
        ShuttingDown(),
        503,
        "shutting_down",
        "the service is shutting down; retry shortly",
        {"Retry-After": "5"},
    ),
    (ModelUnavailable("no weights"), 503, "model_unavailable", "the model cannot generate: no weights", {}),
    (InvalidJob("user_id", "no user with id 3"), 422, "validation_error", "user_id: no user with id 3", {}),
    (
        NotFinished("ab12", "running"),
        409,
        "not_ready",
        "generation ab12 is running; audio exists only once it succeeded",
        {},
    ),
    (AudioMissing("ab12"), 410, "file_missing", "the audio of ab12 is no longer on disk", {}),
    (
        UploadNotKept(OSError("disk full")),
        503,
        "storage_error",
        "could not keep the uploaded audio: disk full",
        {},
    ),
    (
        ReloadFailed(["worker w1: no such model", "worker w2: no answer in 300 s"]),
        503,
        "reload_failed",
        "worker w1: no such model; worker w2: no answer in 300 s",
        {},
    ),
]


@pytest.mark.parametrize(
    ("exc", "status_code", "error_type", "message", "headers"),
    ANSWERS,
    ids=[type(answer[0]).__name__ for answer in ANSWERS],
)
def test_each_refusal_has_its_answer(
    exc: JobRefused | QueueFull, status_code: int, error_type: str, message: str, headers: dict[str, str]
) -> None:
    error = api_error_from_refusal(exc)
    assert (error.status_code, error.error_type, error.message, error.headers) == (
        status_code,
        error_type,
        message,
        headers,
    )
    if isinstance(exc, InvalidJob):
        assert error.field == exc.field
    if isinstance(exc, NotFinished):
        assert error.status == "running"


def test_every_refusal_is_mapped() -> None:
    kinds = {
        kind
        for kind in vars(errors).values()
        if isinstance(kind, type) and issubclass(kind, JobRefused) and kind is not JobRefused
    }
    assert kinds == {type(exc) for exc, *_ in ANSWERS} - {QueueFull}
