"""The native step's operations one at a time, at production shapes, against exact int8 emulations.

Quantisation and the int8 GEMV are exact (integer products, then the same float32 multiplications in
the same order), so every build must match the emulation bit for bit; attention over the int8 cache
is emulated step by step (its integer products exact) and, summing floats in its own order, held to
float32 rounding. Each test also shows that it catches the bugs it is for:
a scale 1% off, a head's columns past 32 left unwritten (production heads are 64 wide; tiny-random's
are 16).
"""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest
import torch

from inference.musicgen.linear import RowInt8Linear, from_row_blocks, to_row_blocks
from inference.native import library
from inference.native.ops import address, bind_gemv, gemv, gemv_into, pack, quantize

UNAVAILABLE = library.unavailable_reason()
pytestmark = pytest.mark.skipif(bool(UNAVAILABLE), reason=UNAVAILABLE)
VARIANTS = library.runnable_variants()

# (out, in) of MusicGen small's (width 1024) and medium's (width 1536) decoder matrices.
SHAPES = {
    "qkv-1024": (3072, 1024),
    "fc1-1024": (4096, 1024),
    "fc2-1024": (1024, 4096),
    "out-1536": (1536, 1536),
    "fc2-1536": (1536, 6144),
    "tail-160": (144, 160),  # 9 blocks of 16 rows, and a 32-byte last chunk in the amx build's 64-byte ones
}


