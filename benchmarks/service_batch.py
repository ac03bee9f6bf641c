"""The service's path with jobs at once: N threads each call ``engine.generate`` streaming its audio (as
the worker does), on an engine with ``max_batch`` N, so the jobs share decoder steps.

    python -m benchmarks.service_batch --model small-random --duration 10 --jobs 1 2 4

Prints each N's aggregate realtime factor (audio seconds of all jobs / wall seconds) and its ratio to
one job: the figure behind ``MAX_BATCH``'s default.
"""

from __future__ import annotations

import argparse
import threading
import time

from inference import Engine, EngineConfig, GenerationParams
from inference.device import device_name
from inference.registry import DEFAULT_CACHE_DIR


def aggregate(model: str, cache_dir: str, backend: str, precision: str, duration: float, jobs: int) -> float:
    """Aggregate realtime factor of ``jobs`` streamed generations at once."""
    config = EngineConfig(model, backend, "cpu", precision, cache_dir=cache_dir, max_batch=jobs)
    engine = Engine.load(config)
    try:
        engine.generate(GenerationParams("warm up", 1.0, seed=0))
        results: list = [None] * jobs

        def run(index: int) -> None:
            params = GenerationParams(f"lo-fi beat with warm piano, take {index}", duration, seed=index)
            results[index] = engine.generate(params, on_audio=lambda piece: None)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(jobs)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        return sum(r.audio.shape[-1] / r.sample_rate for r in results) / wall
    finally:
        engine.unload()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="small-random")
    parser.add_argument("--backend", default="native")
    parser.add_argument("--precision", default="int8")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR))
    args = parser.parse_args()
    variant = f"{args.backend}:{args.precision}"
    print(f"CPU: {device_name('cpu')}; {args.model} {variant}, {args.duration:g} s clips")
    base = None
    for jobs in sorted({1, *args.jobs}):
        rate = aggregate(args.model, args.cache_dir, args.backend, args.precision, args.duration, jobs)
        base = base or rate
        print(f"{jobs} jobs at once: aggregate {rate:.3f}x realtime, {rate / base:.2f}x one job's")


if __name__ == "__main__":
    main()
