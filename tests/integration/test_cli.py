"""The service as `musicgenie run` serves it: the README's walk-through on a database nobody migrated,
SIGTERM with a follower attached, forwarded headers through the real server, the docs page offline."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import soundfile as sf

from tests.integration.live import REPO, live_server


def test_walkthrough_on_a_database_never_migrated(
    tmp_path: Path, model_cache_dir: Path, tiny_engine: object
) -> None:
    # As `MODEL=tiny-random make run` serves it (backend auto), without `musicgenie database upgrade`.
    with live_server(tmp_path / "data", model_cache_dir, BACKEND="auto", PRECISION="auto") as server:
        client = httpx.Client(base_url=server.base, timeout=60)
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


def test_sigterm_with_a_follower_stops_at_once_and_keeps_the_queue(
    tmp_path: Path, model_cache_dir: Path, tiny_engine: object
) -> None:
    with live_server(tmp_path / "data", model_cache_dir, SHUTDOWN_GRACE_S="0") as server:
        client = httpx.Client(base_url=server.base, timeout=30)
        running = client.post("/generate", json={"prompt": "long", "duration": 120}).json()
        waiting = [
            client.post("/generate", json={"prompt": f"next {i}", "duration": 5}).json() for i in range(2)
        ]
        while (record := client.get(f"/generations/{running['generation_id']}").json())["progress"][
            "step"
        ] < 2:
            assert record["status"] in {"queued", "running"}, record
            time.sleep(0.1)

        lines: list[str] = []
        following = threading.Event()

        def follow() -> None:
            with httpx.stream(
                "GET", f"{server.base}/generations/{running['generation_id']}/events", timeout=60
            ) as s:
                for line in s.iter_lines():
                    lines.append(line)
                    following.set()

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        assert following.wait(10)
        took = server.stop(signal.SIGTERM, timeout=30)
        follower.join(5)

    assert not follower.is_alive(), "the event stream did not end"
    assert took < 10, f"SIGTERM took {took:.1f} s with SHUTDOWN_GRACE_S=0\n{server.log()[-3000:]}"
    rows = server.rows()
    # The running job was stopped and requeued; the waiting ones never ran.
    assert rows[running["generation_id"]]["status"] == "queued"
    assert rows[running["generation_id"]]["started_at"] is None
    for record in waiting:
        assert rows[record["generation_id"]]["status"] == "queued"
        assert rows[record["generation_id"]]["started_at"] is None
    assert not list((server.data / "audio").glob("*.wav"))


def test_forwarded_for_from_loopback_gets_no_bucket_of_its_own(
    tmp_path: Path, model_cache_dir: Path, tiny_engine: object
) -> None:
    with live_server(tmp_path / "data", model_cache_dir, RATE_LIMITS='{"recent": 2}') as server:
        codes = [
            httpx.get(f"{server.base}/recent", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(3)
        ]
    assert codes == [200, 200, 429]


def test_the_api_reference_loads_nothing_from_elsewhere(
    tmp_path: Path, model_cache_dir: Path, tiny_engine: object
) -> None:
    with live_server(tmp_path / "data", model_cache_dir) as server:
        page = httpx.get(f"{server.base}/schema")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        assert urls, page.text
        assert not [url for url in urls if "//" in url], urls  # nothing from a CDN
        types = {httpx.get(f"{server.base}{url}").headers["content-type"].split(";")[0] for url in urls}
        assert {"text/javascript", "text/css"} <= types or {"application/javascript", "text/css"} <= types, (
            types
        )
        assert '"/generate"' in page.text  # the document itself is in the page
        assert httpx.get(f"{server.base}/schema/openapi.json").status_code == 200


def readme_walkthrough() -> str:
    """The README's walk-through as a script: the commands of its "terminal 2", continuation lines joined."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("MODEL=tiny-random make run                      # terminal 1", 1)[1]
    block = block.split("```", 1)[0]
    return block.split("# terminal 2", 1)[1].split("\n", 1)[1]


def test_the_readme_walkthrough_runs_as_written(
    tmp_path: Path, model_cache_dir: Path, tiny_engine: object
) -> None:
    script = readme_walkthrough()
    assert "curl" in script
    assert "/model/status" not in script  # 10 a minute: a ready-loop on it would trip the limit
    # The README's own rate limits stay on: the walk-through must not meet a 429.
    with live_server(tmp_path / "data", model_cache_dir) as server:
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script.replace("http://127.0.0.1:8000", server.base)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        log = server.log()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert '"status":"succeeded"' in run.stdout.replace(" ", "")
    assert (tmp_path / "song.mp3").stat().st_size > 10_000
    assert " 429 " not in log
    assert " 500 " not in log
    deleted = re.search(r'"DELETE /generations/[0-9a-f]{32} HTTP/1.1" (\d{3})', log)
    assert deleted is not None
    assert deleted.group(1) == "204"  # the token the walk-through kept was accepted


def test_invalid_settings_are_said_plainly_not_as_a_traceback(tmp_path: Path) -> None:
    import os
    import sys

    script = Path(sys.executable).parent / "musicgenie"
    for command, env, expected in (
        ("worker", {"QUEUE": "saq"}, "QUEUE=saq needs a PostgreSQL DATABASE_URL"),
        ("run", {"QUEUE_MAX_SIZE": "0"}, "QUEUE_MAX_SIZE: Input should be greater than or equal to 1"),
    ):
        done = subprocess.run(
            [str(script), command],
            cwd=tmp_path,
            env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert expected in done.stderr
        assert "Traceback" not in done.stderr
    idle = subprocess.run(
        [str(script), "worker"], cwd=tmp_path, env={**os.environ}, capture_output=True, text=True, timeout=120
    )
    assert idle.returncode == 2
    assert "a worker serves QUEUE=saq" in idle.stderr
