"""The native int8 GEMV alone, on one thread: ns per 32 weight bytes and activation row, per build.

    python -m benchmarks.native_gemv                      # every build this CPU runs, 1 2 4 8 rows
    python -m benchmarks.native_gemv --rows 2 8 --layers 12

A decoder step multiplies every matrix with all its activation rows (2 per guided track) while the
weights pass through once. ``streamed``: a model's worth of MusicGen small's decoder matrices, more
than any cache holds, so that one row waits on memory; ``in cache``: one 384 KB matrix again and
again, the arithmetic alone. Where the two meet as rows grow, more tracks per step stop being free:
the product is bound by the core's vector pipes, not by memory.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from inference.device import device_name
from inference.native import library, ops

# MusicGen small's decoder layer (width 1024): qkv, self out, cross q, cross out, fc1, fc2.
LAYER_SHAPES = ((3072, 1024), (1024, 1024), (1024, 1024), (1024, 1024), (4096, 1024), (1024, 4096))
CACHED_SHAPE = (384, 1024)  # 384 KB: in L2 on current x86 cores
CHUNK_BYTES = 32


def matrices(lib, shapes: list[tuple[int, int]], seed: int = 0) -> list[ops.PackedMatrix]:
    rng = np.random.default_rng(seed)
    return [
        ops.pack(lib, rng.integers(-127, 128, size=shape, dtype=np.int8), rng.uniform(1e-3, 2e-2, shape[0]))
        for shape in shapes
    ]


def ns_per_chunk_row(lib, packed: list[ops.PackedMatrix], rows: int, passes: int, repeats: int) -> float:
    """Best of ``repeats``: ``passes`` products of every matrix with ``rows`` activation rows."""
    rng = np.random.default_rng(rows)
    widths = {m.shape[1] for m in packed}
    inputs = {cols: ops.quantize(lib, rng.standard_normal((rows, cols))) for cols in widths}
    outputs = {n: np.empty((rows, n), np.float32) for n in {m.shape[0] for m in packed}}
    calls = [ops.bind_gemv(lib, m, inputs[m.shape[1]], outputs[m.shape[0]]) for m in packed] * passes
    chunks = sum(m.shape[0] * m.shape[1] for m in packed) * passes / CHUNK_BYTES
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        failed = sum(call() != 0 for call in calls)
        best = min(best, time.perf_counter() - started)
        if failed:
            raise RuntimeError(f"mg_op_gemv refused {failed} of {len(calls)} products")
    return best * 1e9 / (chunks * rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=None, help="builds (default: every one runnable)")
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--layers", type=int, default=8, help="layers streamed (15 MB each)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rate = library.read_bandwidth_gbs(1)
    print(f"CPU: {device_name('cpu')}; one thread; memory read rate {rate:.1f} GB/s (one thread)")
    print("ns per 32 weight bytes and activation row (GB/s of weights in brackets)\n")
    print(f"{'build':>11} {'rows':>4} {'streamed':>16} {'in cache':>16}")
    for variant in args.variants or library.runnable_variants():
        lib = library.load_library(variant)
        streamed = matrices(lib, list(LAYER_SHAPES) * args.layers)
        cached = matrices(lib, [CACHED_SHAPE])
        for rows in args.rows:
            cells = []
            for packed, passes in ((streamed, 1), (cached, 400)):
                ns = ns_per_chunk_row(lib, packed, rows, passes, args.repeats)
                cells.append(f"{ns:6.3f} ({CHUNK_BYTES / (ns * rows):5.1f})")
            print(f"{variant:>11} {rows:>4} {cells[0]:>16} {cells[1]:>16}")
        del streamed, cached


if __name__ == "__main__":
    main()
