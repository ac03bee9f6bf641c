"""Run variants of a model side by side: load (timed), warm up, timed generations; one row per generation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import fmean

from tqdm import tqdm

from benchmarks.environment import host, memory_bandwidth_gbs, versions
from benchmarks.memory import PeakMemory, release_memory
from benchmarks.variants import REFERENCE, default_variants, ordered
from inference import Engine, EngineConfig, GenerationParams, GenerationResult
from inference.device import device_name, resolve_device
from inference.registry import model_spec
from inference.tuning import Pair

PROMPT = "lo-fi beat with warm piano, 90 bpm"  # fixed prompt length for every variant
CPU_THREADS = 2


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """What to run; `variants` None means every backend x precision the device supports."""

    model: str = "small-random"
    variants: Sequence[Pair] | None = None
    durations: Sequence[float] = (10.0,)
    device: str = "auto"
    threads: int | None = None  # None: 2 on CPU
    repeats: int = 1
    warmup_s: float = 0.5
    cache_dir: str | None = None
    progress: bool = True


@dataclass(frozen=True, slots=True)
class Measurement:
    """One timed generation; the fields of a `benchmark_runs` row."""

    run_id: str
    model: str
    architecture: str
    backend: str
    precision: str
    device: str
    device_type: str
    device_name: str
    threads: int | None
    clip_seconds: float
    repeat: int
    steps: int
    realtime_factor: float
    ms_per_step: float
    generation_time: float
    load_time: float
    peak_memory_mb: float | None
    first_audio_s: float | None
    vs_reference: float | None
    vs_reference_float32: float | None
    versions: dict[str, str]
    host: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Skipped:
    backend: str
    precision: str
    reason: str


@dataclass(slots=True)
class BenchReport:
    """Everything one run measured, for the Markdown table and the plots."""

    run_id: str
    options: BenchOptions
    device: str
    device_name: str
    threads: int | None
    versions: dict[str, str]
    host: str
    started_at: datetime
    measurements: list[Measurement] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    bandwidth_gbs: dict[str, float] = field(default_factory=dict)  # "backend:precision" -> before it ran


Sink = Callable[[Measurement], None]


def run(options: BenchOptions, record: Sink | None = None) -> BenchReport:
    """Benchmark every variant; `record` gets each (variant, clip)'s rows as soon as they exist."""
    device = resolve_device(options.device)
    device_type = device.split(":", 1)[0]
    threads = (options.threads or CPU_THREADS) if device_type == "cpu" else None
    variants = ordered(options.variants) if options.variants else default_variants(device_type)
    report = BenchReport(
        run_id=uuid.uuid4().hex,
        options=options,
        device=device,
        device_name=device_name(device),
        threads=threads,
        versions=versions(),
        host=host(),
        started_at=datetime.now(UTC),
    )
    reference: dict[tuple[str, float], float] = {}  # (precision, clip) -> mean realtime factor
    per_variant = len(options.durations) * options.repeats
    with tqdm(total=len(variants) * per_variant, unit="run", disable=not options.progress) as bar:
        for backend, precision in variants:
            bar.set_description(f"{backend}:{precision}")
            done = _run_variant(report, backend, precision, reference, record, bar)
            bar.update(per_variant - done)  # what a skipped variant did not run
    return report


def _run_variant(
    report: BenchReport,
    backend: str,
    precision: str,
    reference: dict[tuple[str, float], float],
    record: Sink | None,
    bar: tqdm,
) -> int:
    """Load, warm up and time one variant; returns how many timed generations it ran."""
    options = report.options
    config = EngineConfig(
        model=options.model,
        backend=backend,
        device=report.device,
        precision=precision,
        cache_dir=options.cache_dir,
        threads=report.threads,
    )
    done = 0
    if report.threads is not None:  # CPU: how fast memory reads right before this variant
        rate = memory_bandwidth_gbs(report.threads)
        if rate is not None:
            report.bandwidth_gbs[f"{backend}:{precision}"] = rate
    with PeakMemory(report.device) as memory:
        started = time.perf_counter()
        try:
            engine = Engine.load(config)
        except Exception as exc:  # a variant that cannot load here is skipped, with its reason
            report.skipped.append(Skipped(backend, precision, _reason(exc)))
            return done
        load_time = time.perf_counter() - started
        try:
            engine.generate(GenerationParams(PROMPT, duration=options.warmup_s, seed=0))
            for clip in options.durations:
                results = []
                for repeat in range(options.repeats):
                    results.append(_timed(engine, GenerationParams(PROMPT, duration=clip, seed=1 + repeat)))
                    bar.update(1)
                    done += 1
                if backend == REFERENCE:
                    reference[(precision, clip)] = fmean(r.realtime_factor for r, _ in results)
                rows = [
                    _measurement(report, r, first, clip, i, load_time, memory.peak_mb(), reference)
                    for i, (r, first) in enumerate(results)
                ]
                report.measurements.extend(rows)
                if record is not None:
                    for row in rows:
                        record(row)
        except Exception as exc:
            report.skipped.append(Skipped(backend, precision, f"failed while generating: {_reason(exc)}"))
        finally:
            engine.unload()
            del engine
            release_memory(report.device)
    return done


def _timed(engine: Engine, params: GenerationParams) -> tuple[GenerationResult, float]:
    """One generation as the service runs it (streamed) and the seconds to its first piece of audio."""
    started = time.perf_counter()
    first: list[float] = []

    def on_audio(_: object) -> None:
        if not first:
            first.append(time.perf_counter() - started)

    result = engine.generate(params, on_audio=on_audio)
    return result, first[0]


def _measurement(
    report: BenchReport,
    result: GenerationResult,
    first_audio_s: float,
    clip: float,
    repeat: int,
    load_time: float,
    peak_mb: float,
    reference: dict[tuple[str, float], float],
) -> Measurement:
    rtf = result.realtime_factor
    same = reference.get((result.precision, clip))
    f32 = reference.get(("float32", clip))
    return Measurement(
        run_id=report.run_id,
        model=result.model,
        architecture=model_spec(report.options.model).size,
        backend=result.backend,
        precision=result.precision,
        device=result.device,
        device_type=result.device.split(":", 1)[0],
        device_name=report.device_name,
        threads=report.threads,
        clip_seconds=clip,
        repeat=repeat,
        steps=result.steps,
        realtime_factor=rtf,
        ms_per_step=result.ms_per_step,
        generation_time=result.timings.total_s,
        load_time=load_time,
        peak_memory_mb=round(peak_mb, 1),
        first_audio_s=round(first_audio_s, 3),
        vs_reference=rtf / same if same else None,
        vs_reference_float32=rtf / f32 if f32 else None,
        versions=report.versions,
        host=report.host,
        created_at=datetime.now(UTC),
    )


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
