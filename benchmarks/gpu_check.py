"""One prepared check of the CUDA path: parity, then realtime factors, for a lent GPU machine.

    scripts/gpu-check OUT_DIR                                  # on the GPU machine (see issue 12)
    scripts/gpu-check OUT_DIR --device cpu --models tiny-random --durations 1 --batches 1 2   # dry run

Needs only what such a machine has (PyTorch, transformers, numpy) and this checkout: no database, no
registry, no weights from the hub (the random presets are built locally). It writes ``gpu-check.md``
and ``gpu-check.json`` under OUT_DIR as it goes, so a run stopped by its time limit keeps what it
measured. Where CUDA is asked for and absent it says so, writes that, and exits with status 3.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference import Engine, EngineConfig, GenerationParams
from inference.backends.hf import load_musicgen
from inference.musicgen.conditioning import encode_text
from inference.musicgen.decoder import MusicgenDecoderStep
from inference.registry import resolve_checkpoint

NO_GPU = 3
PROMPT = "lo-fi beat with warm piano, 90 bpm"
TIMED_VARIANTS = (("reference", "float16"), ("torch", "bfloat16"), ("torch", "float16"))
TARGETS = (
    "small, 30 s, one track: >= 30x realtime and >= 10x the reference float16 of the same run",
    "medium, 30 s, one track: >= 10x realtime",
    "small, 16 tracks at once: aggregate >= 200x realtime",
    "first audio (streamed): < 0.5 s",
)


class Report:
    """What the check found, rewritten to disk after every entry."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.data: dict[str, Any] = {"environment": {}, "parity": [], "timings": [], "skipped": []}

    def add(self, section: str, entry: Any) -> None:
        if isinstance(self.data[section], list):
            self.data[section].append(entry)
        else:
            self.data[section] = entry
        self.write()

    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "gpu-check.json").write_text(json.dumps(self.data, indent=2))
        (self.out / "gpu-check.md").write_text(self.markdown())

    def markdown(self) -> str:
        env = self.data["environment"]
        lines = ["# gpu-check", ""] + [f"- {k}: {v}" for k, v in env.items()]
        lines += ["", "## Parity", "", "| check | model | precision | result |", "|---|---|---|---|"]
        lines += [
            f"| {p['check']} | {p['model']} | {p['precision']} | {p['result']} |" for p in self.data["parity"]
        ]
        lines += [
            "",
            "## Realtime factors (audio seconds / wall seconds; tracks > 1: all tracks' audio)",
            "",
            "| model | backend | precision | clip (s) | tracks | realtime factor | ms/step | first audio (s)"
            " |",
            "|---|---|---|---:|---:|---:|---:|---:|",
        ]
        for t in self.data["timings"]:
            first = "-" if t["first_audio_s"] is None else f"{t['first_audio_s']:.3f}"
            lines.append(
                f"| {t['model']} | {t['backend']} | {t['precision']} | {t['duration']:g} | {t['tracks']} "
                f"| {t['realtime_factor']:.2f}x | {t['ms_per_step']:.2f} | {first} |"
            )
        if self.data["skipped"]:
            lines += ["", "## Skipped", ""] + [f"- {s}" for s in self.data["skipped"]]
        lines += ["", "## Targets (issue 12)", ""] + [f"- {t}" for t in TARGETS]
        return "\n".join(lines) + "\n"


