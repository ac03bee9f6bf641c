"""Starts and stops the job system with the app, inside the database plugin's lifespan."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import FrameType

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from app.db.config import ensure_schema
from app.jobs.runtime import JobRuntime
from app.settings import Settings

log = logging.getLogger("app")

TERMINATION_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ServicePlugin(InitPluginProtocol):
    """Appends the job system's lifespan after the database plugin's: started after, stopped before it."""

    def __init__(self, jobs: JobRuntime, settings: Settings, generated_admin_key: str | None) -> None:
        self.jobs = jobs
        self.settings = settings
        self.generated_admin_key = generated_admin_key

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncGenerator[None, None]:
        await ensure_schema(self.settings)
        if self.generated_admin_key:
            log.warning(
                "ADMIN_API_KEY is not set; admin key for this run (send it as X-Admin-Key): %s",
                self.generated_admin_key,
            )
        await self.jobs.start()
        try:
            with on_termination(self.jobs.begin_shutdown):
                yield
        finally:
            await self.jobs.stop()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self.lifespan)
        return app_config


@contextmanager
def on_termination(callback: Callable[[], None]) -> Iterator[None]:
    """Run `callback` in the event loop as soon as SIGTERM or SIGINT arrives, then the server's own handler.

    A server (uvicorn) waits for open connections, event streams included, before the app's shutdown
    runs; this lets the job system stop taking jobs and end its streams first. Only a handler the server
    installed is chained (none under a plain script or a test runner); the previous one is restored after.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous: dict[int, Callable[[int, FrameType | None], object]] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(callback)
        previous[signum](signum, frame)

    for sig in TERMINATION_SIGNALS:
        current = signal.getsignal(sig)
        if callable(current) and current is not signal.default_int_handler:
            previous[sig] = current
            signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, prior in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, prior)
