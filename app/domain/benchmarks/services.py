"""Database work on `benchmark_runs`, and the ranking that `backend=auto`/`precision=auto` follow."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from advanced_alchemy.filters import LimitOffset, OrderBy
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import BenchmarkRun
from app.domain.benchmarks.schemas import BenchmarkSummary

log = logging.getLogger("app.benchmarks")

Pair = tuple[str, str]  # (backend, precision)
RANKING_ROWS = 2000


class BenchmarkRepository(SQLAlchemyAsyncRepository[BenchmarkRun]):
    """Rows of `benchmark_runs`."""

    model_type = BenchmarkRun


class BenchmarkService(SQLAlchemyAsyncRepositoryService[BenchmarkRun, BenchmarkRepository]):
    """Recording, listing and summarising benchmark runs."""

    repository_type = BenchmarkRepository

    async def recent(
        self,
        limit: int,
        *,
        model: str | None = None,
        device: str | None = None,
        backend: str | None = None,
        precision: str | None = None,
    ) -> Sequence[BenchmarkRun]:
        """Newest first; `device` is a type (`cuda`) or a device (`cuda:1`)."""
        filters: list[Any] = [LimitOffset(limit=limit, offset=0), OrderBy("created_at", "desc")]
        if model:
            filters.append(BenchmarkRun.model == model)
        if device:
            column = BenchmarkRun.device if ":" in device else BenchmarkRun.device_type
            filters.append(column == device.lower())
        if backend:
            filters.append(BenchmarkRun.backend == backend)
        if precision:
            filters.append(BenchmarkRun.precision == precision.lower())
        return await self.get_many(*filters)

    async def summary(self) -> list[BenchmarkSummary]:
        """Best realtime factor per model, device and variant, over every recorded run."""
        b = BenchmarkRun
        keys = (b.model, b.device_type, b.device_name, b.backend, b.precision)
        statement = (
            select(
                *keys,
                func.max(b.realtime_factor),
                func.min(b.ms_per_step),
                func.max(b.vs_reference_float32),
                func.count(b.id),
                func.max(b.created_at),
            )
            .where(b.tracks == 1)  # an aggregate of several tracks at once is no variant's speed
            .group_by(*keys)
            .order_by(b.model, b.device_type, func.max(b.realtime_factor).desc())
        )
        rows = (await self.repository.session.execute(statement)).all()
        return [
            BenchmarkSummary(
                model=model,
                device_type=device_type,
                device_name=device_name,
                backend=backend,
                precision=precision,
                best_realtime_factor=round(float(rtf), 4),
                best_ms_per_step=round(float(ms), 2),
                best_vs_reference_float32=None if vs is None else round(float(vs), 3),
                runs=int(runs),
                last_run_at=last,
            )
            for model, device_type, device_name, backend, precision, rtf, ms, vs, runs, last in rows
        ]

    async def ranking(self, model: str, architecture: str, device_type: str, device_name: str) -> list[Pair]:
        """(backend, precision) pairs of this architecture on this device type, fastest first."""
        b = BenchmarkRun
        statement = (
            select(b.backend, b.precision, b.model, b.device_name, b.run_id, b.realtime_factor, b.created_at)
            # One track at a time: rows of several at once (`bench --concurrency`) hold an aggregate.
            .where(b.architecture == architecture, b.device_type == device_type, b.tracks == 1)
            .order_by(b.created_at.desc())
            .limit(RANKING_ROWS)
        )
        rows = [Measured(*row) for row in (await self.repository.session.execute(statement)).all()]
        return rank(rows, model, device_name)


@dataclass(frozen=True, slots=True)
class Measured:
    """What the ranking needs of one row."""

    backend: str
    precision: str
    model: str
    device_name: str
    run_id: str
    realtime_factor: float
    created_at: datetime


def rank(rows: Sequence[Measured], model: str, device_name: str) -> list[Pair]:
    """Rank variants by their latest run's mean realtime factor, then by recency.

    Rows of the same device name win over others, then rows of the same model over the same
    architecture's; each variant counts only its most recent `bench` run (`rows` newest first).
    """
    for narrower in (lambda r: r.device_name == device_name, lambda r: r.model == model):
        subset = [r for r in rows if narrower(r)]
        rows = subset or rows
    latest: dict[Pair, str] = {}
    figures: dict[Pair, list[float]] = {}
    newest: dict[Pair, datetime] = {}
    for row in rows:
        pair = (row.backend, row.precision)
        run = latest.setdefault(pair, row.run_id)
        newest.setdefault(pair, row.created_at)
        if row.run_id == run:
            figures.setdefault(pair, []).append(row.realtime_factor)
    mean = {pair: sum(values) / len(values) for pair, values in figures.items()}
    return sorted(mean, key=lambda pair: (-mean[pair], -newest[pair].timestamp()))


SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class RecordedRankings:
    """The ranking for a model on a device, read from `benchmark_runs` (for the engine manager).

    Any database trouble gives an empty ranking: the engine then follows its default order.
    """

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def __call__(self, model: str, device: str) -> tuple[Pair, ...]:
        from inference import device_name, model_spec

        try:
            architecture = model_spec(model).size
            name = device_name(device)
            async with self.sessions() as session:
                service = BenchmarkService(session=session)
                ranked = await service.ranking(model, architecture, device.split(":", 1)[0], name)
        except Exception as exc:  # no table yet, database down, unknown model: use the defaults
            log.warning("no recorded benchmark ranking for %s on %s: %s", model, device, exc)
            return ()
        if ranked:
            log.info("benchmark ranking for %s on %s: %s", model, device, [f"{b}:{p}" for b, p in ranked])
        return tuple(ranked)
