"""HTTP endpoints of generations: the seed's paths at the root plus `/generations/{id}`."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, delete, get, post, route
from litestar.di import NamedDependency, Provide
from litestar.enums import HttpMethod
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.response import File, ServerSentEvent, ServerSentEventMessage, Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ACTIVE, FINISHED, SUCCEEDED, MusicGeneration, Status
from app.domain.generations.requests import GenerateOperation, document_json_body, read_generate_body
from app.domain.generations.schemas import (
    AudioFormatName,
    CreatedGeneration,
    FavoriteRequest,
    FavoriteResponse,
    Generation,
    GenerationList,
    Peaks,
    TrackPlayRequest,
    TrackPlayResponse,
)
from app.domain.generations.services import GenerationService
from app.jobs.errors import AudioMissing, NotFinished
from app.jobs.events import ProgressEvent, StatusEvent
from app.jobs.runtime import JobRuntime
from app.jobs.streams import STREAM_FORMAT, STREAM_MEDIA_TYPE
from app.jobs.submissions import GenerationRequest
from app.lib.auth import OWNER_OR_ADMIN, require_owner_or_admin
from app.lib.errors import ApiError, error_responses, not_found
from app.lib.ranges import RangeNotSatisfiable, parse_range, read_range
from app.lib.storage import content_disposition, download_filename
from app.lib.text import TEXT
from app.lib.uploads import OPT_KEY as UPLOAD
from inference import FORMATS

MAX_WAIT_S = 60
SSE_PING_S = 15.0
TAGS = ["generations"]

Generations = NamedDependency[GenerationService]
Jobs = NamedDependency[JobRuntime]
GenerationIdPath = FromPath[str]
Limit = Annotated[int, QueryParameter(ge=1, le=100, description="How many (1-100).")]
MAX_OFFSET = 1_000_000
Offset = Annotated[
    int, QueryParameter(ge=0, le=MAX_OFFSET, description=f"How many to skip first (0-{MAX_OFFSET}).")
]
Favorite = Annotated[
    bool | None,
    QueryParameter(description="true: only favourites; false: only the others; left out: all."),
]
PeakCount = Annotated[
    int, QueryParameter(ge=1, le=10_000, description="How many slices (1-10000; fewer for a shorter file).")
]
SearchText = Annotated[
    str,
    QueryParameter(min_length=1, max_length=200, pattern=TEXT, description="Text the prompt contains."),
]
PreferHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Prefer",
        required=False,
        description=f"`wait=N`: wait up to N seconds for the result (RFC 7240; at most {MAX_WAIT_S}).",
    ),
]
_WAIT = re.compile(r"[0-9]{1,9}")

WAV = ResponseSpec(None, description="The audio as 16-bit WAV.", media_type="audio/wav")
SSE = ResponseSpec(
    None, description="Server-sent events (`status`, `progress`).", media_type="text/event-stream"
)


async def provide_generations(
    db_session: NamedDependency[AsyncSession],
) -> AsyncGenerator[GenerationService, None]:
    async with GenerationService.new(session=db_session) as service:
        yield service


DEPENDENCIES = {"generations": Provide(provide_generations)}  # `jobs` and `settings`: see create_app


def parse_prefer_wait(prefer: str | None) -> int | None:
    """Seconds from `Prefer: wait=N` (RFC 7240), capped at 60; None without it."""
    if not prefer:
        return None
    for preference in prefer.split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() != "wait":
            continue
        value = value.strip().strip('"')
        if not _WAIT.fullmatch(value):
            raise ApiError(
                422,
                "validation_error",
                f"Prefer: wait=N takes a whole number of seconds, such as wait=30 "
                f"(at most {MAX_WAIT_S} are waited)",
                field="Prefer",
            )
        return min(int(value), MAX_WAIT_S)
    return None


class LibraryController(Controller):
    """The seed's endpoints: generate, download, browse, count plays, favourite."""

    path = "/"
    tags = TAGS

    @post(
        "/generate",
        opt={"rate_limit": "generate", UPLOAD: True},
        request_max_body_size=None,  # UploadLimits: MAX_UPLOAD_MB for a form, the usual limit for JSON
        operation_class=GenerateOperation,
        dependencies={"json_body": Provide(document_json_body, sync_to_thread=False)},
        status_code=HTTP_202_ACCEPTED,
        summary="Queue a generation",
        description=(
            "Writes a `queued` record and answers 202 with it, `Location: /generations/{id}` and the "
            "creator's `token` (shown once: send it as `X-Generation-Token` to cancel or delete). "
            "`variations` > 1 writes that many records, generated together and linked by `batch_id`: the "
            "answer is the first, with all of them in `batch` (one token for all). "
            f"`Prefer: wait=N` waits up to N seconds (at most {MAX_WAIT_S}): 201 with the finished record, "
            "else 202. A full queue (without room for every variation) answers 429 with `Retry-After` "
            "and writes nothing. "
            "The body is JSON, or the same fields as a multipart form with an `audio` file to continue "
            "(the record's `prompt_seconds` is its length); a refused upload writes nothing."
        ),
        responses={
            HTTP_201_CREATED: ResponseSpec(CreatedGeneration, description="Finished within `Prefer: wait`."),
            **error_responses(403, 404, 409, 410, 413, 415, 422, 429, 503),
        },
    )
    async def generate(
        self,
        request: Request,
        generations: Generations,
        jobs: Jobs,
        prefer: PreferHeader = None,
    ) -> Response[CreatedGeneration]:
        wait = parse_prefer_wait(prefer)
        body = await read_generate_body(request)
        generation = GenerationRequest(**msgspec.structs.asdict(body.data))
        submission = await jobs.submit(generations, generation, body.audio, wait_s=wait or 0)
        rows = submission.rows
        headers = {"Location": f"/generations/{rows[0].generation_id}"}
        status_code = HTTP_202_ACCEPTED
        if wait:
            headers["Preference-Applied"] = f"wait={wait}"
            if all(row.status in FINISHED for row in rows):
                status_code = HTTP_201_CREATED
        positions = await jobs.queue_positions(rows)
        batch = [Generation.from_row(row, positions.get(row.generation_id)) for row in rows]
        created = CreatedGeneration(**msgspec.structs.asdict(batch[0]), token=submission.token, batch=batch)
        return Response(created, status_code=status_code, headers=headers)

    @route(
        "/download/{generation_id:str}",
        http_method=[HttpMethod.GET, HttpMethod.POST],
        opt={"rate_limit": "download"},
        status_code=HTTP_200_OK,
        summary="Download the audio as wav, flac, ogg or mp3 (counts the download)",
        responses={
            HTTP_200_OK: ResponseSpec(
                None,
                description="The file as an attachment: audio/wav, audio/flac, audio/ogg or audio/mpeg.",
                media_type="audio/*",
            ),
            **error_responses(403, 404, 409, 410, 422, 429),
        },
    )
    async def download(
        self,
        generation_id: GenerationIdPath,
        generations: Generations,
        jobs: Jobs,
        format: Annotated[AudioFormatName, QueryParameter(description="The file's format.")] = "wav",
    ) -> Response[bytes]:
        row = await _finished_row(generations, generation_id)
        if not jobs.storage.exists(row.generation_id):
            raise AudioMissing(generation_id)
        body = await asyncio.to_thread(jobs.storage.read_as, row.generation_id, format)
        await generations.count_download(row.generation_id)
        filename = download_filename(row.prompt, row.generation_id, FORMATS[format].extension)
        return Response(
            body,
            media_type=FORMATS[format].media_type,
            headers={"Content-Disposition": content_disposition(filename)},
        )

    @get(
        "/recent",
        opt={"rate_limit": "recent"},
        summary="Recent generations, newest first",
        description="A page: `count` items from `offset`, of `total` matching; the next at offset + count.",
        responses=error_responses(422, 429),
    )
    async def recent(
        self,
        generations: Generations,
        jobs: Jobs,
        limit: Limit = 20,
        offset: Offset = 0,
        status: Annotated[Status | None, QueryParameter(description="Only this status.")] = None,
        favorite: Favorite = None,
        batch_id: Annotated[
            str | None,
            QueryParameter(
                min_length=1, max_length=100, pattern=TEXT, description="Only the variations of this batch."
            ),
        ] = None,
    ) -> GenerationList:
        page = await generations.recent(limit, offset, status, favorite, batch_id)
        return GenerationList.from_page(page, await jobs.queue_positions(page.items))

    @get(
        "/most-played",
        opt={"rate_limit": "most_played"},
        summary="Most played generations (played at least once)",
        description="A page: `count` items from `offset`, of `total` finished generations with plays.",
        responses=error_responses(422, 429),
    )
    async def most_played(
        self, generations: Generations, jobs: Jobs, limit: Limit = 20, offset: Offset = 0
    ) -> GenerationList:
        page = await generations.most_played(limit, offset)
        return GenerationList.from_page(page, await jobs.queue_positions(page.items))

    @get(
        "/search",
        opt={"rate_limit": "search"},
        summary="Search prompts (case-insensitive, literal)",
        description="Newest first. A page: `count` items from `offset`, of `total` matching.",
        responses=error_responses(422, 429),
    )
    async def search(
        self,
        generations: Generations,
        jobs: Jobs,
        q: SearchText,
        limit: Limit = 20,
        offset: Offset = 0,
        favorite: Favorite = None,
    ) -> GenerationList:
        page = await generations.search(q.strip(), limit, offset, favorite)
        return GenerationList.from_page(page, await jobs.queue_positions(page.items))

    @post(
        "/track-play",
        opt={"rate_limit": "track_play"},
        status_code=HTTP_200_OK,
        summary="Count a play",
        responses=error_responses(403, 404, 409, 415, 422, 429),
    )
    async def track_play(
        self, data: JSONBody[TrackPlayRequest], generations: Generations
    ) -> TrackPlayResponse:
        row = await generations.track_play(data.generation_id)
        if row is None:
            existing = await generations.require(data.generation_id)
            raise ApiError(
                409,
                "not_ready",
                f"generation {data.generation_id} is {existing.status}; it cannot be played",
                status=existing.status,
            )
        return TrackPlayResponse(row.generation_id, row.play_count, row.last_played)

    @post(
        "/favorite",
        opt={"rate_limit": "favorite"},
        status_code=HTTP_200_OK,
        summary="Set or toggle favourite",
        description="`favorite: true|false` sets the flag (idempotent); without it the flag toggles.",
        responses=error_responses(403, 404, 415, 422, 429),
    )
    async def favorite(self, data: JSONBody[FavoriteRequest], generations: Generations) -> FavoriteResponse:
        row = await generations.set_favorite(data.generation_id, data.favorite)
        return FavoriteResponse(row.generation_id, row.is_favorited)


