"""Bodies of the system endpoints."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from app.domain.generations.schemas import DEVICE_PATTERN, PRECISION_PATTERN


class ModelStatus(msgspec.Struct):
    """`status` is loading, ready or error (then `error` says why)."""

    status: str
    model: str
    backend: str
    device: str
    precision: str
    reloading: bool
    error_type: str | None
    error: str | None
    loaded_at: float | None
    info: dict[str, Any] | None
    loaded_variants: list[dict[str, str]]


class ReloadRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /model/reload`: any field left out keeps its current value."""

    model: Annotated[str, Meta(min_length=1, max_length=500)] | None = None
    device: Annotated[str, Meta(pattern=DEVICE_PATTERN)] | None = None
    precision: Annotated[str, Meta(pattern=PRECISION_PATTERN)] | None = None
    backend: Annotated[str, Meta(min_length=1, max_length=50)] | None = None


class Health(msgspec.Struct):
    status: str
    version: str
    environment: str
    uptime_s: float
    database: dict[str, Any]
    model: dict[str, Any]
    queue: dict[str, Any]
    system: dict[str, Any]
    gpu: list[dict[str, Any]] | None
