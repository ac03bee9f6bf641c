"""Response bodies of `GET /stats`."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from app.domain.benchmarks.schemas import BenchmarkSummary


class Totals(msgspec.Struct):
    generations: int
    queued: int
    running: int
    succeeded: int
    failed: int
    canceled: int
    success_rate: float | None
    avg_generation_time: float | None
    avg_realtime_factor: float | None
    audio_seconds: float
    plays: int
    downloads: int
    favorites: int


class DeviceStats(msgspec.Struct):
    device: str
    precision: str
    generations: int
    avg_generation_time: float | None
    avg_realtime_factor: float | None


class DayStats(msgspec.Struct):
    date: date
    total_generations: int
    successful_generations: int
    failed_generations: int
    canceled_generations: int
    avg_generation_time: float | None


class Storage(msgspec.Struct):
    files: int
    bytes: int
    mb: float
    disk_free_gb: float | None


class Stats(msgspec.Struct):
    days: int
    since: datetime
    totals: Totals
    by_device: list[DeviceStats]
    daily: list[DayStats]
    storage: Storage
    benchmarks: list[BenchmarkSummary]  # best recorded realtime factor per device and variant
