"""`POST /generate`'s body: JSON, or a multipart form with the same fields and an `audio` file to continue.

One source of truth: both become a `GenerateRequest` (strictly from JSON; from the form's text with
numbers read from it), so they share its bounds and its 422s. A form is taken only with an `audio` file
(else 415, as before): a page of another site can post a form without a preflight, and while the
cross-site rule (`app.lib.cross_site`) refuses any post whose `Origin` is foreign, a browser that sends
no `Origin` cannot attach a file to a form it posts on its own.

Litestar describes one body per handler, so `GenerateOperation` adds the form to the JSON body that
Litestar describes from `document_json_body`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.openapi.spec import (
    Encoding,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.params import JSONBody

from app.domain.generations.schemas import GenerateRequest
from app.lib.bodies import convert_form, decode_json, has_body, is_json
from app.lib.errors import ApiError
from app.lib.uploads import ACCEPTED_NAMES, DecodedAudio, decode_audio, is_multipart
from inference import MAX_DURATION_S, GenerationParams, InvalidParameterError

AUDIO_FIELD = "audio"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True, slots=True)
class GenerateBody:
    """What `POST /generate` was asked: the fields and, from a form, the audio to continue."""

    data: GenerateRequest
    audio: DecodedAudio | None = None


async def read_generate_body(request: Request) -> GenerateBody:
    """The body as JSON or as a multipart form (415 for anything else), checked as far as it can be alone."""
    content_type = request.headers.get("content-type", "")
    if is_json(content_type):
        body = await request.body()
        if not body:
            raise _no_body()
        return GenerateBody(decode_json(body, GenerateRequest))
    if is_multipart(content_type):
        return await _read_form(request)
    if not has_body(request):
        raise _no_body()
    raise ApiError(
        415,
        "unsupported_media_type",
        f"POST /generate takes JSON (Content-Type: application/json) or a form with an audio file "
        f"({MULTIPART}), not {content_type or 'none'!r}",
    )


async def _read_form(request: Request) -> GenerateBody:
    try:
        form = await request.form()
    except UnicodeDecodeError:
        raise ApiError(400, "bad_request", "a form field is not UTF-8 text") from None
    try:
        fields: dict[str, str] = {}
        upload: UploadFile | None = None
        for name, value in form.multi_items():
            if name == AUDIO_FIELD:
                if value == "":  # a form's file input left empty
                    continue
                if not isinstance(value, UploadFile):
                    raise _invalid(AUDIO_FIELD, "must be a file (a form part with a filename)")
                if upload is not None:
                    raise _invalid(AUDIO_FIELD, "send one file")
                upload = value
            elif isinstance(value, UploadFile):
                raise _invalid(name, "must be text, not a file")
            elif name in fields:
                raise _invalid(name, "sent more than once")
            elif value != "" or name == "prompt":  # an empty optional field is a field left out
                fields[name] = value
        if upload is None:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"POST /generate takes a form ({MULTIPART}) only with an audio file to continue, as "
                f"`{AUDIO_FIELD}`; send the fields alone as JSON (Content-Type: application/json)",
            )
        data = convert_form(fields, GenerateRequest)
        if data.continue_from is not None:
            raise _invalid(AUDIO_FIELD, "send either an audio file or continue_from, not both")
        audio = await asyncio.to_thread(decode_audio, upload.file, MAX_DURATION_S, AUDIO_FIELD)
    finally:
        await form.close()
    check_prompt_audio(data, audio)
    return GenerateBody(data, audio)


def check_prompt_audio(data: GenerateRequest, audio: DecodedAudio) -> None:
    """422 unless the engine can continue `audio` to `data.duration` seconds."""
    if audio.seconds >= data.duration:
        raise ApiError(
            422,
            "validation_error",
            f"duration: the whole result must be longer than the {audio.seconds:.2f} s of audio it continues",
            field="duration",
        )
    params = GenerationParams(
        prompt=data.prompt,
        duration=data.duration,
        prompt_audio=audio.samples,
        prompt_sample_rate=audio.sample_rate,
    )
    try:
        params.validate(max_duration=MAX_DURATION_S)
    except InvalidParameterError as exc:
        field = AUDIO_FIELD if exc.field in ("prompt_audio", "prompt_sample_rate") else exc.field
        message = f"{field}: cannot be continued ({exc})"
        raise ApiError(422, "validation_error", message, field=field) from None


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", f"{field}: {message}", field=field)


def _no_body() -> ApiError:
    return ApiError(
        422,
        "validation_error",
        f"the body is missing: send the generation's fields as JSON or as a form ({MULTIPART})",
    )


def document_json_body(data: JSONBody[GenerateRequest]) -> None:
    """Never called: a dependency no handler asks for, whose `data` Litestar describes as the JSON body."""


class PropertyReference(Reference):
    """`$ref` to one property of a component: written with the component's final name (chosen last)."""

    def __init__(self, component: Reference, name: str) -> None:
        super().__init__(ref=f"{component.ref}/properties/{name}")
        self.component = component
        self.name = name

    def to_schema(self) -> dict[str, Any]:
        return {"$ref": f"{self.component.ref}/properties/{self.name}"}


@dataclass
class GenerateOperation(Operation):
    """The operation of `POST /generate`: the JSON body Litestar describes, and the same fields as a form."""

    def __post_init__(self) -> None:
        body = self.request_body
        if not isinstance(body, RequestBody) or body.content is None:
            return
        struct = body.content["application/json"].schema
        if not isinstance(struct, Reference):
            return
        fields = msgspec.structs.fields(GenerateRequest)
        properties: dict[str, Schema | Reference] = {
            field.encode_name: PropertyReference(struct, field.encode_name) for field in fields
        }
        properties[AUDIO_FIELD] = Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.BINARY,
            description=(
                f"Audio to continue ({ACCEPTED_NAMES}; at most MAX_UPLOAD_MB, 20 MiB unless configured): the "
                "result starts with it and goes on, `duration` seconds in all, so `duration` must exceed its "
                f"length (and it must be shorter than {MAX_DURATION_S:g} s). Not with `continue_from`."
            ),
        )
        form = Schema(
            type=OpenAPIType.OBJECT,
            properties=properties,
            required=[*(field.encode_name for field in fields if field.required), AUDIO_FIELD],
            additional_properties=False,
            description=(
                "The fields of the JSON body as form fields (numbers as text), plus the `audio` file: a form "
                "without it is 415."
            ),
        )
        body.content[MULTIPART] = OpenAPIMediaType(
            schema=form, encoding={AUDIO_FIELD: Encoding(content_type="audio/*, application/octet-stream")}
        )
        body.description = "The generation's fields as JSON, or as a form with an audio file to continue."
