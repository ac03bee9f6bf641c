"""Response bodies of `GET /benchmarks` and the benchmark summary of `GET /stats`."""

from __future__ import annotations

from datetime import datetime

import msgspec

from app.db.models import BenchmarkRun


class Benchmark(msgspec.Struct):
    """One timed generation of a variant (backend x precision x device) of a model."""

    id: int
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
    tracks: int  # generated at once; realtime_factor is then their aggregate
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

    @classmethod
    def from_row(cls, row: BenchmarkRun) -> Benchmark:
        return cls(**{name: getattr(row, name) for name in cls.__struct_fields__})


class BenchmarkList(msgspec.Struct):
    items: list[Benchmark]
    count: int


class BenchmarkSummary(msgspec.Struct):
    """The best recorded realtime factor of one variant on one device."""

    model: str
    device_type: str
    device_name: str
    backend: str
    precision: str
    best_realtime_factor: float
    best_ms_per_step: float
    best_vs_reference_float32: float | None
    runs: int
    last_run_at: datetime
