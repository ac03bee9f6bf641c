"""The worker: takes ids off the queue, runs the engine in a thread, and records the outcome.

It runs as many jobs at once as the engine takes in one batch (`MAX_BATCH` on a backend that batches,
else one): their decoder steps are shared (see `inference.batching`), each with its own progress,
cancel and outcome.

Progress goes from the engine's thread to the event loop with `call_soon_threadsafe`; subscribers get
every step, the row gets the latest at most every `PROGRESS_WRITE_S`. A row becomes `succeeded` only
once its file is on disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CANCELED, FAILED, QUEUED, SUCCEEDED, MusicGeneration, utcnow
from app.domain.generations.services import GenerationService
from app.domain.stats.services import UsageService
from app.jobs.engines import EngineManager
from app.jobs.events import EventHub, ProgressEvent, StatusEvent
from app.jobs.progress import JobProgress, ProgressTracker, waiting
from app.jobs.queue import JobQueue
from app.jobs.streams import STREAM_FORMAT, AudioStream, AudioStreams
from app.lib.storage import AudioStorage, StoredAudio
from inference import (
    AUTO,
    EngineNotLoadedError,
    GenerationCancelled,
    GenerationParams,
    GenerationResult,
    InferenceError,
    Progress,
    StreamEncoder,
)

log = logging.getLogger("app.worker")

PROGRESS_WRITE_S = 0.5
SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class Worker:
    """Runs up to the engine's batch capacity of jobs at once, in the queue's order."""

    def __init__(
        self,
        queue: JobQueue,
        engines: EngineManager,
        storage: AudioStorage,
        hub: EventHub,
        sessions: SessionFactory,
        streams: AudioStreams,
        *,
        name: str | None = None,
    ) -> None:
        self.queue = queue
        self.name = name
        self.engines = engines
        self.storage = storage
        self.hub = hub
        self.streams = streams
        self.sessions = sessions
        self._task: asyncio.Task[None] | None = None
        self._jobs: set[asyncio.Task[None]] = set()
        self._freed = asyncio.Event()
        self.progress = ProgressTracker()
        self._progress_writes: dict[str, float] = {}
        self._pending_writes: set[asyncio.Task[Any]] = set()
        self._requeue: set[str] = set()
        self.handed_back: set[str] = set()  # requeued at shutdown, not finished
        self.draining = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="generation-worker")

    async def stop(self, grace_s: float) -> None:
        """Stop taking jobs; give the running ones `grace_s`, then cancel them and leave them queued."""
        self.draining = True
        if self._task is not None:
            self._task.cancel()
        jobs = set(self._jobs)
        if jobs:
            _, pending = await asyncio.wait(jobs, timeout=grace_s)
            if pending:
                for running in sorted(self.queue.running):
                    log.warning("shutdown: job %s did not finish within %.0f s; requeued", running, grace_s)
                    self._requeue.add(running)
                    self.queue.cancel_flag(running).set()
                await asyncio.wait(pending, timeout=30)
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._pending_writes:
            await asyncio.gather(*self._pending_writes, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            while len(self._jobs) >= self.engines.batch_capacity:
                self._freed.clear()
                await self._freed.wait()
            generation_id = await self.queue.get()
            # A task of its own: shutdown cancels this loop, never a job halfway through its database
            # writes. The next id is taken once this one is marked running (or found gone).
            taken = asyncio.Event()
            job = asyncio.create_task(self._process(generation_id, taken), name=f"job-{generation_id}")
            self._jobs.add(job)
            job.add_done_callback(self._job_done)
            await taken.wait()

    def describe(self) -> dict[str, Any]:
        """What /health and /model/status say of this worker: who and where, its model, its jobs."""
        snapshot = self.engines.snapshot()
        return {
            "name": self.name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            **{key: snapshot[key] for key in ("status", "error", "model", "backend", "device", "precision")},
            "devices": snapshot["devices"],
            "info": msgspec.to_builtins(snapshot["info"]),  # JSON only: a SAQ worker's stats are JSON
            "max_batch": self.engines.batch_capacity,
            "running": sorted(self.queue.running),
        }

    async def run_job(self, generation_id: str) -> bool:
        """Run one job given by another queue (SAQ) as this worker's own; False when shutdown handed it
        back (its row is `queued` again) instead of finishing it."""
        job = asyncio.create_task(self._process(generation_id, asyncio.Event()), name=f"job-{generation_id}")
        self._jobs.add(job)
        job.add_done_callback(self._job_done)
        await asyncio.shield(job)
        handed_back = generation_id in self.handed_back
        self.handed_back.discard(generation_id)
        return not handed_back

    def _job_done(self, job: asyncio.Task[None]) -> None:
        self._jobs.discard(job)
        self._freed.set()
        if not job.cancelled() and job.exception() is not None:
            log.error("job %s failed unexpectedly", job.get_name(), exc_info=job.exception())

    async def _take(self, generation_id: str) -> MusicGeneration | None:
        """Mark a taken id `running` (None when it was canceled or deleted while it waited)."""
        try:
            async with self.sessions() as session:
                service = GenerationService(session=session)
                row = await service.start(generation_id, worker=self.name)
            if row is not None:
                self.queue.running.add(generation_id)
        except Exception:
            log.exception("job %s could not be started", generation_id)
            row = None
        finally:
            self.queue.taken_done(generation_id)  # the jobs behind it move up
        if row is None:
            self.queue.forget(generation_id)
        return row

    async def _process(self, generation_id: str, taken: asyncio.Event) -> None:
        try:
            row = await self._take(generation_id)
        finally:
            taken.set()
        if row is None:
            return
        started = time.perf_counter()
        stream = self.streams.open(generation_id)  # before the `running` event its listeners wait for
        self.hub.publish(StatusEvent.of(row))
        try:
            await self._generate(row, stream)
        finally:
            self.streams.drop(generation_id)
            self.queue.running.discard(generation_id)
            self.queue.forget(generation_id)
            self.queue.record_job_time(time.perf_counter() - started)

    async def _generate(self, row: MusicGeneration, stream: AudioStream) -> None:
        generation_id = row.generation_id
        cancel = self.queue.cancel_flag(generation_id)
        prompt_audio, prompt_rate = None, None
        if row.parent_id is not None:
            try:
                prompt_audio, prompt_rate = await asyncio.to_thread(
                    self.storage.read_end, row.parent_id, row.prompt_seconds or 0.0
                )
            except (OSError, ValueError):  # deleted since: nothing to continue
                message = f"the audio of {row.parent_id}, which this continues, is no longer on disk"
                await self._finish(generation_id, FAILED, error=("file_missing", message))
                return
        elif row.prompt_seconds is not None:  # an uploaded file, kept until the job ends
            try:
                prompt_audio, prompt_rate = await asyncio.to_thread(self.storage.read_prompt, generation_id)
            except (OSError, ValueError, RuntimeError):  # gone (or unreadable): nothing to continue
                message = "the uploaded audio this continues is no longer on disk"
                await self._finish(generation_id, FAILED, error=("file_missing", message))
                return
        params = GenerationParams(
            prompt=row.prompt,
            negative_prompt=row.negative_prompt,
            duration=row.duration_requested,
            top_k=row.top_k,
            top_p=row.top_p,
            temperature=row.temperature,
            cfg_coef=row.cfg_coef,
            seed=row.seed,
            prompt_audio=prompt_audio,
            prompt_sample_rate=prompt_rate,
        )
        loop = asyncio.get_running_loop()

        def on_progress(progress: Progress) -> None:  # called in the engine's thread
            loop.call_soon_threadsafe(self._on_progress, generation_id, progress)

        self.progress.begin(generation_id, row.duration_requested)
        try:
            await self._generate_and_save(row, params, on_progress, cancel, stream)
        finally:
            self.progress.end(generation_id)

    async def _generate_and_save(
        self,
        row: MusicGeneration,
        params: GenerationParams,
        on_progress: Callable[[Progress], None],
        cancel: Any,
        stream: AudioStream,
    ) -> None:
        generation_id = row.generation_id
        try:
            result = await self._run_engine(row, params, on_progress, cancel, stream)
        except GenerationCancelled as exc:
            if generation_id in self._requeue:
                await self._finish(generation_id, QUEUED, error=None, requeue=True)
            else:
                await self._finish(
                    generation_id, CANCELED, error=("canceled", self._cancel_message(generation_id, exc))
                )
            return
        except InferenceError as exc:
            await self._finish(generation_id, FAILED, error=(exc.error_type, str(exc)))
            return
        except Exception as exc:
            log.exception("generation %s failed", generation_id)
            await self._finish(
                generation_id, FAILED, error=("internal_error", f"{type(exc).__name__}: {exc}")
            )
            return
        self._publish_progress(generation_id, self.progress.writing(generation_id))
        started = time.perf_counter()
        try:
            stored = await asyncio.to_thread(
                self.storage.save, generation_id, result.audio, result.sample_rate
            )
        except Exception as exc:
            log.exception("writing the audio of %s failed", generation_id)
            await self._finish(
                generation_id, FAILED, error=("storage_error", f"could not write the audio: {exc}")
            )
            return
        self.progress.wrote(stored.duration, time.perf_counter() - started)
        try:
            await self._finish(
                generation_id, SUCCEEDED, values=self._success_values(generation_id, result, stored)
            )
        except Exception:
            log.exception("recording the success of %s failed", generation_id)
            await asyncio.to_thread(self.storage.delete, generation_id)
            raise

    @staticmethod
    def _success_values(generation_id: str, result: GenerationResult, stored: StoredAudio) -> dict[str, Any]:
        return {
            "file_path": stored.path.name,
            "audio_url": f"/generations/{generation_id}/audio",
            "file_size_mb": stored.size_mb,
            "duration": stored.duration,
            "sample_rate": stored.sample_rate,
            "device": result.device,
            "precision": result.precision,
            "backend": result.backend,
            "model": result.model,
            "seed": result.seed,
            "generation_time": result.timings.total_s,
            "realtime_factor": stored.duration / result.timings.total_s if result.timings.total_s else 0.0,
            "windows": result.windows,
            "progress_step": result.steps,
            "progress_total": result.steps,
            "progress_fraction": 1.0,
            "progress_eta_s": None,
        }

    async def _run_engine(
        self,
        row: MusicGeneration,
        params: GenerationParams,
        on_progress: Callable[[Progress], None],
        cancel: Any,
        stream: AudioStream,
    ) -> GenerationResult:
        loop = asyncio.get_running_loop()
        try:
            for attempt in range(2):
                # "auto" (as an API process elsewhere writes it): this worker's current model settings
                device, precision = (None if v == AUTO else v for v in (row.device, row.precision))
                variant = self.engines.variant(device, precision)
                engine = await self.engines.get(variant.device, variant.precision)
                info = engine.info()
                encoder = StreamEncoder(info["sample_rate"], info["channels"], STREAM_FORMAT)

                def on_audio(piece: Any, encoder: StreamEncoder = encoder) -> None:  # the engine's thread
                    loop.call_soon_threadsafe(stream.append, encoder.write(piece))

                try:
                    result = await asyncio.to_thread(
                        engine.generate, params, on_progress=on_progress, cancel=cancel, on_audio=on_audio
                    )
                except EngineNotLoadedError:  # retired by a reload between get() and generate()
                    if attempt:
                        raise
                    continue
                stream.append(encoder.close())
                return result
            raise AssertionError("unreachable")
        finally:
            stream.close()

    def _cancel_message(self, generation_id: str, exc: GenerationCancelled) -> str:
        """What the record says of a cancel: the step it stopped at, as its progress shows."""
        latest = self.progress.latest(generation_id)
        if latest is None or latest.step == 0:
            return str(exc)
        return f"canceled at step {latest.step} of {latest.total_steps}"

    def _on_progress(self, generation_id: str, progress: Progress) -> None:
        self._publish_progress(generation_id, self.progress.engine(generation_id, progress))

    def _publish_progress(self, generation_id: str, progress: JobProgress) -> None:
        """Tell the followers; write the row at most every PROGRESS_WRITE_S."""
        self.hub.publish(ProgressEvent.of(generation_id, progress))
        now = time.monotonic()
        if now - self._progress_writes.get(generation_id, 0.0) >= PROGRESS_WRITE_S:
            self._progress_writes[generation_id] = now
            task = asyncio.create_task(self._write_progress(generation_id, progress))
            self._pending_writes.add(task)
            task.add_done_callback(self._pending_writes.discard)

    async def _write_progress(self, generation_id: str, progress: JobProgress) -> None:
        try:
            async with self.sessions() as session:
                await GenerationService(session=session).set_fields(generation_id, **progress.row_fields())
        except Exception:  # progress is best effort; the outcome is written separately
            log.debug("progress write for %s failed", generation_id, exc_info=True)

    async def _finish(
        self,
        generation_id: str,
        status: str,
        *,
        error: tuple[str, str] | None = None,
        values: dict[str, Any] | None = None,
        requeue: bool = False,
    ) -> None:
        """Write the outcome (after any progress write still in flight) and tell the subscribers."""
        self._progress_writes.pop(generation_id, None)
        if self._pending_writes:
            await asyncio.gather(*list(self._pending_writes), return_exceptions=True)
        now = utcnow()
        fields: dict[str, Any] = dict(values or {})
        if requeue:
            fields.update(status=QUEUED, started_at=None, **waiting().row_fields())
        else:
            fields.update(status=status, finished_at=now, progress_eta_s=None)
            if (latest := self.progress.latest(generation_id)) is not None and status != SUCCEEDED:
                fields.update(progress_step=latest.step, progress_fraction=round(latest.fraction, 4))
            if error is not None:
                fields.update(error_type=error[0], error_message=error[1][:2000])
        if not requeue:  # the uploaded audio it continued, if any, is done with (gone before it says so)
            await asyncio.to_thread(self.storage.delete_prompt, generation_id)
        async with self.sessions() as session:
            row = await GenerationService(session=session).set_fields(generation_id, **fields)
            if row is not None and not requeue:
                await UsageService(session=session).record_finished(
                    status, row.generation_time, row.duration if status == SUCCEEDED else 0.0, now
                )
        if row is None:
            if status == SUCCEEDED:  # deleted while running: do not keep an orphan file
                await asyncio.to_thread(self.storage.delete, generation_id)
            return
        if requeue:
            self.handed_back.add(generation_id)
        else:
            self.hub.publish(StatusEvent.of(row))
        log.info("generation %s %s", generation_id, "requeued" if requeue else status)
