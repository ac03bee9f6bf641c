"""Where the wall time of several tracks at once goes, against one track: one ``Engine.generate_many``
call per level, timed in its phases.

    python -m benchmarks.tracks_breakdown --model small-random --tracks 1 4 --duration 10 --repeats 2

Per level, medians over the repeats, in seconds of the whole call:

- ``text``: the tracks' text encoding, summed (one track's after another);
- ``audio``: the tracks' EnCodec decoding, summed (likewise: each runs alone, the others waiting);
- ``loop``: the rest of the wall time: the shared decoder steps, each track's sampling between them
  and its window's set-up (text keys/values, caches); ``ms/step`` divides it by the steps.

``x 1`` divides N tracks' aggregate realtime factor by one track's, as ``musicgenie bench
--concurrency`` does; the phases say which of them keeps it from N. ``w/o audio`` is the same ratio
with the audio decoding taken out of both calls: the most that batching or speeding up EnCodec alone
could bring, since the shared decoder steps and each track's sampling are what is left.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.runner import PROMPT
from inference import Engine, EngineConfig, GenerationParams
from inference.device import device_name
from inference.registry import DEFAULT_CACHE_DIR

PHASES = ("wall", "text", "audio", "loop")


def phases(engine: Engine, tracks: int, duration: float, seed: int) -> dict[str, float]:
    """One ``generate_many`` call of ``tracks`` requests, split into :data:`PHASES` (seconds)."""
    requests = [GenerationParams(PROMPT, duration, seed=seed + i) for i in range(tracks)]
    started = time.perf_counter()
    results = engine.generate_many(requests)
    wall = time.perf_counter() - started
    audio = sum(r.timings.audio_decoding_s for r in results)
    text = sum(r.timings.text_encoding_s for r in results)
    loop = wall - text - audio
    return {"wall": wall, "text": text, "audio": audio, "loop": loop, "steps": results[0].steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="small-random")
    parser.add_argument("--backend", default="native")
    parser.add_argument("--precision", default="int8")
    parser.add_argument("--tracks", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR))
    args = parser.parse_args()
    levels = sorted({1, *args.tracks})
    config = EngineConfig(
        args.model, args.backend, "cpu", args.precision, cache_dir=args.cache_dir, max_batch=max(levels)
    )
    engine = Engine.load(config)
    try:
        engine.generate(GenerationParams("warm up", 0.5, seed=0))
        runs: dict[int, list[dict[str, float]]] = {n: [] for n in levels}
        for repeat in range(args.repeats):  # levels innermost, so a slow minute falls on each
            for n in levels:
                runs[n].append(phases(engine, n, args.duration, seed=1 + repeat))
    finally:
        engine.unload()
    setting = f"{args.backend}:{args.precision}, {args.duration:g} s clips, median of {args.repeats}"
    print(f"CPU: {device_name('cpu')}; {args.model} {setting}")
    print(" ".join(f"{c:>7}" for c in ("tracks", *PHASES, "ms/step", "x 1", "w/o audio")))
    medians = {n: {phase: statistics.median(r[phase] for r in runs[n]) for phase in PHASES} for n in levels}
    one = medians[1]
    for n in levels:
        median = medians[n]
        cells = " ".join(f"{median[phase]:>7.2f}" for phase in PHASES)
        per_step = 1e3 * median["loop"] / runs[n][0]["steps"]
        scaling = n * one["wall"] / median["wall"]
        without_audio = n * (one["wall"] - one["audio"]) / (median["wall"] - median["audio"])
        print(f"{n:>7} {cells} {per_step:>7.1f} {scaling:>6.2f}x {without_audio:>8.2f}x")


if __name__ == "__main__":
    main()
