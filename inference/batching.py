"""Continuous batching: generations share decoder steps, joining and leaving at step boundaries.

Each generation is a generator of its decoder steps (:data:`~inference.backends.base.GenerationSteps`
or the engine's wrapper of it). A :class:`Batch` sends all its generations' pending steps through the
backend's :meth:`step_batch` at once, so the weights are read once per step for all of them, and hands
each its logits back. Everything else a generation does between its steps (text encoding, sampling
with its own seed and settings, streaming, EnCodec, progress and cancel) is its own: a generation that
finishes, fails or is canceled leaves the batch without disturbing the others.

:class:`Scheduler` runs a batch in a thread of its own for callers in other threads: a new generation
joins at the next step boundary while there is room (``capacity``), and waits its turn otherwise.
"""

from __future__ import annotations

import atexit
import collections
import threading
import weakref
from collections.abc import Callable, Generator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import torch

from inference.backends.base import Backend, StepCall
from inference.errors import EngineNotLoadedError, GenerationCancelled

Steps = Generator[StepCall, torch.Tensor, Any]
Done = Callable[[Any, BaseException | None], None]
"""Called once when a generation ends: ``(result, None)``, or ``(None, the exception it raised)``."""


@dataclass
class _Member:
    steps: Steps
    done: Done
    call: StepCall | None = None


class Batch:
    """Generations stepping together; :meth:`step` runs one decoder step for all of them."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.members: list[_Member] = []

    def __len__(self) -> int:
        return len(self.members)

    def add(self, steps: Steps, done: Done) -> None:
        """Start a generation: it runs up to its first decoder step (or to its end) now."""
        member = _Member(steps, done)
        if self._advance(member, lambda: next(steps)):
            self.members.append(member)

    def step(self) -> None:
        """One decoder step for every generation; each then runs on to its next step or its end."""
        calls = [member.call for member in self.members]
        try:
            logits = self.backend.step_batch(calls)  # type: ignore[attr-defined]
        except BaseException as exc:  # the step itself failed: every member with it
            self.abandon(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.members = [
            member
            for member, out in zip(self.members, logits, strict=True)
            if self._advance(member, lambda m=member, o=out: m.steps.send(o))
        ]

    def abandon(self, error: BaseException) -> None:
        """End every generation now (its steps closed), each with ``error``."""
        members, self.members = self.members, []
        for member in members:
            member.steps.close()
            member.done(None, error)

    def run(self) -> None:
        """Step until every generation has ended."""
        while self.members:
            self.step()

    @staticmethod
    def _advance(member: _Member, resume: Callable[[], StepCall]) -> bool:
        """Resume a generation; False once it has ended (and ``done`` was called)."""
        try:
            member.call = resume()
        except StopIteration as end:
            member.done(end.value, None)
            return False
        except Exception as exc:  # this generation's own error or cancel: it alone leaves
            member.done(None, exc)
            return False
        return True


class Scheduler:
    """A :class:`Batch` of at most ``capacity`` generations, stepped in a thread of its own."""

    def __init__(self, backend: Backend, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._batch = Batch(backend)
        self._waiting: collections.deque[tuple[Steps, Future[Any]]] = collections.deque()
        self._changed = threading.Condition()
        self._closing = False
        self._abandoning = False
        self._thread = threading.Thread(target=self._run, name="generation-batch", daemon=True)
        self._thread.start()
        _open.add(self)

    @property
    def active(self) -> int:
        """Generations in the batch now."""
        return len(self._batch)

    def submit(self, steps: Steps) -> Future[Any]:
        """Queue a generation; the future gets its result or its exception."""
        future: Future[Any] = Future()
        with self._changed:
            if self._closing:
                raise EngineNotLoadedError("the engine was unloaded; load it again")
            self._waiting.append((steps, future))
            self._changed.notify()
        return future

    def close(self, abandon: bool = False) -> None:
        """Take no more generations; return once those submitted have ended (``abandon``: ended at the
        next step boundary with :class:`~inference.errors.GenerationCancelled`)."""
        with self._changed:
            self._closing = True
            self._abandoning = self._abandoning or abandon
            self._changed.notify()
        self._thread.join()
        _open.discard(self)

    def _run(self) -> None:
        with torch.inference_mode():
            while True:
                with self._changed:
                    while not self._waiting and not self._batch.members and not self._closing:
                        self._changed.wait()
                    if self._abandoning:
                        self._abandon()
                    if self._closing and not self._waiting and not self._batch.members:
                        return
                    joining = []
                    while self._waiting and len(self._batch) + len(joining) < self.capacity:
                        joining.append(self._waiting.popleft())
                for steps, future in joining:
                    if future.set_running_or_notify_cancel():
                        self._batch.add(steps, _settle(future))
                    else:
                        steps.close()
                if self._batch.members:
                    self._batch.step()

    def _abandon(self) -> None:
        error = GenerationCancelled("the engine is closing: the process exits")
        waiting, self._waiting = self._waiting, collections.deque()
        for steps, future in waiting:
            steps.close()
            if future.set_running_or_notify_cancel():
                future.set_exception(error)
        self._batch.abandon(error)


_open: weakref.WeakSet[Scheduler] = weakref.WeakSet()


@atexit.register
def _close_open_schedulers() -> None:
    """Close every scheduler still open when the interpreter exits (an engine never unloaded).

    Its thread is a daemon, so that a forgotten engine cannot keep the process alive; but a daemon
    thread still at work (freeing a finished track's tensors, say) when the interpreter finalises is
    stopped inside torch's C++ code, and the process aborts ("terminate called without an active
    exception", status 134). Closing first lets the thread end on its own; generations still running
    end at their next step, as canceled, rather than hold the exit up.
    """
    for scheduler in list(_open):
        scheduler.close(abandon=True)


def _settle(future: Future[Any]) -> Done:
    def done(result: Any, error: BaseException | None) -> None:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    return done
