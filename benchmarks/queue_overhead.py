"""Queue overhead (issue 13): what the job system costs per job, with an engine that does nothing.

    python -m benchmarks.queue_overhead --jobs 200 --backends local saq

For each backend it makes a scratch PostgreSQL database, migrates it, starts the real API under uvicorn
in a process of its own (and, for QUEUE=saq, `--workers` worker processes: `WorkerHost`, as
`musicgenie worker` runs it), all with a no-op engine whose `generate` returns 0.1 s of silence at once,
then measures over real HTTP:

- **idle**: `--idle-jobs` jobs one after another, each `POST /generate` with `Prefer: wait=60` (it
  answers once the job has finished): `started_at - created_at` of each row (the queue's pick-up time)
  and the client's round trip (submit to finished, the events' way back included);
- **burst**: `--jobs` jobs submitted at once (`--concurrency` requests in flight): jobs/s from the first
  submit to the last `finished_at`, and each row's wait `started_at - created_at` (mostly the backlog).

Timestamps are the rows' (written by the API and worker processes on this machine's clock). The
worker processes get the no-op engine through a hidden `--_worker` mode of this module, which replaces
`EngineManager`'s loader in `app.jobs.saq_worker` before it builds the `WorkerHost`; nothing in app/
changes. Prints a markdown table; `--out FILE` writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

BACKENDS = ("local", "saq")
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE = "mg_bench_queue"
NOOP_SECONDS = 0.1  # the silent track every job gets
NOOP_SAMPLE_RATE = 32000
FINISHED = ("succeeded", "failed", "canceled")
READY_TIMEOUT_S = 120.0
PROMPT = "queue overhead probe"


# --- the no-op engine -----------------------------------------------------------------------------


class NoopEngine:
    """What `EngineManager` and the worker need of an `inference.Engine`, doing no work at all."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self._loaded = True

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def batch_capacity(self) -> int:
        return max(1, int(self.config.max_batch or 1))

    def info(self) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "description": "no-op engine (benchmarks.queue_overhead)",
            "random_weights": True,
            "backend": self.config.backend,
            "device": self.config.device,
            "device_name": "no-op",
            "precision": self.config.precision,
            "sample_rate": NOOP_SAMPLE_RATE,
            "channels": 1,
            "frame_rate": 50,
            "max_duration": 3600.0,
            "parameters": 0,
            "load_time_s": 0.0,
            "artifacts": None,
            "threads": None,
        }

    def generate(self, params: Any, on_progress: Any = None, cancel: Any = None, on_audio: Any = None) -> Any:
        """0.1 s of silence, at once."""
        import numpy as np

        from inference import GenerationResult
        from inference.types import Timings

        started = time.perf_counter()
        audio = np.zeros((1, round(NOOP_SECONDS * NOOP_SAMPLE_RATE)), dtype=np.float32)
        total = time.perf_counter() - started
        return GenerationResult(
            audio=audio,
            sample_rate=NOOP_SAMPLE_RATE,
            seed=params.seed if params.seed is not None else 0,
            model=self.config.model,
            backend=self.config.backend,
            device=self.config.device,
            precision=self.config.precision,
            steps=0,
            windows=1,
            timings=Timings(0.0, 0.0, 0.0, total),
            params=params,
        )

    def unload(self) -> None:
        self._loaded = False


def noop_load(config: Any) -> NoopEngine:
    return NoopEngine(config)


def noop_unload(engine: Any) -> None:
    engine.unload()


# --- the processes under test (hidden modes of this module) --------------------------------------


def serve_api(port: int) -> None:
    """`--_api`: the real app (settings from the environment) with the no-op engine, under uvicorn."""
    import uvicorn

    from app.asgi import create_app

    app = create_app(engine_loader=noop_load, engine_unloader=noop_unload)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_worker(name: str) -> None:
    """`--_worker`: `musicgenie worker` with the no-op engine (its `EngineManager`'s loader replaced)."""
    import functools
    import logging

    from app.jobs import saq_worker
    from app.jobs.engines import EngineManager
    from app.settings import get_settings

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    saq_worker.EngineManager = functools.partial(  # type: ignore[misc]
        EngineManager, loader=noop_load, unloader=noop_unload
    )
    asyncio.run(saq_worker.WorkerHost(get_settings(), name).run())


