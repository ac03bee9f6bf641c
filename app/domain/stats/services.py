"""Per-day usage (`usage_stats`) kept as jobs finish, and the figures of `GET /stats`.

`/stats` counts `music_generations` (totals and days from the same rows, so a deleted track leaves
both); `usage_stats` keeps the seed's per-day history, which deletions do not change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, MusicGeneration, UsageStat
from app.domain.stats.schemas import DayStats, DeviceStats, Totals


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of the moment's day."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class UsageRepository(SQLAlchemyAsyncRepository[UsageStat]):
    model_type = UsageStat


class UsageService(SQLAlchemyAsyncRepositoryService[UsageStat, UsageRepository]):
    """The per-day counters and the figures computed from `music_generations`."""

    repository_type = UsageRepository

    async def record_finished(
        self, status: str, generation_time: float, audio_seconds: float, when: datetime
    ) -> None:
        """Count one finished job on its day, in one INSERT ... ON CONFLICT DO UPDATE (atomic)."""
        session = self.repository.session
        ok = status == SUCCEEDED
        values = {
            "date": day_start(when),
            "total_generations": 1,
            "successful_generations": int(ok),
            "failed_generations": int(status == FAILED),
            "canceled_generations": int(status == CANCELED),
            "total_generation_time": generation_time if ok else 0.0,
            "total_audio_seconds": audio_seconds if ok else 0.0,
            "avg_generation_time": generation_time if ok else 0.0,
        }
        insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
        statement = insert(UsageStat).values(**values)
        table = UsageStat.__table__.c
        successes = table.successful_generations + values["successful_generations"]
        total_time = table.total_generation_time + values["total_generation_time"]
        statement = statement.on_conflict_do_update(
            index_elements=["date"],
            set_={
                "total_generations": table.total_generations + 1,
                "successful_generations": successes,
                "failed_generations": table.failed_generations + values["failed_generations"],
                "canceled_generations": table.canceled_generations + values["canceled_generations"],
                "total_generation_time": total_time,
                "total_audio_seconds": table.total_audio_seconds + values["total_audio_seconds"],
                "avg_generation_time": case((successes > 0, total_time / successes), else_=0.0),
            },
        )
        await session.execute(statement)
        await session.commit()


async def daily(session: AsyncSession, since: datetime, days: int) -> list[DayStats]:
    """One entry per UTC day of the window, counted from the same rows as `totals` (by creation day).

    A day with no generations has zero counts and a null average (a gap in a chart, not a zero).
    """
    g = MusicGeneration
    day = _utc_day(session, g.created_at)
    statement = (
        select(
            day,
            func.count(g.id),
            _count(SUCCEEDED),
            _count(FAILED),
            _count(CANCELED),
            func.avg(case((g.status == SUCCEEDED, g.generation_time))),
        )
        .where(g.created_at >= since)
        .group_by(day)
    )
    rows = {_as_date(row[0]): row[1:] for row in (await session.execute(statement)).all()}
    first = day_start(since).date()
    series = []
    for offset in range(days):
        date = first + timedelta(days=offset)
        total, succeeded, failed, canceled, avg_time = rows.get(date, (0, 0, 0, 0, None))
        series.append(
            DayStats(
                date=date,
                total_generations=int(total),
                successful_generations=int(succeeded),
                failed_generations=int(failed),
                canceled_generations=int(canceled),
                avg_generation_time=_round(avg_time, 3),
            )
        )
    return series


def _count(status: str) -> Any:
    """How many rows of a group have this status, in SQL."""
    return func.coalesce(func.sum(case((MusicGeneration.status == status, 1), else_=0)), 0)


def _utc_day(session: AsyncSession, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, in SQL."""
    if session.bind.dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite keeps UTC text: its date part


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def totals(session: AsyncSession, since: datetime) -> Totals:
    """Counts and averages over generations created since `since`."""
    g = MusicGeneration
    ok = g.status == SUCCEEDED
    statement = select(
        func.count(g.id),
        _count(QUEUED),
        _count(RUNNING),
        _count(SUCCEEDED),
        _count(FAILED),
        _count(CANCELED),
        func.avg(case((ok, g.generation_time))),
        func.avg(case((ok, g.realtime_factor))),
        func.coalesce(func.sum(case((ok, g.duration), else_=0.0)), 0.0),
        func.coalesce(func.sum(g.play_count), 0),
        func.coalesce(func.sum(g.download_count), 0),
        func.coalesce(func.sum(case((g.is_favorited, 1), else_=0)), 0),
    ).where(g.created_at >= since)
    row = (await session.execute(statement)).one()
    total, queued, running, succeeded, failed, canceled, avg_time, avg_rtf, audio, plays, downloads, favs = (
        row
    )
    finished = int(succeeded) + int(failed)
    return Totals(
        generations=int(total),
        queued=int(queued),
        running=int(running),
        succeeded=int(succeeded),
        failed=int(failed),
        canceled=int(canceled),
        success_rate=round(int(succeeded) / finished, 4) if finished else None,
        avg_generation_time=_round(avg_time, 3),
        avg_realtime_factor=_round(avg_rtf, 4),
        audio_seconds=round(float(audio), 2),
        plays=int(plays),
        downloads=int(downloads),
        favorites=int(favs),
    )


async def by_device(session: AsyncSession, since: datetime) -> list[DeviceStats]:
    """Average generation time and realtime factor of successful jobs per device and precision."""
    g = MusicGeneration
    statement = (
        select(
            g.device, g.precision, func.count(g.id), func.avg(g.generation_time), func.avg(g.realtime_factor)
        )
        .where(g.created_at >= since, g.status == SUCCEEDED)
        .group_by(g.device, g.precision)
        .order_by(g.device, g.precision)
    )
    return [
        DeviceStats(device, precision, int(n), _round(avg_time, 3), _round(avg_rtf, 4))
        for device, precision, n, avg_time, avg_rtf in (await session.execute(statement)).all()
    ]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)