def _quantize_emulated(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row symmetric int8 as the library does it: x * (127 / max|x|), rounded half to even."""
    peak = np.abs(x).max(axis=1).astype(np.float32)
    inverse = np.where(peak > 0, np.float32(127) / np.where(peak > 0, peak, 1), 0).astype(np.float32)
    q = np.clip(np.rint(x * inverse[:, None]), -127, 127).astype(np.int8)
    return q, (peak / np.float32(127)).astype(np.float32), q.astype(np.int32).sum(axis=1).astype(np.int32)


def _gemv_emulated(w: np.ndarray, w_scale: np.ndarray, x: np.ndarray) -> np.ndarray:
    q, xs, _ = _quantize_emulated(x)
    dots = (q.astype(np.int64) @ w.astype(np.int64).T).astype(np.float32)  # exact: |dot| < 2^24
    return dots * xs[:, None] * w_scale[None, :]


def _weights(shape: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, size=shape, dtype=np.int8)
    return w, rng.uniform(1e-3, 2e-2, size=shape[0]).astype(np.float32)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("n", [1024, 1536, 4096])
def test_quantize_matches_the_emulation_exactly(variant: str, n: int) -> None:
    lib = library.load_library(variant)
    x = np.random.default_rng(n).standard_normal((3, n)).astype(np.float32) * np.float32([[1], [40], [1e-3]])
    x[1, 7] = 0.5 * np.float32(np.abs(x[1]).max()) / 127 * 127  # a value exactly halfway: round to even
    for actual, expected in zip(astuple(quantize(lib, x)), _quantize_emulated(x), strict=True):
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("rows", [1, 2, 7, 11, 16])
def test_gemv_matches_the_int8_emulation_exactly(variant: str, shape: tuple[int, int], rows: int) -> None:
    lib = library.load_library(variant)
    w, w_scale = _weights(shape, seed=shape[0] + shape[1])
    x = np.random.default_rng(rows).standard_normal((rows, shape[1])).astype(np.float32)
    expected = _gemv_emulated(w, w_scale, x)
    np.testing.assert_array_equal(gemv(lib, w, w_scale, x), expected)
    # Caught: every weight scale 1% too large, and any row's product depending on the other rows.
    assert not np.array_equal(gemv(lib, w, w_scale * np.float32(1.01), x), expected)
    alone = [gemv(lib, w, w_scale, x[i : i + 1])[0] for i in range(rows)]
    np.testing.assert_array_equal(np.stack(alone), expected)


@pytest.mark.parametrize("variant", VARIANTS)
def test_products_stay_exact_when_the_rows_change_and_onednn_runs_between(variant: str) -> None:
    """The amx build configures its tiles per row count, on a thread where oneDNN (torch's bfloat16
    products, in AMX tiles on CPUs that have them) sets its own: every product must still be exact."""
    lib = library.load_library(variant)
    w, w_scale = _weights(SHAPES["tail-160"], seed=5)
    a = torch.randn(64, 256, dtype=torch.bfloat16)
    for rows in (7, 11, 2, 16, 7, 3):
        x = np.random.default_rng(rows).standard_normal((rows, w.shape[1])).astype(np.float32)
        np.testing.assert_array_equal(gemv(lib, w, w_scale, x), _gemv_emulated(w, w_scale, x))
        torch.mm(a, a.T)


def test_a_product_into_a_too_small_output_is_refused_before_the_library_writes() -> None:
    lib = library.load_library(VARIANTS[0])
    w, w_scale = _weights((64, 32), seed=1)
    x = quantize(lib, np.ones((3, 32), np.float32))
    m = pack(lib, w, w_scale)
    for out in (np.empty((3, 63), np.float32), np.empty((2, 64), np.float32), np.empty((3, 64))):
        with pytest.raises(ValueError, match="out must be float32"):
            bind_gemv(lib, m, x, out)
    out = np.empty((3, 64), np.float32)
    gemv_into(lib, m, x, out)
    np.testing.assert_array_equal(out, gemv(lib, w, w_scale, np.ones((3, 32), np.float32)))


@pytest.mark.parametrize("blocks", [(4, 32), (16, 64)])
@pytest.mark.parametrize("chunks", [4, 3.5])
def test_row_blocks_put_each_weight_where_the_header_says(blocks: tuple[int, int], chunks: float) -> None:
    """Both builds' layouts (4 x 32, the amx build's 16 x 64), with a half chunk at the end of each row
    (the amx build's 32-byte last chunk where cols % 64 is 32)."""
    rows, cols = blocks
    n, k = 3 * rows, int(chunks * cols)
    w = torch.arange(n * k, dtype=torch.int32).reshape(n, k)
    flat = to_row_blocks(w, rows, cols).reshape(-1)
    corners = [(0, 0), (1, 0), (rows - 1, cols - 1), (rows, 5), (n - 1, k - 1), (2, cols + 3)]
    corners.append((rows + 1, k - 2))
    for r, c in corners:
        width = min(cols, k - c // cols * cols)
        at = (r // rows) * rows * k + (c // cols) * rows * cols + (r % rows) * width + c % cols
        assert flat[at] == w[r, c]
    assert torch.equal(from_row_blocks(to_row_blocks(w, rows, cols), rows, cols), w)


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_build_reads_its_own_row_blocks(variant: str) -> None:
    """A matrix packed in another build's blocks gives wrong products: the layout is the build's."""
    lib = library.load_library(variant)
    w, w_scale = _weights((64, 96), seed=3)
    x = np.random.default_rng(3).standard_normal((2, 96)).astype(np.float32)
    np.testing.assert_array_equal(gemv(lib, w, w_scale, x), _gemv_emulated(w, w_scale, x))
    other = (16, 64) if library.weight_blocks(lib) == (4, 32) else (4, 32)
    m = pack(lib, w, w_scale)
    plain = from_row_blocks(torch.from_numpy(m.stored), *library.weight_blocks(lib))
    m.stored[:] = to_row_blocks(plain, *other)
    out = np.empty((2, 64), np.float32)
    gemv_into(lib, m, quantize(lib, x), out)
    assert not np.array_equal(out, _gemv_emulated(w, w_scale, x))


@pytest.mark.parametrize("offset", [0, 128])
@pytest.mark.parametrize("blocks", [(4, 32), (16, 64)])
def test_torch_reads_the_weights_the_native_step_stores(offset: int, blocks: tuple[int, int]) -> None:
    """A window's prefill multiplies in torch with the bytes encoded for the library."""
    weight = torch.randn(96, 96, generator=torch.Generator().manual_seed(1))
    linear, encoded = RowInt8Linear(weight), RowInt8Linear(weight)
    encoded.encode(offset, blocks)
    assert not torch.equal(encoded.qweight, linear.qweight)
    x = torch.randn(3, 96)
    torch.testing.assert_close(encoded(x), linear(x), rtol=0, atol=0)
    encoded.encode(0)
    assert torch.equal(encoded.qweight, linear.qweight)


def _attention_emulated(q, k, v, k_scale, v_scale, length, mask) -> np.ndarray:
    """Attention of one query row per head: over a text's float32 keys/values in float64; over the int8
    cache as the library computes it, in integers where it does (:func:`_cache_attention_emulated`)."""
    if k_scale is not None:
        return _cache_attention_emulated(q, k, v, k_scale, v_scale, length)
    heads, _, d = k.shape
    out = np.empty((heads, d))
    for h in range(heads):
        scores = k[h, :length].astype(np.float64) @ q[h * d : (h + 1) * d].astype(np.float64) / np.sqrt(d)
        if mask is not None:
            scores = scores + mask[:length]
        p = np.exp(scores - scores.max())
        out[h] = p @ v[h, :length].astype(np.float64) / p.sum()
    return out.reshape(-1)


WEIGHT_LEVELS, PLANE_BITS = 2**14 - 1, 7  # attention.c's softmax weights: 14 bits in two 7-bit planes


def _cache_attention_emulated(q, k, v, k_scale, v_scale, length) -> np.ndarray:
    """The int8 cache's attention step by step: the query quantised per head, integer key products; the
    softmax weights times the value scales quantised to 14 bits, integer value products."""
    heads, _, d = k.shape
    f32 = np.float32
    out = np.empty((heads, d), np.float32)
    for h in range(heads):
        qq, q_scale, _ = _quantize_emulated(q[None, h * d : (h + 1) * d])
        dots = k[h, :length].astype(np.int64) @ qq[0].astype(np.int64)
        scores = dots.astype(f32) * (q_scale[0] / np.sqrt(f32(d))) * k_scale[h, :length]
        p = np.exp(scores - scores.max()).astype(f32)
        w = p * v_scale[h, :length]
        largest = w.max()
        levels = np.rint(w * (f32(WEIGHT_LEVELS) / largest)).astype(np.int64)
        values = v[h, :length].astype(np.int64)
        high, low = (levels >> PLANE_BITS) @ values, (levels & (2**PLANE_BITS - 1)) @ values
        combined = high.astype(f32) * f32(2**PLANE_BITS) + low.astype(f32)
        out[h] = combined * (largest / f32(WEIGHT_LEVELS) / p.sum(dtype=f32))
    return out.reshape(-1)


def _attention(lib, q, k, v, k_scale, v_scale, length, mask) -> np.ndarray:
    heads, slots, d = k.shape
    out = np.full(heads * d, np.nan, np.float32)

    def pointer(a: np.ndarray | None) -> int | None:
        return None if a is None else address(a)

    status = lib.mg_op_attention(
        address(q), address(k), address(v), pointer(k_scale), pointer(v_scale),
        heads, d, slots, length, pointer(mask), address(out),
    )  # fmt: skip
    assert status == 0
    return out


def _close(actual: np.ndarray, expected: np.ndarray) -> bool:
    return bool(
        np.isfinite(actual).all() and np.abs(actual - expected).max() <= 2e-5 * np.abs(expected).max()
    )


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("width", [1024, 1536])
@pytest.mark.parametrize("length", [1, 9, 150])
@pytest.mark.parametrize("kind", ["int8-cache", "float-text"])
def test_attention_matches_the_emulation_at_64_wide_heads(
    variant: str, width: int, length: int, kind: str
) -> None:
    lib = library.load_library(variant)
    heads, d, slots = width // 64, 64, 160
    rng = np.random.default_rng(width + length)
    q = (rng.standard_normal(width) * 3).astype(np.float32)
    if kind == "int8-cache":
        k, v = (rng.integers(-127, 128, size=(heads, slots, d), dtype=np.int8) for _ in range(2))
        k_scale, v_scale = (
            rng.uniform(0.005, 0.03, size=(heads, slots)).astype(np.float32) for _ in range(2)
        )
        mask = None
    else:
        k, v = (rng.standard_normal((heads, slots, d)).astype(np.float32) for _ in range(2))
        k_scale = v_scale = None
        mask = np.zeros(slots, np.float32)
        mask[length // 2 :: 3] = np.finfo(np.float32).min  # masked text tokens, as MusicGen pads
        mask[0] = 0
    expected = _attention_emulated(q, k, v, k_scale, v_scale, length, mask)
    actual = _attention(lib, q, k, v, k_scale, v_scale, length, mask)
    assert _close(actual, expected), np.abs(actual - expected).max()
    # Caught: a head's columns 32..63 left unwritten (NaN-filled output), or stale from another call.
    stale = actual.copy().reshape(heads, d)
    stale[:, 32:] = 0
    assert not _close(stale.reshape(-1), expected)
    if v_scale is not None:  # and the value scales 1% too large
        assert not _close(
            _attention(lib, q, k, v, k_scale, v_scale * np.float32(1.01), length, mask), expected
        )
