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
