"""`GET /health`, `GET /model/status`, `POST /model/reload` (admin)."""

from __future__ import annotations

import asyncio
import time

import msgspec
from litestar import Controller, Response, get, head, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.domain.generations.schemas import MAX_DURATION_S
from app.domain.system.schemas import Health, ModelStatus, ReloadRequest, StorageHealth, WorkerStatus
from app.domain.system.services import gpu_stats, machine_stats
from app.jobs.runtime import JobRuntime
from app.lib.auth import ADMIN_ONLY, require_admin
from app.lib.errors import error_responses
from app.settings import Settings

TAGS = ["system"]
# MusicGen's widest output: 32 kHz stereo (used until a model is loaded).
DEFAULT_SAMPLE_RATE, DEFAULT_CHANNELS = 32_000, 2


class SystemController(Controller):
    """Health, model status and model reload."""

    path = "/"
    tags = TAGS

    @get(
        "/health",
        opt={"rate_limit": "health"},
        summary="Database, model, queue, storage and machine health",
        responses={
            HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(Health, description="The database does not answer."),
            **error_responses(429),
        },
    )
    async def health(
        self,
        jobs: NamedDependency[JobRuntime],
        settings: NamedDependency[Settings],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[Health]:
        body = await _health(jobs, settings, db_session)
        return Response(body, status_code=_status_code(body.database))

    @head(
        "/health",
        opt={"rate_limit": "health"},
        summary="The status code of GET /health, without its body (for uptime monitors)",
        responses={
            HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(None, description="The database does not answer."),
            **error_responses(429),
        },
    )
    async def health_head(self, db_session: NamedDependency[AsyncSession]) -> Response[None]:
        # The status code depends on the database alone: the rest of GET's checks would be thrown away.
        return Response(None, status_code=_status_code(await _database(db_session)))

    @get(
        "/model/status",
        opt={"rate_limit": "model_status"},
        summary="Model loading status",
        responses=error_responses(429),
    )
    async def model_status(self, jobs: NamedDependency[JobRuntime]) -> ModelStatus:
        return msgspec.convert(await jobs.model_status(), ModelStatus)

    @post(
        "/model/reload",
        opt={"rate_limit": "model_reload"},
        guards=[require_admin],
        security=ADMIN_ONLY,
        status_code=HTTP_200_OK,
        summary="Reload or switch the model (admin: X-Admin-Key)",
        description=(
            "Builds the new engine before retiring the old one: jobs in flight finish on the old one. "
            "A failed reload leaves the old engine serving and answers the reason."
        ),
        responses=error_responses(401, 403, 415, 422, 429, 503),
    )
    async def model_reload(
        self, jobs: NamedDependency[JobRuntime], data: JSONBody[ReloadRequest | None] = None
    ) -> ModelStatus:
        data = data or ReloadRequest()
        snapshot = await jobs.reload(
            model=data.model, backend=data.backend, device=data.device, precision=data.precision
        )
        return msgspec.convert(snapshot, ModelStatus)


HANDLERS = [SystemController]


async def _health(jobs: JobRuntime, settings: Settings, db_session: AsyncSession) -> Health:
    """What `GET /health` answers."""
    database = await _database(db_session)
    snapshot = await jobs.model_status()
    info = snapshot["info"] or {}
    model = {key: snapshot[key] for key in ("status", "model", "device", "precision", "backend", "error")}
    space = await asyncio.to_thread(
        jobs.storage.space,
        MAX_DURATION_S,
        info.get("sample_rate", DEFAULT_SAMPLE_RATE),
        info.get("channels", DEFAULT_CHANNELS),
    )
    system = await asyncio.to_thread(machine_stats, jobs.storage.root)
    gpus = await asyncio.to_thread(gpu_stats)
    if not database["ok"]:
        status = "error"
    elif model["status"] == "loading":
        status = "starting"
    elif model["status"] != "ready" or not space.ok:
        status = "degraded"
    else:
        status = "ok"
    return Health(
        status=status,
        version=__version__,
        environment=settings.environment,
        uptime_s=round(time.time() - jobs.started_at, 1),
        database=database,
        model=model,
        queue=await jobs.queue_state(),
        workers=msgspec.convert(snapshot["workers"], list[WorkerStatus]),
        storage=StorageHealth(
            ok=space.ok,
            writable=space.writable,
            free_bytes=space.free_bytes,
            needed_bytes=space.needed_bytes,
        ),
        system=system,
        gpu=gpus,
    )


async def _database(db_session: AsyncSession) -> dict[str, object]:
    """Whether the database answers a query, and how fast (or the driver's error)."""
    started = time.perf_counter()
    database: dict[str, object] = {"dialect": db_session.bind.dialect.name}
    try:
        await db_session.execute(text("SELECT 1"))
        database.update(ok=True, latency_ms=round(1000 * (time.perf_counter() - started), 2))
    except Exception as exc:  # any driver error means the same: the database does not answer
        database.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
    return database


def _status_code(database: dict[str, object]) -> int:
    """503 while the database does not answer (health `error`); else 200, degraded or not."""
    return 200 if database["ok"] else 503
