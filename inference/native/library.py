"""The native step's library: the build for this CPU, installed with the project, and its ABI in ctypes.

``setup.py`` builds ``csrc/`` once per instruction set into ``musicgen_step_<variant>.so`` beside this
file; :func:`load_library` picks the best one this CPU runs (the portable build asks the CPU), the
way ggml scores its CPU variants, and checks its ABI version and struct sizes against the
declarations here, which mirror ``csrc/musicgen_step.h``. Nothing is compiled at run time and nothing
is loaded from the model cache.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

from inference.errors import BackendUnavailableError

ABI_VERSION = 6
MAX_ROWS = 16
KEY_TILE = 16  # MG_KEY_TILE: a track's cache slots are a multiple of it
HEADER = Path(__file__).with_name("csrc") / "musicgen_step.h"

# Best first: a variant runs where the CPU has every feature bit it needs (MG_CPU_* in the header).
CPU_AVX2, CPU_AVX_VNNI, CPU_AVX512_VNNI, CPU_AMX_INT8 = 1, 2, 4, 8
VARIANTS: dict[str, int] = {
    "amx": CPU_AVX2 | CPU_AVX512_VNNI | CPU_AMX_INT8,
    "avx512vnni": CPU_AVX2 | CPU_AVX512_VNNI,
    "avxvnni": CPU_AVX2 | CPU_AVX_VNNI,
    "avx2": CPU_AVX2,
    "portable": 0,
}
ERR_CPU = -4  # MG_ERR_CPU: this build's instructions are not usable here
WEIGHTS_OFFSET_128 = 1  # MG_WEIGHTS_OFFSET_128: this build reads each weight byte as w + 128
# The step's phases that mg_profile times, in the order of MG_PHASE_* (see the header for what each holds).
PHASES = ("rows", "projections", "ffn_up", "self_attention", "cross_attention", "heads")


class NativeUnavailableError(BackendUnavailableError):
    """The native step's library is not installed, or no build of it runs on this CPU."""


_ptr, _i32, _f32 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_float


class Matrix(ctypes.Structure):
    _fields_ = (("weight", _ptr), ("scale", _ptr), ("rows", _i32), ("cols", _i32))


class Norm(ctypes.Structure):
    _fields_ = (("weight", _ptr), ("bias", _ptr))


class Layer(ctypes.Structure):
    _fields_ = (
        ("self_norm", Norm),
        ("qkv", Matrix),
        ("self_out", Matrix),
        ("cross_norm", Norm),
        ("cross_q", Matrix),
        ("cross_out", Matrix),
        ("ffn_norm", Norm),
        ("fc1", Matrix),
        ("fc2", Matrix),
    )


class Config(ctypes.Structure):
    _fields_ = (
        ("layers", _i32),
        ("hidden", _i32),
        ("heads", _i32),
        ("ffn", _i32),
        ("codebooks", _i32),
        ("entries", _i32),
        ("positions", _i32),
        ("eps", _f32),
        ("threads", _i32),
    )


class Weights(ctypes.Structure):
    _fields_ = (
        ("layers", ctypes.POINTER(Layer)),
        ("final_norm", Norm),
        ("lm_heads", Matrix),
        ("embed", _ptr),
        ("positions", _ptr),
    )


class Track(ctypes.Structure):
    _fields_ = (
        ("tokens", _ptr),
        ("position", _i32),
        ("rows", _i32),
        ("text_rows", _i32),
        ("cache", _ptr),
        ("cache_scales", _ptr),
        ("slots", _i32),
        ("text", _ptr),
        ("text_mask", _ptr),
        ("text_batch", _i32),
        ("max_text", _i32),
        ("text_len", _i32),
        ("logits", _ptr),
    )


STRUCTS = (Matrix, Norm, Layer, Config, Weights, Track)  # mg_sizeof's order

_loaded: dict[str, ctypes.CDLL] = {}
_lock = threading.Lock()


def library_path(variant: str) -> Path:
    """Where the installed build for ``variant`` lives (it may be missing)."""
    return Path(__file__).with_name(f"musicgen_step_{variant}.so")


def installed_variants() -> list[str]:
    """The variants built at install, best first."""
    return [name for name in VARIANTS if library_path(name).exists()]


def cpu_features() -> int:
    """The MG_CPU_* bits of this CPU (asked by the portable build, which runs on any CPU)."""
    if not library_path("portable").exists():
        return _features_from_cpuinfo()
    return int(_open("portable").mg_cpu_features())


