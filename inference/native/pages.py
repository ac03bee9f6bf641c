"""Large buffers on transparent huge pages, where Linux offers them.

The native step streams its int8 weights and every track's int8 cache from memory on each step. On
4 KB pages every 4 KB of such a stream is a TLB miss, and the hardware prefetchers stop at each page
boundary; on 2 MB pages neither happens. Distributions mostly set transparent huge pages to
``madvise`` (only memory asked for gets them), so the buffers here ask, before their pages are
touched. Elsewhere (THP ``never``, other systems) they are ordinary memory; nothing depends on it.
"""

from __future__ import annotations

import ctypes
import math
import sys
import threading
import time
import weakref

import torch

HUGE_PAGE = 2 * 2**20
# How long a Recycler keeps a buffer nobody uses before it goes back to the OS.
IDLE_S = 30.0
MADV_HUGEPAGE = 14  # <sys/mman.h> on Linux
# Off: every buffer on ordinary pages (what benchmarks.native_step compares against).
ENABLED = True

_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def advise(t: torch.Tensor) -> int:
    """Ask for huge pages under the whole 2 MB pages inside ``t``'s memory; the bytes asked for (0 where
    none fit, huge pages are off here, or the kernel refused)."""
    if _libc is None or not ENABLED or t.device.type != "cpu":
        return 0
    start = t.data_ptr()
    first = -(-start // HUGE_PAGE) * HUGE_PAGE
    last = (start + t.numel() * t.element_size()) // HUGE_PAGE * HUGE_PAGE
    if last <= first:
        return 0
    status = _libc.madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), MADV_HUGEPAGE)
    return last - first if status == 0 else 0


def empty(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised CPU tensor that starts on a 2 MB boundary, advised (:func:`advise`) before any
    of its pages is touched; under 2 MB, or with huge pages off, a plain ``torch.empty``."""
    size = math.prod(shape) * dtype.itemsize
    if size < HUGE_PAGE or _libc is None or not ENABLED:
        return torch.empty(shape, dtype=dtype)
    raw = torch.empty(size + HUGE_PAGE, dtype=torch.uint8)  # the slack is never touched: not resident
    skip = -raw.data_ptr() % HUGE_PAGE
    tensor = raw[skip : skip + size].view(dtype).view(shape)
    advise(tensor)
    return tensor


def zeros(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """:func:`empty`, zeroed."""
    return empty(shape, dtype).zero_()


class Recycler:
    """Buffers handed out zeroed and taken back when their owner is garbage, for the next to reuse.

    A track's KV cache is tens to hundreds of MB; faulting in fresh huge pages (the kernel clears each
    2 MB page, and may compact memory to find one) costs 60-140 ms for a 10 s window's 53 MB on the
    development VMs, against a few ms to zero memory already mapped. So buffers whose owner is gone
    wait here and the next request of at most their size takes one; a buffer unused for ``idle_s``
    seconds is let go (the memory returns to the OS), as is everything on :meth:`clear`. The memory held
    is never more than the tracks that ran at once used.
    """

    def __init__(self, idle_s: float = IDLE_S) -> None:
        self.idle_s = idle_s
        self._free: list[tuple[float, torch.Tensor]] = []  # (given back at, buffer), oldest first
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        _recyclers.add(self)

    def zeros(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        """:func:`zeros`, in a waiting buffer where one is large enough; its memory comes back here once
        the returned tensor is garbage (keep that tensor object, not only views of it, while in use)."""
        nbytes = math.prod(shape) * dtype.itemsize
        with self._lock:
            fitting = [i for i, (_, buffer) in enumerate(self._free) if buffer.numel() >= nbytes]
            best = min(fitting, key=lambda i: self._free[i][1].numel()) if fitting else None
            buffer = self._free.pop(best)[1] if best is not None else None
        if buffer is None:
            buffer = empty((nbytes,), torch.uint8)
        tensor = buffer[:nbytes].view(dtype).view(shape).zero_()
        weakref.finalize(tensor, self._give, buffer).atexit = False  # nothing to keep for at exit
        return tensor

    @property
    def held_bytes(self) -> int:
        """Bytes waiting for reuse."""
        with self._lock:
            return sum(buffer.numel() for _, buffer in self._free)

    def clear(self) -> None:
        """Let every waiting buffer go now."""
        with self._lock:
            self._free.clear()

    def _give(self, buffer: torch.Tensor) -> None:
        with self._lock:
            self._free.append((time.monotonic(), buffer))
            if self._timer is None:
                self._schedule(self.idle_s)

    def _schedule(self, delay: float) -> None:
        # The timer holds this recycler weakly: a dropped one goes (its buffers with it) at once.
        self._timer = threading.Timer(delay, _expire, (weakref.ref(self),))
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            now = time.monotonic()
            self._free = [(at, buffer) for at, buffer in self._free if now - at < self.idle_s]
            self._timer = None
            if self._free:
                self._schedule(self.idle_s - (now - self._free[0][0]))


def _expire(recycler: weakref.ref[Recycler]) -> None:
    alive = recycler()
    if alive is not None:
        alive._expire()


_recyclers: weakref.WeakSet[Recycler] = weakref.WeakSet()


def release_waiting() -> None:
    """:meth:`Recycler.clear` every recycler: the memory waiting for reuse goes back to the OS now."""
    for recycler in list(_recyclers):
        recycler.clear()
