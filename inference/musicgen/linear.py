"""Linear layers in the precision a backend asks for: float weights, or int8 weights on CPU."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F


class Linear:
    """``y = x @ W.T`` (no bias: MusicGen's decoder projections have none)."""

    def __init__(self, weight: torch.Tensor) -> None:
        self.weight = weight

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


class DynamicInt8Linear(Linear):
    """int8 weights (per output channel), activations quantised per call: fbgemm's dynamic linear."""

    def __init__(self, weight: torch.Tensor) -> None:
        w = weight.float().cpu()
        scales = w.abs().amax(dim=1).clamp(min=1e-8) / 127
        zero = torch.zeros(w.shape[0], dtype=torch.int64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qweight = torch.quantize_per_channel(w, scales.double(), zero, 0, torch.qint8)
            self.packed = torch.ops.quantized.linear_prepack(qweight, None)
        self.out_features, self.in_features = w.shape

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        y = torch.ops.quantized.linear_dynamic(x.reshape(-1, shape[-1]).float(), self.packed, True)
        return y.view(*shape[:-1], self.out_features).to(x.dtype)


class RowInt8Linear(Linear):
    """int8 weights, one float32 scale per output row (symmetric, -127..127), for the native step.

    Called from torch (the text's cross-attention keys/values, a window's prefill) it dequantises.
    ``offset`` and ``blocks`` are how ``qweight``'s bytes are stored (:meth:`encode`): signed int8 or
    unsigned bytes ``w + 128`` (what the native library's VNNI builds read), row-major or in the row
    blocks the native library reads; torch takes both back out.
    ``compute_dtype`` is what torch multiplies in (bfloat16 halves a prefill's time where the CPU has
    bfloat16 dot products).
    """

    def __init__(self, weight: torch.Tensor) -> None:
        w = weight.detach().float().cpu()
        self.scale = (w.abs().amax(dim=1).clamp(min=1e-12) / 127).contiguous()
        self.qweight = torch.round(w / self.scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
        self.out_features, self.in_features = w.shape
        self.offset = 0
        self.blocks: tuple[int, int] | None = None
        self.compute_dtype = torch.float32

    def encode(self, offset: int, blocks: tuple[int, int] | None = None) -> None:
        """Store the weights' bytes in place with ``offset`` 0 (signed) or 128 (unsigned ``w + 128``),
        row-major or (``blocks``) in row blocks (:func:`to_row_blocks`)."""
        if offset not in (0, 128):
            raise ValueError(f"offset {offset} is neither 0 nor 128")
        if offset != self.offset:
            self.qweight.view(torch.uint8).bitwise_xor_(0x80)  # w <-> w + 128 (mod 256)
            self.offset = offset
        if blocks != self.blocks:
            rows = from_row_blocks(self.qweight, *self.blocks) if self.blocks else self.qweight
            self.qweight.copy_(to_row_blocks(rows, *blocks) if blocks else rows)
            self.blocks = blocks

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        weight = from_row_blocks(self.qweight, *self.blocks) if self.blocks else self.qweight
        weight = weight.view(torch.uint8).to(torch.int16) - self.offset if self.offset else weight
        dtype = self.compute_dtype
        return F.linear(x.to(dtype), weight.to(dtype) * self.scale[:, None].to(dtype)).to(x.dtype)


def to_row_blocks(w: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """``w`` [n, k] in blocks of ``rows`` rows, each block ``cols`` columns of its rows at a time (the
    last ``k % cols`` columns of its rows last): ``w[r, c]`` lands at flat index ``(r // rows) * rows * k
    + (c // cols) * rows * cols + (r % rows) * width + c % cols``, ``width`` = ``min(cols, k - c // cols *
    cols)`` (the native library's layout, which reads each block as one stream)."""
    n, k = w.shape
    if n % rows:
        raise ValueError(f"a {n}x{k} matrix does not split into blocks of {rows} rows")
    whole = k - k % cols
    blocks = w.reshape(n // rows, rows, k)
    chunks = blocks[:, :, :whole].reshape(n // rows, rows, whole // cols, cols).transpose(1, 2)
    tail = blocks[:, :, whole:]
    return torch.cat([chunks.reshape(n // rows, rows * whole), tail.reshape(n // rows, -1)], 1).reshape(n, k)


def from_row_blocks(w: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """The row-major matrix of :func:`to_row_blocks`' output."""
    n, k = w.shape
    whole = k - k % cols
    blocks = w.reshape(n // rows, rows * k)
    chunks = blocks[:, : rows * whole].reshape(n // rows, whole // cols, rows, cols).transpose(1, 2)
    tail = blocks[:, rows * whole :].reshape(n // rows, rows, k - whole)
    return torch.cat([chunks.reshape(n // rows, rows, whole), tail], 2).reshape(n, k)


def cpu_has_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (oneDNN: AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def make_linear(weight: torch.Tensor, dtype: torch.dtype, weights: str = "float") -> Linear:
    """A linear with ``weight`` ``[out, in]`` stored as ``weights``: ``float`` in ``dtype``, ``int8``
    (fbgemm's dynamic quantisation) or ``int8-rows`` (per-row int8 for the native step)."""
    if weights == "int8":
        return DynamicInt8Linear(weight)
    if weights == "int8-rows":
        return RowInt8Linear(weight)
    return Linear(weight.to(dtype).contiguous())
