"""`GET /benchmarks`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.benchmarks.schemas import Benchmark, BenchmarkList
from app.domain.benchmarks.services import BenchmarkService
from app.lib.errors import error_responses
from app.lib.text import NO_NUL


def _filter(max_length: int, description: str) -> QueryParameter:
    return QueryParameter(max_length=max_length, pattern=NO_NUL, description=description)


async def provide_benchmarks(
    db_session: NamedDependency[AsyncSession],
) -> AsyncGenerator[BenchmarkService, None]:
    async with BenchmarkService.new(session=db_session) as service:
        yield service


TAGS = ["stats"]
DEPENDENCIES = {"benchmarks": Provide(provide_benchmarks)}


class BenchmarkController(Controller):
    """Benchmark runs recorded by `musicgenie bench`."""

    path = "/benchmarks"
    tags = TAGS
    dependencies = DEPENDENCIES

    @get(
        "/",
        opt={"rate_limit": "benchmarks"},
        summary="Recorded benchmark runs, newest first",
        description="Rows written by `musicgenie bench`; `device` is a type (cpu) or a device (cuda:1).",
        responses=error_responses(422, 429),
    )
    async def benchmarks(
        self,
        benchmarks: NamedDependency[BenchmarkService],
        model: Annotated[str | None, _filter(200, "Only this model.")] = None,
        device: Annotated[str | None, _filter(50, "Only this device type (cpu) or device (cuda:1).")] = None,
        backend: Annotated[str | None, _filter(50, "Only this backend.")] = None,
        precision: Annotated[str | None, _filter(20, "Only this precision.")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500, description="How many (1-500).")] = 100,
    ) -> BenchmarkList:
        rows = await benchmarks.recent(
            limit, model=model, device=device, backend=backend, precision=precision
        )
        return BenchmarkList(items=[Benchmark.from_row(row) for row in rows], count=len(rows))


HANDLERS = [BenchmarkController]
