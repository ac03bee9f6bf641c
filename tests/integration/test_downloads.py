"""Downloads in four formats, HTTP Range for players, and ids that try to leave AUDIO_DIR."""

from __future__ import annotations

import io

import pytest
import soundfile as sf

from tests.integration.conftest import Service

SECRET = b"TOP-SECRET-BYTES-OUTSIDE-AUDIO-DIR"


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("wav", "audio/wav"), ("flac", "audio/flac"), ("ogg", "audio/ogg"), ("mp3", "audio/mpeg")],
)
async def test_download_formats_decode(service: Service, fmt: str, media_type: str) -> None:
    row = await service.add_generation(prompt='Café "quoted"\r\nSet-Cookie: x=1; ../../evil')
    for method in ("GET", "POST"):
        response = await service.client.request(
            method, f"/download/{row.generation_id}", params={"format": fmt}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media_type)
        disposition = response.headers["content-disposition"]
        assert disposition.startswith(
            f'attachment; filename="musicgenie-cafe-quoted-set-cookie-x-1-evil-{row.generation_id[:8]}.{fmt}"'
        )
        assert "\r" not in disposition
        assert "\n" not in disposition
        assert "/" not in disposition.split("''")[0]
        assert "set-cookie" not in {k.lower() for k in response.headers if k.lower() != "content-disposition"}
        audio, sample_rate = sf.read(io.BytesIO(response.content))
        assert sample_rate == 32000
        assert abs(len(audio) / sample_rate - row.duration) < 0.1  # mp3/ogg pad a little
    record = (await service.client.get(f"/generations/{row.generation_id}")).json()
    assert record["download_count"] == 2


async def test_download_errors(service: Service) -> None:
    row = await service.add_generation()
    bad_format = await service.client.get(f"/download/{row.generation_id}", params={"format": "aac"})
    assert bad_format.status_code == 422
    assert bad_format.json()["field"] == "format"
    unknown = await service.client.get("/download/0123456789abcdef0123456789abcdef")
    assert unknown.status_code == 404
    assert unknown.json()["error_type"] == "not_found"
    queued = await service.add_generation(status="queued")
    not_ready = await service.client.get(f"/download/{queued.generation_id}")
    assert not_ready.status_code == 409
    assert not_ready.json()["error_type"] == "not_ready"
    service.jobs.storage.delete(row.generation_id)
    gone = await service.client.get(f"/download/{row.generation_id}")
    assert gone.status_code == 410
    assert gone.json()["error_type"] == "file_missing"
    record = (await service.client.get(f"/generations/{row.generation_id}")).json()
    assert record["download_count"] == 0


async def test_audio_supports_http_range(service: Service) -> None:
    row = await service.add_generation()
    url = f"/generations/{row.generation_id}/audio"
    whole = await service.client.get(url)
    assert whole.status_code == 200
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"].startswith("inline;")
    size = len(whole.content)
    assert size == int(whole.headers["content-length"])
    assert whole.content[:4] == b"RIFF"

    first = await service.client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-99/{size}"
    assert first.content == whole.content[:100]
    tail = await service.client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206
    assert tail.content == whole.content[-10:]
    rest = await service.client.get(url, headers={"Range": f"bytes={size - 5}-"})
    assert rest.content == whole.content[-5:]
    clipped = await service.client.get(url, headers={"Range": f"bytes=10-{size * 2}"})
    assert clipped.headers["content-range"] == f"bytes 10-{size - 1}/{size}"
    beyond = await service.client.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    assert beyond.json()["error_type"] == "range_not_satisfiable"
    several = await service.client.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200  # several ranges: the whole file is a valid answer
    queued = await service.add_generation(status="queued")
    assert (await service.client.get(f"/generations/{queued.generation_id}/audio")).status_code == 409


async def send_raw(service: Service, method: str, raw_path: bytes) -> tuple[int, bytes]:
    """Send a path exactly as written (httpx would normalise `..`): straight to the ASGI app."""
    path, _, query = raw_path.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path.decode("latin-1"),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    status = 0
    body = b""

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    await service.app(scope, receive, send)
    return status, body


