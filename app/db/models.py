"""The four tables of the seed, what the job queue needs in `music_generations`, and benchmark runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

from advanced_alchemy.base import BigIntBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, false, func
from sqlalchemy.orm import Mapped, mapped_column

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
Status = Literal["queued", "running", "succeeded", "failed", "canceled"]
STATUSES: tuple[str, ...] = get_args(Status)
ACTIVE = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELED)

# Where a job is: waiting, the engine's phases, writing the file, then finished (any end status).
QUEUED_PHASE = "queued"
WRITING_PHASE = "writing"
FINISHED_PHASE = "finished"


def utcnow() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


class User(BigIntBase):
    """A user account and its preferences (generations may name their user)."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    preferred_device: Mapped[str] = mapped_column(String(20), default="auto", server_default="auto")


class MusicGeneration(BigIntBase):
    """One generation job and, once it succeeded, its audio file and how it was made."""

    __tablename__ = "music_generations"
    __table_args__ = (
        Index("ix_music_generations_created_at", "created_at"),
        Index("ix_music_generations_status_created_at", "status", "created_at"),
        Index("ix_music_generations_play_count", "play_count", "created_at"),
    )

    generation_id: Mapped[str] = mapped_column(String(100), unique=True)
    prompt: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    device: Mapped[str] = mapped_column(String(50))
    precision: Mapped[str] = mapped_column(String(20))
    generation_time: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    realtime_factor: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    file_path: Mapped[str | None] = mapped_column(String(500), default=None)
    audio_url: Mapped[str | None] = mapped_column(String(500), default=None)
    file_size_mb: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    duration: Mapped[float] = mapped_column(Float)
    sample_rate: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    play_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    download_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_favorited: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_played: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None, onupdate=utcnow
    )

    # What the job queue needs.
    duration_requested: Mapped[float] = mapped_column(Float)
    top_k: Mapped[int] = mapped_column(Integer)
    top_p: Mapped[float] = mapped_column(Float)
    temperature: Mapped[float] = mapped_column(Float)
    cfg_coef: Mapped[float] = mapped_column(Float)
    seed: Mapped[int | None] = mapped_column(BigInteger, default=None)
    model: Mapped[str] = mapped_column(String(200))
    backend: Mapped[str] = mapped_column(String(50))
    error_type: Mapped[str | None] = mapped_column(String(50), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    progress_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress_eta_s: Mapped[float | None] = mapped_column(Float, default=None)
    progress_phase: Mapped[str] = mapped_column(String(20), default=QUEUED_PHASE, server_default=QUEUED_PHASE)
    progress_fraction: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    token_hash: Mapped[str | None] = mapped_column(String(64), default=None)  # sha256 of the creator's token
    windows: Mapped[int | None] = mapped_column(Integer, default=None)  # decoder windows the track took
    # A continuation: the generation it extends, and the seconds of that track's end it starts from.
    parent_id: Mapped[str | None] = mapped_column(String(100), default=None, index=True)
    prompt_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    batch_id: Mapped[str | None] = mapped_column(String(100), default=None, index=True)  # its variations
    negative_prompt: Mapped[str | None] = mapped_column(Text, default=None)  # what guidance steers from
    worker: Mapped[str | None] = mapped_column(String(200), default=None)  # WORKER_NAME or host:pid
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )


# Search matches lower(prompt) LIKE lower(term); PostgreSQL gets a trigram index (see the migration).
Index("ix_music_generations_prompt_lower", func.lower(MusicGeneration.prompt))


class UsageStat(BigIntBase):
    """Generations finished on one UTC day (`date` is that day's midnight)."""

    __tablename__ = "usage_stats"

    date: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), unique=True)
    total_generations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    successful_generations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    avg_generation_time: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    failed_generations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    canceled_generations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_generation_time: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    total_audio_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class SystemMetric(BigIntBase):
    """One periodic sample of the machine's load."""

    __tablename__ = "system_metrics"

    timestamp: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, index=True)
    cpu_usage: Mapped[float | None] = mapped_column(Float, default=None)
    memory_usage: Mapped[float | None] = mapped_column(Float, default=None)
    gpu_usage: Mapped[float | None] = mapped_column(Float, default=None)
    gpu_memory_usage: Mapped[float | None] = mapped_column(Float, default=None)
    queue_depth: Mapped[int | None] = mapped_column(Integer, default=None)


class BenchmarkRun(BigIntBase):
    """One timed generation of `musicgenie bench`: a variant (backend x precision x device) of a model."""

    __tablename__ = "benchmark_runs"
    __table_args__ = (
        Index("ix_benchmark_runs_created_at", "created_at"),
        Index("ix_benchmark_runs_lookup", "architecture", "device_type", "created_at"),
    )

    run_id: Mapped[str] = mapped_column(String(40), index=True)  # one `bench` invocation
    model: Mapped[str] = mapped_column(String(200))
    architecture: Mapped[str] = mapped_column(String(50))  # tiny, small, medium, large
    backend: Mapped[str] = mapped_column(String(50))
    precision: Mapped[str] = mapped_column(String(20))
    device: Mapped[str] = mapped_column(String(50))  # cpu, cuda:0...
    device_type: Mapped[str] = mapped_column(String(20))  # cpu, cuda, mps
    device_name: Mapped[str] = mapped_column(String(200))
    threads: Mapped[int | None] = mapped_column(Integer, default=None)
    clip_seconds: Mapped[float] = mapped_column(Float)
    tracks: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # generated at once
    repeat: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    steps: Mapped[int] = mapped_column(Integer)
    realtime_factor: Mapped[float] = mapped_column(Float)
    ms_per_step: Mapped[float] = mapped_column(Float)
    generation_time: Mapped[float] = mapped_column(Float)
    load_time: Mapped[float] = mapped_column(Float)
    peak_memory_mb: Mapped[float | None] = mapped_column(Float, default=None)
    first_audio_s: Mapped[float | None] = mapped_column(Float, default=None)  # to the first streamed audio
    vs_reference: Mapped[float | None] = mapped_column(Float, default=None)  # / reference, same precision
    vs_reference_float32: Mapped[float | None] = mapped_column(Float, default=None)
    versions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    host: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
