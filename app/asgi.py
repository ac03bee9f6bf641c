"""`create_app()`: the Litestar application of Music Genie."""

from __future__ import annotations

import secrets
from functools import partial

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.logging import LoggingConfig
from litestar.types import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app import __version__
from app.db.config import alchemy_config
from app.domain.benchmarks import controllers as benchmarks
from app.domain.benchmarks.services import RecordedRankings
from app.domain.generations import controllers as generations
from app.domain.stats import controllers as stats
from app.domain.system import controllers as system
from app.jobs.engines import EngineManager, Loader, Unloader
from app.jobs.runtime import JobRuntime
from app.lib.allow import allow_every_method
from app.lib.api_docs import docs_assets_router, openapi_config
from app.lib.auth import ADMIN_HEADER, TOKEN_HEADER
from app.lib.bodies import json_body
from app.lib.cross_site import OriginCheck
from app.lib.dependencies import constant
from app.lib.errors import EXCEPTION_HANDLERS
from app.lib.frontend import frontend_router
from app.lib.rate_limits import RateLimits, rate_limit_stores
from app.lib.schema import StrictStructSchemaPlugin
from app.lib.storage import AudioStorage
from app.lib.uploads import UploadLimits
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
    middleware: list[Middleware] = [allow_every_method]
    if settings.trusted_proxies:  # first: the rate limits count the client a trusted proxy names
        middleware.append(partial(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies))
    if settings.rate_limits_enabled:
        middleware.append(RateLimits(settings))
    middleware.append(UploadLimits(settings))  # body limits of uploads, after the rate limits count
    level = "DEBUG" if settings.debug else "INFO"
    return Litestar(
        route_handlers=[*handlers, docs_assets_router(), frontend_router()],  # the UI last
        dependencies={**generations.DEPENDENCIES, "jobs": constant(jobs), "settings": constant(settings)},
        guards=[OriginCheck(settings.cors_origins), json_body],
        middleware=middleware,
        plugins=[
            SQLAlchemyPlugin(config=database),
            ServicePlugin(jobs, settings, generated_key),
            StrictStructSchemaPlugin(),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        cors_config=CORSConfig(
            allow_origins=settings.cors_origins,
            allow_headers=["Content-Type", "Prefer", "Range", ADMIN_HEADER, TOKEN_HEADER],
            expose_headers=[
                "Location",
                "Retry-After",
                "Preference-Applied",
                "Content-Range",
                "Content-Disposition",
            ],
        ),
        openapi_config=openapi_config(__version__),
        logging_config=LoggingConfig(
            root={"level": level, "handlers": ["queue_listener"]},
            loggers={
                "app": {"level": level, "propagate": True},
                "saq": {"level": "WARNING", "propagate": True},  # not a line per job enqueued
            },
            log_exceptions="never",
        ),
        stores=rate_limit_stores(settings),
        state=State({"settings": settings, "jobs": jobs, "admin_key": admin_key}),
        debug=settings.debug,
    )
