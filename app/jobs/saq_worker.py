"""`musicgenie worker`: a generation worker of QUEUE=saq, on this or another machine.

It loads its own model (MODEL, DEVICE, BACKEND, PRECISION), takes generation jobs from SAQ's PostgreSQL
queue (as many at once as its engine batches), runs them with the same `Worker` as the one-box service,
sends their events to every API process (app.jobs.relay) and obeys their cancel and reload commands.

- Heartbeats: while a job runs its SAQ job is touched every third of WORKER_HEARTBEAT_S; a worker that
  dies (kill -9) stops touching it, a live worker's sweep finds it stuck and SAQ retries it; the worker
  that takes it then requeues and runs the row, or fails it as `interrupted` (REQUEUE_INTERRUPTED).
- SIGTERM/SIGINT: no new jobs; running ones get SHUTDOWN_GRACE_S, then are handed back to the queue
  (their rows `queued` again, their SAQ jobs retried) for another worker.
- Live workers (with their model, device, current jobs and last heartbeat) are SAQ's worker stats, read
  by /health and /model/status.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

import msgspec
from litestar_saq.base import Worker as SaqWorker
from saq.types import Context

from app.db.config import alchemy_config, ensure_schema
from app.db.models import QUEUED, RUNNING
from app.domain.benchmarks.services import RecordedRankings
from app.domain.generations.services import GenerationService
from app.jobs.engines import EngineManager
from app.jobs.events import StatusEvent
from app.jobs.queue import JobQueue
from app.jobs.recovery import settle_interrupted
from app.jobs.relay import CONTROL, EVENTS, Command, Message, PgChannel, RelayHub, RelayStreams, ReloadReport
from app.jobs.saq_queue import TASK, make_queue
from app.jobs.worker import Worker
from app.lib.storage import AudioStorage
from app.settings import Settings
from inference import InferenceError

log = logging.getLogger("app.worker")

MAX_INTERRUPTIONS = 3  # a job that kills its worker this often fails instead of killing the next
WORKER_INFO_S = 5  # how often a worker writes its stats (its liveness in /health)
SAQ_STOP_S = 5


class HandedBack(Exception):  # SAQ retries a job whose function raises
    """Shutdown gave the job back to the queue: SAQ retries it (on another worker)."""


class _SaqWorker(SaqWorker):
    """litestar-saq's worker that refreshes its description just before it writes its stats."""

    describe: Callable[[], None] = staticmethod(lambda: None)
    paused = False

    def _process(self, previous_task: asyncio.Task[Any] | None = None) -> None:
        """Start the next taker of jobs, unless paused (shutdown: the running jobs finish first)."""
        if self.paused:
            if previous_task is not None:
                self.tasks.discard(previous_task)
            return
        super()._process(previous_task)

    async def worker_info(self, ttl: int = 60) -> Any:
        self.describe()
        return await super().worker_info(ttl)


