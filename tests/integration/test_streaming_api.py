"""`GET /generations/{id}/stream`: hear a track while it generates, from its start, however late one joins."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from inference import GenerationParams, StreamEncoder
from tests.integration.conftest import Service, ServiceFactory, owner
from tests.integration.live import live_server

MP3_SLACK = 4 * 1152  # the encoder's delay and last frame's padding, in samples


def _decode(body: bytes) -> tuple[np.ndarray, int]:
    data, rate = sf.read(io.BytesIO(body), dtype="float32", always_2d=True)
    return data.T, rate


async def _engine_mp3(service: Service, record: dict) -> bytes:
    """The record's track made again by the engine (same seed, streamed: whole-clip decoding differs
    in float rounding), before normalisation, as one MP3."""
    engine = await service.jobs.engines.get(record["device"], record["precision"])
    params = GenerationParams(record["prompt"], duration=record["duration_requested"], seed=record["seed"])
    result = await asyncio.to_thread(engine.generate, params, on_audio=lambda _: None)
    encoder = StreamEncoder(result.sample_rate, result.channels)
    return encoder.write(result.audio) + encoder.close()


@pytest.fixture
async def streaming(service_factory: ServiceFactory):
    """The service on an own-loop backend, which decodes audio while the decoder runs."""
    async with service_factory(backend="torch") as running:
        yield running


async def test_the_stream_of_a_running_job_is_its_track(streaming: Service) -> None:
    created = await streaming.generate(prompt="warm piano", duration=8, seed=3)
    generation_id = created["generation_id"]
    response = await streaming.client.get(f"/generations/{generation_id}/stream")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["cache-control"] == "no-store"
    audio, rate = _decode(response.content)
    record = await streaming.wait_status(generation_id, {"succeeded"})
    assert rate == record["sample_rate"]
    assert 8 * rate <= audio.shape[-1] <= 8 * rate + MP3_SLACK
    # Byte for byte the engine's audio before normalisation (the stored file is normalised).
    assert response.content == await _engine_mp3(streaming, record)


async def test_a_listener_who_joins_late_hears_it_from_the_start(streaming: Service) -> None:
    created = await streaming.generate(prompt="late joiner", duration=20, seed=4)
    generation_id = created["generation_id"]
    early = asyncio.create_task(streaming.client.get(f"/generations/{generation_id}/stream"))
    record = await streaming.wait_status(generation_id, {"running"})
    while record["status"] == "running" and record["progress"]["fraction"] < 0.5:
        await asyncio.sleep(0.05)
        record = (await streaming.client.get(f"/generations/{generation_id}")).json()
    assert record["status"] == "running", "the job ended before the late listener could join"
    late = await streaming.client.get(f"/generations/{generation_id}/stream")
    assert late.status_code == 200
    assert late.content == (await early).content  # every byte, from the first


async def test_a_waiting_job_streams_once_it_starts(streaming: Service) -> None:
    first = await streaming.generate(prompt="first", duration=10, seed=1)
    second = await streaming.generate(prompt="second", duration=5, seed=2)
    assert second["status"] == "queued"
    response = await streaming.client.get(f"/generations/{second['generation_id']}/stream")
    assert response.status_code == 200
    audio, rate = _decode(response.content)
    assert 5 * rate <= audio.shape[-1] <= 5 * rate + MP3_SLACK
    assert (await streaming.wait_status(first["generation_id"], {"succeeded"}))["status"] == "succeeded"


async def test_the_stream_ends_when_the_job_is_canceled(streaming: Service) -> None:
    created = await streaming.generate(prompt="cut short", duration=60, seed=5)
    generation_id = created["generation_id"]
    listening = asyncio.create_task(streaming.client.get(f"/generations/{generation_id}/stream"))
    record = await streaming.wait_status(generation_id, {"running"})
    while record["progress"]["fraction"] < 0.1:
        await asyncio.sleep(0.05)
        record = (await streaming.client.get(f"/generations/{generation_id}")).json()
    canceled = await streaming.client.delete(f"/generations/{generation_id}", headers=owner(created))
    assert canceled.json()["status"] == "canceled"
    response = await asyncio.wait_for(listening, 10)
    assert response.status_code == 200
    audio, rate = _decode(response.content)
    assert 0 < audio.shape[-1] < 50 * rate  # what was made before the cancel, then the end


async def test_a_finished_track_streams_whole_and_other_endings_have_no_stream(service: Service) -> None:
    done = await service.add_generation(duration=3.0)
    response = await service.client.get(f"/generations/{done.generation_id}/stream")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    audio, rate = _decode(response.content)
    assert 3 * rate <= audio.shape[-1] <= 3 * rate + MP3_SLACK

    failed = await service.add_generation(status="failed", error_type="internal_error")
    response = await service.client.get(f"/generations/{failed.generation_id}/stream")
    assert response.status_code == 409
    assert response.json()["error_type"] == "not_ready"

    assert (await service.client.get("/generations/nope/stream")).status_code == 404

    service.jobs.storage.delete(done.generation_id)
    response = await service.client.get(f"/generations/{done.generation_id}/stream")
    assert response.status_code == 410
    assert response.json()["error_type"] == "file_missing"


def test_the_first_audio_arrives_long_before_the_job_ends(
    tmp_path: Path, model_cache_dir: Path, tiny_engine: object
) -> None:
    """Over real HTTP: bytes come while the job still runs, and a player gets them as they come."""
    with live_server(tmp_path / "data", model_cache_dir, BACKEND="torch") as server:
        client = httpx.Client(base_url=server.base, timeout=60)
        created = client.post("/generate", json={"prompt": "progressive", "duration": 60}).json()
        generation_id = created["generation_id"]
        started = time.monotonic()
        with client.stream("GET", f"/generations/{generation_id}/stream") as response:
            assert response.status_code == 200
            chunks = response.iter_bytes()
            first = next(chunks)
            first_after = time.monotonic() - started
            status = client.get(f"/generations/{generation_id}").json()["status"]
            body = first + b"".join(chunks)
        total = time.monotonic() - started
    assert first
    assert status == "running", f"first bytes after {first_after:.1f} s, job {status}"
    assert first_after < total / 2
    audio, rate = _decode(body)
    assert 60 * rate <= audio.shape[-1] <= 60 * rate + MP3_SLACK