def _features_from_cpuinfo() -> int:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 0
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    features = CPU_AVX2 if {"avx2", "fma"} <= flags else 0
    if features and "avx_vnni" in flags:
        features |= CPU_AVX_VNNI
    avx512 = {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx512_vnni"}
    if features and avx512 <= flags:
        features |= CPU_AVX512_VNNI
        # Without the portable build to ask the OS for AMX's tile state, the amx build asks when it
        # loads a model, and refuses to run (MG_ERR_CPU) where the OS says no.
        if {"amx_tile", "amx_int8"} <= flags:
            features |= CPU_AMX_INT8
    return features


def runnable_variants() -> list[str]:
    """The installed variants this CPU runs, best first."""
    features = cpu_features()
    return [name for name in installed_variants() if VARIANTS[name] & features == VARIANTS[name]]


def best_variant() -> str:
    """The variant :func:`load_library` loads by default."""
    runnable = runnable_variants()
    if runnable:
        return runnable[0]
    installed = installed_variants()
    if not installed:
        raise NativeUnavailableError(
            "the native backend's library is not installed: it is built with the project "
            "(`make setup`, or `pip install -e .`), which needs a C compiler (cc or gcc)"
        )
    raise NativeUnavailableError(
        f"no installed build of the native step runs on this CPU (installed: {', '.join(installed)})"
    )


def load_library(variant: str | None = None) -> ctypes.CDLL:
    """The build for ``variant`` (default: the best this CPU runs), checked and declared."""
    name = variant or best_variant()
    if name not in VARIANTS:
        raise NativeUnavailableError(f"unknown native variant {name!r}; known: {', '.join(VARIANTS)}")
    if VARIANTS[name] & cpu_features() != VARIANTS[name]:
        raise NativeUnavailableError(f"this CPU cannot run the native step's {name} build")
    return _open(name)


def _open(name: str) -> ctypes.CDLL:
    with _lock:
        if name not in _loaded:
            path = library_path(name)
            if not path.exists():
                raise NativeUnavailableError(
                    f"the native step's {name} build is not installed ({path.name}); reinstall the project "
                    "with a C compiler present (`make setup`)"
                )
            _loaded[name] = _declare(ctypes.CDLL(str(path)), name)
        return _loaded[name]


def _declare(lib: ctypes.CDLL, name: str) -> ctypes.CDLL:
    lib.mg_abi_version.restype = _i32
    lib.mg_abi_version.argtypes = []
    version = lib.mg_abi_version()
    if version != ABI_VERSION:
        raise NativeUnavailableError(
            f"the installed native library ({name}) has ABI {version}, this code needs {ABI_VERSION}: "
            "rebuild it with `make setup` (or `pip install -e .`)"
        )
    lib.mg_sizeof.restype = ctypes.c_size_t
    lib.mg_sizeof.argtypes = [_i32]
    for index, struct in enumerate(STRUCTS):
        if lib.mg_sizeof(index) != ctypes.sizeof(struct):
            raise NativeUnavailableError(
                f"the native library's {struct.__name__} is {lib.mg_sizeof(index)} bytes, "
                f"ctypes declares {ctypes.sizeof(struct)}: library.py and musicgen_step.h disagree"
            )
    lib.mg_weight_encoding.restype = _i32
    lib.mg_weight_encoding.argtypes = []
    lib.mg_weight_blocks.restype = None
    lib.mg_weight_blocks.argtypes = [ctypes.POINTER(_i32), ctypes.POINTER(_i32)]
    lib.mg_variant.restype = ctypes.c_char_p
    lib.mg_variant.argtypes = []
    lib.mg_cpu_features.restype = _i32
    lib.mg_cpu_features.argtypes = []
    lib.mg_model_new.restype = _i32
    lib.mg_model_new.argtypes = [ctypes.POINTER(Config), ctypes.POINTER(Weights), ctypes.POINTER(_ptr)]
    lib.mg_model_free.restype = None
    lib.mg_model_free.argtypes = [_ptr]
    lib.mg_model_threads.restype = _i32
    lib.mg_model_threads.argtypes = [_ptr]
    lib.mg_step.restype = _i32
    lib.mg_step.argtypes = [_ptr, ctypes.POINTER(Track), _i32]
    lib.mg_cache_store.restype = _i32
    lib.mg_cache_store.argtypes = [_ptr, ctypes.POINTER(Track), _i32, _ptr, _ptr, _i32]
    lib.mg_profile.restype = None
    lib.mg_profile.argtypes = [_ptr, _i32, _ptr]
    lib.mg_read_bandwidth.restype = ctypes.c_double
    lib.mg_read_bandwidth.argtypes = [ctypes.c_size_t, _i32, _i32]
    lib.mg_op_quantize.restype = None
    lib.mg_op_quantize.argtypes = [_ptr, _i32, _i32, _ptr, _ptr, _ptr]
    lib.mg_op_gemv.restype = _i32
    lib.mg_op_gemv.argtypes = [ctypes.POINTER(Matrix), _ptr, _ptr, _ptr, _i32, _ptr]
    lib.mg_op_attention.restype = _i32
    lib.mg_op_attention.argtypes = [_ptr, _ptr, _ptr, _ptr, _ptr, _i32, _i32, _i32, _i32, _ptr, _ptr]
    return lib


def weight_blocks(lib: ctypes.CDLL) -> tuple[int, int]:
    """The rows and columns of the row blocks ``lib`` reads its weights in (``musicgen_step.h``)."""
    rows, cols = _i32(), _i32()
    lib.mg_weight_blocks(ctypes.byref(rows), ctypes.byref(cols))
    return rows.value, cols.value


def read_bandwidth_gbs(threads: int, megabytes: int = 400, repeats: int = 3) -> float:
    """How fast ``threads`` threads read ``megabytes`` of memory now (best of ``repeats``), in GB/s.

    The decoder step is bound by this rate; on a shared host it moves with the neighbours' load.
    """
    return float(load_library().mg_read_bandwidth(megabytes * 2**20, threads, repeats))


def unavailable_reason() -> str:
    """Why the native step cannot load here, or "" where it can."""
    try:
        load_library()
    except NativeUnavailableError as exc:
        return str(exc)
    return ""
