"""The native decoder step alone: time per step against the memory-read floor, per build and batch.

    python -m benchmarks.native_step                         # small-random, every build this CPU runs
    python -m benchmarks.native_step --model tiny-random     # the pool's overhead on a tiny step
    python -m benchmarks.native_step --huge-pages --tracks 1 4 --repeats 6   # huge pages against 4 KB
    python -m benchmarks.native_step --phases --tracks 1 4 --positions 500    # where a step's time goes

A step reads every weight once, so it cannot beat ``weight bytes / read rate`` (the probe's rate at
the same thread count, measured right before): the ratio to that floor says how much is left. Rows
are the step's activation rows: 2 for one guided track, 8 for four. A last line runs two models'
steps at once in two threads (two engines in one process).

``--phases`` times the best build's step by its parts instead (the library's ``mg_profile``: weight
products, attention over the cache and over the text, the single-threaded row work), over the first
``--positions`` and the ``--positions`` from ``--late`` on: what grows with the position is attention.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import torch

from inference.backends.hf import load_musicgen
from inference.device import device_name
from inference.native import library, pages
from inference.native.step import NativeDecoderStep
from inference.registry import DEFAULT_CACHE_DIR, resolve_checkpoint


def weight_bytes(step: NativeDecoderStep) -> int:
    """Bytes one step reads from its matrices (int8 weights and their scales)."""
    total = 0
    for layer in step.layers:
        for linear in (layer.qkv, layer.self_out, layer.cross_q, layer.cross_out, layer.fc1, layer.fc2):
            total += linear.qweight.numel() + 4 * linear.scale.numel()
    return total + step.lm_heads.qweight.numel() + 4 * step.lm_heads.scale.numel()


def time_steps(step: NativeDecoderStep, count: int, text, length: int, repeats: int, start: int = 0) -> float:
    """Median ms per step over positions ``start`` to ``start + length`` of ``count`` guided tracks in one
    step (attention reads every slot up to the position, filled or not)."""
    tracks = [step.open(*text, guided=True, steps=start + length) for _ in range(count)]
    tokens = [torch.zeros(4, dtype=torch.long)] * count
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        for position in range(start, start + length):
            step.step_tracks(tracks, tokens, [position] * count)
        timings.append((time.perf_counter() - started) * 1e3 / length)
    return statistics.median(timings)


def huge_pages_against_small(model, threads: int, text, tracks: list[int], args) -> None:
    """The step with its weights and caches on huge pages (inference.native.pages) and without, built
    side by side and timed in turns (ABBA), at the first positions and from ``--late`` on."""
    steps = {}
    for on in (True, False):
        pages.ENABLED = on
        steps[on] = NativeDecoderStep(model, threads=threads, max_steps=args.late + args.positions + 1)
    timings: dict[tuple[int, int, bool], list[float]] = {}
    for turn in range(args.repeats):
        for count in tracks:
            for start in (0, args.late):
                for on in (True, False) if turn % 2 == 0 else (False, True):
                    pages.ENABLED = on  # the tracks' caches
                    ms = time_steps(steps[on], count, text, args.positions, 1, start)
                    timings.setdefault((count, start, on), []).append(ms)
    pages.ENABLED = True
    setting = f"{steps[True].variant}, {threads} threads, median of {args.repeats}"
    print(f"\nhuge pages against 4 KB pages ({setting})")
    print(f"{'tracks':>6} {'positions':>11} {'huge ms':>8} {'4 KB ms':>8} {'huge/4 KB':>9}")
    for count in tracks:
        for start in (0, args.late):
            huge, small = (statistics.median(timings[count, start, on]) for on in (True, False))
            where = f"{start}-{start + args.positions}"
            print(f"{count:>6} {where:>11} {huge:>8.2f} {small:>8.2f} {huge / small:>9.3f}")


def phase_times(
    step: NativeDecoderStep, count: int, text, length: int, start: int = 0
) -> tuple[float, dict[str, float]]:
    """ms per step over positions ``start`` to ``start + length`` of ``count`` guided tracks, and the ms
    per step of each of the library's phases (:data:`~inference.native.library.PHASES`)."""
    step.profile(True)
    ms = time_steps(step, count, text, length, 1, start)
    spent = step.profile(False)
    return ms, {phase: seconds * 1e3 / length for phase, seconds in spent.items()}


