"""Bodies of the system endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from app.domain.generations.schemas import Device, Precision
from app.lib.text import NO_NUL


class DeviceOption(msgspec.Struct):
    """A device type this machine can run generations on (`device` is what `POST /generate` takes)."""

    device: str
    name: str
    precisions: list[str]


class BackendOption(msgspec.Struct):
    """A backend of the engine and the precisions it implements."""

    backend: str
    precisions: list[str]


class WorkerStatus(msgspec.Struct):
    """A live generation worker: this process (QUEUE=local) or a `musicgenie worker` (QUEUE=saq).

    `running`: the ids of the jobs it generates now; `last_heartbeat`: when it last wrote its stats
    (a worker silent for over 6 s is gone from the list).
    """

    name: str
    host: str
    pid: int
    status: str
    model: str
    backend: str
    device: str
    precision: str
    max_batch: int
    running: list[str]
    last_heartbeat: datetime | None


class ModelStatus(msgspec.Struct):
    """`status` is loading, ready or error (then `error` says why).

    `devices` lists what this machine can run, best first, each with the precisions a generation may ask
    for there (preferred first); `backends` the engine's backends.
    """

    status: str
    model: str
    backend: str
    device: str
    precision: str
    reloading: bool
    error_type: str | None
    error: str | None
    loaded_at: datetime | None
    info: dict[str, Any] | None
    loaded_variants: list[dict[str, str]]
    devices: list[DeviceOption]
    backends: list[BackendOption]
    workers: list[WorkerStatus]


class ReloadRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /model/reload`: any field left out keeps its current value."""

    model: Annotated[str, Meta(min_length=1, max_length=500, pattern=NO_NUL)] | None = None
    device: Device | None = None
    precision: Precision | None = None
    backend: Annotated[str, Meta(min_length=1, max_length=50, pattern=NO_NUL)] | None = None


class StorageHealth(msgspec.Struct):
    """Whether AUDIO_DIR can take the longest track now (`needed_bytes`, a WAV and its temporary copy)."""

    ok: bool
    writable: bool
    free_bytes: int
    needed_bytes: int


class Health(msgspec.Struct):
    """`ok`; `degraded` when the model cannot generate or AUDIO_DIR cannot take a track; `starting`
    while the model loads; `error` (503) when the database does not answer."""

    status: Literal["ok", "degraded", "starting", "error"]
    version: str
    environment: str
    uptime_s: float
    database: dict[str, Any]
    model: dict[str, Any]
    queue: dict[str, Any]
    workers: list[WorkerStatus]
    storage: StorageHealth
    system: dict[str, Any]
    gpu: list[dict[str, Any]] | None
