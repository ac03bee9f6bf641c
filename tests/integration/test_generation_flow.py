"""From prompt to file: queue, progress events, result, download, cancel, delete, queue bound."""

from __future__ import annotations

import asyncio
import io
import json
import time

import soundfile as sf
from sqlalchemy import func, select

from app.db.models import MusicGeneration
from tests.integration.conftest import ADMIN, Service, ServiceFactory, owner, parse_sse


async def count_rows(service: Service) -> int:
    async with service.jobs.sessions() as session:
        return int(await session.scalar(select(func.count(MusicGeneration.id))))


async def test_prompt_to_downloaded_file(service: Service) -> None:
    response = await service.client.post(
        "/generate", json={"prompt": "lo-fi beat with warm piano, 90 bpm", "duration": 5, "seed": 7}
    )
    assert response.status_code == 202, response.text
    record = response.json()
    generation_id = record["generation_id"]
    assert response.headers["location"] == f"/generations/{generation_id}"
    assert record["status"] in {"queued", "running"}
    assert record["seed"] == 7
    assert record["duration_requested"] == 5
    assert len(record["token"]) >= 32  # shown once, to the creator
    # What is not known yet is null, not 0.
    for field in ("sample_rate", "file_size_mb", "generation_time", "realtime_factor", "audio_url"):
        assert record[field] is None, field

    events = parse_sse((await service.client.get(f"/generations/{generation_id}/events")).text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "status"
    assert kinds[-1] == "status"
    progress = [json.loads(data) for kind, data in events if kind == "progress"]
    assert progress, "no progress events"
    steps = [p["step"] for p in progress]
    assert steps == sorted(steps)
    assert steps[-1] == progress[-1]["total_steps"]
    # Honest progress: the phases in order, the fraction never goes back and is 1.0 only once the
    # file is written (the final record), the writing phase comes last.
    # (The stream joins a job that may have started: its first phase can be over by then.)
    phases = [p["phase"] for p in progress]
    order = ["encoding_text", "generating", "decoding_audio", "writing"]
    assert {"generating", "decoding_audio", "writing"} <= set(phases) <= set(order), phases
    assert [order.index(p) for p in phases] == sorted(order.index(p) for p in phases)
    fractions = [p["fraction"] for p in progress]
    assert fractions == sorted(fractions)
    assert fractions[-1] < 1.0
    assert all(p["eta_s"] is None or p["eta_s"] >= 0 for p in progress)
    assert all(p["eta_s"] is not None for p in progress[1:])  # unknown at most before the first step
    final = json.loads(events[-1][1])
    assert final["status"] == "succeeded", final
    assert final["progress"]["fraction"] == 1.0
    assert final["progress"]["phase"] == "finished"
    assert final["windows"] == 1
    assert "token" not in final  # the token is never shown again
    assert final["sample_rate"] == 32000
    assert abs(final["duration"] - 5.0) < 0.01
    assert final["file_size_mb"] > 0
    assert final["generation_time"] > 0
    assert final["realtime_factor"] > 0
    assert final["device"] == "cpu"
    assert final["precision"] == "float32"
    assert final["model"] == "tiny-random"

    download = await service.client.get(f"/download/{generation_id}", params={"format": "flac"})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("audio/flac")
    assert download.headers["content-disposition"].startswith('attachment; filename="musicgenie-lo-fi-beat')
    audio, sample_rate = sf.read(io.BytesIO(download.content))
    assert sample_rate == 32000
    assert abs(len(audio) / sample_rate - 5.0) < 0.01
    assert 0 < abs(audio).max() <= 1.0

    after = (await service.client.get(f"/generations/{generation_id}")).json()
    assert after["download_count"] == 1


async def test_prefer_wait_answers_with_the_finished_record(service: Service) -> None:
    response = await service.client.post(
        "/generate", json={"prompt": "a short drum loop", "duration": 5}, headers={"Prefer": "wait=600"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["preference-applied"] == "wait=60"  # capped, not refused
    record = response.json()
    assert record["status"] == "succeeded"
    assert record["seed"] is not None  # drawn by the engine and reported back
    assert service.jobs.storage.exists(record["generation_id"])


async def test_a_track_past_the_context_records_its_windows(service: Service) -> None:
    response = await service.client.post(
        "/generate", json={"prompt": "a long drone", "duration": 35, "seed": 1}, headers={"Prefer": "wait=60"}
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["windows"] == 2  # 0-30 s, then 18-35 s prompted with 18-30 s
    assert abs(record["duration"] - 35) < 0.01


async def test_prefer_wait_shorter_than_the_job_answers_202(service: Service) -> None:
    response = await service.client.post(
        "/generate", json={"prompt": "a long ambient pad", "duration": 30}, headers={"Prefer": "wait=1"}
    )
    assert response.status_code == 202
    assert response.json()["status"] in {"queued", "running"}
    await service.remove(response.json()["generation_id"])


async def test_cancel_running_job_stops_within_a_step(service: Service) -> None:
    created = await service.generate(prompt="long ambient pad", duration=60)
    generation_id = created["generation_id"]
    record = await service.wait_status(generation_id, {"running"})
    while record["progress"]["step"] == 0:
        await asyncio.sleep(0.05)
        record = (await service.client.get(f"/generations/{generation_id}")).json()
    started = time.monotonic()
    response = await service.client.delete(f"/generations/{generation_id}", headers=owner(created))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    canceled = response.json()
    assert canceled["status"] == "canceled"
    assert canceled["error_type"] == "canceled"
    assert elapsed < 3, f"cancel took {elapsed:.1f} s"
    progress = canceled["progress"]
    assert 0 < progress["step"] < progress["total_steps"]
    # The record agrees with itself: the message names the step its progress shows; nothing is left.
    assert canceled["error_message"] == f"canceled at step {progress['step']} of {progress['total_steps']}"
    assert progress["phase"] == "finished"
    assert progress["eta_s"] is None
    assert 0 < progress["fraction"] < 1
    assert canceled["sample_rate"] is None
    assert canceled["file_size_mb"] is None
    assert not service.jobs.storage.exists(generation_id)


async def test_cancel_queued_job_never_runs_and_delete_removes_finished(service: Service) -> None:
    first = await service.generate(prompt="first", duration=20)
    second = await service.generate(prompt="second", duration=5)
    await service.wait_status(first["generation_id"], {"running"})
    response = await service.client.delete(f"/generations/{second['generation_id']}", headers=owner(second))
    assert response.status_code == 200
    canceled = response.json()
    assert canceled["status"] == "canceled"
    assert canceled["started_at"] is None
    assert canceled["error_message"] == "canceled before it started"
    assert canceled["progress"] == {
        "phase": "finished",
        "step": 0,
        "total_steps": 0,
        "fraction": 0.0,
        "eta_s": None,
    }
    await service.remove(first["generation_id"])
    assert service.jobs.queue.depth == 0

    finished = await service.add_generation(prompt="finished one")
    assert service.jobs.storage.exists(finished.generation_id)
    response = await service.remove(finished.generation_id)
    assert response.status_code == 204
    assert not service.jobs.storage.exists(finished.generation_id)
    assert (await service.client.get(f"/generations/{finished.generation_id}")).status_code == 404
    assert (await service.remove(finished.generation_id)).status_code == 404


async def test_full_queue_answers_429_and_writes_no_row(service_factory: ServiceFactory) -> None:
    async with service_factory(queue_max_size=1) as service:
        running = (await service.client.post("/generate", json={"prompt": "running", "duration": 30})).json()
        await service.wait_status(running["generation_id"], {"running"})
        waiting = await service.client.post("/generate", json={"prompt": "waiting", "duration": 5})
        assert waiting.status_code == 202
        rows_before = await count_rows(service)

        full = await service.client.post("/generate", json={"prompt": "one too many", "duration": 5})
        assert full.status_code == 429
        assert full.json()["error_type"] == "queue_full"
        assert int(full.headers["retry-after"]) >= 1
        assert await count_rows(service) == rows_before == 2

        health = (await service.client.get("/health")).json()
        assert health["queue"] == {
            "depth": 1,
            "capacity": 1,
            "running": [running["generation_id"]],
            "max_batch": 1,
            "accepting": True,
        }
        for record in (waiting.json(), running):
            await service.remove(record["generation_id"])


async def test_generation_ids_are_unknown_after_a_bad_request(service: Service) -> None:
    for body in (
        {},
        {"prompt": ""},
        {"prompt": "   "},
        {"prompt": "x", "duration": 4.9},
        {"prompt": "x", "duration": 120.5},
        {"prompt": "x", "device": "tpu"},
        {"prompt": "x", "precision": "float64"},
        {"prompt": "x", "top_k": -1},
        {"prompt": "x", "top_p": 1.5},
        {"prompt": "x", "temperature": -0.1},
        {"prompt": "x", "cfg_coef": 0.5},
        {"prompt": "x", "seed": -3},
        {"prompt": "x", "durration": 10},
        {"prompt": "x" * 2001},
        {"prompt": "x", "user_id": 424242},
    ):
        response = await service.client.post("/generate", json=body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()
        assert error["error_type"] == "validation_error", error
        assert error["message"]
        expected = next((key for key in body if key != "prompt" or len(body) == 1), "prompt")
        assert error["field"] == expected, (body, error)
    malformed = await service.client.post(
        "/generate", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error_type"] == "bad_request"
    cuda = await service.client.post("/generate", json={"prompt": "x", "device": "cuda"})
    assert cuda.status_code == 422
    assert cuda.json()["error_type"] == "device_unavailable"
    assert "cpu" in cuda.json()["message"]
    half = await service.client.post("/generate", json={"prompt": "x", "precision": "float16"})
    assert half.status_code == 422
    assert half.json()["error_type"] == "unsupported_precision"
    for prefer in ("wait=abc", "wait=-1", "wait=1.5", "wait=²"):  # ² passes str.isdigit()
        bad = await service.client.post(
            "/generate", json={"prompt": "x"}, headers=[(b"prefer", prefer.encode())]
        )
        assert bad.status_code == 422, (prefer, bad.text)
        assert bad.json()["field"] == "Prefer"
    assert await count_rows(service) == 0


async def test_unknown_generation_is_404(service: Service) -> None:
    for path in ("/generations/0123456789abcdef0123456789abcdef", "/generations/nope"):
        ident = path.rsplit("/", 1)[1]
        for method in ("GET", "DELETE"):
            response = await service.client.request(method, path, headers=ADMIN)
            assert response.status_code == 404
            # Services raise NotFound; one handler answers it with the id in the message.
            assert response.json() == {
                "error_type": "not_found",
                "message": f"no generation with id {ident!r}",
                "status_code": 404,
            }
    events = await service.client.get("/generations/0123456789abcdef0123456789abcdef/events")
    assert events.status_code == 404
    for endpoint in ("/favorite", "/track-play"):
        unknown = await service.client.post(
            endpoint, json={"generation_id": "0123456789abcdef0123456789abcdef"}
        )
        assert unknown.status_code == 404
        assert unknown.json()["message"] == "no generation with id '0123456789abcdef0123456789abcdef'"
    nowhere = await service.client.get("/no/such/path")
    assert nowhere.json() == {
        "error_type": "not_found",
        "message": "nothing at GET /no/such/path",
        "status_code": 404,
    }


async def test_unavailable_model_is_503_with_the_reason(service_factory: ServiceFactory, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    async with service_factory(model="facebook/musicgen-small", real_loader=True) as service:
        status = (await service.client.get("/model/status")).json()
        assert status["status"] == "error"
        assert status["error_type"] == "model_unavailable"
        response = await service.client.post("/generate", json={"prompt": "x", "duration": 5})
        assert response.status_code == 503
        error = response.json()
        assert error["error_type"] == "model_unavailable"
        assert "musicgen-small" in error["message"]
        assert "tiny-random" in error["message"]
        assert (await service.client.get("/health")).json()["status"] == "degraded"
        assert await count_rows(service) == 0


async def test_shutting_down_service_refuses_new_jobs(service: Service) -> None:
    service.jobs.queue.accepting = False
    response = await service.client.post("/generate", json={"prompt": "too late", "duration": 5})
    assert response.status_code == 503
    assert response.json()["error_type"] == "shutting_down"
    assert response.headers["retry-after"]
    assert await count_rows(service) == 0


async def test_extend_a_finished_track(service: Service) -> None:
    parent = await service.add_generation(prompt="the start", duration=1.0)  # 1 s of noise on disk
    response = await service.client.post(
        "/generate",
        json={"prompt": "more of it", "duration": 6, "seed": 2, "continue_from": parent.generation_id},
        headers={"Prefer": "wait=60"},
    )
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["status"] == "succeeded", record
    assert (record["parent_id"], record["prompt_seconds"]) == (parent.generation_id, 1.0)
    assert abs(record["duration"] - 6) < 0.01
    audio, _ = sf.read(
        io.BytesIO((await service.client.get(f"/generations/{record['generation_id']}/audio")).content)
    )
    assert abs(len(audio) / 32000 - 6) < 0.01

    tail = await service.client.post(
        "/generate",
        json={"prompt": "x", "duration": 5, "continue_from": parent.generation_id, "continue_seconds": 0.5},
        headers={"Prefer": "wait=60"},
    )
    assert tail.status_code == 201, tail.text
    assert tail.json()["prompt_seconds"] == 0.5


async def test_what_cannot_be_extended_is_refused_before_any_row(service: Service) -> None:
    finished = await service.add_generation(duration=6.0)
    queued = await service.add_generation(status="queued")
    gone = await service.add_generation(duration=1.0)
    service.jobs.storage.delete(gone.generation_id)
    cases = [
        ({"continue_from": "0123456789abcdef0123456789abcdef"}, 404, "not_found", None),
        ({"continue_from": queued.generation_id}, 409, "not_ready", None),
        ({"continue_from": gone.generation_id}, 410, "file_missing", None),
        ({"continue_from": finished.generation_id, "duration": 6}, 422, "validation_error", "duration"),
        (
            {"continue_from": finished.generation_id, "duration": 5, "continue_seconds": 5},
            422,
            "validation_error",
            "duration",
        ),
        ({"continue_seconds": 2}, 422, "validation_error", "continue_seconds"),
        (
            {"continue_from": finished.generation_id, "continue_seconds": 0},
            422,
            "validation_error",
            "continue_seconds",
        ),
    ]
    before = await count_rows(service)
    for extra, status, error_type, field in cases:
        body = {"prompt": "x", "duration": 5, **extra}
        response = await service.client.post("/generate", json=body)
        assert response.status_code == status, (extra, response.text)
        assert response.json()["error_type"] == error_type
        if field:
            assert response.json()["field"] == field
    assert await count_rows(service) == before
