"""Baseline: the reference backend's speed on ``small-random`` (musicgen-small's architecture).

    python -m benchmarks.baseline                       # 5 s and 10 s clips, float32 and bfloat16, 2 threads
    python -m benchmarks.baseline --durations 10 --precisions int8 --threads 2

Prints a Markdown table of ms per decoder step and realtime factor (audio seconds / wall seconds).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import torch
import transformers

from inference import Engine, EngineConfig, GenerationParams

PROMPT = "lo-fi beat with warm piano, 90 bpm"


def run(args: argparse.Namespace) -> list[dict[str, object]]:
    rows = []
    for precision in args.precisions:
        config = EngineConfig(
            model=args.model,
            backend=args.backend,
            device=args.device,
            precision=precision,
            cache_dir=args.cache_dir,
            threads=args.threads,
        )
        engine = Engine.load(config)
        info = engine.info()
        engine.generate(GenerationParams(PROMPT, duration=0.5, seed=0))  # warm-up
        for duration in args.durations:
            for _ in range(args.repeats):
                result = engine.generate(GenerationParams(PROMPT, duration=duration, seed=1))
                row = {
                    "model": args.model,
                    "backend": result.backend,
                    "device": result.device,
                    "precision": result.precision,
                    "threads": info["threads"],
                    "clip_s": duration,
                    "steps": result.steps,
                    "ms_per_step": round(result.ms_per_step, 1),
                    "total_s": round(result.timings.total_s, 2),
                    "realtime_factor": round(result.realtime_factor, 3),
                    "load_s": info["load_time_s"],
                }
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
        engine.unload()
    return rows


def markdown(rows: list[dict[str, object]]) -> str:
    head = "| backend | device | precision | threads | clip (s) | ms/step | wall (s) | realtime factor |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['device']} | {r['precision']} | {r['threads']} | {r['clip_s']:g} | "
            f"{r['ms_per_step']} | {r['total_s']} | {r['realtime_factor']}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.baseline", description=__doc__)
    parser.add_argument("--model", default="small-random")
    parser.add_argument("--backend", default="reference")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--durations", nargs="+", type=float, default=[5.0, 10.0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--cache-dir")
    args = parser.parse_args(argv)
    started = time.time()
    rows = run(args)
    print(
        f"{args.model}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"{platform.machine()}, {args.threads} threads, {time.time() - started:.0f} s in all\n"
    )
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
