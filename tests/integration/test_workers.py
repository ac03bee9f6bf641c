"""QUEUE=saq with real processes: `musicgenie run` API processes and `musicgenie worker` processes on one
PostgreSQL database, as a two-machine set-up runs them (here on one machine, sharing AUDIO_DIR).

What a user of such a set-up relies on: every job runs (on some worker) and says which; progress reaches
a follower on any API process; a cancel from any API process stops the job on its worker at once; a
worker killed mid-job loses nothing (another one finishes the job), one stopped with SIGTERM hands its
job back within its grace; the queue bound and (with Redis) the rate limits hold across API processes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import PG_SERVER, REQUIRE_POSTGRES, migrate, parse_sse
from tests.integration.live import ADMIN_KEY, REPO, free_port, musicgenie, stop_process

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

HEARTBEAT_S = 2
GRACE_S = 3
# For a job that is still decoding when a poll sees it: tiny-random's native step runs 30-50x realtime and
# the row shows progress at most every PROGRESS_WRITE_S, so a 20 s job can be over in 0.7 s, unseen.
LONG_JOB_S = 120


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    base: str | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> float:
        return stop_process(self.process, sig, timeout, lambda: f"{self.name}\n{self.log()}")


@dataclass
class Cluster:
    """API processes and workers on one database."""

    url: str
    root: Path
    model_cache_dir: Path
    procs: dict[str, Proc] = field(default_factory=dict)

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            **os.environ,
            "QUEUE": "saq",
            "DATABASE_URL": self.url,
            "MODEL": "tiny-random",
            "MODEL_CACHE_DIR": str(self.model_cache_dir),
            "AUDIO_DIR": str(self.root / "audio"),  # shared, as an NFS mount would be between machines
            "ADMIN_API_KEY": ADMIN_KEY,
            "WORKER_HEARTBEAT_S": str(HEARTBEAT_S),
            "SHUTDOWN_GRACE_S": str(GRACE_S),
            "REQUEUE_INTERRUPTED": "true",
            "MAX_BATCH": "2",
            "RATE_LIMITS_ENABLED": "false",
            **overrides,
        }

    def _spawn(self, name: str, args: list[str], env: dict[str, str], base: str | None = None) -> Proc:
        log_path = self.root / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [*musicgenie(), *args], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        proc = self.procs[name] = Proc(name, process, log_path, base)
        return proc

    def worker(self, name: str, **overrides: str) -> Proc:
        return self._spawn(name, ["worker"], self.env(WORKER_NAME=name, **overrides))

    def api(self, name: str, **overrides: str) -> Proc:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = ["run", "--host", "127.0.0.1", "--port", str(port)]
        return self._spawn(name, args, self.env(**overrides), base)

    def wait_api(self, proc: Proc, workers: int, within: float = 120) -> None:
        """Until the API answers and lists `workers` live workers, ready."""
        deadline = time.monotonic() + within
        while True:
            assert proc.process.poll() is None, proc.log()
            try:
                status = httpx.get(f"{proc.base}/model/status", timeout=2).json()
                ready = [w for w in status["workers"] if w["status"] == "ready"]
                if len(ready) >= workers:
                    return
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            assert time.monotonic() < deadline, "\n".join(p.log() for p in self.procs.values())
            time.sleep(0.5)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.process.poll() is None:
                proc.process.kill()
                proc.process.wait()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A database of its own, migrated, dropped afterwards."""
    import psycopg

    server = PG_SERVER.replace("postgresql+asyncpg://", "postgresql://")
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {server} is unreachable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL at {server} is unreachable: {exc}")
    name = f"musicgenie_workers_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{server.rsplit('/', 1)[0]}/{name}"
    try:
        migrate(url.replace("postgresql://", "postgresql+asyncpg://"))
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def cluster(
    database: str, tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path
) -> Iterator[Cluster]:
    """Two API processes (a, b) and two workers (w1, w2)."""
    cluster = Cluster(database, tmp_path_factory.mktemp("cluster"), model_cache_dir)
    try:
        for name in ("w1", "w2"):
            cluster.worker(name)
        for name in ("a", "b"):
            cluster.api(name)
        for name in ("a", "b"):
            cluster.wait_api(cluster.procs[name], workers=2)
        yield cluster
    finally:
        cluster.close()