# --- figures --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100), linear between the closest ranks (numpy's default); NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class JobTimes:
    """One job's row times (epoch seconds) and, for idle jobs, the client's round trip."""

    created: float
    started: float
    finished: float
    round_trip: float | None = None

    @property
    def wait(self) -> float:
        """Seconds from the row's creation (in the POST) to its start on a worker."""
        return self.started - self.created


def spread_ms(values: Iterable[float]) -> dict[str, float]:
    """p50, p95, mean and max of seconds, in milliseconds (rounded to 0.01)."""
    ms = [1000 * v for v in values if math.isfinite(v)]
    if not ms:
        return {"p50": math.nan, "p95": math.nan, "mean": math.nan, "max": math.nan}
    return {
        "p50": round(percentile(ms, 50), 2),
        "p95": round(percentile(ms, 95), 2),
        "mean": round(sum(ms) / len(ms), 2),
        "max": round(max(ms), 2),
    }


def jobs_per_second(jobs: Sequence[JobTimes], first_submit: float) -> float:
    """Jobs finished per second, from the first submit to the last job's `finished_at`."""
    if not jobs:
        return 0.0
    wall = max(job.finished for job in jobs) - first_submit
    return len(jobs) / wall if wall > 0 else math.inf


@dataclass
class BackendResult:
    backend: str
    workers: int
    max_batch: int
    jobs: int
    idle_jobs: int
    jobs_per_s: float
    burst_wall_s: float
    submit_per_s: float
    idle_wait_ms: dict[str, float]
    idle_round_trip_ms: dict[str, float]
    burst_wait_ms: dict[str, float]
    failed: int = 0
    notes: list[str] = field(default_factory=list)


