"""Where the runtime sends jobs: the in-process queue (QUEUE=local) or SAQ's PostgreSQL queue (QUEUE=saq).

Both take the same calls from `JobRuntime`: admit (the global bound, checked before any row is written),
put, withdraw (a canceled waiting job), stop (a running one), positions and the number waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import msgspec
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import FINISHED, QUEUED, SUCCEEDED, MusicGeneration
from app.domain.generations.services import GenerationService
from app.jobs.errors import ReloadFailed
from app.jobs.events import EventHub, ProgressEvent, StatusEvent
from app.jobs.queue import JobQueue, QueueFull
from app.jobs.relay import (
    CONTROL,
    EVENTS,
    AudioChunk,
    Command,
    Message,
    PgChannel,
    ProgressMessage,
    ReloadReport,
    StatusChanged,
    receive_chunk,
)
from app.jobs.saq_queue import generation_job, live_workers, make_queue
from app.jobs.streams import AudioStreams
from app.settings import Settings

log = logging.getLogger("app.jobs")

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
ADMISSION_LOCK = 0x6D67_0001  # pg_advisory_lock key: one admission at a time across API processes
DEFAULT_RETRY_AFTER_S = 10
RELOAD_WAIT_S = 300.0  # a worker loads the new model before it answers: minutes for a large one


class Dispatch(Protocol):
    """What the runtime needs of a queue backend."""

    capacity: int
    accepting: bool

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    def admit(self, slots: int, service: GenerationService) -> AbstractAsyncContextManager[None]: ...
    async def put(self, generation_id: str) -> None: ...
    async def withdraw(self, generation_id: str) -> None: ...
    async def stop(self, generation_id: str) -> None: ...
    async def positions(self, generation_ids: Sequence[str]) -> dict[str, int]: ...
    async def waiting(self) -> int: ...
    async def reload(self, options: dict[str, str | None]) -> None: ...


class LocalDispatch:
    """QUEUE=local: the in-process FIFO that this process's worker takes from."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self.capacity = queue.capacity

    @property
    def accepting(self) -> bool:
        return self.queue.accepting

    @accepting.setter
    def accepting(self, value: bool) -> None:
        self.queue.accepting = value

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    @asynccontextmanager
    async def admit(self, slots: int, service: GenerationService) -> AsyncIterator[None]:
        """Hold `slots` of the in-process bound while `service` writes the rows."""
        with self.queue.reserve(slots):
            yield

    async def put(self, generation_id: str) -> None:
        await self.queue.put(generation_id)

    async def withdraw(self, generation_id: str) -> None:
        self.queue.remove(generation_id)
        self.queue.forget(generation_id)

    async def stop(self, generation_id: str) -> None:
        self.queue.cancel_flag(generation_id).set()

    async def positions(self, generation_ids: Sequence[str]) -> dict[str, int]:
        return {i: p for i in generation_ids if (p := self.queue.position(i)) is not None}

    async def waiting(self) -> int:
        return self.queue.depth

    async def reload(self, options: dict[str, str | None]) -> None:
        return None  # the runtime reloads this process's engines


