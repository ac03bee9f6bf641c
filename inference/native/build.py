"""Compile the native decoder step for this CPU, once, into the model cache, and load it.

The C source is built with ``-march=native`` by the system C compiler (``$CC``, else ``cc``); the
library is cached under ``<cache>/native/<key>/`` where the key covers the source, the flags, the
compiler and the CPU's feature flags, so a changed source or a different machine builds anew.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from inference.errors import BackendUnavailableError

SOURCE = Path(__file__).with_name("musicgen_step.c")
FLAGS = ("-O3", "-shared", "-fPIC", "-pthread", "-std=c11", "-D_GNU_SOURCE")
NATIVE = "native"  # -march=native: every instruction this CPU has (VNNI where present)
REQUIRED_CPU_FLAGS = ("avx2", "fma")

_loaded: dict[tuple[Path, str], ctypes.CDLL] = {}
_lock = threading.Lock()


class NativeUnavailableError(BackendUnavailableError):
    """This machine cannot build or run the native step (no AVX2/FMA CPU, no C compiler)."""


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux); empty where they cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _compiler() -> str:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise NativeUnavailableError("the native backend needs a C compiler (cc or gcc, or set CC)")
    return compiler


def _check_cpu() -> set[str]:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        raise NativeUnavailableError(f"the native backend needs an x86-64 CPU, not {platform.machine()}")
    flags = cpu_flags()
    missing = [flag for flag in REQUIRED_CPU_FLAGS if flags and flag not in flags]
    if missing:
        raise NativeUnavailableError(f"the native backend needs a CPU with {', '.join(missing)}")
    return flags


def library_path(cache_dir: Path, march: str = NATIVE) -> Path:
    """Where this machine's build of the step for ``-march=<march>`` lives (built if missing).

    ``march`` other than ``native`` (e.g. ``x86-64-v3``: AVX2 without VNNI) builds a narrower
    instruction set, so its code path can be tested on a CPU that has more.
    """
    flags = _check_cpu()
    build_flags = (*FLAGS, f"-march={march}")
    compiler = _compiler()
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise NativeUnavailableError(
            f"the native backend's C compiler {compiler!r} does not run: {exc}"
        ) from exc
    key = hashlib.sha256()
    parts = (
        SOURCE.read_bytes(),
        " ".join(build_flags).encode(),
        version.encode(),
        " ".join(sorted(flags)).encode(),
    )
    for part in parts:
        key.update(part + b"\0")
    directory = cache_dir / "native" / key.hexdigest()[:16]
    target = directory / "libmusicgen_step.so"
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed into place: a crash leaves no half-written library.
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        partial = Path(scratch) / target.name
        result = subprocess.run(
            [compiler, *build_flags, "-o", str(partial), str(SOURCE), "-lm"], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise NativeUnavailableError(f"building the native step failed:\n{result.stderr.strip()[-2000:]}")
        os.replace(partial, target)
    return target


def load_library(cache_dir: Path, march: str = NATIVE) -> ctypes.CDLL:
    """The compiled step library with its functions' signatures declared."""
    with _lock:
        key = (Path(cache_dir).resolve(), march)
        if key not in _loaded:  # the compiler is asked and the source hashed once per process
            _loaded[key] = _declare(ctypes.CDLL(str(library_path(cache_dir, march))))
        return _loaded[key]


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    ptr, i32, f32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
    lib.mg_model_new.argtypes = [i32, i32, i32, i32, i32, f32, i32]
    lib.mg_model_new.restype = ptr
    lib.mg_model_free.argtypes = [ptr]
    lib.mg_model_free.restype = None
    lib.mg_model_threads.argtypes = [ptr]
    lib.mg_model_threads.restype = i32
    lib.mg_weight_offset.argtypes = []
    lib.mg_weight_offset.restype = i32
    lib.mg_set_layer.argtypes = [ptr, i32] + [ptr] * 18
    lib.mg_set_layer.restype = i32
    lib.mg_set_head.argtypes = [ptr] * 5
    lib.mg_set_head.restype = None
    lib.mg_set_embeddings.argtypes = [ptr, ptr, i32, i32, ptr, i32]
    lib.mg_set_embeddings.restype = None
    lib.mg_step.argtypes = [ptr, ptr, i32, i32, ptr, ptr, i32, ptr, ptr, i32, i32, i32, i32, ptr]
    lib.mg_step.restype = i32
    lib.mg_read_bandwidth.argtypes = [ctypes.c_size_t, i32, i32]
    lib.mg_read_bandwidth.restype = ctypes.c_double
    return lib


def read_bandwidth_gbs(cache_dir: Path, threads: int, megabytes: int = 400, repeats: int = 3) -> float:
    """How fast ``threads`` threads read ``megabytes`` of memory now (best of ``repeats``), in GB/s.

    The decoder step is bound by this rate; on a shared host it moves with the neighbours' load.
    """
    return float(load_library(cache_dir).mg_read_bandwidth(megabytes * 2**20, threads, repeats))
