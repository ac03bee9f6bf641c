"""The README's walk-through on the real commands: `musicgenie database upgrade`, `musicgenie run`."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]


def musicgenie() -> list[str]:
    script = Path(sys.executable).parent / "musicgenie"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path, model_cache_dir: Path, tiny_engine: object) -> str:
    """Migrate a fresh SQLite file and serve on a free port; stop the server afterwards."""
    env = {
        **os.environ,
        "MODEL": "tiny-random",
        "MODEL_CACHE_DIR": str(model_cache_dir),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'musicgenie.db'}",
        "AUDIO_DIR": str(tmp_path / "data" / "audio"),
        "ADMIN_API_KEY": "cli-test-key",
    }
    upgrade = subprocess.run(
        [*musicgenie(), "database", "upgrade"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    port = free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [*musicgenie(), "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                health = httpx.get(f"{base}/health", timeout=2)  # 60 a minute: poll once a second
                if health.status_code == 200 and health.json()["model"]["status"] == "ready":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(1.0)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_walkthrough_from_prompt_to_playable_file(server: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=server, timeout=60) as client:
        health = client.get("/health").json()
        assert health["database"]["dialect"] == "sqlite"
        assert health["status"] == "ok"

        created = client.post(
            "/generate", json={"prompt": "lo-fi beat with warm piano, 90 bpm", "duration": 5}
        )
        assert created.status_code == 202
        generation_id = created.json()["generation_id"]

        kinds, last = [], None
        with client.stream("GET", created.headers["location"] + "/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            event = None
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    kinds.append(event)
                    last = json.loads(line[5:])
        assert "progress" in kinds
        assert last["status"] == "succeeded"

        download = client.post(f"/download/{generation_id}", params={"format": "mp3"})
        assert download.status_code == 200
        (tmp_path / "song.mp3").write_bytes(download.content)
        audio, sample_rate = sf.read(tmp_path / "song.mp3")
        assert sample_rate == 32000
        assert 4.9 < len(audio) / sample_rate < 5.2

        ranged = client.get(f"/generations/{generation_id}/audio", headers={"Range": "bytes=0-43"})
        assert ranged.status_code == 206
        assert ranged.content[:4] == b"RIFF"
        info = sf.info(io.BytesIO(client.get(f"/generations/{generation_id}/audio").content))
        assert info.samplerate == 32000
