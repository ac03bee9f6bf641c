"""Uploaded audio: the body limit of the endpoints that take a file, and decoding what arrives.

A handler that takes an upload names it with `opt={"upload": True}` and `request_max_body_size=None`;
this middleware then sets its limit from MAX_UPLOAD_MB (multipart bodies) or the app's usual limit
(any other body). A `Content-Length` above it is refused (413) before a byte is read; a body without
one is counted as it arrives and refused as soon as it passes the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import soundfile as sf
from litestar.datastructures import Headers
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.lib.errors import ApiError
from app.settings import Settings

OPT_KEY = "upload"
# Room for the form's text fields and part headers beside the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
# What soundfile reports for the formats taken (by their content, never by the file's name).
ACCEPTED_FORMATS = frozenset({"WAV", "WAVEX", "RF64", "FLAC", "OGG", "MP3"})
ACCEPTED_NAMES = "WAV, FLAC, OGG (Vorbis or Opus) or MP3"


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


class UploadLimits:
    """Middleware factory: the body limits of handlers that take an upload (see the module)."""

    def __init__(self, settings: Settings) -> None:
        self.max_upload_mb = settings.max_upload_mb
        self.upload_bytes = settings.max_upload_bytes + FORM_OVERHEAD_BYTES

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            handler = scope.get("route_handler")
            if scope["type"] != "http" or handler is None or not handler.opt.get(OPT_KEY):
                await app(scope, receive, send)
                return
            headers = Headers.from_scope(scope)
            limit, too_large = self._limit(scope, headers.get("content-type", ""))
            length = headers.get("content-length", "").strip()
            if length.isdigit() and int(length) > limit:
                raise too_large
            received = 0

            async def counted() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise too_large
                return message

            await app(scope, counted, send)

        return middleware

    def _limit(self, scope: Scope, content_type: str) -> tuple[int, ApiError]:
        if is_multipart(content_type):
            return self.upload_bytes, ApiError(
                413,
                "upload_too_large",
                f"the upload is larger than {self.max_upload_mb:g} MiB (MAX_UPLOAD_MB); send a shorter or "
                "compressed file (FLAC, OGG or MP3)",
            )
        limit = scope["litestar_app"].request_max_body_size or 0
        return limit, ApiError(413, "payload_too_large", f"the body is larger than {limit} bytes")


@dataclass(frozen=True, slots=True)
class DecodedAudio:
    """An upload's samples, float32 ``[channels, frames]``, and its sample rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        return self.samples.shape[-1] / self.sample_rate


def decode_audio(file: BinaryIO, max_seconds: float, field: str = "audio") -> DecodedAudio:
    """Decode an uploaded file (blocking: run it in a thread); 422 for anything that is not usable audio.

    `max_seconds` bounds the length before a sample is decoded, so a long file never fills the memory.
    """
    file.seek(0, 2)
    if file.tell() == 0:
        raise ApiError(422, "validation_error", f"{field}: the file is empty", field=field)
    file.seek(0)
    try:
        with sf.SoundFile(file) as audio:
            if audio.format not in ACCEPTED_FORMATS:
                raise unsupported_audio(f"it is {audio.format_info}", field)
            if audio.channels > 2:
                raise ApiError(
                    422,
                    "validation_error",
                    f"{field}: has {audio.channels} channels; send mono or stereo audio",
                    field=field,
                )
            if audio.frames >= max_seconds * audio.samplerate:
                raise too_long(audio.frames / audio.samplerate, max_seconds, field)
            data = audio.read(dtype="float32", always_2d=True)
            sample_rate = audio.samplerate
    except sf.LibsndfileError as exc:
        raise unsupported_audio(exc.error_string.rstrip("."), field) from None
    except (RuntimeError, TypeError, ValueError) as exc:  # soundfile's own checks of what it read
        raise unsupported_audio(str(exc), field) from None
    if data.shape[0] == 0:
        raise ApiError(422, "validation_error", f"{field}: the file holds no audio (0 samples)", field=field)
    if data.shape[0] >= max_seconds * sample_rate:
        raise too_long(data.shape[0] / sample_rate, max_seconds, field)
    if not np.isfinite(data).all():
        raise ApiError(422, "validation_error", f"{field}: holds samples that are not numbers", field=field)
    return DecodedAudio(np.ascontiguousarray(data.T), int(sample_rate))


def unsupported_audio(reason: str, field: str = "audio") -> ApiError:
    return ApiError(
        422,
        "unsupported_audio",
        f"{field}: not audio this service can read ({reason}); send {ACCEPTED_NAMES}",
        field=field,
    )


def too_long(seconds: float, max_seconds: float, field: str) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        f"{field}: {seconds:.1f} s is too long to continue; it must be shorter than {max_seconds:g} s, "
        "the longest track",
        field=field,
    )
