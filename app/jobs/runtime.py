"""The job system of one service process: queue, worker, engines, events; submit, wait, cancel, recover."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import FINISHED, QUEUED, RUNNING, MusicGeneration, utcnow
from app.domain.generations.services import GenerationService
from app.jobs.dispatch import Dispatch, LocalDispatch, SaqDispatch
from app.jobs.engines import EngineManager
from app.jobs.errors import ModelUnavailable, ShuttingDown
from app.jobs.events import ClosingEvent, EventHub, JobEvent, ProgressEvent, StatusEvent
from app.jobs.metrics import SystemSampler
from app.jobs.queue import JobQueue
from app.jobs.recovery import settle_interrupted
from app.jobs.saq_queue import live_workers
from app.jobs.streams import AudioStream, AudioStreams
from app.jobs.submissions import (
    GenerationRequest,
    Submission,
    check_user,
    keep_upload,
    prompt_seconds,
    queued_rows,
    trimmed_negative_prompt,
)
from app.jobs.worker import Worker
from app.lib.auth import new_token
from app.lib.storage import AudioStorage, new_generation_id
from app.lib.uploads import DecodedAudio
from app.settings import Settings

if TYPE_CHECKING:
    from app.jobs.saq_worker import WorkerHost

log = logging.getLogger("app.jobs")

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
CANCEL_WAIT_S = 10.0
PLACEMENT = ("model", "backend", "device", "precision")


class JobRuntime:
    """Everything a generation needs besides its HTTP request."""

    def __init__(
        self, settings: Settings, engines: EngineManager, storage: AudioStorage, sessions: SessionFactory
    ) -> None:
        self.settings = settings
        self.engines = engines
        self.storage = storage
        self.sessions = sessions
        self.queue = JobQueue(settings.queue_max_size, on_change=self.publish_positions)
        self.hub = EventHub()
        self.streams = AudioStreams()
        self.dispatch: Dispatch = LocalDispatch(self.queue)
        if settings.queue == "saq":
            self.dispatch = SaqDispatch(settings, sessions, self.hub, self.streams)
        self.worker_name = worker_name(settings)
        self.worker = Worker(
            self.queue, engines, storage, self.hub, sessions, self.streams, name=self.worker_name
        )
        self.sampler = SystemSampler(
            sessions, self.dispatch, storage, settings.metrics_interval_s, settings.metrics_retention_days
        )
        self.started_at = time.time()
        self.embedded: WorkerHost | None = None  # QUEUE=saq with EMBEDDED_WORKER
        self._embedded_start: asyncio.Task[None] | None = None
        self._shutdown: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Create AUDIO_DIR, recover what a previous process left, start loading, working, sampling."""
        self.storage.ensure()
        if self.settings.queue == "local":
            queued = await self.recover()
            await asyncio.to_thread(self.storage.remove_partial_files)
            await asyncio.to_thread(self.storage.remove_prompts, set(queued))  # uploads of jobs that are over
            self.engines.start()
            self.worker.start()
        else:  # workers recover their own jobs (SAQ sweeps a dead worker's), and share AUDIO_DIR
            await self.dispatch.start()
            if self.settings.embedded_worker:
                from app.jobs.saq_worker import WorkerHost  # loads SAQ's worker only where it runs

                self.embedded = WorkerHost(self.settings, self.worker_name, engines=self.engines)
                self._embedded_start = asyncio.create_task(self.embedded.start(), name="embedded-worker")
        self.sampler.start()

    @property
    def draining(self) -> bool:
        """Shutdown has begun: no new jobs, and followers are let go."""
        return self._shutdown is not None

    def begin_shutdown(self) -> None:
        """Stop at once (on SIGTERM, before the server waits for open connections): refuse new jobs, take
        none from the queue, end every event stream, and give the running job its grace period.

        Queued jobs stay queued for the next start. Idempotent; `stop()` waits for it to end.
        """
        if self._shutdown is None:
            log.info("shutting down: no new jobs; the running one has %.0f s", self.settings.shutdown_grace_s)
            self.dispatch.accepting = False
            self._shutdown = asyncio.create_task(
                self.worker.stop(self.settings.shutdown_grace_s), name="jobs-shutdown"
            )
            self.hub.close_all()
            self.streams.close_all()

    async def stop(self) -> None:
        """Shut down (see `begin_shutdown`) and wait for it; then stop sampling and unload the engines."""
        self.begin_shutdown()
        assert self._shutdown is not None
        await self._shutdown
        await self.sampler.stop()
        if self.embedded is not None:
            await asyncio.gather(self._embedded_start, return_exceptions=True)
            await self.embedded.stop()
        await self.engines.close()
        await self.dispatch.close()

    async def recover(self) -> list[str]:
        """Rows left `running` fail as `interrupted` (or are requeued); rows left `queued` queue again.

        Returns the ids queued again.
        """
        async with self.sessions() as session:
            service = GenerationService(session=session)
            for generation_id in await service.ids_with_status(RUNNING):
                await settle_interrupted(session, generation_id, requeue=self.settings.requeue_interrupted)
            queued = await service.ids_with_status(QUEUED)
        for generation_id in queued:
            await self.queue.put(generation_id)
        if queued:
            log.info("requeued %d job(s) left waiting by the previous run", len(queued))
        return queued

    async def submit(
        self,
        service: GenerationService,
        request: GenerationRequest,
        audio: DecodedAudio | None = None,
        *,
        wait_s: float = 0,
    ) -> Submission:
        """Queue a request's `variations` tracks (continuing `audio` when given) and, with `wait_s`, wait
        up to that long for them to finish.

        Refuses with `ShuttingDown`, `ModelUnavailable`, `InvalidJob`, `NotFinished` or `AudioMissing`
        (the track continued), `UploadNotKept`, the engine's errors for the device or precision, and
        `QueueFull` when there is no room for every track: each before any row is written, and a refused
        upload leaves no file behind.
        """
        if not self.dispatch.accepting:
            raise ShuttingDown()
        if self.settings.runs_worker and self.engines.status == "error":
            raise ModelUnavailable(self.engines.error)
        negative_prompt = trimmed_negative_prompt(request)
        variant = (
            self.engines.variant(request.device, request.precision)
            if self.settings.queue == "local"
            else self.engines.requested(request.device, request.precision)  # the worker resolves it
        )
        await check_user(request, service)
        seconds = await prompt_seconds(request, service, self.storage)
        if audio is not None:
            seconds = audio.seconds
        ids = [new_generation_id() for _ in range(request.variations)]
        batch_id = new_generation_id() if request.variations > 1 else None
        token, token_hash = new_token()
        async with self.dispatch.admit(len(ids), service):  # QueueFull before anything is written
            try:
                if audio is not None:
                    for generation_id in ids:
                        await keep_upload(self.storage, generation_id, audio)
                created = await service.create_many(
                    queued_rows(
                        request,
                        ids,
                        variant,
                        negative_prompt=negative_prompt,
                        token_hash=token_hash,
                        prompt_seconds=seconds,
                        batch_id=batch_id,
                    ),
                    auto_commit=True,
                )
                rows = sorted(created, key=lambda row: ids.index(row.generation_id))
                for row in rows:
                    await self.dispatch.put(row.generation_id)
            except BaseException:
                if audio is not None:  # no row, no file
                    for generation_id in ids:
                        await asyncio.to_thread(self.storage.delete_prompt, generation_id)
                raise
        if wait_s:
            deadline = time.monotonic() + wait_s
            rows = [
                await self.wait(row.generation_id, max(0.0, deadline - time.monotonic())) or row
                for row in rows
            ]
        return Submission(rows, token)

    def publish_positions(self) -> None:
        """Tell the followers of every waiting job its place in the queue (a `progress` event)."""
        for generation_id, position in self.queue.positions().items():
            if self.hub.subscribers(generation_id):
                self.hub.publish(ProgressEvent.queued(generation_id, position))

    async def queue_positions(self, rows: list[MusicGeneration]) -> dict[str, int]:
        """The 1-based place among the waiting jobs of each queued row of `rows`."""
        return await self.dispatch.positions([row.generation_id for row in rows if row.status == QUEUED])

    async def queue_position(self, row: MusicGeneration) -> int | None:
        """A queued row's 1-based place among the waiting jobs; None for any other row."""
        return (await self.queue_positions([row])).get(row.generation_id)

    async def workers(self) -> list[dict[str, object]]:
        """The live workers: this process's (QUEUE=local), or those whose SAQ stats are fresh."""
        if self.settings.queue == "saq":
            async with self.sessions() as session:
                return await live_workers(session)
        return [{**self.worker.describe(), "last_heartbeat": utcnow()}]

    async def model_status(self) -> dict[str, Any]:
        """What `GET /model/status` says: this process's engines, or (QUEUE=saq without an embedded
        worker) the model the live workers serve, with every worker listed."""
        snapshot = self.engines.snapshot()
        workers = await self.workers()
        snapshot["workers"] = workers
        if self.settings.runs_worker:
            return snapshot
        ready = [w for w in workers if w.get("status") == "ready"]
        serving = ready[0] if ready else workers[0] if workers else None
        if serving is not None:
            snapshot.update({key: serving.get(key, snapshot[key]) for key in PLACEMENT})
            snapshot["devices"] = serving.get("devices") or snapshot["devices"]
            snapshot["info"] = serving.get("info")
        if ready:
            snapshot.update(status="ready", error=None, error_type=None)
        elif workers and all(w.get("status") == "error" for w in workers):
            snapshot.update(status="error", error=workers[0].get("error"), error_type="load_failed")
        else:
            snapshot["status"] = "loading"
            if not workers:
                snapshot["error"] = "no worker is running: start `musicgenie worker` with this DATABASE_URL"
        return snapshot

    async def reload(self, **options: str | None) -> dict[str, Any]:
        """Reload the model: here (QUEUE=local), or on every worker, each between its jobs (QUEUE=saq:
        raises `ReloadFailed` when one fails, keeping its old model, or does not answer)."""
        if self.settings.queue == "local":
            await self.engines.reload(**options)
        else:  # every worker, an embedded one included, reloads and reports back
            await self.dispatch.reload(options)
        return await self.model_status()

    async def queue_state(self) -> dict[str, object]:
        """What /health says of the queue."""
        return {
            "depth": await self.dispatch.waiting(),
            "capacity": self.dispatch.capacity,
            "running": sorted(self.queue.running),
            "max_batch": self.engines.batch_capacity,
            "accepting": self.dispatch.accepting,
        }

    async def load(self, generation_id: str) -> MusicGeneration | None:
        """The row as the database has it now (a fresh session)."""
        async with self.sessions() as session:
            return await GenerationService(session=session).find(generation_id)

    async def wait(self, generation_id: str, seconds: float) -> MusicGeneration | None:
        """Wait up to `seconds` for the job to finish (or the service to shut down); the row as it is then."""
        deadline = time.monotonic() + seconds
        with self.hub.subscribe(generation_id) as events:
            row = await self.load(generation_id)
            if row is None or row.status in FINISHED or self.draining:
                return row
            await _until_terminal(events, deadline)
        return await self.load(generation_id)

    async def follow(
        self, generation_id: str, keep_alive_s: float
    ) -> AsyncIterator[StatusEvent | ProgressEvent | None]:
        """The job's status now, then its events until a finished status or shutdown (none if the row
        is gone); None after `keep_alive_s` without an event, for the follower to keep the line open.

        Close it (`contextlib.aclosing`) when done early: it stops listening on close.
        """
        with self.hub.subscribe(generation_id) as events:
            row = await self.load(generation_id)
            if row is None:
                return
            first = StatusEvent.of(row, await self.queue_position(row))
            yield first
            if first.terminal:
                return
            while not self.draining:
                try:
                    event = await asyncio.wait_for(events.get(), keep_alive_s)
                except TimeoutError:
                    yield None
                    continue
                if isinstance(event, ClosingEvent):
                    return
                yield event
                if event.terminal:
                    return

    async def audio_stream(self, generation_id: str) -> AudioStream | None:
        """The audio stream of a job, once it runs (waiting while it is queued); None if it ended first
        or the service shuts down."""
        with self.hub.subscribe(generation_id) as events:
            while not self.draining:
                if (stream := self.streams.get(generation_id)) is not None:
                    return stream
                row = await self.load(generation_id)
                if row is None or row.status in FINISHED:
                    return None
                event = await events.get()  # the worker opens the stream before it says `running`
                if event.closing:
                    return None
        return None

    async def cancel(self, service: GenerationService, generation_id: str) -> MusicGeneration | None:
        """Cancel a queued or running job; the row afterwards (None if it vanished)."""
        canceled = await service.cancel_if_queued(generation_id)
        if canceled is not None:
            await self.dispatch.withdraw(generation_id)
            await asyncio.to_thread(self.storage.delete_prompt, generation_id)
            self.hub.publish(StatusEvent.of(canceled))
            return canceled
        with self.hub.subscribe(generation_id) as events:
            row = await self.load(generation_id)
            if row is None or row.status != RUNNING:
                return row
            await self.dispatch.stop(generation_id)
            await _until_terminal(events, time.monotonic() + CANCEL_WAIT_S)
        return await self.load(generation_id)


def worker_name(settings: Settings) -> str:
    """How this process names itself as a worker: WORKER_NAME, else host:pid."""
    return settings.worker_name or f"{socket.gethostname()}:{os.getpid()}"


async def _until_terminal(events: asyncio.Queue[JobEvent], deadline: float) -> None:
    """Consume a job's events until one ends it or the monotonic ``deadline`` passes."""
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            event = await asyncio.wait_for(events.get(), remaining)
        except TimeoutError:
            return
        if event.terminal or event.closing:
            return