class WorkerHost:
    """One worker process's parts: database, engines, the job `Worker`, the SAQ worker and the relay."""

    def __init__(
        self,
        settings: Settings,
        name: str,
        *,
        engines: EngineManager | None = None,
    ) -> None:
        self.settings = settings
        self.name = name
        self.database = alchemy_config(settings)
        rankings = RecordedRankings(self.database.get_session)
        self.engines = engines or EngineManager(settings, rankings=rankings)
        self.channel = PgChannel(settings.database_url, (CONTROL,), self._on_command)
        self.hub = RelayHub(self.channel)
        self.queue = JobQueue(settings.queue_max_size)  # this worker's cancel flags and running ids
        self.worker = Worker(
            self.queue,
            self.engines,
            AudioStorage(settings.audio_dir),
            self.hub,
            self.database.get_session,
            RelayStreams(self.channel),
            name=name,
        )
        self.metadata: dict[str, Any] = {}  # what its stats say of it: `_describe`, before each write
        self.saq = _SaqWorker(
            make_queue(settings),
            [(TASK, self.generate)],
            id=name,
            concurrency=1,
            timers={
                "sweep": max(1, int(settings.worker_heartbeat_s / 2)),
                "abort": 1,
                "worker_info": WORKER_INFO_S,
            },
            dequeue_timeout=1.0,
            # After the jobs ended or were handed back: time for SAQ to record that (a retry) and for
            # its idle takers to return (within `dequeue_timeout`).
            shutdown_grace_period_s=SAQ_STOP_S,
            metadata=self.metadata,
            separate_process=True,
            enable_heartbeat_manager=False,
        )
        self.saq.SIGNALS = []  # this host handles the signals: grace, then hand back
        self.saq.describe = self._describe
        self._reload: asyncio.Task[None] | None = None
        self._saq_task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Work until SIGTERM or SIGINT, then shut down gracefully."""
        await ensure_schema(self.settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    async def start(self) -> None:
        """Load the model, then take jobs (in the background)."""
        self.engines.start()
        await self.engines.wait_ready()
        self.saq.concurrency = self.engines.batch_capacity  # the jobs one batched step takes
        await self.saq.queue.connect()
        await self.channel.start()
        self._saq_task = asyncio.create_task(self.saq.start(), name="saq-worker")
        log.info("worker %s ready: %s", self.name, self.engines.snapshot()["device"])

    async def stop(self) -> None:
        """Take no more jobs; running ones get SHUTDOWN_GRACE_S, then are handed back."""
        log.info("worker %s stopping: running jobs get %.0f s", self.name, self.settings.shutdown_grace_s)
        # Take no more jobs, but let SAQ see the running ones end (or be handed back) before it stops:
        # stopping it first would retry them elsewhere while they still run here.
        self.saq.paused = True
        self.worker.draining = True
        await self.worker.stop(self.settings.shutdown_grace_s)
        if self._saq_task is not None:
            self.saq.event.set()
            for task in self.saq.tasks:  # its timers (sweep, stats...) sleep up to seconds: not waited for
                if task.get_name() != "process":
                    task.cancel()
            await self.saq.stop()
            await asyncio.gather(self._saq_task, return_exceptions=True)
        await self.saq.queue.disconnect()
        await self.channel.close()
        await self.engines.close()
        await self.database.get_engine().dispose()

    async def generate(self, ctx: Context, *, generation_id: str) -> str:
        """The SAQ task: run one generation, touching its SAQ job as a heartbeat; its final status."""
        job = ctx["job"]
        if self.worker.draining:
            raise HandedBack(generation_id)
        if not await self._claimable(generation_id, job.attempts):
            return "skipped"
        job.heartbeat = max(1, round(self.settings.worker_heartbeat_s))  # this worker's, not the API's
        await job.update()
        beat = asyncio.create_task(self._heartbeat(job), name=f"heartbeat-{generation_id}")
        try:
            finished = await self.worker.run_job(generation_id)
        finally:
            beat.cancel()
        if not finished:
            raise HandedBack(generation_id)
        return "done"

    async def _claimable(self, generation_id: str, attempts: int) -> bool:
        """Whether the row is there to run: queued, or left running by a dead worker (then settled)."""
        async with self.database.get_session() as session:
            row = await GenerationService(session=session).find(generation_id)
            if row is None or row.status not in (QUEUED, RUNNING):
                return False  # canceled or deleted while it waited
            if row.status == RUNNING:  # SAQ swept it: its worker stopped heartbeating
                requeue = self.settings.requeue_interrupted and attempts <= MAX_INTERRUPTIONS
                who = row.worker or "unknown"
                reason = f"worker {who} stopped while this job was running; submit it again"
                settled = await settle_interrupted(session, generation_id, requeue=requeue, reason=reason)
                if settled is None or settled.status != QUEUED:
                    if settled is not None:
                        self.hub.publish(StatusEvent.of(settled))
                    return False
        return True

    async def _heartbeat(self, job: Any) -> None:
        period = max(0.5, self.settings.worker_heartbeat_s / 3)
        while True:
            await asyncio.sleep(period)
            try:
                await job.update()
            except Exception:  # a missed beat is retried next period
                log.warning("heartbeat of job %s failed", job.key, exc_info=True)

    async def _write_info(self) -> None:
        """Write this worker's stats now (not at the next timer)."""
        try:
            await self.saq.worker_info(WORKER_INFO_S + 1)
        except Exception:  # the timer writes them again shortly
            log.warning("worker %s: its stats could not be written", self.name, exc_info=True)

    def _describe(self) -> None:
        """Refresh what this worker's stats say of it (just before SAQ writes them)."""
        self.metadata.update(self.worker.describe(), heartbeat_at=time.time())

    async def _on_command(self, message: Message) -> None:
        if not isinstance(message, Command):
            return
        if message.action == "cancel" and message.generation_id in self.queue.running:
            self.queue.cancel_flag(message.generation_id).set()
        elif message.action == "reload":
            options, request_id = message.options or {}, message.request_id or ""
            reload = self._reload_engines(options, request_id)
            self._reload = asyncio.create_task(reload, name="worker-reload")

    async def _reload_engines(self, options: dict[str, str | None], request_id: str) -> None:
        """Reload between jobs (those in flight finish on the old engine) and say how it went."""
        error = None
        try:
            await self.engines.reload(**options)
        except Exception as exc:  # any failure: the old model keeps serving, the API is told why
            error = str(exc) if isinstance(exc, InferenceError) else f"{type(exc).__name__}: {exc}"
            log.warning("worker %s: reload failed (%s); the old model keeps serving", self.name, error)
        await self._write_info()  # /model/status shows the new model by the time the API is answered
        self.channel.send(EVENTS, msgspec.json.encode(ReloadReport(request_id, self.name, error)))
