"""Continue an uploaded audio file: `POST /generate` as a multipart form with an `audio` file part.

The form shares the JSON body's fields, bounds and 422s; a refused upload writes no row and no file;
the upload waits on disk while its job is queued or running (a restart included) and goes when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import func, select

from app.db.models import MusicGeneration
from app.domain.generations.services import GenerationService
from app.lib.uploads import FORM_OVERHEAD_BYTES
from inference import GenerationParams
from inference.audio import encode, normalize
from tests.integration.conftest import Service, ServiceFactory, owner

RATE = 32_000
# soundfile's names for the formats the service takes: format, subtype, file name.
FORMATS = {
    "wav": ("WAV", "PCM_16", "clip.wav"),
    "flac": ("FLAC", "PCM_16", "clip.flac"),
    "ogg": ("OGG", "VORBIS", "clip.ogg"),
    "mp3": ("MP3", "MPEG_LAYER_III", "clip.mp3"),
}


def tone(seconds: float, rate: int = RATE, channels: int = 1, pitch: float = 220.0) -> np.ndarray:
    """A gliding tone with a little noise, float32 ``[frames, channels]`` (soundfile's layout)."""
    t = np.arange(round(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * pitch * t * (1 + t)) + 0.01 * np.random.default_rng(3).standard_normal(
        t.size
    )
    return np.repeat(wave[:, None], channels, axis=1).astype(np.float32)


def audio_file(
    fmt: str = "wav", seconds: float = 1.0, rate: int = RATE, channels: int = 1, pitch: float = 220.0
) -> bytes:
    buffer = io.BytesIO()
    sf_format, subtype, _ = FORMATS.get(fmt, (fmt, None, ""))
    sf.write(buffer, tone(seconds, rate, channels, pitch), rate, format=sf_format, subtype=subtype)
    return buffer.getvalue()


async def upload(
    service: Service,
    audio: bytes | None,
    filename: str = "clip.wav",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> httpx.Response:
    """POST /generate as a multipart form: `fields` as text, `audio` as a file part (None: a file input
    left empty, as a browser sends it)."""
    fields = {"prompt": "more of this", "duration": 5, **fields}
    data = {name: str(value) for name, value in fields.items()}
    part = (filename, audio, "application/octet-stream") if audio is not None else ("", b"", "audio/wav")
    return await service.client.post("/generate", data=data, files={"audio": part}, headers=headers)


async def count_rows(service: Service) -> int:
    async with service.jobs.sessions() as session:
        return int(await session.scalar(select(func.count(MusicGeneration.id))))


def stored_files(service: Service) -> list[str]:
    root = service.jobs.storage.root
    return sorted(path.name for path in root.iterdir()) if root.is_dir() else []


async def audio_of(service: Service, generation_id: str) -> tuple[np.ndarray, int]:
    response = await service.client.get(f"/generations/{generation_id}/audio")
    assert response.status_code == 200, response.text
    data, rate = sf.read(io.BytesIO(response.content), dtype="float32", always_2d=True)
    return data.T, rate


async def expected_audio(service: Service, record: dict[str, Any], sent: bytes) -> np.ndarray:
    """What the engine makes of the upload as the service keeps it (16-bit FLAC), normalised as stored."""
    decoded, rate = sf.read(io.BytesIO(sent), dtype="float32", always_2d=True)
    kept, kept_rate = sf.read(io.BytesIO(encode(decoded.T, rate, "flac")), dtype="float32", always_2d=True)
    engine = await service.jobs.engines.get(record["device"], record["precision"])
    params = GenerationParams(
        prompt=record["prompt"],
        duration=record["duration_requested"],
        top_k=record["top_k"],
        top_p=record["top_p"],
        temperature=record["temperature"],
        cfg_coef=record["cfg_coef"],
        seed=record["seed"],
        prompt_audio=np.ascontiguousarray(kept.T),
        prompt_sample_rate=kept_rate,
    )
    result = await asyncio.to_thread(engine.generate, params)
    return normalize(result.audio, result.sample_rate, "loudness")


@pytest.mark.parametrize("fmt", list(FORMATS))
async def test_continue_an_uploaded_file(service: Service, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    variant = service.jobs.engines.variant()
    engine = await service.jobs.engines.get(variant.device, variant.precision)
    prompts: list[tuple[np.ndarray | None, int | None]] = []
    original = engine.generate

    def spy(params: GenerationParams, **kwargs: Any) -> Any:
        prompts.append((params.prompt_audio, params.prompt_sample_rate))
        return original(params, **kwargs)

    monkeypatch.setattr(engine, "generate", spy)
    sent = audio_file(fmt, seconds=1.0)
    response = await upload(
        service, sent, filename=f"no-extension-{fmt}", headers={"Prefer": "wait=60"}, seed=5, duration=5
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["status"] == "succeeded", record
    assert record["token"]
    assert record["parent_id"] is None
    assert abs(record["prompt_seconds"] - 1.0) < 0.01  # mp3 and ogg decode to about the length sent
    assert abs(record["duration"] - 5) < 0.01
    # The engine was given the upload (as the service keeps it: 16-bit FLAC)...
    decoded, rate = sf.read(io.BytesIO(sent), dtype="float32", always_2d=True)
    (given, given_rate), *_ = prompts
    assert given_rate == rate
    assert given is not None
    assert given.shape == decoded.T.shape
    assert np.abs(given - decoded.T).max() < 1e-4
    # ...and the track is what it makes of it: the prompt through the codec, then new music.
    got, rate = await audio_of(service, record["generation_id"])
    assert rate == 32000
    assert abs(got.shape[-1] / rate - 5) < 0.01
    want = await expected_audio(service, record, sent)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 2e-3
    plain = await service.generate(prompt=record["prompt"], duration=5, seed=5)
    await service.wait_status(plain["generation_id"], {"succeeded"})
    without_audio, _ = await audio_of(service, plain["generation_id"])
    assert np.abs(without_audio - got).max() > 0.05
    # The upload is gone once its job ended; only the finished tracks stay.
    assert stored_files(service) == sorted(
        f"{gid}.wav" for gid in (record["generation_id"], plain["generation_id"])
    )


async def test_stereo_at_another_rate_is_continued(service: Service) -> None:
    response = await upload(
        service,
        audio_file("flac", seconds=2.0, rate=44_100, channels=2),
        headers={"Prefer": "wait=60"},
        duration=5,
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert (record["status"], record["prompt_seconds"]) == ("succeeded", 2.0)


async def test_a_form_without_an_audio_file_is_refused(service: Service) -> None:
    fields = {"prompt": "plain", "duration": "5"}
    empty_input = await service.client.post(
        "/generate", data=fields, files={"audio": ("", b"", "application/octet-stream")}
    )
    text_only = await service.client.post(
        "/generate",
        content=b'--x\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nplain\r\n--x--\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    for response in (empty_input, text_only):
        assert response.status_code == 415, response.text
        assert response.json()["error_type"] == "unsupported_media_type"
        assert "audio file" in response.json()["message"]
    as_text = await service.client.post(
        "/generate", data={**fields, "audio": "not a file"}, files={"x": ("", b"")}
    )
    assert (as_text.status_code, as_text.json()["field"]) == (422, "audio"), as_text.text
    assert await count_rows(service) == 0
    assert stored_files(service) == []


async def test_form_fields_are_refused_as_json_fields_are(service: Service) -> None:
    wav = audio_file()
    cases: list[tuple[dict[str, Any], str | None]] = [
        ({"duration": "abc"}, "duration"),
        ({"duration": "200"}, "duration"),
        ({"duration": "nan"}, "duration"),
        ({"top_k": "1.5"}, "top_k"),
        ({"top_p": "2"}, "top_p"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "a\x00b"}, "prompt"),
        ({"device": "tpu"}, "device"),
        ({"precision": "float8"}, "precision"),
        ({"colour": "blue"}, "colour"),
        ({"continue_seconds": "2"}, "continue_seconds"),
    ]
    for fields, field in cases:
        form = await upload(service, wav, **fields)
        assert form.status_code == 422, (fields, form.text)
        assert form.json()["error_type"] == "validation_error", form.text
        assert form.json()["field"] == field, (fields, form.text)
        as_json = {"prompt": "x", "duration": 5, **fields}
        for name in ("duration", "top_k", "top_p", "continue_seconds"):  # JSON sends numbers as numbers
            if name in fields and fields[name] != "nan":  # JSON has no NaN
                with contextlib.suppress(ValueError):
                    as_json[name] = float(fields[name])
        body = await service.client.post("/generate", json=as_json)
        assert (body.status_code, body.json()["field"]) == (422, field), (fields, body.text)
    twice = await service.client.post(
        "/generate", data={"prompt": ["a", "b"], "duration": "5"}, files={"audio": ("a.wav", wav)}
    )
    assert (twice.status_code, twice.json()["field"]) == (422, "prompt"), twice.text
    assert await count_rows(service) == 0
    assert stored_files(service) == []


async def test_what_is_not_audio_is_refused_before_any_row_or_file(service: Service) -> None:
    header_only = audio_file("wav", seconds=0.0)
    cases: list[tuple[bytes, str, str]] = [
        (b"this is not audio" * 100, "unsupported_audio", "audio"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(64), "unsupported_audio", "audio"),
        (audio_file("AIFF"), "unsupported_audio", "audio"),  # audio, but not a format the service takes
        (b"", "validation_error", "audio"),
        (header_only, "validation_error", "audio"),
        (audio_file("wav", channels=3), "validation_error", "audio"),
        (audio_file("wav", seconds=0.5, rate=500), "validation_error", "audio"),  # the engine's lowest rate
    ]
    for content, error_type, field in cases:
        response = await upload(service, content, filename="song.wav")
        assert response.status_code == 422, (content[:20], response.text)
        error = response.json()
        assert (error["error_type"], error["field"]) == (error_type, field), error
        if error_type == "unsupported_audio":
            assert "send WAV, FLAC, OGG (Vorbis or Opus) or MP3" in error["message"], error
    assert await count_rows(service) == 0
    assert stored_files(service) == []


async def test_audio_too_long_for_the_track_is_refused(service: Service) -> None:
    too_long_for_duration = await upload(service, audio_file(seconds=5.0), duration=5)
    assert too_long_for_duration.status_code == 422
    assert too_long_for_duration.json()["field"] == "duration", too_long_for_duration.text
    assert "longer than the 5.00 s of audio" in too_long_for_duration.json()["message"]
    longest = await upload(service, audio_file(seconds=121, rate=8000), duration=120)
    assert longest.status_code == 422
    assert longest.json()["field"] == "audio", longest.text
    assert "120 s" in longest.json()["message"]
    assert await count_rows(service) == 0
    assert stored_files(service) == []


async def test_an_upload_and_continue_from_together_are_refused(service: Service) -> None:
    parent = await service.add_generation(duration=1.0)
    before = stored_files(service)
    response = await upload(service, audio_file(), continue_from=parent.generation_id)
    assert response.status_code == 422
    assert response.json()["field"] == "audio"
    assert "continue_from" in response.json()["message"]
    assert await count_rows(service) == 1
    assert stored_files(service) == before


async def test_no_file_stays_when_the_row_cannot_be_written(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*_: Any, **__: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(GenerationService, "create_many", fail)
    response = await upload(service, audio_file())
    assert response.status_code == 500
    assert stored_files(service) == []


async def test_an_upload_larger_than_max_upload_mb_is_refused_unread(service_factory: ServiceFactory) -> None:
    limit = 0.2 * 1024 * 1024 + FORM_OVERHEAD_BYTES  # the file, and room for the form's fields
    async with service_factory(max_upload_mb=0.2) as service:
        small = await upload(service, audio_file(seconds=3.0), headers={"Prefer": "wait=60"})  # 192 KB
        assert small.status_code == 201, small.text
        before = await count_rows(service), stored_files(service)

        big = await upload(service, audio_file(seconds=4.5))  # 288 KB
        assert big.status_code == 413, big.text
        assert big.json()["error_type"] == "upload_too_large"
        assert "MAX_UPLOAD_MB" in big.json()["message"]

        # A Content-Length above the limit is answered before the body is read.
        request = service.client.build_request(
            "POST", "/generate", data={"prompt": "x"}, files={"audio": ("a.wav", bytes(400_000))}
        )
        body = request.read()
        chunks_read = 0

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal chunks_read
            for start in range(0, len(body), 4096):
                chunks_read += 1
                yield body[start : start + 4096]

        early = await service.client.post(
            "/generate",
            content=chunks(),
            headers={"Content-Type": request.headers["Content-Type"], "Content-Length": str(len(body))},
        )
        assert early.status_code == 413, early.text
        assert chunks_read <= 1

        # Without a Content-Length (chunked), reading stops at the limit.
        chunks_read = 0
        chunked = await service.client.post(
            "/generate", content=chunks(), headers={"Content-Type": request.headers["Content-Type"]}
        )
        assert chunked.status_code == 413, chunked.text
        assert chunked.json()["error_type"] == "upload_too_large"
        assert chunks_read * 4096 <= limit + 4096

        assert (await count_rows(service), stored_files(service)) == before


async def test_a_json_body_keeps_the_usual_limit(service: Service) -> None:
    huge = b'{"prompt": "' + b"x" * 10_000_001 + b'"}'
    response = await service.client.post(
        "/generate", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error_type"] == "payload_too_large"


async def test_a_form_from_another_site_is_refused(service: Service) -> None:
    for audio in (audio_file(), None):
        response = await upload(service, audio, headers={"Origin": "https://evil.example"})
        assert response.status_code == 403, response.text
        assert response.json()["error_type"] == "forbidden"
    assert await count_rows(service) == 0
    assert stored_files(service) == []
    allowed = await upload(service, audio_file(), headers={"Origin": "http://localhost:3000"})
    assert allowed.status_code == 202, allowed.text


async def test_other_media_types_are_refused(service: Service) -> None:
    text = await service.client.post("/generate", content=b"prompt=x", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    assert "multipart/form-data" in text.json()["message"]
    urlencoded = await service.client.post("/generate", data={"prompt": "x", "duration": "5"})
    assert urlencoded.status_code == 415
    empty = await service.client.post("/generate")
    assert empty.status_code == 422
    # Every other endpoint still takes JSON only.
    parent = await service.add_generation()
    form = await service.client.post(
        "/favorite", data={"generation_id": parent.generation_id}, files={"f": ("a", b"x")}
    )
    assert form.status_code == 415
    assert await count_rows(service) == 1


async def test_a_full_queue_refuses_an_upload_before_keeping_it(service_factory: ServiceFactory) -> None:
    async with service_factory(queue_max_size=1) as service:
        busy = await service.generate(prompt="keeps the worker busy", duration=60)
        await service.wait_status(busy["generation_id"], {"running"})
        waiting = await upload(service, audio_file())
        assert waiting.status_code == 202, waiting.text
        full = await upload(service, audio_file())
        assert full.status_code == 429, full.text
        assert full.json()["error_type"] == "queue_full"
        assert await count_rows(service) == 2
        assert stored_files(service) == [f"{waiting.json()['generation_id']}.prompt.flac"]
        await service.remove(busy["generation_id"])


async def test_the_upload_goes_when_a_queued_job_is_canceled(service: Service) -> None:
    busy = await service.generate(prompt="keeps the worker busy", duration=60)
    await service.wait_status(busy["generation_id"], {"running"})
    queued = (await upload(service, audio_file())).json()
    assert queued["status"] == "queued"
    prompt_file = service.jobs.storage.prompt_path_for(queued["generation_id"])
    assert prompt_file.is_file()
    canceled = await service.client.delete(f"/generations/{queued['generation_id']}", headers=owner(queued))
    assert canceled.json()["status"] == "canceled"
    assert not prompt_file.exists()
    await service.remove(busy["generation_id"])


async def test_deleting_a_generation_removes_its_upload(service: Service) -> None:
    row = await service.add_generation(prompt_seconds=1.0)
    service.jobs.storage.save_prompt(row.generation_id, tone(1.0).T, RATE)  # left over, somehow
    assert (await service.remove(row.generation_id)).status_code == 204
    assert stored_files(service) == []


async def test_a_queued_upload_survives_a_restart(service_factory: ServiceFactory) -> None:
    async with service_factory(shutdown_grace_s=0.5) as first:
        busy = await first.generate(prompt="long", duration=60)
        await first.wait_status(busy["generation_id"], {"running"})
        queued = (await upload(first, audio_file(seconds=1.5), seed=3)).json()
        assert queued["status"] == "queued"
        prompt_file = first.jobs.storage.prompt_path_for(queued["generation_id"])
        # A killed process's leftovers: the upload of a finished job, and of a job that is gone.
        finished = await first.add_generation(prompt_seconds=1.0)
        for gid in (finished.generation_id, "0" * 32):
            first.jobs.storage.save_prompt(gid, tone(1.0).T, RATE)
        half_written = first.jobs.storage.root / f".{'1' * 32}.prompt.flac.x1y2.part"
        half_written.write_bytes(b"fLaC")
    assert (await first.jobs.load(queued["generation_id"])).status == "queued"
    assert prompt_file.is_file()
    async with service_factory() as second:
        await second.remove(busy["generation_id"])  # not needed here
        done = await second.wait_status(queued["generation_id"], {"succeeded", "failed"})
        assert (done["status"], done["prompt_seconds"]) == ("succeeded", 1.5), done
        assert not prompt_file.exists()
        assert not second.jobs.storage.prompt_path_for(finished.generation_id).exists()
        assert not second.jobs.storage.prompt_path_for("0" * 32).exists()
        assert not half_written.exists()


async def test_a_queued_upload_whose_file_is_gone_fails(service_factory: ServiceFactory) -> None:
    async with service_factory(wait_model=False) as first:
        row = await first.add_generation(
            status="queued", duration=5, duration_requested=5, prompt_seconds=1.0
        )
    async with service_factory() as second:
        done = await second.wait_status(row.generation_id, {"succeeded", "failed"})
        assert (done["status"], done["error_type"]) == ("failed", "file_missing"), done
        assert "uploaded audio" in done["error_message"]


async def test_the_document_describes_both_bodies(service: Service) -> None:
    document = (await service.client.get("/schema/openapi.json")).json()
    operation = document["paths"]["/generate"]["post"]
    content = operation["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/GenerateRequest"}
    form = content["multipart/form-data"]["schema"]
    assert form["properties"]["audio"] == {
        **form["properties"]["audio"],
        "type": "string",
        "format": "binary",
    }
    struct = document["components"]["schemas"]["GenerateRequest"]
    assert set(form["properties"]) == {*struct["properties"], "audio"}
    assert form["properties"]["duration"] == {
        "$ref": "#/components/schemas/GenerateRequest/properties/duration"
    }
    assert form["required"] == [*struct["required"], "audio"]
    assert {"413", "415", "422"} <= set(operation["responses"])
