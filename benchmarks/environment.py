"""Where a benchmark ran: library versions and the host."""

from __future__ import annotations

import platform
import socket
from importlib import metadata

LIBRARIES = ("torch", "transformers", "onnxruntime", "onnxruntime-gpu", "numpy")


def versions() -> dict[str, str]:
    """Versions of Python and of the installed libraries that set the speed."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def host() -> str:
    return socket.gethostname()[:200]


def memory_bandwidth_gbs(threads: int) -> float | None:
    """The CPU's memory read rate now, GB/s (native probe); None where the native library is missing.

    Recorded beside each CPU variant: on a shared host this rate moves with the neighbours' load, and
    the decoder step is bound by it, so it tells a slow run from a slow variant.
    """
    from inference.native.library import NativeUnavailableError, read_bandwidth_gbs

    try:
        return round(read_bandwidth_gbs(threads), 1)
    except NativeUnavailableError:
        return None
