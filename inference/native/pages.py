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

import torch

HUGE_PAGE = 2 * 2**20
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
