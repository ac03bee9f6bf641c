"""EnCodec decoding speed on CPU: transformers' modules against the fast upsampling stack, side by side.

    python -m benchmarks.codec_speed [--model small-random] [--durations 10 30] [--threads 2]
                                     [--repeats 3] [--cache-dir DIR]

Decodes random codes (in range, fixed seeds) of each clip length twice per repeat, once with
``codec.FAST_UPSAMPLING`` off (the upsampling stack through transformers' modules, as before) and once
on (:mod:`inference.musicgen.polyphase`), alternating so that a busy neighbour slows both alike; the
same for :class:`~inference.musicgen.codec.StreamingDecoder` fed a frame at a time, as the decoder loop
feeds it. Prints the best time of each, the speed-up, the largest difference between the two outputs,
the time of what both share (code embeddings, the convolution before the LSTM, the LSTM), the CPU
(``/proc/cpuinfo``) and the load average: these figures mean little on a busy machine, where the LSTM's
1,500 sequential steps of a 30 s clip at 2 threads slow down several times over. Nothing is recorded
in the database.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from functools import partial

import torch

from inference.backends.hf import load_musicgen
from inference.device import device_name
from inference.musicgen import codec
from inference.registry import DEFAULT_CACHE_DIR, resolve_checkpoint


def best_of(
    repeats: int, runs: dict[str, Callable[[], torch.Tensor]]
) -> dict[str, tuple[float, torch.Tensor]]:
    """Best wall time of each run over ``repeats`` rounds (the runs alternate within a round)."""
    best: dict[str, tuple[float, torch.Tensor]] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            audio = run()
            elapsed = time.perf_counter() - started
            if name not in best or elapsed < best[name][0]:
                best[name] = (elapsed, audio)
    return best


def decode(model, codes: torch.Tensor, channels: int, fast: bool) -> torch.Tensor:
    codec.FAST_UPSAMPLING = fast
    try:
        return codec.decode_audio(model, codes, channels)
    finally:
        codec.FAST_UPSAMPLING = True


def stream(model, codes: torch.Tensor, channels: int, fast: bool) -> torch.Tensor:
    codec.FAST_UPSAMPLING = fast
    try:
        decoder = codec.StreamingDecoder(model, channels)
    finally:
        codec.FAST_UPSAMPLING = True
    pieces = [decoder.push(codes[:, frame : frame + 1]) for frame in range(codes.shape[-1])]
    pieces.append(decoder.finish())
    return torch.cat(pieces, dim=-1)


def through_lstm(model, codes: torch.Tensor, channels: int) -> torch.Tensor:
    """What both paths share: code embeddings, the convolution before the LSTM and the LSTM itself."""
    decoder = model.audio_encoder.decoder
    layers = list(decoder.layers)
    split = max(i for i, layer in enumerate(layers) if codec._has_lstm(layer)) + 1
    streams = [codes] if channels == 1 else [codes[0::2], codes[1::2]]
    with torch.inference_mode():
        embeddings = [model.audio_encoder.quantizer.decode(stream[:, None]) for stream in streams]
        return torch.cat([codec._run(layers[:split], embedding) for embedding in embeddings])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.codec_speed", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--model", default="small-random", help="preset, hub checkpoint or local directory")
    parser.add_argument("--durations", type=float, nargs="+", default=[10.0, 30.0], help="clip lengths (s)")
    parser.add_argument("--threads", type=int, default=2, help="torch's CPU threads")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each, the best one counts")
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR), help="where presets are built")
    parser.add_argument("--no-stream", action="store_true", help="time decode_audio only")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    loaded = load_musicgen(resolve_checkpoint(args.model, args.cache_dir), torch.float32, torch.device("cpu"))
    model, channels = loaded.model, loaded.channels
    config = model.config.audio_encoder
    cpu = f"{device_name('cpu')} ({os.cpu_count()} visible)"
    print(f"CPU: {cpu}, torch {torch.__version__}, {args.threads} threads")
    print(
        f"model: {args.model} (EnCodec {config.sampling_rate} Hz, strides {config.upsampling_ratios}, "
        f"{config.num_filters} filters, {config.num_lstm_layers} LSTM layers, {channels} channel(s)), "
        f"best of {args.repeats}"
    )
    print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")

    # Warm up both paths (kernel selection, the fast stack's weights, the allocator).
    warm = torch.zeros((loaded.num_codebooks * channels, 60), dtype=torch.long)
    for fast in (False, True):
        decode(model, warm, channels, fast)

    modes = [("decode_audio", decode)] + ([] if args.no_stream else [("StreamingDecoder", stream)])
    print()
    print(
        "| clip | path | modules (s) | fast (s) | speed-up | realtime x (fast) | max abs diff | peak "
        "| load (1 min) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for seconds in args.durations:
        frames = round(seconds * loaded.frame_rate)
        generator = torch.Generator().manual_seed(frames)
        codes = torch.randint(
            0, config.codebook_size, (loaded.num_codebooks * channels, frames), generator=generator
        )
        for label, run in modes:
            best = best_of(
                args.repeats,
                {
                    "modules": partial(run, model, codes, channels, False),
                    "fast": partial(run, model, codes, channels, True),
                },
            )
            (old_s, old), (new_s, new) = best["modules"], best["fast"]
            difference = (new - old).abs().max().item()
            print(
                f"| {seconds:g} s | {label} | {old_s:.2f} | {new_s:.2f} | {old_s / new_s:.2f}x | "
                f"{seconds / new_s:.1f} | {difference:.1e} | {old.abs().max().item():.3f} | "
                f"{os.getloadavg()[0]:.2f} |",
                flush=True,
            )
        shared = best_of(args.repeats, {"shared": partial(through_lstm, model, codes, channels)})["shared"][0]
        print(
            f"| {seconds:g} s | of which up to the LSTM (same code) | {shared:.2f} | {shared:.2f} | | | | | "
            f"{os.getloadavg()[0]:.2f} |",
            flush=True,
        )
    print()
    print(f"load average after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
