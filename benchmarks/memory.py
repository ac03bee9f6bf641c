"""Peak memory of one variant: CUDA's allocator peak, or the process's resident-set high-water mark.

On Linux the kernel's own high-water mark (VmHWM, reset through /proc/self/clear_refs) is exact;
elsewhere a thread samples the RSS. tracemalloc would miss torch's native allocations.

Both the kernel's mark and CUDA's peak are one per process (device): a measurement nested in another
resets them, so call the outer one's :meth:`PeakMemory.keep_peak` first (the runner does, around each
set of tracks generated at once).
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from types import TracebackType

import psutil
import torch

from inference.backends.hf import release_free_memory

MB = 2**20
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


class PeakMemory:
    """`with PeakMemory(device) as memory: ...; memory.peak_mb()` -> MB above the level at entry."""

    def __init__(self, device: str, interval_s: float = 0.01) -> None:
        self.cuda = device.startswith("cuda")
        self.device = device
        self.interval_s = interval_s
        self._process = psutil.Process()
        self._baseline = 0
        self._sampled = 0
        self._kept = 0  # the peak read before a nested measurement reset the process-wide mark
        self._kernel_hwm = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._baseline = torch.cuda.memory_allocated(self.device)
            return self
        self._baseline = self._sampled = self._process.memory_info().rss
        self._kernel_hwm = _reset_kernel_hwm()
        if not self._kernel_hwm:
            self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def peak_mb(self) -> float:
        """Peak so far, in MB above the level at entry."""
        return max(0.0, (self._peak_bytes() - self._baseline) / MB)

    def keep_peak(self) -> None:
        """Remember the peak so far, before a nested :class:`PeakMemory` resets the process-wide mark."""
        self._kept = self._peak_bytes()

    def _peak_bytes(self) -> int:
        if self.cuda:
            peak = torch.cuda.max_memory_allocated(self.device)
        elif self._kernel_hwm:
            peak = _kernel_hwm_bytes() or self._process.memory_info().rss
        else:
            peak = max(self._sampled, self._process.memory_info().rss)
        return max(peak, self._kept)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sampled = max(self._sampled, self._process.memory_info().rss)


def release_memory(device: str) -> None:
    """Give freed memory back (after an unload), so the next variant starts from a low level."""
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    else:
        release_free_memory()


def _reset_kernel_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _kernel_hwm_bytes() is not None


def _kernel_hwm_bytes() -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
