"""What a hostile or careless client tries: bad input is a clear 4xx, never a 500; nothing acts cross-site;
only a generation's creator (or the admin) may cancel or delete it; forwarded headers are believed only
from configured proxies."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.models import MusicGeneration
from tests.integration.conftest import ADMIN, Service, ServiceFactory, owner


async def count_rows(service: Service) -> int:
    async with service.jobs.sessions() as session:
        return int(await session.scalar(select(func.count(MusicGeneration.id))))


async def test_out_of_range_user_id_is_422(service: Service) -> None:
    for user_id in (2**63, 2**70, -(2**70)):
        response = await service.client.post("/generate", json={"prompt": "x", "user_id": user_id})
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "user_id"
    assert await count_rows(service) == 0


async def test_deeply_nested_json_is_a_client_error(service: Service) -> None:
    depth = 100_000
    bodies = [
        "[" * depth + "]" * depth,
        '{"prompt": ' + '{"a": ' * depth + "1" + "}" * depth + "}",
        '{"prompt": "x", "extra": ' + "[" * depth + "]" * depth + "}",
    ]
    for path in ("/generate", "/track-play", "/favorite"):
        for body in bodies:
            response = await service.client.post(
                path, content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code in (400, 422), (path, response.text[:300])
            assert response.json()["error_type"] in ("bad_request", "validation_error")
    assert await count_rows(service) == 0


async def test_json_bodies_are_read_strictly(service: Service) -> None:
    row = await service.add_generation()
    for path, body, field in (
        ("/favorite", {"generation_id": row.generation_id, "favorite": 0}, "favorite"),
        ("/favorite", {"generation_id": row.generation_id, "favorite": "true"}, "favorite"),
        ("/generate", {"prompt": "x", "duration": "10"}, "duration"),
        ("/generate", {"prompt": "x", "seed": 1.5}, "seed"),
        ("/track-play", {"generation_id": 7}, "generation_id"),
    ):
        response = await service.client.post(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, response.json()
    record = (await service.client.get(f"/generations/{row.generation_id}")).json()
    assert record["is_favorited"] is False
    assert await count_rows(service) == 1


async def test_nul_in_any_text_is_422_on_both_databases(service: Service) -> None:
    await service.add_generation(prompt="piano and strings")
    cases = [
        ("POST", "/generate", {"json": {"prompt": "piano\x00", "duration": 5}}, "prompt"),
        ("GET", "/search", {"params": {"q": "\x00"}}, "q"),
        ("GET", "/search", {"params": {"q": "pia\x00no"}}, "q"),
        ("POST", "/track-play", {"json": {"generation_id": "\x00"}}, "generation_id"),
        ("POST", "/favorite", {"json": {"generation_id": "ab\x00"}}, "generation_id"),
    ]
    cases += [
        ("GET", "/benchmarks", {"params": {name: "cpu\x00"}}, name) for name in ("model", "device", "backend")
    ]
    cases += [
        ("POST", "/model/reload", {"json": {name: "x\x00"}, "headers": ADMIN}, name)
        for name in ("model", "backend")
    ]
    for method, path, kwargs, field in cases:
        response = await service.client.request(method, path, **kwargs)
        assert response.status_code == 422, (path, kwargs, response.text)
        assert response.json()["error_type"] == "validation_error"
        assert response.json()["field"] == field
        assert "NUL" in response.json()["message"]  # said in words, not as a regex
    assert await count_rows(service) == 1


async def test_search_without_q_names_the_field(service: Service) -> None:
    response = await service.client.get("/search")
    assert response.status_code == 422
    assert response.json()["field"] == "q"


async def test_reload_of_a_broken_checkpoint_is_503_with_the_reason(service: Service, tmp_path: Path) -> None:
    broken = tmp_path / "broken-checkpoint"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "musicgen", "decoder": ')  # cut short
    for backend in ("auto", "torch", "reference"):
        response = await service.client.post(
            "/model/reload", json={"model": str(broken), "backend": backend}, headers=ADMIN
        )
        assert response.status_code == 503, (backend, response.text)
        error = response.json()
        assert error["error_type"] == "model_unavailable", error
        assert str(broken) in error["message"] or "broken-checkpoint" in error["message"]
    status = (await service.client.get("/model/status")).json()
    assert (status["status"], status["model"]) == ("ready", "tiny-random")  # the old model still serves


async def test_only_the_creator_or_the_admin_may_cancel_or_delete(service: Service) -> None:
    mine = await service.generate(prompt="mine", duration=30)
    theirs = await service.generate(prompt="theirs", duration=5)
    path = f"/generations/{mine['generation_id']}"

    anonymous = await service.client.delete(path)
    assert anonymous.status_code == 401
    assert anonymous.json()["error_type"] == "unauthorized"
    assert "X-Generation-Token" in anonymous.json()["message"]
    for headers in (owner(theirs), {"X-Generation-Token": "guess"}, {"X-Admin-Key": "guess"}):
        refused = await service.client.delete(path, headers=headers)
        assert refused.status_code == 403, headers
        assert refused.json()["error_type"] == "forbidden"
    assert (await service.client.get(path)).json()["status"] in {"queued", "running"}

    # Only the token's hash is stored.
    async with service.jobs.sessions() as session:
        stored = await session.scalar(
            select(MusicGeneration.token_hash).where(MusicGeneration.generation_id == mine["generation_id"])
        )
    assert stored == hashlib.sha256(mine["token"].encode()).hexdigest()

    canceled = await service.client.delete(path, headers=owner(mine))
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert (await service.client.delete(path, headers=owner(mine))).status_code == 204  # then deleted
    await service.wait_status(theirs["generation_id"], {"succeeded"})
    assert (await service.remove(theirs["generation_id"])).status_code == 204  # the admin may


async def test_security_schemes_are_declared(service: Service) -> None:
    schema = (await service.client.get("/schema/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["AdminKey"] == {
        "type": "apiKey",
        "name": "X-Admin-Key",
        "in": "header",
        "description": schemes["AdminKey"]["description"],
    }
    assert schemes["GenerationToken"]["name"] == "X-Generation-Token"
    assert schema["paths"]["/model/reload"]["post"]["security"] == [{"AdminKey": []}]
    delete = schema["paths"]["/generations/{generation_id}"]["delete"]
    assert {name for requirement in delete["security"] for name in requirement} == {
        "AdminKey",
        "GenerationToken",
    }
    assert "token" in schema["components"]["schemas"]["CreatedGeneration"]["required"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"prompt": "cross-site", "duration": 5}'),
        ("application/x-www-form-urlencoded", "prompt=cross-site&duration=5"),
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi\r\n--x--',
        ),
        (None, '{"prompt": "no type", "duration": 5}'),
    ],
)
async def test_json_endpoints_answer_415_to_other_bodies(
    service: Service, content_type: str | None, body: str
) -> None:
    row = await service.add_generation()
    headers = {"content-type": content_type} if content_type else {}
    for path, payload in (
        ("/generate", body),
        ("/track-play", body.replace("cross-site", row.generation_id)),
        ("/favorite", json.dumps({"generation_id": row.generation_id})),
        ("/model/reload", "{}"),
    ):
        request = service.client.build_request(
            "POST", path, content=payload.encode(), headers={**headers, **ADMIN}
        )
        if content_type is None:
            request.headers.pop("content-type", None)
        response = await service.client.send(request)
        assert response.status_code == 415, (path, response.text)
        assert response.json()["error_type"] == "unsupported_media_type"
    assert await count_rows(service) == 1
    record = (await service.client.get(f"/generations/{row.generation_id}")).json()
    assert (record["play_count"], record["is_favorited"]) == (0, False)


async def test_json_with_a_charset_is_json(service: Service) -> None:
    response = await service.client.post(
        "/generate",
        content=b'{"prompt": "fine", "duration": 5}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 202, response.text
    await service.remove(response.json()["generation_id"])


async def test_state_changes_from_other_sites_are_refused(service_factory: ServiceFactory) -> None:
    async with service_factory(cors_origins="http://ui.example") as service:
        row = await service.add_generation()
        mine = await service.generate(prompt="mine", duration=5)
        evil = {"Origin": "http://evil.example"}
        attempts = [
            ("POST", "/generate", {"json": {"prompt": "cross-site", "duration": 5}}),
            ("POST", "/track-play", {"json": {"generation_id": row.generation_id}}),
            ("POST", "/favorite", {"json": {"generation_id": row.generation_id}}),
            ("POST", f"/download/{row.generation_id}", {}),
            ("DELETE", f"/generations/{mine['generation_id']}", {"headers": owner(mine)}),
            ("POST", "/model/reload", {"json": {}, "headers": ADMIN}),
        ]
        for origin in ("http://evil.example", "null", "http://testserver.evil.example"):
            for method, path, kwargs in attempts:
                headers = {**kwargs.get("headers", {}), "Origin": origin}
                response = await service.client.request(method, path, **{**kwargs, "headers": headers})
                assert response.status_code == 403, (origin, path, response.text)
                assert response.json()["error_type"] == "forbidden"
        assert await count_rows(service) == 2
        record = (await service.client.get(f"/generations/{row.generation_id}")).json()
        assert (record["play_count"], record["is_favorited"], record["download_count"]) == (0, False, 0)
        # Reading is not acting: a GET from anywhere is answered (CORS decides what the page may read).
        assert (await service.client.get("/recent", headers=evil)).status_code == 200

        # The configured UI and the service's own pages may act.
        for origin in ("http://ui.example", "http://testserver"):
            response = await service.client.post(
                "/favorite", json={"generation_id": row.generation_id}, headers={"Origin": origin}
            )
            assert response.status_code == 200, (origin, response.text)


async def test_forwarded_for_is_believed_only_from_trusted_proxies(service_factory: ServiceFactory) -> None:
    async def statuses(service: Service) -> list[int]:
        return [
            (await service.client.get("/health", headers={"X-Forwarded-For": f"203.0.113.{i}"})).status_code
            for i in range(4)
        ]

    limits = {"rate_limits_enabled": True, "rate_limits": {"health": 2}}
    async with service_factory(**limits) as service:  # the test client connects from 127.0.0.1
        assert await statuses(service) == [200, 200, 429, 429]
    async with service_factory(**limits, trusted_proxies=["127.0.0.1"]) as service:
        assert await statuses(service) == [200, 200, 200, 200]  # one client each, as the proxy says
        spoofed = {"X-Forwarded-For": "203.0.113.0"}
        codes = [(await service.client.get("/health", headers=spoofed)).status_code for _ in range(2)]
        assert codes == [200, 429]
    async with service_factory(**limits, trusted_proxies="10.0.0.0/8") as service:
        assert await statuses(service) == [200, 200, 429, 429]


async def test_options_lists_every_method_of_a_path(service: Service) -> None:
    response = await service.client.options("/generations/0123456789abcdef0123456789abcdef")
    assert response.status_code == 204
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "DELETE", "OPTIONS"}


async def test_a_missing_body_says_what_to_send(service: Service) -> None:
    for path in ("/track-play", "/favorite"):
        response = await service.client.post(path)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error_type"] == "validation_error"
        assert response.json()["message"].startswith("the body is missing"), response.text
    # A body that is optional stays optional.
    assert (await service.client.post("/model/reload", headers=ADMIN)).status_code != 422


async def test_half_written_files_are_removed_at_start_up(
    service_factory: ServiceFactory, tmp_path: Path
) -> None:
    audio = tmp_path / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    orphan = audio / ".0123456789abcdef0123456789abcdef.wav.k3j2h1.part"
    orphan.write_bytes(b"RIFF half a file")
    kept = [audio / "notes.txt", audio / ".0123456789abcdef0123456789abcdef.wav"]
    for path in kept:
        path.write_bytes(b"not ours to remove")
    async with service_factory():
        assert not orphan.exists()
        assert all(path.exists() for path in kept)


async def test_loaded_at_is_iso_8601(service: Service) -> None:
    status = (await service.client.get("/model/status")).json()
    assert status["loaded_at"].endswith(("Z", "+00:00"))
    assert status["loaded_at"][:4].isdigit()
    assert "T" in status["loaded_at"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB filesystem of its own (tmpfs; needs the right to mount, as CI's root has)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_health_is_degraded_while_audio_dir_cannot_take_a_track(
    service_factory: ServiceFactory, small_disk: Path
) -> None:
    async with service_factory(audio_dir=small_disk / "audio") as service:
        health = (await service.client.get("/health")).json()
        assert health["status"] == "ok"
        assert health["storage"]["ok"] is True
        # 120 s of tiny-random's 32 kHz mono as 16-bit WAV: 7.7 MB, with some room to spare.
        assert 7_680_044 < health["storage"]["needed_bytes"] < 10_000_000

        filler = small_disk / "filler"
        with filler.open("wb") as handle:
            while True:
                try:
                    handle.write(b"\0" * (1 << 20))
                    handle.flush()
                except OSError:
                    break
        health = (await service.client.get("/health")).json()
        assert health["status"] == "degraded"
        assert health["storage"]["ok"] is False
        assert health["storage"]["free_bytes"] < health["storage"]["needed_bytes"]

        filler.unlink()
        assert (await service.client.get("/health")).json()["status"] == "ok"