async def test_ids_never_reach_outside_audio_dir(service: Service) -> None:
    audio_dir = service.jobs.storage.root
    (audio_dir.parent / "secret.wav").write_bytes(SECRET)
    (audio_dir.parent / "passwd").write_bytes(SECRET)
    row = await service.add_generation()
    assert (await service.client.get(f"/download/{row.generation_id}")).status_code == 200

    ids = [
        "../../etc/passwd",
        "../secret",
        "../secret.wav",
        "..%2F..%2Fetc%2Fpasswd",
        "..%2Fsecret",
        "%2e%2e%2fsecret",
        "%252e%252e%252fsecret",
        "..\\secret",
        f"{row.generation_id}/../../secret",
        f"..%2F{row.generation_id}",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "secret%00",
        "." * 32,
    ]
    paths = []
    for ident in ids:
        paths += [
            f"/download/{ident}",
            f"/download/{ident}?format=flac",
            f"/generations/{ident}/audio",
            f"/generations/{ident}",
            f"/generations/{ident}/events",
            f"/generations/{ident}/peaks",
        ]
    for path in paths:
        for method in ("GET", "POST"):
            status, body = await send_raw(service, method, path.encode())
            assert SECRET not in body, path
            assert b"root:" not in body, path
            assert status in {400, 404, 405}, (path, status, body[:200])
            if method == "GET" and status != 405:
                assert status == 404, (path, status)
    for body in ({"generation_id": "../secret"}, {"generation_id": "../../etc/passwd"}):
        assert (await service.client.post("/track-play", json=body)).status_code == 404
        assert (await service.client.post("/favorite", json=body)).status_code == 404
    assert (audio_dir.parent / "secret.wav").read_bytes() == SECRET  # nothing deleted or overwritten
    assert (await service.client.delete("/generations/..%2Fsecret")).status_code == 404
    assert (audio_dir.parent / "secret.wav").exists()


async def test_peaks_bound_the_samples_of_each_slice(service: Service) -> None:
    import numpy as np

    row = await service.add_generation()
    audio, sample_rate = sf.read(str(service.jobs.storage.path_for(row.generation_id)), dtype="float32")
    response = await service.client.get(f"/generations/{row.generation_id}/peaks", params={"count": 100})
    assert response.status_code == 200, response.text
    assert "max-age" in response.headers["cache-control"]
    peaks = response.json()
    assert (peaks["generation_id"], peaks["count"], peaks["sample_rate"], peaks["channels"]) == (
        row.generation_id,
        100,
        sample_rate,
        1,
    )
    assert abs(peaks["duration"] - len(audio) / sample_rate) < 1e-3
    assert len(peaks["min"]) == len(peaks["max"]) == 100
    slices = np.array_split(audio, 100)  # 32000 samples: the same 100 slices of 320
    assert np.allclose(peaks["max"], [s.max() for s in slices], atol=1e-4)
    assert np.allclose(peaks["min"], [s.min() for s in slices], atol=1e-4)
    assert all(low <= high for low, high in zip(peaks["min"], peaks["max"], strict=True))
    assert max(peaks["max"]) > 0 > min(peaks["min"])

    default = (await service.client.get(f"/generations/{row.generation_id}/peaks")).json()
    assert default["count"] == 1000
    for bad in (0, 10_001, "many"):
        response = await service.client.get(f"/generations/{row.generation_id}/peaks", params={"count": bad})
        assert response.status_code == 422, bad
        assert response.json()["error_type"] == "validation_error"
        assert response.json()["field"] == "count"


async def test_peaks_of_a_short_file_missing_file_and_unfinished_job(service: Service) -> None:
    import numpy as np

    row = await service.add_generation()
    short = service.jobs.storage.save(row.generation_id, np.full((1, 50), 0.5, dtype=np.float32), 32000)
    assert short.duration < 0.01
    response = await service.client.get(f"/generations/{row.generation_id}/peaks", params={"count": 500})
    peaks = response.json()
    assert peaks["count"] == len(peaks["max"]) == 50  # one slice per sample

    service.jobs.storage.delete(row.generation_id)
    gone = await service.client.get(f"/generations/{row.generation_id}/peaks")
    assert gone.status_code == 410
    assert gone.json()["error_type"] == "file_missing"
    queued = await service.add_generation(status="queued")
    early = await service.client.get(f"/generations/{queued.generation_id}/peaks")
    assert early.status_code == 409
    assert early.json()["error_type"] == "not_ready"
    unknown = await service.client.get("/generations/0123456789abcdef0123456789abcdef/peaks")
    assert unknown.status_code == 404
    assert unknown.json()["error_type"] == "not_found"
