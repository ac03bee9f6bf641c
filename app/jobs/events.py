"""In-process fan-out of job events (status changes, progress) to SSE streams and waiters."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from app.db.models import FINISHED

SUBSCRIBER_BUFFER = 256


CLOSING = "closing"


@dataclass(frozen=True, slots=True)
class JobEvent:
    """`kind` is "status" (data: the record), "progress" (data: phase, step, total_steps, ...), or
    "closing" (the service is shutting down: followers stop following)."""

    kind: str
    generation_id: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.kind == "status" and self.data.get("status") in FINISHED

    @property
    def closing(self) -> bool:
        return self.kind == CLOSING


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
            self.publish(JobEvent(CLOSING, generation_id))

    def subscribers(self, generation_id: str) -> int:
        return len(self._subscribers.get(generation_id, ()))


def _drop_oldest_progress(queue: asyncio.Queue[JobEvent]) -> None:
    kept = []
    dropped = False
    while not queue.empty():
        event = queue.get_nowait()
        if not dropped and event.kind == "progress":  # never a status or closing event
            dropped = True
            continue
        kept.append(event)
    for event in kept:
        queue.put_nowait(event)
