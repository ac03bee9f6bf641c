"""The bounded queue of generation ids waiting for the worker.

The database row is the source of truth; this queue only orders the ids. The bound counts waiting
jobs; a slot is reserved before the row is written so that a full queue writes nothing.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager


class QueueFull(Exception):
    """Not enough slots for the ``asked`` jobs; `retry_after` estimates seconds until one frees."""

    def __init__(self, capacity: int, retry_after: int, waiting: int, asked: int = 1) -> None:
        free = max(0, capacity - waiting)
        if free == 0:
            message = f"the generation queue is full ({waiting} jobs waiting, at most {capacity})"
        else:
            message = (
                f"the generation queue has room for {free} more job{'s' if free > 1 else ''}, "
                f"not the {asked} asked for ({waiting} waiting, at most {capacity})"
            )
        super().__init__(message)
        self.capacity = capacity
        self.retry_after = retry_after


class JobQueue:
    """FIFO of waiting ids, their cancel flags, and the ids the worker is running.

    An id the worker has taken but not yet started (`taken`) still counts as waiting, first in line;
    `on_change` is called whenever the position of a waiting job may have changed.
    """

    def __init__(self, capacity: int, on_change: Callable[[], None] | None = None) -> None:
        self.capacity = capacity
        self._pending: OrderedDict[str, None] = OrderedDict()
        self._taken: str | None = None
        self.on_change = on_change
        self._reserved = 0
        self._ready = asyncio.Condition()
        self.cancel_flags: dict[str, threading.Event] = {}
        self.running: set[str] = set()  # the ids the worker is generating
        self.accepting = True
        self.average_job_s: float | None = None

    @property
    def depth(self) -> int:
        """Jobs waiting (not counting those running)."""
        return len(self._pending)

    def retry_after(self) -> int:
        """Seconds until a slot probably frees: one average job."""
        return max(1, math.ceil(self.average_job_s)) if self.average_job_s else 10

    @contextmanager
    def reserve(self, slots: int = 1):
        """Hold ``slots`` slots while the rows are written; raise QueueFull before any write."""
        waiting = len(self._pending) + self._reserved
        if waiting + slots > self.capacity:
            raise QueueFull(self.capacity, self.retry_after(), waiting, slots)
        self._reserved += slots
        try:
            yield
        finally:
            self._reserved -= slots

    async def put(self, generation_id: str) -> None:
        """Add an id: inside `reserve()` for new jobs; jobs recovered at start-up may exceed the bound."""
        self.cancel_flags.setdefault(generation_id, threading.Event())
        self._pending[generation_id] = None
        async with self._ready:
            self._ready.notify()

    async def get(self) -> str:
        """The next waiting id (blocks until there is one)."""
        async with self._ready:
            await self._ready.wait_for(lambda: bool(self._pending))
            generation_id, _ = self._pending.popitem(last=False)
        self._taken = generation_id
        return generation_id

    def taken_done(self, generation_id: str) -> None:
        """The worker started the id it took (or found it canceled): it no longer waits."""
        if self._taken == generation_id:
            self._taken = None
            self._changed()

    def remove(self, generation_id: str) -> bool:
        """Take a waiting id out of the queue; False when it was not waiting."""
        if generation_id not in self._pending:
            return False
        del self._pending[generation_id]
        self._changed()
        return True

    def is_waiting(self, generation_id: str) -> bool:
        return generation_id in self._pending

    def position(self, generation_id: str) -> int | None:
        """1-based place among the waiting jobs (1: next to run); None when the id is not waiting."""
        return self.positions().get(generation_id)

    def positions(self) -> dict[str, int]:
        """Every waiting id with its 1-based position."""
        order = ([self._taken] if self._taken is not None else []) + list(self._pending)
        return {generation_id: index + 1 for index, generation_id in enumerate(order)}

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def cancel_flag(self, generation_id: str) -> threading.Event:
        return self.cancel_flags.setdefault(generation_id, threading.Event())

    def forget(self, generation_id: str) -> None:
        self.cancel_flags.pop(generation_id, None)

    def record_job_time(self, seconds: float) -> None:
        """Keep a moving average of job durations for `Retry-After`."""
        self.average_job_s = (
            seconds if self.average_job_s is None else 0.8 * self.average_job_s + 0.2 * seconds
        )
