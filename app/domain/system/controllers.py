"""`GET /health`, `GET /model/status`, `POST /model/reload` (admin)."""

from __future__ import annotations

import asyncio
import time

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.domain.system.schemas import Health, ModelStatus, ReloadRequest
from app.domain.system.services import gpu_stats, machine_stats
from app.lib.admin import require_admin

TAGS = ["system"]


@get("/health", opt={"rate_limit": "health"}, tags=TAGS, summary="Database, model, queue and machine health")
async def health(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[Health]:
    jobs = request.app.state.jobs
    started = time.perf_counter()
    database: dict[str, object] = {"dialect": db_session.bind.dialect.name}
    try:
        await db_session.execute(text("SELECT 1"))
        database.update(ok=True, latency_ms=round(1000 * (time.perf_counter() - started), 2))
    except Exception as exc:  # any driver error means the same: the database does not answer
        database.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
    engines = jobs.engines
    model = {
        "status": engines.status,
        "model": engines.model,
        "device": engines.default.device if engines.default else engines.device,
        "precision": engines.default.precision if engines.default else engines.precision,
        "backend": engines.current_backend,
        "error": engines.error,
    }
    system = await asyncio.to_thread(machine_stats, jobs.storage.root)
    gpus = await asyncio.to_thread(gpu_stats)
    if not database["ok"]:
        status = "error"
    elif engines.status == "ready":
        status = "ok"
    else:
        status = "starting" if engines.status == "loading" else "degraded"
    body = Health(
        status=status,
        version=__version__,
        environment=request.app.state.settings.environment,
        uptime_s=round(time.time() - jobs.started_at, 1),
        database=database,
        model=model,
        queue={
            "depth": jobs.queue.depth,
            "capacity": jobs.queue.capacity,
            "running": jobs.queue.running,
            "accepting": jobs.queue.accepting,
        },
        system=system,
        gpu=gpus,
    )
    return Response(body, status_code=503 if status == "error" else 200)


@get("/model/status", opt={"rate_limit": "model_status"}, tags=TAGS, summary="Model loading status")
async def model_status(request: Request) -> ModelStatus:
    return msgspec.convert(request.app.state.jobs.engines.snapshot(), ModelStatus)


@post(
    "/model/reload",
    opt={"rate_limit": "model_reload"},
    guards=[require_admin],
    tags=TAGS,
    status_code=HTTP_200_OK,
    summary="Reload or switch the model (admin: X-Admin-Key)",
    description="Builds the new engine before retiring the old one: jobs in flight finish on the old one.",
)
async def model_reload(request: Request, data: JSONBody[ReloadRequest | None] = None) -> ModelStatus:
    engines = request.app.state.jobs.engines
    data = data or ReloadRequest()
    await engines.reload(
        model=data.model,
        backend=data.backend,
        device=data.device.lower() if data.device else None,
        precision=data.precision.lower() if data.precision else None,
    )
    return msgspec.convert(engines.snapshot(), ModelStatus)


HANDLERS = [health, model_status, model_reload]
