"""`GET /stats`."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import utcnow
from app.domain.benchmarks.services import BenchmarkService
from app.domain.stats.schemas import Stats, Storage
from app.domain.stats.services import by_device, daily, day_start, totals
from app.jobs.runtime import JobRuntime
from app.lib.errors import error_responses

TAGS = ["stats"]


class StatsController(Controller):
    """Generation statistics."""

    path = "/stats"
    tags = TAGS

    @get(
        "/",
        opt={"rate_limit": "stats"},
        summary="Generation statistics over the last N days",
        description="Totals and days count the same generations (by the day they were created, UTC).",
        responses=error_responses(422, 429),
    )
    async def stats(
        self,
        jobs: NamedDependency[JobRuntime],
        db_session: NamedDependency[AsyncSession],
        days: Annotated[
            int, QueryParameter(ge=1, le=365, description="Days to analyse, today included (1-365).")
        ] = 7,
    ) -> Stats:
        since = day_start(utcnow()) - timedelta(days=days - 1)
        storage = jobs.storage
        files, size = await asyncio.to_thread(storage.usage)
        try:
            free_gb: float | None = round(shutil.disk_usage(storage.root).free / 1024**3, 2)
        except OSError:
            free_gb = None
        return Stats(
            days=days,
            since=since,
            totals=await totals(db_session, since),
            by_device=await by_device(db_session, since),
            daily=await daily(db_session, since, days),
            storage=Storage(files=files, bytes=size, mb=round(size / 2**20, 3), disk_free_gb=free_gb),
            benchmarks=await BenchmarkService(session=db_session).summary(),
        )


HANDLERS = [StatsController]
