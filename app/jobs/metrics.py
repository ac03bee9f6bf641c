"""Periodic samples of CPU, memory and GPU load into `system_metrics`, with a retention limit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import SystemMetric, utcnow
from app.domain.system.services import gpu_stats, machine_stats
from app.jobs.dispatch import Dispatch
from app.lib.storage import AudioStorage

log = logging.getLogger("app.metrics")


class SystemSampler:
    """Writes one `system_metrics` row every `interval_s` and drops rows older than `retention_days`."""

    def __init__(
        self,
        sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        queue: Dispatch,
        storage: AudioStorage,
        interval_s: float,
        retention_days: int,
    ) -> None:
        self.sessions = sessions
        self.queue = queue
        self.storage = storage
        self.interval_s = interval_s
        self.retention = timedelta(days=retention_days)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="system-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sample()
            except Exception:  # a failed sample must not stop sampling
                log.warning("system metrics sample failed", exc_info=True)

    async def sample(self) -> SystemMetric:
        """Take and store one sample; prune old ones."""
        machine = await asyncio.to_thread(machine_stats, self.storage.root)
        gpus = await asyncio.to_thread(gpu_stats)
        gpu_usage = gpu_memory = None
        if gpus:
            gpu_usage = sum(g["utilization_percent"] or 0.0 for g in gpus) / len(gpus)
            gpu_memory = sum(g["memory_percent"] or 0.0 for g in gpus) / len(gpus)
        metric = SystemMetric(
            timestamp=utcnow(),
            cpu_usage=machine["cpu_percent"],
            memory_usage=machine["memory_percent"],
            gpu_usage=gpu_usage,
            gpu_memory_usage=gpu_memory,
            queue_depth=await self.queue.waiting(),
        )
        async with self.sessions() as session:
            session.add(metric)
            await session.execute(
                delete(SystemMetric).where(SystemMetric.timestamp < utcnow() - self.retention)
            )
            await session.commit()
        return metric
