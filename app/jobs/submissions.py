"""What a submission asks (`GenerationRequest`) and gets back (`Submission`), and the checks and rows of
`JobRuntime.submit` that need nothing of the runtime's state."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from app.db.models import QUEUED, SUCCEEDED, MusicGeneration
from app.domain.generations.services import GenerationService
from app.jobs.engines import Variant
from app.jobs.errors import AudioMissing, InvalidJob, NotFinished, UploadNotKept
from app.lib.storage import AudioStorage
from app.lib.uploads import DecodedAudio


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationRequest:
    """A generation to queue, its fields already within their bounds (the HTTP body checks them).

    `variations` tracks of the same request, with seeds `seed`, `seed` + 1, ... when `seed` is given.
    """

    prompt: str
    duration: float
    negative_prompt: str | None
    device: str | None
    precision: str | None
    top_k: int
    top_p: float
    temperature: float
    cfg_coef: float
    seed: int | None
    user_id: int | None
    continue_from: str | None
    continue_seconds: float | None
    variations: int


@dataclass(frozen=True, slots=True)
class Submission:
    """The queued rows, in the order of their seeds (as they are after any wait), and the token that
    cancels or deletes them: returned once, only its hash is stored."""

    rows: list[MusicGeneration]
    token: str


def trimmed_negative_prompt(request: GenerationRequest) -> str | None:
    """The negative prompt, trimmed; refused without guidance, which it steers."""
    if request.negative_prompt is None:
        return None
    if request.cfg_coef <= 1:
        raise InvalidJob(
            "negative_prompt", "needs cfg_coef above 1 (guidance steers away from it; 1 turns guidance off)"
        )
    return request.negative_prompt.strip()


async def check_user(request: GenerationRequest, service: GenerationService) -> None:
    if request.user_id is not None and not await service.user_exists(request.user_id):
        raise InvalidJob("user_id", f"no user with id {request.user_id}")


async def prompt_seconds(
    request: GenerationRequest, service: GenerationService, storage: AudioStorage
) -> float | None:
    """For a continuation: how many seconds of the parent's end it starts from (checked against it)."""
    if request.continue_from is None:
        if request.continue_seconds is not None:
            raise InvalidJob("continue_seconds", "needs continue_from")
        return None
    parent = await service.require(request.continue_from)
    if parent.status != SUCCEEDED:
        raise NotFinished(parent.generation_id, parent.status)
    if not storage.exists(parent.generation_id):
        raise AudioMissing(parent.generation_id)
    seconds = min(request.continue_seconds or parent.duration, parent.duration)
    if request.duration <= seconds:
        raise InvalidJob("duration", f"the whole result must be longer than the {seconds:g} s it continues")
    return seconds


async def keep_upload(storage: AudioStorage, generation_id: str, audio: DecodedAudio) -> None:
    """Store the audio a new job continues until it has run (it survives a restart while queued)."""
    try:
        await asyncio.to_thread(storage.save_prompt, generation_id, audio.samples, audio.sample_rate)
    except OSError as exc:
        raise UploadNotKept(exc) from None


def queued_rows(
    request: GenerationRequest,
    ids: list[str],
    variant: Variant,
    *,
    negative_prompt: str | None,
    token_hash: str,
    prompt_seconds: float | None,
    batch_id: str | None,
) -> list[MusicGeneration]:
    """The `queued` rows of a request, one per id (the variations, each with its own seed)."""
    return [
        MusicGeneration(
            generation_id=generation_id,
            prompt=request.prompt.strip(),
            negative_prompt=negative_prompt,
            status=QUEUED,
            device=variant.device,
            precision=variant.precision,
            model=variant.model,
            backend=variant.backend,
            duration=request.duration,
            duration_requested=request.duration,
            top_k=request.top_k,
            top_p=request.top_p,
            temperature=request.temperature,
            cfg_coef=request.cfg_coef,
            seed=None if request.seed is None else (request.seed + index) % 2**63,
            user_id=request.user_id,
            token_hash=token_hash,
            parent_id=request.continue_from,
            prompt_seconds=prompt_seconds,
            batch_id=batch_id,
        )
        for index, generation_id in enumerate(ids)
    ]
