"""Job events, typed, and their in-process fan-out to SSE streams and waiters.

Every event is built here: a `status` event when a job's row changes status (and as the first event a
follower gets), `progress` events while it waits (its place in the queue) or runs, and `closing` when
the service shuts down. `status` and `progress` reach clients as server-sent events named by `kind`;
a `status` event's data is the job's HTTP record, which the HTTP layer makes from the row it carries.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from contextlib import contextmanager
from typing import ClassVar

import msgspec
from sqlalchemy import inspect

from app.db.models import FINISHED, MusicGeneration
from app.jobs.progress import JobProgress, waiting

SUBSCRIBER_BUFFER = 256


class StatusEvent(msgspec.Struct, frozen=True):
    """The job's row, as it was when its status changed (or a follower started following)."""

    kind: ClassVar[str] = "status"
    closing: ClassVar[bool] = False
    generation_id: str
    row: MusicGeneration  # a copy no session expires or changes: read it when serialising
    queue_position: int | None = None

    @classmethod
    def of(cls, row: MusicGeneration, queue_position: int | None = None) -> StatusEvent:
        """The event of a row; `queue_position` is its place while it is queued."""
        return cls(row.generation_id, _snapshot(row), queue_position)

    @property
    def terminal(self) -> bool:
        """The job is over: no more events follow."""
        return self.row.status in FINISHED


class ProgressEvent(msgspec.Struct, frozen=True):
    """Where a job is: its phase, steps, the fraction of the whole job done, elapsed and ETA seconds.

    A waiting job's events carry its 1-based `queue_position` (phase queued, step 0), a running job's
    null. This is the `progress` event's data, as is.
    """

    kind: ClassVar[str] = "progress"
    terminal: ClassVar[bool] = False
    closing: ClassVar[bool] = False
    generation_id: str
    phase: str
    step: int
    total_steps: int
    fraction: float
    elapsed_s: float
    eta_s: float | None
    queue_position: int | None

    @classmethod
    def of(
        cls, generation_id: str, progress: JobProgress, queue_position: int | None = None
    ) -> ProgressEvent:
        """The event of a job's progress; `queue_position` only while it waits."""
        return cls(
            generation_id=generation_id,
            phase=progress.phase,
            step=progress.step,
            total_steps=progress.total_steps,
            fraction=round(progress.fraction, 4),
            elapsed_s=round(progress.elapsed_s, 3),
            eta_s=None if progress.eta_s is None else round(progress.eta_s, 3),
            queue_position=queue_position,
        )

    @classmethod
    def queued(cls, generation_id: str, position: int) -> ProgressEvent:
        """A waiting job's new place in the queue."""
        return cls.of(generation_id, waiting(), position)


class ClosingEvent(msgspec.Struct, frozen=True):
    """The service is shutting down: followers stop following. Never sent to clients."""

    kind: ClassVar[str] = "closing"
    terminal: ClassVar[bool] = False
    closing: ClassVar[bool] = True
    generation_id: str


JobEvent = StatusEvent | ProgressEvent | ClosingEvent


def _snapshot(row: MusicGeneration) -> MusicGeneration:
    """A copy of the row's columns in no session: what the row says now, whatever happens to it later."""
    columns = inspect(MusicGeneration).column_attrs
    return MusicGeneration(**{column.key: getattr(row, column.key) for column in columns})


class EventHub:
    """Subscribers get every event of one generation from the moment they subscribe."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[JobEvent]]] = defaultdict(set)

    @contextmanager
    def subscribe(self, generation_id: str):
        """A queue of the generation's events, for the duration of the `with` block."""
        queue: asyncio.Queue[JobEvent] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self._subscribers[generation_id].add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(generation_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[generation_id]

    def publish(self, event: JobEvent) -> None:
        """Hand the event to every subscriber; a slow subscriber loses old progress, never a status."""
        for queue in list(self._subscribers.get(event.generation_id, ())):
            if queue.full():
                _drop_oldest_progress(queue)
            if not queue.full():
                queue.put_nowait(event)

    def close_all(self) -> None:
        """Tell every subscriber that no more events will come (shutdown)."""
        for generation_id in list(self._subscribers):
            self.publish(ClosingEvent(generation_id))

    def followed(self) -> list[str]:
        """The ids that have subscribers now."""
        return list(self._subscribers)

    def subscribers(self, generation_id: str) -> int:
        return len(self._subscribers.get(generation_id, ()))


def _drop_oldest_progress(queue: asyncio.Queue[JobEvent]) -> None:
    kept = []
    dropped = False
    while not queue.empty():
        event = queue.get_nowait()
        if not dropped and isinstance(event, ProgressEvent):  # never a status or closing event
            dropped = True
            continue
        kept.append(event)
    for event in kept:
        queue.put_nowait(event)
