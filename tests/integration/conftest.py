"""The service on a real SQLite file and on a real PostgreSQL database, with the tiny-random model.

Each test gets a fresh app (its own queue, stores, AUDIO_DIR) on a database migrated once per session
and emptied before every test. PostgreSQL tests skip when the server is unreachable, unless
MUSICGENIE_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio
from advanced_alchemy.alembic.commands import AlembicCommands
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.asgi import create_app
from app.db.config import alchemy_config
from app.db.models import MusicGeneration, utcnow
from app.jobs.runtime import JobRuntime
from app.lib.storage import new_generation_id
from app.settings import Settings
from inference import Engine, EngineConfig

PG_SERVER = os.environ.get("MUSICGENIE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("MUSICGENIE_REQUIRE_POSTGRES", "").strip().lower() in {"1", "true", "yes"}
ADMIN_KEY = "test-admin-key"
ADMIN = {"X-Admin-Key": ADMIN_KEY}
TABLES = ("music_generations", "usage_stats", "system_metrics", "users", "benchmark_runs")


def in_thread(function: Callable[[], Any]) -> Any:
    """Run `function` in a thread of its own (for code that runs an event loop of its own)."""
    outcome: list[Any] = []
    failures: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]
    return outcome[0]


def migrate(url: str) -> None:
    """`musicgenie database upgrade`, as the CLI runs it (Alembic runs an event loop of its own)."""
    in_thread(lambda: AlembicCommands(alchemy_config(Settings(database_url=url))).upgrade())


async def _empty_tables(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as connection:
        for table in TABLES:
            await connection.execute(text(f"DELETE FROM {table}"))
    await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'musicgenie.db'}"
    migrate(url)
    return url


@pytest_asyncio.fixture(scope="session")
async def postgres_database() -> AsyncIterator[str]:
    """A database of its own on the server, created for this run and dropped after it."""
    import asyncpg

    server = PG_SERVER.replace("postgresql+asyncpg://", "postgresql://")
    try:
        admin = await asyncpg.connect(server, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL at {server} is unreachable: {exc}"
        if REQUIRE_POSTGRES:
            pytest.fail(f"{message} (MUSICGENIE_REQUIRE_POSTGRES is set)", pytrace=False)
        pytest.skip(message)
    name = f"musicgenie_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = server.rsplit("/", 1)[0]
    url = f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    try:
        migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test once per database, starting from empty tables."""
    url = request.getfixturevalue(f"{request.param}_database")
    in_thread(lambda: asyncio.run(_empty_tables(url)))
    return url


@pytest.fixture(scope="session")
def shared_engines(tiny_engine: Engine, model_cache_dir: Path) -> tuple[Callable, Callable]:
    """A loader that keeps each variant once per session (apps come and go; the model stays)."""
    engines: dict[tuple[object, ...], Engine] = {
        ("tiny-random", "reference", "cpu", "float32", 1): tiny_engine
    }
    lock = threading.Lock()

    def load(config: EngineConfig) -> Engine:
        key = (config.model, config.backend, config.device, config.precision, config.max_batch)
        with lock:
            engine = engines.get(key)
            if engine is None or not engine.loaded:
                engine = engines[key] = Engine.load(replace(config, cache_dir=str(model_cache_dir)))
            return engine

    def unload(_: Engine) -> None:  # shared: the session fixture unloads
        return None

    return load, unload


