"""Request and response bodies of the generation endpoints (msgspec Structs with their bounds)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from app.db.models import MusicGeneration

MAX_PROMPT_CHARS = 2000
DEVICE_PATTERN = r"^(?i:auto|cpu|cuda(:[0-9]+)?|mps)$"
PRECISION_PATTERN = r"^(?i:auto|float32|bfloat16|float16|int8)$"

Prompt = Annotated[
    str, Meta(min_length=1, max_length=MAX_PROMPT_CHARS, description="What the music should be.")
]
Duration = Annotated[float, Meta(ge=5, le=120, description="Seconds of audio (5-120).")]
Device = Annotated[str, Meta(pattern=DEVICE_PATTERN, description="auto, cpu, cuda, cuda:N or mps.")]
Precision = Annotated[
    str, Meta(pattern=PRECISION_PATTERN, description="auto, float32, bfloat16, float16, int8.")
]
GenerationId = Annotated[str, Meta(min_length=1, max_length=100, description="A generation's id.")]


class GenerateRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /generate`: the seed's parameters plus MusicGen's sampling controls."""

    prompt: Prompt
    duration: Duration = 10.0
    device: Device | None = None
    precision: Precision | None = None
    top_k: Annotated[int, Meta(ge=0, le=2048, description="Top-k sampling (0 disables).")] = 250
    top_p: Annotated[float, Meta(ge=0, le=1, description="Nucleus sampling (0 disables).")] = 0.0
    temperature: Annotated[float, Meta(ge=0, le=10, description="0 means greedy decoding.")] = 1.0
    cfg_coef: Annotated[float, Meta(ge=1, le=20, description="Classifier-free guidance (1 disables).")] = 3.0
    seed: Annotated[int, Meta(ge=0, le=2**63 - 1, description="Same seed, same audio.")] | None = None
    user_id: Annotated[int, Meta(ge=1)] | None = None


class Progress(msgspec.Struct):
    """Where a running job is."""

    step: int
    total_steps: int
    fraction: float
    eta_s: float | None


class Generation(msgspec.Struct):
    """A generation job and, once it succeeded, its audio."""

    id: int
    generation_id: str
    prompt: str
    status: str
    duration: float
    duration_requested: float
    device: str
    precision: str
    model: str
    backend: str
    top_k: int
    top_p: float
    temperature: float
    cfg_coef: float
    seed: int | None
    sample_rate: int
    file_size_mb: float
    generation_time: float
    realtime_factor: float
    audio_url: str | None
    download_url: str | None
    events_url: str
    play_count: int
    download_count: int
    is_favorited: bool
    last_played: datetime | None
    created_at: datetime
    updated_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    progress: Progress
    error_type: str | None
    error_message: str | None
    user_id: int | None
    queue_position: int | None

    @classmethod
    def from_row(cls, row: MusicGeneration, queue_position: int | None = None) -> Generation:
        """The record of a row; `queue_position` only counts while the row is queued."""
        gid = row.generation_id
        done = row.status == "succeeded"
        total = row.progress_total or 0
        return cls(
            id=row.id,
            generation_id=gid,
            prompt=row.prompt,
            status=row.status,
            duration=row.duration,
            duration_requested=row.duration_requested,
            device=row.device,
            precision=row.precision,
            model=row.model,
            backend=row.backend,
            top_k=row.top_k,
            top_p=row.top_p,
            temperature=row.temperature,
            cfg_coef=row.cfg_coef,
            seed=row.seed,
            sample_rate=row.sample_rate,
            file_size_mb=round(row.file_size_mb, 4),
            generation_time=round(row.generation_time, 3),
            realtime_factor=round(row.realtime_factor, 4),
            audio_url=row.audio_url if done else None,
            download_url=f"/download/{gid}" if done else None,
            events_url=f"/generations/{gid}/events",
            play_count=row.play_count,
            download_count=row.download_count,
            is_favorited=row.is_favorited,
            last_played=row.last_played,
            created_at=row.created_at,
            updated_at=row.updated_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            progress=Progress(
                step=row.progress_step,
                total_steps=total,
                fraction=1.0 if done else (round(row.progress_step / total, 4) if total else 0.0),
                eta_s=0.0 if done else row.progress_eta_s,
            ),
            error_type=row.error_type,
            error_message=row.error_message,
            user_id=row.user_id,
            queue_position=queue_position if row.status == "queued" else None,
        )


class GenerationList(msgspec.Struct):
    """A page of generations: `count` items from `offset`, of `total` that match."""

    items: list[Generation]
    count: int
    total: int
    offset: int
    limit: int


class Peaks(msgspec.Struct):
    """The waveform of a generation's audio: the lowest and highest sample in each of `count` slices."""

    generation_id: str
    duration: float
    sample_rate: int
    channels: int
    count: int
    min: list[float]
    max: list[float]


class TrackPlayRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /track-play`."""

    generation_id: GenerationId
    play_duration: Annotated[float, Meta(ge=0, le=86_400, description="Seconds played.")] | None = None


class TrackPlayResponse(msgspec.Struct):
    generation_id: str
    play_count: int
    last_played: datetime | None


class FavoriteRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /favorite`: toggles the favourite flag."""

    generation_id: GenerationId


class FavoriteResponse(msgspec.Struct):
    generation_id: str
    is_favorited: bool
