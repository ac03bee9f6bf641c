"""Request and response bodies of the generation endpoints (msgspec Structs with their bounds).

Bounds and vocabularies come from one place each (the engine's, the database's) and reach the web UI
through the OpenAPI document and the types generated from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from advanced_alchemy.service import OffsetPagination
from msgspec import Meta

from app.db.models import (
    FINISHED,
    FINISHED_PHASE,
    QUEUED_PHASE,
    SUCCEEDED,
    WRITING_PHASE,
    MusicGeneration,
    Status,
)
from app.lib.text import NO_NUL, TEXT, describe_pattern
from inference import DEVICES, FORMATS, MAX_DURATION_S, MAX_PROMPT_CHARS, PRECISIONS
from inference import PHASES as ENGINE_PHASES

MIN_DURATION_S = 5.0  # the seed's shortest track; the longest is the engine's MAX_DURATION_S
MAX_VARIATIONS = 4  # tracks one request makes at most, generated together
DEVICE_PATTERN = rf"^({'|'.join(DEVICES)})$|^cuda:[0-9]{{1,3}}$"
describe_pattern(DEVICE_PATTERN, f"must be one of {', '.join(DEVICES)} or cuda:N")
PHASES = (QUEUED_PHASE, *ENGINE_PHASES, WRITING_PHASE, FINISHED_PHASE)
DOWNLOAD_FORMATS = tuple(name for name in FORMATS if name != "wav-float")

Precision = Literal[PRECISIONS]  # type: ignore[valid-type]
Phase = Literal[PHASES]  # type: ignore[valid-type]
AudioFormatName = Literal[DOWNLOAD_FORMATS]  # type: ignore[valid-type]
Prompt = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
        pattern=TEXT,
        description=f"What the music should be (1-{MAX_PROMPT_CHARS} characters).",
    ),
]
NegativePrompt = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_PROMPT_CHARS,
        pattern=TEXT,
        description=(
            f"What the music should not be (1-{MAX_PROMPT_CHARS} characters): guidance steers away from it. "
            "Needs `cfg_coef` above 1."
        ),
    ),
]
Duration = Annotated[
    float,
    Meta(
        ge=MIN_DURATION_S,
        le=MAX_DURATION_S,
        description=f"Seconds of audio ({MIN_DURATION_S:g}-{MAX_DURATION_S:g}).",
    ),
]
Device = Annotated[str, Meta(pattern=DEVICE_PATTERN, description=f"{', '.join(DEVICES)} or cuda:N.")]
GenerationId = Annotated[
    str, Meta(min_length=1, max_length=100, pattern=NO_NUL, description="A generation's id.")
]
Int64 = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class GenerateRequest(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /generate`: the seed's parameters plus MusicGen's sampling controls.

    `continue_from` extends a finished generation: the result starts with its audio (its last
    `continue_seconds`, or all of it) and goes on; `duration` is the length of the whole result.
    `variations` makes that many tracks of the same request, generated together.
    """

    prompt: Prompt
    duration: Duration = 10.0
    negative_prompt: NegativePrompt | None = None
    device: Device | None = None
    precision: Precision | None = None
    top_k: Annotated[int, Meta(ge=0, le=2048, description="Top-k sampling (0 disables).")] = 250
    top_p: Annotated[float, Meta(ge=0, le=1, description="Nucleus sampling (0 disables).")] = 0.0
    temperature: Annotated[float, Meta(ge=0, le=10, description="0 means greedy decoding.")] = 1.0
    cfg_coef: Annotated[float, Meta(ge=1, le=20, description="Classifier-free guidance (1 disables).")] = 3.0
    seed: Annotated[int, Meta(ge=0, le=2**63 - 1, description="Same seed, same audio.")] | None = None
    user_id: Annotated[int, Meta(ge=1, le=2**63 - 1)] | None = None
    continue_from: GenerationId | None = None
    continue_seconds: (
        Annotated[
            float,
            Meta(gt=0, le=MAX_DURATION_S, description="How much of the end of `continue_from` to continue."),
        ]
        | None
    ) = None
    variations: Annotated[
        int,
        Meta(
            ge=1,
            le=MAX_VARIATIONS,
            description=(
                f"How many tracks to make of this request (1-{MAX_VARIATIONS}), generated together: each is "
                "a record of its own, linked by `batch_id`, with its own seed (`seed`, `seed` + 1, ... "
                "when `seed` is given)."
            ),
        ),
    ] = 1


class Progress(msgspec.Struct):
    """Where a job is: its phase, decoder steps, the fraction of the whole job done and the time left.

    `fraction` reaches 1.0 only once the audio file is on disk; `eta_s` is null when unknown or ended.
    """

    phase: Phase
    step: int
    total_steps: int
    fraction: float
    eta_s: float | None


