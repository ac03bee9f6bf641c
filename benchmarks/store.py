"""Writes benchmark rows through the service's database layer (advanced-alchemy), SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

from advanced_alchemy.alembic.commands import AlembicCommands

from app.db.config import alchemy_config
from app.db.models import BenchmarkRun
from app.domain.benchmarks.services import BenchmarkService
from app.settings import Settings
from benchmarks.runner import Measurement


class BenchmarkStore:
    """`record(measurement)` inserts one `benchmark_runs` row; synchronous, for the runner's loop."""

    def __init__(self, database_url: str) -> None:
        self.settings = Settings(database_url=database_url)
        self.config = alchemy_config(self.settings)
        self._loop = asyncio.Runner()

    def migrate(self) -> None:
        """`musicgenie database upgrade` (Alembic runs an event loop of its own, so in a thread)."""
        failure: list[BaseException] = []

        def upgrade() -> None:
            try:
                AlembicCommands(self.config).upgrade()
            except BaseException as exc:
                failure.append(exc)

        thread = threading.Thread(target=upgrade, name="migrate")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]

    def record(self, measurement: Measurement) -> None:
        self._loop.run(self._insert(measurement))

    async def _insert(self, measurement: Measurement) -> None:
        async with self.config.get_session() as session:
            service = BenchmarkService(session=session)
            await service.create(BenchmarkRun(**columns(measurement)), auto_commit=True)

    def close(self) -> None:
        self._loop.run(self.config.get_engine().dispose())
        self._loop.close()

    def __enter__(self) -> BenchmarkStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def columns(measurement: Measurement) -> dict[str, object]:
    """The measurement's fields that are columns of `benchmark_runs` (not the report-only ones)."""
    names = set(BenchmarkRun.__table__.columns.keys())
    return {name: value for name, value in dataclasses.asdict(measurement).items() if name in names}