@dataclass
class Service:
    """A running app and an HTTP client on it."""

    app: Litestar
    client: httpx.AsyncClient
    settings: Settings

    @property
    def jobs(self) -> JobRuntime:
        return self.app.state.jobs

    async def generate(self, **body: Any) -> dict[str, Any]:
        """POST /generate; the record (with the creator's token)."""
        response = await self.client.post("/generate", json=body)
        assert response.status_code in (201, 202), response.text
        return response.json()

    async def remove(self, generation_id: str) -> httpx.Response:
        """DELETE /generations/{id} as the admin (cancel or delete)."""
        return await self.client.delete(f"/generations/{generation_id}", headers=ADMIN)

    async def wait_status(self, generation_id: str, statuses: set[str], within: float = 60) -> dict[str, Any]:
        """Poll the record until its status is one of `statuses`."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            record = (await self.client.get(f"/generations/{generation_id}")).json()
            if record["status"] in statuses:
                return record
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{generation_id} stayed {record['status']}, wanted {statuses}")
            await asyncio.sleep(0.05)

    async def add_generation(self, **fields: Any) -> MusicGeneration:
        """Insert a row directly (a finished one gets a real audio file through the storage code)."""
        values: dict[str, Any] = {
            "generation_id": new_generation_id(),
            "prompt": "a test tune",
            "status": "succeeded",
            "device": "cpu",
            "precision": "float32",
            "model": "tiny-random",
            "backend": "reference",
            "duration": 1.0,
            "duration_requested": 1.0,
            "top_k": 250,
            "top_p": 0.0,
            "temperature": 1.0,
            "cfg_coef": 3.0,
            "created_at": utcnow(),
        }
        values.update(fields)
        if values["status"] == "succeeded" and "file_path" not in values:
            rng = np.random.default_rng(len(self.jobs.queue.cancel_flags) + 1)
            samples = round(32000 * float(values["duration"]))  # a real file of the row's duration
            audio = (0.1 * rng.standard_normal((1, samples))).astype(np.float32)
            stored = self.jobs.storage.save(values["generation_id"], audio, 32000)
            values.update(
                file_path=stored.path.name,
                audio_url=f"/generations/{values['generation_id']}/audio",
                file_size_mb=stored.size_mb,
                sample_rate=stored.sample_rate,
                duration=stored.duration,
                generation_time=values.get("generation_time", 0.5),
                realtime_factor=values.get("realtime_factor", 2.0),
                finished_at=utcnow(),
            )
        row = MusicGeneration(**values)
        async with self.jobs.sessions() as session:
            session.add(row)
            await session.commit()
        return row


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """The app's lifespan in a task of its own (fixtures set up and tear down in different tasks)."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(serve(), name="app-lifespan")
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # start-up failed: raise its error
    try:
        yield
    finally:
        stop.set()
        await task


ServiceFactory = Callable[..., AbstractAsyncContextManager[Service]]


@pytest.fixture
def service_factory(
    database_url: str, tmp_path: Path, model_cache_dir: Path, shared_engines: tuple[Callable, Callable]
) -> ServiceFactory:
    """Start the app (lifespan included) with test settings plus `overrides`; wait for the model."""

    @asynccontextmanager
    async def start(
        *, real_loader: bool = False, wait_model: bool = True, **overrides: Any
    ) -> AsyncIterator[Service]:
        values: dict[str, Any] = {
            "database_url": database_url,
            "audio_dir": tmp_path / "audio",
            "model_cache_dir": model_cache_dir,
            "model": "tiny-random",
            "device": "cpu",
            "precision": "float32",
            "environment": "test",
            "admin_api_key": ADMIN_KEY,
            "rate_limits_enabled": False,
            "shutdown_grace_s": 2.0,
            "metrics_interval_s": 3600.0,
            "max_batch": 1,  # one job at a time, as most tests expect; batching tests ask for more
        }
        values.update(overrides)
        settings = Settings(**values)
        loader, unloader = (None, None) if real_loader else shared_engines
        app = create_app(settings, engine_loader=loader, engine_unloader=unloader)
        async with running(app):
            if wait_model:
                await app.state.jobs.engines.wait_ready()
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", timeout=120
            ) as client:
                yield Service(app, client, settings)

    return start


@pytest_asyncio.fixture
async def service(service_factory: ServiceFactory) -> AsyncIterator[Service]:
    async with service_factory() as running:
        yield running


def owner(record: dict[str, Any]) -> dict[str, str]:
    """The header that proves the request comes from the generation's creator."""
    return {"X-Generation-Token": record["token"]}


def parse_sse(body: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a server-sent event stream."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        event, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            events.append((event, "\n".join(data)))
    return events