def submit(api: Proc, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{api.base}/generate", json={"prompt": "a worker's job", "duration": 5, **body})
    assert response.status_code == 202, response.text
    return response.json()


def record(api: Proc, generation_id: str) -> dict[str, Any]:
    return httpx.get(f"{api.base}/generations/{generation_id}").json()


def wait_for(api: Proc, generation_id: str, done: Any, within: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        current = record(api, generation_id)
        if done(current):
            return current
        assert time.monotonic() < deadline, f"waited {within} s; the job is {current}"
        time.sleep(0.2)


def finished(row: dict[str, Any]) -> bool:
    return row["status"] in {"succeeded", "failed", "canceled"}


def decoding(row: dict[str, Any]) -> bool:
    return row["status"] == "running" and row["progress"]["step"] > 0


def test_six_jobs_all_succeed_and_both_workers_ran_some(cluster: Cluster) -> None:
    a, b = cluster.procs["a"], cluster.procs["b"]
    ids = [submit(a if i % 2 else b, prompt=f"job {i}")["generation_id"] for i in range(6)]
    rows = [wait_for(a, generation_id, finished) for generation_id in ids]
    assert [row["status"] for row in rows] == ["succeeded"] * 6, rows
    assert {row["worker"] for row in rows} == {"w1", "w2"}
    for row in rows:  # the worker wrote the file; the API process serves it
        audio = httpx.get(f"{b.base}{row['audio_url']}")
        assert audio.status_code == 200
        assert len(audio.content) > 1000
    status = httpx.get(f"{a.base}/health").json()
    assert status["queue"]["running"] == []  # this API process runs nothing itself
    assert {w["name"] for w in status["workers"]} == {"w1", "w2"}
    assert all(w["last_heartbeat"] and w["model"] == "tiny-random" for w in status["workers"])


def test_a_follower_on_another_api_process_sees_every_step(cluster: Cluster) -> None:
    job = submit(cluster.procs["a"], duration=5)
    url = f"{cluster.procs['b'].base}/generations/{job['generation_id']}/events"
    with httpx.stream("GET", url, timeout=60) as response:
        body = "".join(response.iter_text())
    events = parse_sse(body)
    statuses = [json.loads(data)["status"] for kind, data in events if kind == "status"]
    assert statuses[0] in {"queued", "running"}, statuses
    assert statuses[-1] == "succeeded", statuses
    progress = [json.loads(data) for kind, data in events if kind == "progress"]
    decoder = [p for p in progress if p["phase"] == "generating"]
    assert decoder, progress[:5]
    first, total = decoder[0]["step"], decoder[-1]["total_steps"]
    # Every step from the one it joined at (the job may have started before the follower came).
    assert [p["step"] for p in decoder] == list(range(first, total + 1)), "a step's event was lost"


def test_the_live_stream_of_a_workers_job_plays_from_another_api_process(cluster: Cluster) -> None:
    import soundfile

    a, b = cluster.procs["a"], cluster.procs["b"]
    job = submit(a, duration=LONG_JOB_S, seed=5)
    wait_for(a, job["generation_id"], decoding)  # a listener who joins late hears it from the start
    with httpx.stream("GET", f"{b.base}/generations/{job['generation_id']}/stream", timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "audio/mpeg"
        pieces, status_at_first = [], None
        for piece in response.iter_bytes():
            if status_at_first is None:
                status_at_first = record(a, job["generation_id"])["status"]
            pieces.append(piece)
        body = b"".join(pieces)
    assert status_at_first == "running", "the audio came only once the job was over (the stored file)"
    audio, rate = soundfile.read(io.BytesIO(body), dtype="float32", always_2d=True)
    done = wait_for(a, job["generation_id"], finished)
    assert rate == done["sample_rate"]
    assert LONG_JOB_S * rate <= audio.shape[0] <= LONG_JOB_S * rate + 4 * 1152  # every sample, in order


def test_cancel_from_another_api_process_stops_the_job_on_its_worker(cluster: Cluster) -> None:
    a, b = cluster.procs["a"], cluster.procs["b"]
    job = submit(a, duration=LONG_JOB_S)
    running = wait_for(a, job["generation_id"], decoding)
    started = time.monotonic()
    response = httpx.delete(
        f"{b.base}/generations/{job['generation_id']}",
        headers={"X-Generation-Token": job["token"]},
        timeout=30,
    )
    took = time.monotonic() - started
    assert response.status_code == 200, response.text
    canceled = response.json()
    assert canceled["status"] == "canceled", canceled
    assert canceled["worker"] == running["worker"]
    assert canceled["error_message"].startswith("canceled at step"), canceled
    assert took < 5, f"the cancel took {took:.1f} s"


def test_reload_reaches_every_worker_and_a_failed_one_keeps_the_old_model(cluster: Cluster) -> None:
    a, b = cluster.procs["a"], cluster.procs["b"]
    admin = {"X-Admin-Key": ADMIN_KEY}
    url = f"{a.base}/model/reload"
    reloaded = httpx.post(url, json={"precision": "float32"}, headers=admin, timeout=120)
    assert reloaded.status_code == 200, reloaded.text
    assert {(w["name"], w["precision"]) for w in reloaded.json()["workers"]} == {
        ("w1", "float32"),
        ("w2", "float32"),
    }
    failed = httpx.post(
        f"{b.base}/model/reload", json={"model": "/no/such/model"}, headers=admin, timeout=120
    )
    assert failed.status_code == 503, failed.text
    body = failed.json()
    assert body["error_type"] == "reload_failed"
    assert "worker w1:" in body["message"]
    assert "worker w2:" in body["message"]
    status = httpx.get(f"{a.base}/model/status").json()
    assert {(w["status"], w["model"], w["precision"]) for w in status["workers"]} == {
        ("ready", "tiny-random", "float32")
    }
    job = submit(a)
    done = wait_for(a, job["generation_id"], finished)
    assert (done["status"], done["precision"]) == ("succeeded", "float32")
    back = httpx.post(f"{b.base}/model/reload", json={"precision": "auto"}, headers=admin, timeout=120)
    assert back.status_code == 200, back.text


def test_a_worker_killed_mid_job_loses_nothing(cluster: Cluster) -> None:
    a = cluster.procs["a"]
    job = submit(a, duration=LONG_JOB_S)
    running = wait_for(a, job["generation_id"], decoding)
    victim = running["worker"]
    cluster.procs[victim].stop(signal.SIGKILL)
    # Picked up by the other worker within the heartbeat timeout, the sweep and SAQ's abort wait (5 s).
    done = wait_for(a, job["generation_id"], finished, within=60)
    assert done["status"] == "succeeded", done
    assert done["worker"] != victim
    cluster.worker(victim)  # back to two, for the tests after
    cluster.wait_api(a, workers=2)


def test_sigterm_hands_the_running_job_back_within_the_grace(cluster: Cluster) -> None:
    a = cluster.procs["a"]
    job = submit(a, duration=LONG_JOB_S)
    running = wait_for(a, job["generation_id"], decoding)
    leaving = running["worker"]
    took = cluster.procs[leaving].stop(signal.SIGTERM)
    assert took < GRACE_S + 10, f"the worker took {took:.1f} s to stop (grace {GRACE_S} s)"
    assert "did not finish within" in cluster.procs[leaving].log()
    done = wait_for(a, job["generation_id"], finished, within=90)
    assert done["status"] == "succeeded", done
    assert done["worker"] != leaving
    cluster.worker(leaving)
    cluster.wait_api(a, workers=2)


def test_with_requeueing_off_a_killed_workers_job_fails_as_interrupted(cluster: Cluster) -> None:
    """The worker that finds the dead worker's job decides by its REQUEUE_INTERRUPTED: here, off. It
    starts after the death (the job cannot finish first however fast the backend) and sweeps it up."""
    a = cluster.procs["a"]
    cluster.procs["w2"].stop(signal.SIGTERM)  # idle: gone at once; w1 takes the next job
    job = submit(a, duration=LONG_JOB_S)
    running = wait_for(a, job["generation_id"], decoding)
    assert running["worker"] == "w1"
    cluster.procs["w1"].stop(signal.SIGKILL)
    cluster.worker("w3", REQUEUE_INTERRUPTED="false")
    done = wait_for(a, job["generation_id"], finished, within=90)
    assert done["status"] == "failed", done
    assert done["error_type"] == "interrupted"
    assert done["error_message"] == "worker w1 stopped while this job was running; submit it again"
    assert done["worker"] == "w1"  # who ran it when it was lost


@pytest.fixture(scope="module")
def apis(database: str, tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path) -> Iterator[Cluster]:
    """Two API processes and no worker (jobs stay queued), on a database of their own."""
    import psycopg

    server = PG_SERVER.replace("postgresql+asyncpg://", "postgresql://")
    name = f"musicgenie_apis_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{server.rsplit('/', 1)[0]}/{name}"
    migrate(url.replace("postgresql://", "postgresql+asyncpg://"))
    cluster = Cluster(url, tmp_path_factory.mktemp("apis"), model_cache_dir)
    _flush_redis(14)
    overrides = {
        "QUEUE_MAX_SIZE": "3",
        "RATE_LIMITS_ENABLED": "true",
        "RATE_LIMITS": json.dumps({"health": 3, "generate": 100}),
        "RATE_LIMIT_STORE": "redis://127.0.0.1:6379/14",
    }
    try:
        for api in ("a", "b"):
            cluster.api(api, **overrides)
        for api in ("a", "b"):
            proc = cluster.procs[api]
            deadline = time.monotonic() + 60
            while True:
                assert proc.process.poll() is None, proc.log()
                try:
                    httpx.get(f"{proc.base}/schema/openapi.json", timeout=2)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, proc.log()
                    time.sleep(0.5)
        yield cluster
    finally:
        cluster.close()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _flush_redis(db: int) -> None:
    import redis

    with contextlib.suppress(redis.ConnectionError):  # the rate-limit test says so
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()


def test_the_queue_bound_holds_across_api_processes(apis: Cluster) -> None:
    a, b = apis.procs["a"], apis.procs["b"]
    for api in (a, b, a):
        submit(api)
    refused = httpx.post(f"{b.base}/generate", json={"prompt": "one too many", "duration": 5})
    assert refused.status_code == 429, refused.text
    assert refused.json()["error_type"] == "queue_full"
    assert refused.json()["message"].startswith("the generation queue is full (3 jobs waiting, at most 3)")
    assert int(refused.headers["Retry-After"]) >= 1
    listed = httpx.get(f"{a.base}/recent", params={"status": "queued"}).json()
    assert sorted(item["queue_position"] for item in listed["items"]) == [1, 2, 3]


def test_rate_limits_are_shared_through_redis(apis: Cluster) -> None:
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/14").ping()
    except redis.ConnectionError as exc:
        if os.environ.get("MUSICGENIE_REQUIRE_REDIS"):
            pytest.fail(f"Redis is unreachable: {exc}")
        pytest.skip(f"Redis is unreachable: {exc}")
    a, b = apis.procs["a"], apis.procs["b"]
    answers = [httpx.get(f"{api.base}/health").status_code for api in (a, b, a, b)]
    assert answers == [200, 200, 200, 429], answers


def test_an_api_process_with_an_embedded_worker_generates_alone(
    apis: Cluster, tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path
) -> None:
    """EMBEDDED_WORKER=true: one process serves and generates (on the `apis` database, whose own API
    processes have no worker: the embedded one runs their queued jobs too)."""
    alone = Cluster(apis.url, tmp_path_factory.mktemp("embedded"), model_cache_dir)
    try:
        api = alone.api(
            "solo", EMBEDDED_WORKER="true", WORKER_NAME="solo", AUDIO_DIR=str(apis.root / "audio")
        )
        alone.wait_api(api, workers=1)
        status = httpx.get(f"{api.base}/model/status").json()
        assert status["status"] == "ready"
        assert [w["name"] for w in status["workers"]] == ["solo"]
        listed = httpx.get(f"{api.base}/recent", params={"status": "queued"}).json()["items"]
        ids = [item["generation_id"] for item in listed] + [submit(api)["generation_id"]]
        done = [wait_for(api, generation_id, finished) for generation_id in ids]
        assert {row["status"] for row in done} == {"succeeded"}, done
        assert {row["worker"] for row in done} == {"solo"}
    finally:
        alone.close()
