"""Starts and stops the job system with the app, inside the database plugin's lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from app.jobs.runtime import JobRuntime

log = logging.getLogger("app")


class ServicePlugin(InitPluginProtocol):
    """Appends the job system's lifespan after the database plugin's: started after, stopped before it."""

    def __init__(self, jobs: JobRuntime, generated_admin_key: str | None) -> None:
        self.jobs = jobs
        self.generated_admin_key = generated_admin_key

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncGenerator[None, None]:
        if self.generated_admin_key:
            log.warning(
                "ADMIN_API_KEY is not set; admin key for this run (send it as X-Admin-Key): %s",
                self.generated_admin_key,
            )
        await self.jobs.start()
        try:
            yield
        finally:
            await self.jobs.stop()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self.lifespan)
        return app_config