def phases_table(model: torch.nn.Module, threads: int, text, tracks: list[int], args) -> None:
    """Each track count's step by phase, early and late in a clip."""
    step = NativeDecoderStep(model, threads=threads, max_steps=args.late + args.positions + 1)
    print(f"\nms per step by phase ({step.variant}, {threads} threads)")
    names = [phase.replace("_", " ") for phase in library.PHASES]
    print(f"{'tracks':>6} {'positions':>11} {'step':>6} " + " ".join(f"{name:>15}" for name in names))
    for count in tracks:
        for start in (0, args.late):
            ms, phases = phase_times(step, count, text, args.positions, start)
            where = f"{start}-{start + args.positions}"
            parts = " ".join(f"{phases[phase]:>15.2f}" for phase in library.PHASES)
            print(f"{count:>6} {where:>11} {ms:>6.2f} {parts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="small-random")
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--tracks", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--variants", nargs="+", default=None, help="builds (default: every one runnable)")
    parser.add_argument("--positions", type=int, default=100, help="steps timed per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR))
    parser.add_argument(
        "--huge-pages", action="store_true", help="instead: the best build with and without huge pages"
    )
    parser.add_argument(
        "--phases", action="store_true", help="instead: the best build's step by phase (mg_profile)"
    )
    parser.add_argument(
        "--late", type=int, default=1400, help="with --huge-pages or --phases: the later positions"
    )
    args = parser.parse_args()

    checkpoint = resolve_checkpoint(args.model, args.cache_dir)
    loaded = load_musicgen(checkpoint, torch.float32, torch.device("cpu"))
    hidden = loaded.model.config.decoder.hidden_size
    generator = torch.Generator().manual_seed(0)
    text = (torch.randn(1, 12, hidden, generator=generator), torch.ones(1, 12, dtype=torch.long))
    variants = args.variants or library.runnable_variants()
    if args.huge_pages:
        for threads in args.threads:
            huge_pages_against_small(loaded.model, threads, text, args.tracks, args)
        return
    if args.phases:
        print(f"CPU: {device_name('cpu')}; model {args.model}")
        for threads in args.threads:
            print(f"{threads} threads: memory read rate {library.read_bandwidth_gbs(threads):.1f} GB/s")
            phases_table(loaded.model, threads, text, args.tracks, args)
        return
    timed = f"{args.positions} positions x {args.repeats} repeats"
    print(f"CPU: {device_name('cpu')}; model {args.model}; {timed}")
    for threads in args.threads:
        rate = library.read_bandwidth_gbs(threads)
        print(f"\n{threads} threads: memory read rate {rate:.1f} GB/s")
        columns = ("build", "tracks", "rows", "ms/step", "floor ms", "x floor", "ms/track")
        print(" ".join(f"{c:>{w}}" for c, w in zip(columns, (11, 6, 4, 8, 8, 7, 8), strict=True)))
        for variant in variants:
            step = NativeDecoderStep(
                loaded.model, threads=threads, max_steps=args.positions + 1, variant=variant
            )
            floor = weight_bytes(step) / (rate * 1e9) * 1e3
            for count in args.tracks:
                ms = time_steps(step, count, text, args.positions, args.repeats)
                print(
                    f"{variant:>11} {count:>6} {2 * count:>4} {ms:>8.2f} {floor:>8.2f} {ms / floor:>7.2f} "
                    f"{ms / count:>8.2f}"
                )
            del step
        two_engines(loaded.model, threads, text, args.positions, args.repeats)


def two_engines(model: torch.nn.Module, threads: int, text, positions: int, repeats: int) -> None:
    """Two models in one process, each stepping in its own thread (two engines)."""
    pair = [NativeDecoderStep(model, threads, positions + 1) for _ in range(2)]
    alone = time_steps(pair[0], 1, text, positions, repeats)
    results = [0.0, 0.0]

    def run(index: int) -> None:
        results[index] = time_steps(pair[index], 1, text, positions, repeats)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    each = " and ".join(f"{ms:.2f}" for ms in results)
    print(f"two engines at once ({pair[0].variant}): {each} ms/step (alone {alone:.2f})")


if __name__ == "__main__":
    main()