class GenerationController(Controller):
    """One generation: its record, events, audio and waveform; cancel or delete it."""

    path = "/generations/{generation_id:str}"
    tags = TAGS

    @get(
        "/",
        summary="One generation",
        description="`queue_position`: its 1-based place among the waiting jobs while queued, else null.",
        responses=error_responses(404),
    )
    async def get_generation(
        self, generation_id: GenerationIdPath, generations: Generations, jobs: Jobs
    ) -> Generation:
        row = await generations.require(generation_id)
        return Generation.from_row(row, await jobs.queue_position(row))

    @delete(
        "/",
        status_code=HTTP_200_OK,
        summary="Cancel a queued or running job, or delete a finished one",
        description=(
            "Needs the generation's token (`X-Generation-Token`) or the admin key (`X-Admin-Key`). "
            "Active job: canceled within one decoder step, answers 200 with the record. "
            "Finished job: the record and its file are deleted, answers 204."
        ),
        security=OWNER_OR_ADMIN,
        responses={
            HTTP_204_NO_CONTENT: ResponseSpec(None, description="Deleted with its file."),
            **error_responses(401, 403, 404),
        },
    )
    async def delete_generation(
        self, request: Request, generation_id: GenerationIdPath, generations: Generations, jobs: Jobs
    ) -> Response[Generation]:
        row = await generations.require(generation_id)
        require_owner_or_admin(request, row.token_hash, generation_id)
        if row.status in ACTIVE:
            row = await jobs.cancel(generations, generation_id)
            if row is None:
                raise not_found("generation", generation_id)
            return Response(Generation.from_row(row), status_code=HTTP_200_OK)
        await generations.remove(generation_id)
        await asyncio.to_thread(jobs.storage.delete, generation_id)
        return Response(None, status_code=HTTP_204_NO_CONTENT)  # type: ignore[arg-type]

    @get(
        "/events",
        summary="Server-sent events: `status` (the record) and `progress` (phase, step, fraction, eta_s)",
        description=(
            "The stream starts with the current record and ends after a finished status (or when the "
            "service shuts down). While the job waits, a `progress` event with its new `queue_position` "
            "follows every move of the queue; while it runs, `progress` events carry phase, step, "
            "total_steps, fraction and eta_s (queue_position null)."
        ),
        responses={HTTP_200_OK: SSE, **error_responses(404)},
    )
    async def generation_events(
        self, generation_id: GenerationIdPath, generations: Generations, jobs: Jobs
    ) -> ServerSentEvent:
        await generations.require(generation_id)

        async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
            async with aclosing(jobs.follow(generation_id, SSE_PING_S)) as events:
                async for event in events:
                    yield _sse_message(event)

        return ServerSentEvent(stream(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @get(
        "/audio",
        summary="The audio (WAV) for players, with HTTP Range",
        responses={
            HTTP_200_OK: WAV,
            206: ResponseSpec(None, description="The requested byte range.", media_type="audio/wav"),
            **error_responses(404, 409, 410, 416),
        },
    )
    async def generation_audio(
        self, request: Request, generation_id: GenerationIdPath, generations: Generations, jobs: Jobs
    ) -> Response:
        row = await _finished_row(generations, generation_id)
        path = jobs.storage.path_for(row.generation_id)
        if not path.is_file():
            raise AudioMissing(generation_id)
        size = path.stat().st_size
        headers = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=3600"}
        try:
            byte_range = parse_range(request.headers.get("Range"), size)
        except RangeNotSatisfiable:
            raise ApiError(
                416,
                "range_not_satisfiable",
                f"the file has {size} bytes",
                headers={"Content-Range": f"bytes */{size}"},
            ) from None
        if byte_range is None:
            return File(
                path,
                media_type="audio/wav",
                content_disposition_type="inline",
                headers=headers,
                filename=download_filename(row.prompt, row.generation_id, "wav"),
            )
        first, last = byte_range
        body = await asyncio.to_thread(read_range, str(path), first, last)
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        return Response(body, status_code=206, media_type="audio/wav", headers=headers)

    @get(
        "/peaks",
        summary="The waveform: lowest and highest sample of each of `count` slices of the audio",
        description=(
            "For players that draw the waveform before (or without) downloading the audio: "
            "`max` is the top half, `min` the bottom half, `duration` the length in seconds."
        ),
        responses=error_responses(404, 409, 410, 422),
    )
    async def generation_peaks(
        self, generation_id: GenerationIdPath, generations: Generations, jobs: Jobs, count: PeakCount = 1000
    ) -> Response[Peaks]:
        row = await _finished_row(generations, generation_id)
        if not jobs.storage.exists(row.generation_id):
            raise AudioMissing(generation_id)
        try:
            peaks = await asyncio.to_thread(jobs.storage.peaks, row.generation_id, count)
        except FileNotFoundError:  # deleted meanwhile
            raise AudioMissing(generation_id) from None
        body = Peaks(
            generation_id=row.generation_id,
            duration=round(peaks.duration, 4),
            sample_rate=peaks.sample_rate,
            channels=peaks.channels,
            count=len(peaks.highs),
            min=peaks.lows,
            max=peaks.highs,
        )
        return Response(body, headers={"Cache-Control": "public, max-age=3600"})

    @get(
        "/stream",
        summary="Listen while it generates: the audio as MP3, from its start, as it is made",
        description=(
            "For a queued or running job, an MP3 stream (chunked) that a player can start at once: it "
            "begins at the start of the track whenever the client joins, grows while the decoder runs "
            "and ends when the job ends (a cancel ends it early). It holds the audio before loudness "
            "normalisation: the stored file replaces it once the job has succeeded. A waiting job's "
            "stream starts when the job does. For a finished track, the whole track as MP3."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(
                None, description="MP3, growing while the job runs.", media_type=STREAM_MEDIA_TYPE
            ),
            **error_responses(404, 409, 410),
        },
    )
    async def generation_stream(
        self, generation_id: GenerationIdPath, generations: Generations, jobs: Jobs
    ) -> Response:
        row = await generations.require(generation_id)
        if row.status not in FINISHED:
            stream = await jobs.audio_stream(generation_id)
            if stream is not None:
                return Stream(
                    stream.read(),
                    media_type=STREAM_MEDIA_TYPE,
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
                )
        row = await _finished_row(generations, generation_id)
        if not jobs.storage.exists(row.generation_id):
            raise AudioMissing(generation_id)
        try:
            body = await asyncio.to_thread(jobs.storage.read_as, row.generation_id, STREAM_FORMAT)
        except (OSError, RuntimeError):  # deleted meanwhile
            raise AudioMissing(generation_id) from None
        return Response(body, media_type=STREAM_MEDIA_TYPE, headers={"Cache-Control": "public, max-age=3600"})


def _sse_message(event: StatusEvent | ProgressEvent | None) -> ServerSentEventMessage:
    """A job event as clients get it, named by its kind (a status carries the job's record); None: a
    keep-alive comment."""
    if event is None:
        return ServerSentEventMessage(comment="keep-alive")
    data: msgspec.Struct = event
    if isinstance(event, StatusEvent):
        data = Generation.from_row(event.row, event.queue_position)
    return ServerSentEventMessage(data=json.dumps(msgspec.to_builtins(data), default=str), event=event.kind)


async def _finished_row(generations: GenerationService, generation_id: str) -> MusicGeneration:
    row = await generations.require(generation_id)
    if row.status != SUCCEEDED:
        raise NotFinished(generation_id, row.status)
    return row


HANDLERS = [LibraryController, GenerationController]