def summarize(
    backend: str,
    *,
    workers: int,
    max_batch: int,
    idle: Sequence[JobTimes],
    burst: Sequence[JobTimes],
    first_submit: float,
    last_answer: float,
    failed: int = 0,
) -> BackendResult:
    """The figures of one backend's run."""
    rate = jobs_per_second(burst, first_submit)
    wall = max((job.finished for job in burst), default=first_submit) - first_submit
    answered = last_answer - first_submit
    return BackendResult(
        backend=backend,
        workers=workers,
        max_batch=max_batch,
        jobs=len(burst),
        idle_jobs=len(idle),
        jobs_per_s=round(rate, 2),
        burst_wall_s=round(wall, 3),
        submit_per_s=round(len(burst) / answered, 2) if answered > 0 else math.inf,
        idle_wait_ms=spread_ms(job.wait for job in idle),
        idle_round_trip_ms=spread_ms(job.round_trip for job in idle if job.round_trip is not None),
        burst_wait_ms=spread_ms(job.wait for job in burst),
        failed=failed,
    )


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict[str, Any]:
    """The CPU, its cores and the load when the run started."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_1m": round(load[0], 2) if load else None,
        "python": platform.python_version(),
        "host": socket.gethostname(),
    }


def markdown_table(results: Sequence[BackendResult], env: dict[str, Any]) -> str:
    """The results as a small markdown table, with the machine above it."""
    lines = [
        f"CPU: {env['cpu']} ({env['cores']} cores, load {env['load_1m']} at start); no-op engine, "
        f"{NOOP_SECONDS:g} s of silence per job",
        "",
        "| Backend | Workers x batch | Burst jobs | Jobs/s | Burst wait p50 / p95 (ms) "
        "| Idle jobs | Submit→start p50 / p95 (ms) | Submit→finished p50 / p95 (ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.workers} x {r.max_batch} | {r.jobs} | {r.jobs_per_s:.1f} "
            f"| {r.burst_wait_ms['p50']:.0f} / {r.burst_wait_ms['p95']:.0f} | {r.idle_jobs} "
            f"| {r.idle_wait_ms['p50']:.1f} / {r.idle_wait_ms['p95']:.1f} "
            f"| {r.idle_round_trip_ms['p50']:.1f} / {r.idle_round_trip_ms['p95']:.1f} |"
        )
    notes = [f"- {r.backend}: {note}" for r in results for note in r.notes]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


# --- one backend's run ----------------------------------------------------------------------------


def asyncpg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def database_url(server: str, name: str) -> str:
    """`server` (a PostgreSQL URL) with its database replaced by `name`."""
    base = asyncpg_url(server).split("?", 1)[0].rsplit("/", 1)[0]
    return f"{base}/{name}"


async def recreate_database(server: str, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(asyncpg_url(server), timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(server: str, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(asyncpg_url(server), timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def migrate(url: str, log: Path) -> None:
    """`musicgenie database upgrade` on `url` (a process of its own: Alembic runs its own event loop)."""
    env = {**os.environ, "DATABASE_URL": url}
    with log.open("ab") as out:
        subprocess.run(
            [sys.executable, "-m", "app", "database", "upgrade"], env=env, stdout=out, stderr=out, check=True
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_env(backend: str, url: str, audio_dir: Path, args: argparse.Namespace) -> dict[str, str]:
    """The environment of the API and worker processes."""
    env = dict(os.environ)
    env.update(
        QUEUE=backend,
        DATABASE_URL=url,
        AUDIO_DIR=str(audio_dir),
        MODEL="tiny-random",  # never built: the no-op loader stands in for Engine.load
        MODEL_CACHE_DIR=str(audio_dir / "models"),
        BACKEND="reference",
        DEVICE="cpu",
        PRECISION="float32",
        MAX_BATCH=str(args.max_batch),
        QUEUE_MAX_SIZE="10000",
        RATE_LIMITS_ENABLED="false",
        ADMIN_API_KEY="bench-queue-overhead",
        ENVIRONMENT="test",
        METRICS_INTERVAL_S="3600",
        WORKER_HEARTBEAT_S=str(args.heartbeat),
        SHUTDOWN_GRACE_S="5",
        EMBEDDED_WORKER="false",
        FORWARDED_ALLOW_IPS="",
    )
    return env


class Processes:
    """The API and worker processes of one run, their logs under one folder."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(self, label: str, *mode: str) -> None:
        out = (self.logs / f"{label}.log").open("wb")
        command = [sys.executable, "-m", "benchmarks.queue_overhead", *mode]
        process = subprocess.Popen(command, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.running.append((label, process))

    def check(self) -> None:
        """Raise if one of them has died."""
        for label, process in self.running:
            if process.poll() is not None:
                raise RuntimeError(f"{label} exited with {process.returncode}:\n{self.tail(label)}")

    def tail(self, label: str, lines: int = 30) -> str:
        try:
            text = (self.logs / f"{label}.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the workers first (they hand back nothing: the queue is empty), then the API."""
        for _, process in reversed(self.running):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in reversed(self.running):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_ready(client: Any, processes: Processes, workers: int) -> None:
    """Until /model/status says ready (QUEUE=saq: with `workers` live workers ready)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = None
    while time.monotonic() < deadline:
        processes.check()
        try:
            response = await client.get("/model/status")
            last = response.text
            if response.status_code == 200:
                status = response.json()
                ready = [w for w in status.get("workers", []) if w.get("status") == "ready"]
                if status.get("status") == "ready" and len(ready) >= workers:
                    return
        except Exception as exc:  # not listening yet
            last = repr(exc)
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the service was not ready within {READY_TIMEOUT_S:.0f} s: {last}")


async def submit(client: Any, index: int, *, wait: bool) -> tuple[str, float, float, int]:
    """POST /generate; (id, sent, answered, HTTP status)."""
    headers = {"Prefer": "wait=60"} if wait else {}
    body = {"prompt": f"{PROMPT} {index}", "duration": 5, "seed": index}
    sent = time.time()
    response = await client.post("/generate", json=body, headers=headers)
    answered = time.time()
    if response.status_code not in (201, 202):
        raise RuntimeError(f"POST /generate answered {response.status_code}: {response.text[:500]}")
    return response.json()["generation_id"], sent, answered, response.status_code


async def read_rows(url: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    import asyncpg

    connection = await asyncpg.connect(asyncpg_url(url), timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT generation_id, status, created_at, started_at, finished_at "
            "FROM music_generations WHERE generation_id = ANY($1::text[])",
            list(ids),
        )
    finally:
        await connection.close()
    return {row["generation_id"]: dict(row) for row in rows}


async def wait_finished(url: str, ids: Sequence[str], within: float) -> dict[str, dict[str, Any]]:
    """Poll the database until every row of `ids` is finished; the rows."""
    import asyncpg

    deadline = time.monotonic() + within
    connection = await asyncpg.connect(asyncpg_url(url), timeout=10)
    try:
        while True:
            done = await connection.fetchval(
                "SELECT count(*) FROM music_generations "
                "WHERE generation_id = ANY($1::text[]) AND status = ANY($2::text[])",
                list(ids),
                list(FINISHED),
            )
            if done >= len(ids):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(ids) - done} of {len(ids)} jobs still unfinished after {within:.0f} s"
                )
            await asyncio.sleep(0.02)
    finally:
        await connection.close()
    return await read_rows(url, ids)


def epoch(value: datetime | None) -> float:
    if value is None:
        return math.nan
    return value.timestamp()


def times_of(row: dict[str, Any], round_trip: float | None = None) -> JobTimes:
    return JobTimes(epoch(row["created_at"]), epoch(row["started_at"]), epoch(row["finished_at"]), round_trip)


async def measure(backend: str, args: argparse.Namespace, logs: Path) -> BackendResult:
    """One backend: a fresh database, the processes, the idle and burst phases."""
    import httpx

    name = f"{args.database}_{backend}"
    url = database_url(args.server, name)
    await recreate_database(args.server, name)
    await asyncio.to_thread(migrate, url, logs / f"{backend}-migrate.log")
    audio_dir = Path(tempfile.mkdtemp(prefix=f"mg-queue-{backend}-"))
    processes = Processes(service_env(backend, url, audio_dir, args), logs)
    port = free_port()
    workers = args.workers if backend == "saq" else 1
    try:
        processes.spawn(f"{backend}-api", "--_api", str(port))
        if backend == "saq":
            for n in range(1, workers + 1):
                processes.spawn(f"{backend}-worker{n}", "--_worker", f"bench-w{n}")
        limits = httpx.Limits(
            max_connections=args.concurrency + 2, max_keepalive_connections=args.concurrency
        )
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits
        ) as client:
            await wait_ready(client, processes, workers)
            for index in range(args.warmup):  # first requests: connections, caches, lazy imports
                await submit(client, 900_000 + index, wait=True)

            idle_ids, round_trips = [], {}
            for index in range(args.idle_jobs):
                generation_id, sent, answered, status = await submit(client, index, wait=True)
                idle_ids.append(generation_id)
                round_trips[generation_id] = answered - sent if status == 201 else None
            idle_rows = await wait_finished(url, idle_ids, within=60) if idle_ids else {}

            gate = asyncio.Semaphore(args.concurrency)

            async def limited(index: int) -> tuple[str, float, float, int]:
                async with gate:
                    return await submit(client, 100_000 + index, wait=False)

            first_submit = time.time()
            answers = await asyncio.gather(*(limited(i) for i in range(args.jobs)))
            last_answer = max(answered for _, _, answered, _ in answers)
            burst_ids = [generation_id for generation_id, *_ in answers]
            burst_rows = await wait_finished(url, burst_ids, within=args.timeout)
        processes.check()
    except BaseException:
        for label, _ in processes.running:
            print(f"--- {label} log (tail) ---\n{processes.tail(label)}", file=sys.stderr)
        print(f"the logs are kept in {logs}", file=sys.stderr)
        raise
    finally:
        processes.stop()
        shutil.rmtree(audio_dir, ignore_errors=True)
        if not args.keep_databases:
            await drop_database(args.server, name)

    all_rows = [*idle_rows.values(), *burst_rows.values()]
    failed = sum(1 for row in all_rows if row["status"] != "succeeded")
    result = summarize(
        backend,
        workers=workers,
        max_batch=args.max_batch,
        idle=[times_of(idle_rows[i], round_trips[i]) for i in idle_ids],
        burst=[times_of(burst_rows[i]) for i in burst_ids],
        first_submit=first_submit,
        last_answer=last_answer,
        failed=failed,
    )
    if failed:
        result.notes.append(f"{failed} job(s) did not succeed (see the logs under {logs})")
    missing = sum(1 for t in round_trips.values() if t is None)
    if missing:
        result.notes.append(f"{missing} idle job(s) were not finished when `Prefer: wait` answered")
    return result


# --- command line ---------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        prog="python -m benchmarks.queue_overhead", description=__doc__.split("\n")[0]
    )
    parse.add_argument("--jobs", type=int, default=200, help="jobs of the burst (default 200)")
    parse.add_argument(
        "--idle-jobs", type=int, default=None, help="jobs one at a time, queue idle (default: min(jobs, 50))"
    )
    parse.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parse.add_argument("--workers", type=int, default=1, help="worker processes of QUEUE=saq (default 1)")
    parse.add_argument("--max-batch", type=int, default=1, help="MAX_BATCH: jobs a worker runs at once")
    parse.add_argument("--concurrency", type=int, default=8, help="POSTs in flight during the burst")
    parse.add_argument("--warmup", type=int, default=3, help="untimed jobs first (default 3)")
    parse.add_argument("--heartbeat", type=float, default=15.0, help="WORKER_HEARTBEAT_S (default 15)")
    parse.add_argument("--timeout", type=float, default=300.0, help="seconds the burst may take at most")
    parse.add_argument("--server", default=DEFAULT_SERVER, help="a PostgreSQL URL to create databases on")
    parse.add_argument("--database", default=DEFAULT_DATABASE, help="scratch database prefix")
    parse.add_argument("--keep-databases", action="store_true", help="leave the scratch databases")
    parse.add_argument("--out", type=Path, help="write the results as JSON here")
    parse.add_argument("--logs", type=Path, help="keep the API's and workers' logs in this folder")
    parse.add_argument("--_api", metavar="PORT", type=int, help=argparse.SUPPRESS)
    parse.add_argument("--_worker", metavar="NAME", help=argparse.SUPPRESS)
    return parse


def check_args(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the defaults that depend on others; refuse nonsense."""
    if args.idle_jobs is None:
        args.idle_jobs = min(args.jobs, 50)
    for option in ("jobs", "workers", "max_batch", "concurrency"):
        if getattr(args, option) < 1:
            raise SystemExit(f"--{option.replace('_', '-')} must be at least 1")
    if args.idle_jobs < 0 or args.warmup < 0:
        raise SystemExit("--idle-jobs and --warmup must be 0 or more")
    args.backends = list(dict.fromkeys(args.backends))
    return args


async def run(args: argparse.Namespace) -> list[BackendResult]:
    logs = args.logs or Path(tempfile.mkdtemp(prefix="mg-queue-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    results = []
    for backend in args.backends:
        started = time.monotonic()
        print(f"{backend}: {args.idle_jobs} idle jobs, then a burst of {args.jobs}...", file=sys.stderr)
        results.append(await measure(backend, args, logs))
        print(f"{backend}: done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    if args.logs is None:
        shutil.rmtree(logs, ignore_errors=True)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args._api is not None:
        serve_api(args._api)
        return
    if args._worker is not None:
        serve_worker(args._worker)
        return
    args = check_args(args)
    env = machine()
    run_id = uuid.uuid4().hex[:8]
    results = asyncio.run(run(args))
    print(markdown_table(results, env))
    if args.out is not None:
        payload = {
            "run_id": run_id,
            "machine": env,
            "settings": {
                "jobs": args.jobs,
                "idle_jobs": args.idle_jobs,
                "workers": args.workers,
                "max_batch": args.max_batch,
                "concurrency": args.concurrency,
                "noop_seconds": NOOP_SECONDS,
            },
            "results": [asdict(r) for r in results],
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