class Generation(msgspec.Struct):
    """A generation job and, once it succeeded, its audio.

    Figures of the audio (`sample_rate`, `file_size_mb`, `generation_time`, `realtime_factor`, `windows`)
    are null until the job succeeded. `windows` is how many decoder windows of the model's context the
    track took: 1 up to the context (30 s), more beyond.
    """

    id: int
    generation_id: str
    prompt: str
    negative_prompt: str | None
    status: Status
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
    sample_rate: int | None
    file_size_mb: float | None
    generation_time: float | None
    realtime_factor: float | None
    windows: int | None
    parent_id: str | None
    prompt_seconds: float | None
    batch_id: str | None
    audio_url: str | None
    download_url: str | None
    events_url: str
    stream_url: str
    play_count: int
    download_count: int
    is_favorited: bool
    last_played: datetime | None
    created_at: datetime
    updated_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None  # the worker that ran (or runs) it: WORKER_NAME or host:pid
    progress: Progress
    error_type: str | None
    error_message: str | None
    user_id: int | None
    queue_position: int | None

    @classmethod
    def from_row(cls, row: MusicGeneration, queue_position: int | None = None) -> Generation:
        """The record of a row; `queue_position` only counts while the row is queued."""
        return cls(**record_fields(row, queue_position))


class CreatedGeneration(Generation):
    """The record `POST /generate` answers, with the creator's `token`: shown once, never stored.

    Send it as `X-Generation-Token` to cancel or delete this generation, or any of its `batch`.
    """

    token: str
    batch: list[Generation]  # every record the request made (its variations), this one first


def record_fields(row: MusicGeneration, queue_position: int | None = None) -> dict[str, object]:
    """The fields of a row's record."""
    gid = row.generation_id
    done = row.status == SUCCEEDED
    finished = row.status in FINISHED
    return {
        "id": row.id,
        "generation_id": gid,
        "prompt": row.prompt,
        "negative_prompt": row.negative_prompt,
        "status": row.status,
        "duration": row.duration,
        "duration_requested": row.duration_requested,
        "device": row.device,
        "precision": row.precision,
        "model": row.model,
        "backend": row.backend,
        "top_k": row.top_k,
        "top_p": row.top_p,
        "temperature": row.temperature,
        "cfg_coef": row.cfg_coef,
        "seed": row.seed,
        "sample_rate": row.sample_rate if done else None,
        "file_size_mb": round(row.file_size_mb, 4) if done else None,
        "generation_time": round(row.generation_time, 3) if done else None,
        "realtime_factor": round(row.realtime_factor, 4) if done else None,
        "windows": row.windows if done else None,
        "parent_id": row.parent_id,
        "prompt_seconds": row.prompt_seconds,
        "batch_id": row.batch_id,
        "audio_url": row.audio_url if done else None,
        "download_url": f"/download/{gid}" if done else None,
        "events_url": f"/generations/{gid}/events",
        "stream_url": f"/generations/{gid}/stream",
        "play_count": row.play_count,
        "download_count": row.download_count,
        "is_favorited": row.is_favorited,
        "last_played": row.last_played,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "worker": row.worker,
        "progress": Progress(
            phase=FINISHED_PHASE if finished else row.progress_phase,
            step=row.progress_step,
            total_steps=row.progress_total or 0,
            fraction=1.0 if done else round(row.progress_fraction, 4),
            eta_s=None if finished else row.progress_eta_s,
        ),
        "error_type": row.error_type,
        "error_message": row.error_message,
        "user_id": row.user_id,
        "queue_position": queue_position if row.status == "queued" else None,
    }


class GenerationList(msgspec.Struct):
    """A page of generations: `count` items from `offset`, of `total` that match."""

    items: list[Generation]
    count: int
    total: int
    offset: int
    limit: int

    @classmethod
    def from_page(
        cls, page: OffsetPagination[MusicGeneration], positions: Mapping[str, int]
    ) -> GenerationList:
        """The answer for a service's page of rows; `positions`: the queued rows' places in the queue."""
        items = [Generation.from_row(row, positions.get(row.generation_id)) for row in page.items]
        return cls(items=items, count=len(items), total=page.total, offset=page.offset, limit=page.limit)


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
    """`POST /favorite`: sets the favourite flag to `favorite`, or toggles it when `favorite` is left out."""

    generation_id: GenerationId
    favorite: bool | None = None


class FavoriteResponse(msgspec.Struct):
    generation_id: str
    is_favorited: bool