class SaqDispatch:
    """QUEUE=saq: SAQ's PostgreSQL queue, worked by `musicgenie worker` processes anywhere.

    Events of jobs come back from the workers over NOTIFY (app.jobs.relay) into this process's hub;
    the bound counts queued rows in the database under an advisory lock, so it holds across API processes.
    """

    def __init__(
        self, settings: Settings, sessions: SessionFactory, hub: EventHub, streams: AudioStreams
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.hub = hub
        self.streams = streams  # running jobs' audio, as their workers send it
        self.capacity = settings.queue_max_size
        self.accepting = True
        self.saq = make_queue(settings)
        self.channel = PgChannel(settings.database_url, (EVENTS,), self._on_message)
        self._reloads: dict[str, asyncio.Queue[ReloadReport]] = {}  # reload request id -> its reports

    async def start(self) -> None:
        await self.saq.connect()
        await self.channel.start()
        async with self.sessions() as session:  # rows whose SAQ job was never enqueued (a crash between)
            queued = await GenerationService(session=session).ids_with_status(QUEUED)
        for generation_id in queued:
            await self.put(generation_id)  # idempotent: SAQ keeps one job per key

    async def close(self) -> None:
        await self.channel.close()
        await self.saq.disconnect()

    @asynccontextmanager
    async def admit(self, slots: int, service: GenerationService) -> AsyncIterator[None]:
        """Count the queued rows of every API process under a transaction lock taken in `service`'s own
        transaction: the commit that writes the rows releases it (no second connection per request)."""
        session = service.repository.session
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADMISSION_LOCK})
        try:
            waiting = await service.count_queued()
            if waiting + slots > self.capacity:
                raise QueueFull(self.capacity, await self._retry_after(session), waiting, slots)
            yield
        except BaseException:
            await session.rollback()  # releases the lock
            raise

    async def _retry_after(self, session: AsyncSession) -> int:
        """One recent job's time: about when a slot frees."""
        recent = (
            select(MusicGeneration.generation_time)
            .where(MusicGeneration.status == SUCCEEDED)
            .order_by(MusicGeneration.finished_at.desc())
            .limit(20)
            .subquery()
        )
        average = (await session.execute(select(func.avg(recent.c.generation_time)))).scalar()
        return max(1, math.ceil(average)) if average else DEFAULT_RETRY_AFTER_S

    async def put(self, generation_id: str) -> None:
        await self.saq.enqueue(generation_job(generation_id, self.settings))

    async def withdraw(self, generation_id: str) -> None:
        job = await self.saq.job(generation_id)
        if job is not None:
            await self.saq.abort(job, "canceled")

    async def stop(self, generation_id: str) -> None:
        self.channel.send(CONTROL, msgspec.json.encode(Command("cancel", generation_id)))

    async def positions(self, generation_ids: Sequence[str]) -> dict[str, int]:
        if not generation_ids:
            return {}
        async with self.sessions() as session:
            return await GenerationService(session=session).queue_positions(generation_ids)

    async def waiting(self) -> int:
        async with self.sessions() as session:
            return await GenerationService(session=session).count_queued()

    async def reload(self, options: dict[str, str | None]) -> None:
        """Have every live worker reload (each between its jobs) and wait for each one's report.

        Raises `ReloadFailed` naming the workers that failed (they keep their old model), did not answer
        within RELOAD_WAIT_S, or when no worker is running.
        """
        async with self.sessions() as session:
            expected = {str(worker["name"]) for worker in await live_workers(session)}
        if not expected:
            raise ReloadFailed(["no worker is running: start `musicgenie worker` with this DATABASE_URL"])
        request_id = uuid.uuid4().hex
        reports: asyncio.Queue[ReloadReport] = asyncio.Queue()
        self._reloads[request_id] = reports
        try:
            command = Command("reload", options=options, request_id=request_id)
            self.channel.send(CONTROL, msgspec.json.encode(command))
            answered: dict[str, str | None] = {}
            deadline = time.monotonic() + RELOAD_WAIT_S
            while not expected <= answered.keys() and (left := deadline - time.monotonic()) > 0:
                with contextlib.suppress(TimeoutError):
                    report = await asyncio.wait_for(reports.get(), left)
                    answered[report.worker] = report.error
        finally:
            del self._reloads[request_id]
        problems = [f"worker {name}: {error}" for name, error in sorted(answered.items()) if error]
        silent = sorted(expected - set(answered))
        problems += [f"worker {name}: no answer in {RELOAD_WAIT_S:.0f} s" for name in silent]
        if problems:
            raise ReloadFailed(problems)

    async def _on_message(self, message: Message) -> None:
        """A worker's event: hand it to this process's followers."""
        if isinstance(message, ProgressMessage):
            self.hub.publish(message.event)
        elif isinstance(message, AudioChunk):
            receive_chunk(self.streams, message)
        elif isinstance(message, ReloadReport):
            if (reports := self._reloads.get(message.request_id)) is not None:
                reports.put_nowait(message)
        elif isinstance(message, StatusChanged):
            followed = self.hub.followed()
            if not followed and self.streams.get(message.generation_id) is None:
                return  # nobody here to tell
            async with self.sessions() as session:
                service = GenerationService(session=session)
                row = await service.find(message.generation_id)
                positions = await service.queue_positions(followed)
            if row is not None:
                if row.status in FINISHED:  # its stream's last piece, if lost, is not waited for
                    self.streams.drop(row.generation_id)
                self.hub.publish(StatusEvent.of(row, positions.get(row.generation_id)))
            for generation_id, position in positions.items():  # the jobs behind it moved up
                if generation_id != message.generation_id:
                    self.hub.publish(ProgressEvent.queued(generation_id, position))
