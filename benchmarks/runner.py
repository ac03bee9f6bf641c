"""Run variants of a model side by side: load (timed), warm up, timed generations; one row per generation.

With ``concurrency`` (``--concurrency 1 2 4``) each timed run is instead N tracks generated at once
(``Engine.generate_many``, N distinct seeds; shared decoder steps on backends that batch), one row per
(variant, clip, N, repeat) with ``tracks`` N and the aggregate realtime factor.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
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
    concurrency: Sequence[int] = ()  # tracks at once per timed run; (): one streamed track at a time


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
    tracks: int = 1  # generated at once; realtime_factor is then their aggregate
    memory_per_track_mb: float | None = None  # (peak during the N tracks - level before) / N; not a column


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
    kernels: dict[str, str] = field(default_factory=dict)  # "backend:precision" -> the native build it ran


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
    reference: dict[tuple[str, float, int], float] = {}  # (precision, clip, tracks) -> mean realtime factor
    per_variant = len(options.durations) * options.repeats * max(1, len(concurrency_levels(options)))
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
    reference: dict[tuple[str, float, int], float],
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
        max_batch=max(concurrency_levels(options), default=1),
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
        kernel = engine.info()["kernel"]
        if kernel:
            report.kernels[f"{backend}:{precision}"] = kernel
        try:
            engine.generate(GenerationParams(PROMPT, duration=options.warmup_s, seed=0))
            levels = concurrency_levels(options)
            for clip in options.durations:
                # Repeats outermost: 1, 2, 4 tracks, then again, so a shared host's slow minute
                # falls on every level rather than on one.
                runs: dict[int | None, list[Measurement]] = {tracks: [] for tracks in levels or [None]}
                for repeat in range(options.repeats):
                    for tracks, rows in runs.items():
                        if tracks is None:
                            params = GenerationParams(PROMPT, duration=clip, seed=1 + repeat)
                            result, first = _timed(engine, params)
                            row = _measurement(report, result, first, clip, repeat, load_time)
                        else:
                            row = _together(report, engine, memory, clip, tracks, repeat, load_time)
                        rows.append(row)
                        bar.update(1)
                        done += 1
                peak = round(memory.peak_mb(), 1)  # the variant's peak so far, load included
                for tracks, measured in runs.items():
                    if backend == REFERENCE:
                        reference[(precision, clip, tracks or 1)] = fmean(r.realtime_factor for r in measured)
                    rows = [_ratios(replace(row, peak_memory_mb=peak), reference) for row in measured]
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


def concurrency_levels(options: BenchOptions) -> list[int]:
    """The tracks-at-once levels to run, 1 always among them (the base of "x vs 1 track"); [] without."""
    if not options.concurrency:
        return []
    return sorted({1, *options.concurrency})


def _together(
    report: BenchReport,
    engine: Engine,
    memory: PeakMemory,
    clip: float,
    tracks: int,
    repeat: int,
    load_time: float,
) -> Measurement:
    """`tracks` distinct requests in one `generate_many` call: the aggregate realtime factor (all their
    audio / the call's wall time), and the peak memory it grew by, per track."""
    requests = [GenerationParams(PROMPT, duration=clip, seed=1 + repeat * tracks + i) for i in range(tracks)]
    release_memory(report.device)  # what earlier runs freed is not counted in this one's baseline
    memory.keep_peak()  # the nested measurement resets the kernel's high-water mark
    with PeakMemory(report.device) as during:
        started = time.perf_counter()
        results = engine.generate_many(requests)
        wall = time.perf_counter() - started
        growth = during.peak_mb()
    audio_s = sum(r.duration for r in results)
    # Batched, every track's loop spans the shared steps (and the audio decoding of those that end
    # before it), so the fastest track's loop time is the time of the shared steps.
    loop_s = min(r.timings.decoder_loop_s for r in results)
    steps = results[0].steps
    return _measurement(
        report,
        results[0],
        None,
        clip,
        repeat,
        load_time,
        tracks=tracks,
        realtime_factor=audio_s / wall if wall > 0 else 0.0,
        ms_per_step=1000.0 * loop_s / steps if steps else 0.0,
        generation_time=wall,
        memory_per_track_mb=round(growth / tracks, 1),
    )


def _measurement(
    report: BenchReport,
    result: GenerationResult,
    first_audio_s: float | None,
    clip: float,
    repeat: int,
    load_time: float,
    *,
    tracks: int = 1,
    realtime_factor: float | None = None,
    ms_per_step: float | None = None,
    generation_time: float | None = None,
    memory_per_track_mb: float | None = None,
) -> Measurement:
    """One row; its peak memory and its ratios to the reference are set once the variant's rows are in."""
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
        realtime_factor=result.realtime_factor if realtime_factor is None else realtime_factor,
        ms_per_step=result.ms_per_step if ms_per_step is None else ms_per_step,
        generation_time=result.timings.total_s if generation_time is None else generation_time,
        load_time=load_time,
        peak_memory_mb=None,
        first_audio_s=None if first_audio_s is None else round(first_audio_s, 3),
        vs_reference=None,
        vs_reference_float32=None,
        versions=report.versions,
        host=report.host,
        created_at=datetime.now(UTC),
        tracks=tracks,
        memory_per_track_mb=memory_per_track_mb,
    )


def _ratios(row: Measurement, reference: dict[tuple[str, float, int], float]) -> Measurement:
    """The row's realtime factor over the reference's mean, same clip and tracks at once."""
    same = reference.get((row.precision, row.clip_seconds, row.tracks))
    f32 = reference.get(("float32", row.clip_seconds, row.tracks))
    rtf = row.realtime_factor
    return replace(
        row, vs_reference=rtf / same if same else None, vs_reference_float32=rtf / f32 if f32 else None
    )


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