def environment(device: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda available": torch.cuda.is_available(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.device(device))
        env["gpu"] = props.name
        env["gpu memory (GiB)"] = round(props.total_memory / 2**30, 1)
        env["cuda"] = torch.version.cuda
    import transformers

    env["transformers"] = transformers.__version__
    return env


def greedy_tokens(model: str, backend: str, device: str, cache_dir: str, seconds: float) -> np.ndarray:
    engine = Engine.load(
        EngineConfig(model=model, backend=backend, precision="float32", device=device, cache_dir=cache_dir)
    )
    try:
        result = engine.generate(GenerationParams(PROMPT, seconds, temperature=0.0, seed=0))
    finally:
        engine.unload()
    assert result.codes is not None
    return result.codes


def token_parity(model: str, device: str, cache_dir: str, seconds: float) -> str:
    """Greedy tokens of our torch loop against transformers' generate, both float32."""
    ours = greedy_tokens(model, "torch", device, cache_dir, seconds)
    theirs = greedy_tokens(model, "reference", device, cache_dir, seconds)
    frames = min(ours.shape[-1], theirs.shape[-1])
    same = ours[:, :frames] == theirs[:, :frames]
    differing = np.flatnonzero(~same.all(axis=0))
    first = "none" if differing.size == 0 else f"frame {int(differing[0])}"
    return f"{same.mean():.4f} of {same.size} tokens agree; first difference: {first}"


def logits_parity(model: str, device: str, cache_dir: str, dtype: torch.dtype, steps: int) -> str:
    """Teacher-forced step logits in ``dtype`` against float32 over the same tokens: error and top-1."""
    checkpoint = resolve_checkpoint(model, cache_dir)
    torch_device = torch.device(device)
    outputs = []
    tokens = None
    for precision in (torch.float32, dtype):
        loaded = load_musicgen(checkpoint, precision, torch_device)
        step = MusicgenDecoderStep(loaded.model, torch_device, precision, max_steps=steps + 1)
        with torch.inference_mode():
            step.start(
                *encode_text(loaded.model, loaded.processor, PROMPT, torch_device), guided=True, steps=steps
            )
            if tokens is None:
                generator = torch.Generator().manual_seed(0)
                tokens = torch.randint(
                    0,
                    loaded.model.decoder.config.vocab_size,
                    (steps, step.num_codebooks),
                    generator=generator,
                )
            outputs.append(
                torch.stack([step(tokens[t].to(torch_device), t).float().cpu() for t in range(steps)])
            )
        del step, loaded
    reference, half = outputs
    error = (half - reference).abs().max().item() / reference.abs().max().item()
    agree = (half.argmax(-1) == reference.argmax(-1)).float().mean().item()
    return f"max abs error {error:.2e} of the largest logit; top-1 agreement {agree:.4f} over {steps} steps"


class _FirstAudio:
    """An ``on_audio`` callback that notes when the first piece of audio came."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.seconds: float | None = None

    def __call__(self, *_: object) -> None:
        if self.seconds is None:
            self.seconds = time.perf_counter() - self.started


def timed_runs(
    engine: Engine, model: str, durations: list[float], batches: list[int], batching: bool
) -> list[dict[str, Any]]:
    rows = []
    for duration in durations:
        for tracks in batches:
            if tracks > 1 and not batching:
                continue
            params = [GenerationParams(PROMPT, duration, seed=i) for i in range(tracks)]
            clock = _FirstAudio()
            if tracks == 1:
                results = [engine.generate(params[0], on_audio=clock)]
            else:
                results = engine.generate_many(params)
            first = clock.seconds
            wall = time.perf_counter() - clock.started
            loop = min(r.timings.decoder_loop_s for r in results)
            info = engine.info()
            rows.append(
                {
                    "model": model,
                    "backend": info.get("backend"),
                    "precision": info.get("precision"),
                    "duration": duration,
                    "tracks": tracks,
                    "realtime_factor": duration * tracks / wall,
                    "ms_per_step": loop / max(results[0].steps, 1) * 1e3,
                    "first_audio_s": first,
                    "wall_s": wall,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="directory for gpu-check.md and gpu-check.json")
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--models", nargs="+", default=["small-random", "medium-random"])
    parser.add_argument("--durations", nargs="+", type=float, default=[5.0, 30.0])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4, 16])
    parser.add_argument("--parity-seconds", type=float, default=2.0)
    parser.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "music-genie-gpu-check"))
    parser.add_argument("--budget-s", type=float, default=450.0, help="stop starting new work after this")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = Report(args.out)
    report.add("environment", environment(args.device))
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        message = "gpu-check: no GPU present (torch.cuda.is_available() is False): nothing was measured"
        report.add("skipped", message)
        print(message, file=sys.stderr)
        return NO_GPU

    def budget_left(what: str) -> bool:
        if time.perf_counter() - started < args.budget_s:
            print(f"gpu-check: {what} ({time.perf_counter() - started:.0f} s in)", flush=True)
            return True
        report.add("skipped", f"{what}: over the {args.budget_s:g} s budget")
        return False

    first_model = args.models[0]
    if budget_left(f"greedy token parity, {first_model}"):
        result = token_parity(first_model, args.device, args.cache_dir, args.parity_seconds)
        report.add(
            "parity",
            {
                "check": "greedy tokens, torch vs reference",
                "model": first_model,
                "precision": "float32",
                "result": result,
            },
        )
    for dtype in (torch.bfloat16, torch.float16):
        if budget_left(f"{dtype} logits, {first_model}"):
            result = logits_parity(first_model, args.device, args.cache_dir, dtype, steps=32)
            name = str(dtype).removeprefix("torch.")
            report.add(
                "parity",
                {
                    "check": "teacher-forced logits vs float32",
                    "model": first_model,
                    "precision": name,
                    "result": result,
                },
            )
    for model in args.models:
        for backend, precision in TIMED_VARIANTS:
            if not budget_left(f"timings {model} {backend}:{precision}"):
                continue
            config = EngineConfig(
                model=model,
                backend=backend,
                precision=precision,
                device=args.device,
                cache_dir=args.cache_dir,
                max_batch=max(args.batches),
            )
            try:
                engine = Engine.load(config)
            except Exception as exc:  # a variant this machine cannot run: say so, go on
                report.add("skipped", f"{model} {backend}:{precision}: {type(exc).__name__}: {exc}")
                continue
            try:
                engine.generate(GenerationParams(PROMPT, 1.0, seed=0))  # warm-up: graphs, kernels, allocator
                batching = backend != "reference"
                for row in timed_runs(engine, model, args.durations, args.batches, batching):
                    report.add("timings", row)
            finally:
                engine.unload()
    print(report.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
