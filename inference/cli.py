"""``python -m inference``: generate a file from a prompt, or show what this machine offers."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from inference import audio as audio_io
from inference import device as devices
from inference.backends import BACKENDS, backend_class
from inference.engine import Engine
from inference.errors import GenerationCancelled, InferenceError, UnknownModelError
from inference.registry import available_offline, list_models, model_spec
from inference.types import EngineConfig, GenerationParams, Progress


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except GenerationCancelled:
        print("canceled", file=sys.stderr)
        return 130
    except InferenceError as exc:
        print(f"error ({exc.error_type}): {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inference", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", help="generate music from a text prompt into a file")
    gen.add_argument("prompt")
    gen.add_argument("--duration", type=float, default=10.0, help="seconds of audio (default 10)")
    gen.add_argument(
        "--continue-from",
        type=Path,
        metavar="FILE",
        help="an audio file (wav, flac, ogg, mp3) to continue: the result is it plus new music, "
        "--duration seconds in all",
    )
    gen.add_argument("--output", "-o", type=Path, help="file to write (default: generation-SEED.FORMAT)")
    gen.add_argument(
        "--format", choices=sorted(audio_io.FORMATS), help="default: the output's extension, else wav"
    )
    gen.add_argument("--normalize", choices=audio_io.STRATEGIES, default="loudness", help="default: loudness")
    defaults = GenerationParams("", 1.0)
    gen.add_argument("--seed", type=int)
    gen.add_argument("--top-k", type=int, default=defaults.top_k)
    gen.add_argument("--top-p", type=float, default=defaults.top_p)
    gen.add_argument("--temperature", type=float, default=defaults.temperature)
    gen.add_argument("--cfg-coef", type=float, default=defaults.cfg_coef)
    gen.add_argument(
        "--negative-prompt",
        metavar="TEXT",
        help="what to steer away from: guidance pushes from this text to the prompt (needs --cfg-coef > 1)",
    )
    _engine_args(gen)
    gen.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    gen.set_defaults(handler=_generate)

    export = sub.add_parser("export", help="export a model to ONNX (cached; re-exported when stale)")
    export.add_argument("--model", default=EngineConfig().model)
    export.add_argument("--precision", default="int8", choices=("float32", "int8"))
    export.add_argument("--cache-dir", help="MODEL_CACHE_DIR (default ./models)")
    export.set_defaults(handler=_export)

    info = sub.add_parser("info", help="devices, precisions, backends and models available here")
    info.add_argument("--json", action="store_true")
    info.add_argument(
        "--cache-dir", help="MODEL_CACHE_DIR: where hub checkpoints are cached (default ./models)"
    )
    info.add_argument(
        "--model", action="append", default=[], help="also list this model (a local checkpoint directory)"
    )
    info.set_defaults(handler=_info)
    return parser


def _engine_args(parser: argparse.ArgumentParser) -> None:
    config = EngineConfig()
    parser.add_argument(
        "--model", default=config.model, help=f"preset, checkpoint or directory ({config.model})"
    )
    parser.add_argument("--backend", default=config.backend, choices=(*BACKENDS, "auto"))
    parser.add_argument("--device", default=config.device, help="auto, cpu, cuda, cuda:N, mps")
    parser.add_argument("--precision", default=config.precision, choices=devices.PRECISIONS)
    parser.add_argument("--cache-dir", help="MODEL_CACHE_DIR (default ./models)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch")


def _generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    prompt_audio, prompt_rate = (
        (None, None) if args.continue_from is None else audio_io.read_audio(args.continue_from)
    )
    params = GenerationParams(
        prompt=args.prompt,
        duration=args.duration,
        top_k=args.top_k,
        top_p=args.top_p,
        temperature=args.temperature,
        cfg_coef=args.cfg_coef,
        seed=args.seed,
        negative_prompt=args.negative_prompt,
        prompt_audio=prompt_audio,
        prompt_sample_rate=prompt_rate,
    )
    params.validate()
    fmt = args.format or (args.output.suffix.lstrip(".") if args.output and args.output.suffix else "wav")
    spec = audio_io.audio_format(fmt)
    config = EngineConfig(
        model=args.model,
        backend=args.backend,
        device=args.device,
        precision=args.precision,
        cache_dir=args.cache_dir,
        threads=args.threads,
    )
    if not args.quiet:
        print(
            f"loading {config.model} ({config.backend}, {config.device}, {config.precision})...",
            file=sys.stderr,
        )
    engine = Engine.load(config)
    info = engine.info()
    if info["random_weights"] and not args.quiet:
        print(f"note: {info['model']} has random weights; its audio is noise", file=sys.stderr)
    cancel = threading.Event()
    bar_format = "{desc:>14}: {percentage:3.0f}%|{bar}| {elapsed}{postfix}"
    with tqdm(total=100, disable=args.quiet, file=sys.stderr, bar_format=bar_format) as bar:

        def on_progress(progress: Progress) -> None:
            bar.set_description_str(progress.phase.replace("_", " "), refresh=False)
            left = f"step {progress.step}/{progress.total_steps}, about {progress.eta_s:.0f} s left"
            bar.set_postfix_str(left, refresh=False)
            bar.update(100 * progress.fraction - bar.n)

        try:
            result = engine.generate(params, on_progress=on_progress, cancel=cancel)
        except KeyboardInterrupt:
            raise GenerationCancelled("interrupted") from None
    output = args.output or Path(f"generation-{result.seed}.{spec.extension}")
    wav = audio_io.normalize(result.audio, result.sample_rate, args.normalize)
    audio_io.write_audio(output, wav, result.sample_rate, spec.name)
    t = result.timings
    print(
        f"wrote {output} ({result.duration:.2f} s, {result.sample_rate} Hz, seed {result.seed}) on "
        f"{result.device}/{result.precision}/{result.backend}: {t.total_s:.2f} s "
        f"(text {t.text_encoding_s:.2f}, decoder {t.decoder_loop_s:.2f} at {result.ms_per_step:.1f} ms/step, "
        f"audio {t.audio_decoding_s:.2f}); realtime factor {result.realtime_factor:.2f}x"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    config = EngineConfig(
        model=args.model, backend="onnx", device="cpu", precision=args.precision, cache_dir=args.cache_dir
    )
    print(f"exporting {config.model} ({config.precision}) unless a current export exists...", file=sys.stderr)
    engine = Engine.load(config)
    directory = Path(engine.info()["artifacts"])
    engine.unload()
    manifest = json.loads((directory / "manifest.json").read_text())
    print(directory)
    for name, entry in manifest["files"].items():
        print(f"  {name:40} {entry['bytes'] / 1e6:10.1f} MB  sha256 {entry['sha256'][:16]}")
    return 0


def _info(args: argparse.Namespace) -> int:
    import torch

    data = {
        "torch": torch.__version__,
        "devices": {
            kind: {"precisions": devices.supported_precisions(kind), "name": devices.device_name(kind)}
            for kind in devices.available_devices()
        },
        "default_device": devices.resolve_device("auto"),
        "threads": torch.get_num_threads(),
        "backends": {name: list(backend_class(name).precisions) for name in BACKENDS},
        "models": {name: _model_entry(name, args.cache_dir) for name in _listed_models(args.model)},
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"torch {data['torch']}, {data['threads']} CPU threads; auto device: {data['default_device']}")
    print("devices:")
    for kind, entry in data["devices"].items():
        print(f"  {kind:5} {entry['name']}: {', '.join(entry['precisions'])}")
    print("backends:")
    for name, precisions in data["backends"].items():
        print(f"  {name}: {', '.join(precisions)}")
    print("models (offline: loads here without the Hugging Face hub):")
    for name, entry in data["models"].items():
        where = "offline" if entry["offline"] else "hub only"
        print(f"  {name:38} {where:8}  {entry['description']}")
    return 0


def _listed_models(extra: list[str]) -> list[str]:
    return list(dict.fromkeys([*(m.name for m in list_models()), *extra]))


def _model_entry(name: str, cache_dir: str | None) -> dict[str, object]:
    """What ``info`` says of one model: description, source, and whether it loads without the hub."""
    try:
        spec = model_spec(name)
        offline = available_offline(name, cache_dir)
    except UnknownModelError as exc:  # e.g. a directory that does not exist
        return {"description": str(exc), "source": None, "offline": False}
    return {"description": spec.description, "source": spec.source, "offline": offline}
