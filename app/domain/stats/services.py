"""Per-day usage (`usage_stats`) kept as jobs finish, and the figures of `GET /stats`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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

    async def daily(self, since: datetime, days: int) -> list[DayStats]:
        """One entry per day of the window, zeros where nothing finished."""
        rows = await self.get_many(UsageStat.date >= day_start(since))
        by_day = {row.date.astimezone(UTC).date(): row for row in rows}
        first = day_start(since).date()
        series = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            row = by_day.get(day)
            series.append(
                DayStats(
                    date=day,
                    total_generations=row.total_generations if row else 0,
                    successful_generations=row.successful_generations if row else 0,
                    failed_generations=row.failed_generations if row else 0,
                    canceled_generations=row.canceled_generations if row else 0,
                    avg_generation_time=round(row.avg_generation_time, 3) if row else 0.0,
                )
            )
        return series


async def totals(session: AsyncSession, since: datetime) -> Totals:
    """Counts and averages over generations created since `since`."""
    g = MusicGeneration
    ok = g.status == SUCCEEDED

    def count(status: str):
        return func.coalesce(func.sum(case((g.status == status, 1), else_=0)), 0)

    statement = select(
        func.count(g.id),
        count(QUEUED),
        count(RUNNING),
        count(SUCCEEDED),
        count(FAILED),
        count(CANCELED),
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
