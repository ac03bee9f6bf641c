"""`create_app()`: the Litestar application of Music Genie."""

from __future__ import annotations

import secrets

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from app import __version__
from app.db.config import alchemy_config
from app.domain.benchmarks import controllers as benchmarks
from app.domain.benchmarks.services import RecordedRankings
from app.domain.generations import controllers as generations
from app.domain.stats import controllers as stats
from app.domain.system import controllers as system
from app.jobs.engines import EngineManager, Loader, Unloader
from app.jobs.runtime import JobRuntime
from app.lib.errors import EXCEPTION_HANDLERS
from app.lib.frontend import frontend_router
from app.lib.rate_limits import with_rate_limits
from app.lib.storage import AudioStorage
from app.plugin import ServicePlugin
from app.settings import Settings, get_settings


def create_app(
    settings: Settings | None = None,
    *,
    engine_loader: Loader | None = None,
    engine_unloader: Unloader | None = None,
) -> Litestar:
    """Build the app from `settings` (default: the environment).

    `engine_loader`/`engine_unloader` replace `Engine.load`/`Engine.unload` (tests share one model).
    """
    settings = settings or get_settings()
    database = alchemy_config(settings)
    engine_kwargs = {}
    if engine_loader is not None:
        engine_kwargs["loader"] = engine_loader
    if engine_unloader is not None:
        engine_kwargs["unloader"] = engine_unloader
    engines = EngineManager(settings, rankings=RecordedRankings(database.get_session), **engine_kwargs)
    jobs = JobRuntime(settings, engines, AudioStorage(settings.audio_dir), database.get_session)
    generated_key = None if settings.admin_api_key else secrets.token_urlsafe(24)
    admin_key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else generated_key
    handlers = [*generations.HANDLERS, *stats.HANDLERS, *benchmarks.HANDLERS, *system.HANDLERS]
    level = "DEBUG" if settings.debug else "INFO"
    return Litestar(
        route_handlers=[*with_rate_limits(handlers, settings), frontend_router()],  # the UI last
        dependencies=generations.DEPENDENCIES,
        plugins=[SQLAlchemyPlugin(config=database), ServicePlugin(jobs, generated_key)],
        exception_handlers=EXCEPTION_HANDLERS,
        cors_config=CORSConfig(
            allow_origins=settings.cors_origins,
            allow_headers=["Content-Type", "Prefer", "Range", "X-Admin-Key"],
            expose_headers=[
                "Location",
                "Retry-After",
                "Preference-Applied",
                "Content-Range",
                "Content-Disposition",
            ],
        ),
        openapi_config=OpenAPIConfig(
            title="Music Genie",
            version=__version__,
            description="Text to music: queue generations, follow their progress, play and download audio.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin()],
        ),
        logging_config=LoggingConfig(
            root={"level": level, "handlers": ["queue_listener"]},
            loggers={"app": {"level": level, "propagate": True}},
            log_exceptions="never",
        ),
        state=State({"settings": settings, "jobs": jobs, "admin_key": admin_key}),
        debug=settings.debug,
    )
