"""The native library's operations one at a time, on numpy arrays: for op-level tests and benchmarks.

The decoder step (:mod:`inference.native.step`) never goes through here; these calls exist so that
the kernels can be checked against exact emulations and timed alone, each on any installed build.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from inference.musicgen.linear import to_row_blocks
from inference.native import library


def address(a: np.ndarray) -> int:
    """The address of a C-contiguous array's first element."""
    if not a.flags.c_contiguous:
        raise ValueError("the library reads C-contiguous arrays only")
    return a.ctypes.data


@dataclass
class PackedMatrix:
    """Signed int8 weights ``[out, in]`` and their per-row scales, stored as a build reads them."""

    stored: np.ndarray
    scale: np.ndarray
    struct: library.Matrix = field(init=False)

    def __post_init__(self) -> None:
        rows, cols = self.scale.shape[0], self.stored.size // self.scale.shape[0]
        self.struct = library.Matrix(address(self.stored), address(self.scale), rows, cols)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.struct.rows), int(self.struct.cols)


def pack(lib: ctypes.CDLL, w: np.ndarray, scale: np.ndarray) -> PackedMatrix:
    """``w`` (int8, signed) in ``lib``'s weight encoding and row blocks (``musicgen_step.h``)."""
    offset = lib.mg_weight_encoding() == library.WEIGHTS_OFFSET_128
    stored = w.view(np.uint8) ^ np.uint8(0x80) if offset else w
    rows, cols = library.weight_blocks(lib)
    blocks = to_row_blocks(torch.from_numpy(np.ascontiguousarray(stored)), rows, cols).numpy()
    return PackedMatrix(np.ascontiguousarray(blocks), np.ascontiguousarray(scale, dtype=np.float32))


@dataclass
class Quantized:
    """Activation rows as the GEMV reads them: int8 values, a scale and the values' sum per row."""

    q: np.ndarray
    scale: np.ndarray
    total: np.ndarray


def quantize(lib: ctypes.CDLL, x: np.ndarray) -> Quantized:
    """Rows of float32 ``x`` quantised by the library (symmetric int8 per row)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, n = x.shape
    out = Quantized(np.empty((rows, n), np.int8), np.empty(rows, np.float32), np.empty(rows, np.int32))
    lib.mg_op_quantize(address(x), rows, n, address(out.q), address(out.scale), address(out.total))
    return out


def bind_gemv(lib: ctypes.CDLL, m: PackedMatrix, x: Quantized, out: np.ndarray) -> Callable[[], int]:
    """The call ``out [rows][m.rows]`` = the library's product of ``m`` and the quantised rows, its
    arguments converted once (for timing it); it returns the library's status, 0 when done."""
    if out.shape != (len(x.q), m.shape[0]) or out.dtype != np.float32:
        raise ValueError(f"out must be float32 {(len(x.q), m.shape[0])}, not {out.dtype} {out.shape}")
    arguments = (address(x.q), address(x.scale), address(x.total), len(x.q), address(out))
    return functools.partial(lib.mg_op_gemv, ctypes.byref(m.struct), *arguments)


def gemv_into(lib: ctypes.CDLL, m: PackedMatrix, x: Quantized, out: np.ndarray) -> None:
    """``out [rows][m.rows]`` = the library's product of ``m`` and the quantised rows, on this thread."""
    status = bind_gemv(lib, m, x, out)()
    if status != 0:
        raise ValueError(f"mg_op_gemv refused a {m.shape} matrix with {len(x.q)} rows (status {status})")


def gemv(lib: ctypes.CDLL, w: np.ndarray, scale: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The library's product of signed int8 weights ``w`` and float rows ``x`` (quantised by it)."""
    out = np.full((x.shape[0], w.shape[0]), np.nan, np.float32)
    gemv_into(lib, pack(lib, w, scale), quantize(lib, x), out)
    return out
