"""The seed's per-endpoint rate limits per client address, each with its own counter (store).

A handler names its limit with `opt={"rate_limit": name}`; one app-level middleware applies Litestar's
`RateLimitMiddleware` for that name. Handlers sharing a name (POST and GET /download/{id}) share a
counter.

Counters live in memory, one set per process, unless RATE_LIMIT_STORE names a Redis server: then every
API process pointed at it shares them (`rate_limit_stores`).
"""

from __future__ import annotations

from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.types import ASGIApp, Receive, Scope, Send

from app.settings import Settings

OPT_KEY = "rate_limit"
REDIS_NAMESPACE = "musicgenie:rate_limit"

# Requests per minute per client address.
DEFAULT_LIMITS: dict[str, int] = {
    "generate": 10,
    "recent": 30,
    "most_played": 30,
    "search": 20,
    "stats": 20,
    "benchmarks": 20,
    "track_play": 100,
    "favorite": 60,
    "download": 30,
    "health": 60,
    "model_status": 10,
    "model_reload": 2,
}


def limits(settings: Settings) -> dict[str, int]:
    """The limits in force: the defaults with RATE_LIMITS' overrides."""
    unknown = set(settings.rate_limits) - set(DEFAULT_LIMITS)
    if unknown:
        raise ValueError(
            f"RATE_LIMITS names unknown limits {sorted(unknown)}; known: {sorted(DEFAULT_LIMITS)}"
        )
    return {**DEFAULT_LIMITS, **settings.rate_limits}


def rate_limit_config(name: str, per_minute: int) -> RateLimitConfig:
    """One limit with its own store, so each endpoint counts separately."""
    return RateLimitConfig(rate_limit=("minute", per_minute), store=store_name(name))


def store_name(name: str) -> str:
    """The app store that holds limit `name`'s counters."""
    return f"rate_limit_{name}"


def rate_limit_stores(settings: Settings) -> dict[str, Store]:
    """The stores of every limit, by store name, for `Litestar(stores=...)`.

    Without RATE_LIMIT_STORE: a `MemoryStore` each (this process counts alone). With a redis:// URL: a
    `RedisStore` each, under a namespace of its own (`musicgenie:rate_limit:{name}`), all on one client,
    so every API process pointed at the same server shares each counter. The client connects on first
    use and is closed with the app (by the first store, which its lifespan exits last).
    """
    if settings.rate_limit_store is None:
        return {store_name(name): MemoryStore() for name in DEFAULT_LIMITS}
    from litestar.stores.redis import RedisStore
    from redis.asyncio import Redis

    client = Redis.from_url(settings.rate_limit_store)
    return {
        store_name(name): RedisStore(
            client, namespace=f"{REDIS_NAMESPACE}:{name}", handle_client_shutdown=index == 0
        )
        for index, name in enumerate(DEFAULT_LIMITS)
    }


class RateLimits:
    """Middleware factory: each request goes through the limit its handler names (if any)."""

    def __init__(self, settings: Settings) -> None:
        self.configs = {name: rate_limit_config(name, n) for name, n in limits(settings).items()}

    def __call__(self, app: ASGIApp) -> ASGIApp:
        limited = {name: RateLimitMiddleware(app, config) for name, config in self.configs.items()}

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            handler = scope.get("route_handler")
            name = handler.opt.get(OPT_KEY) if handler is not None else None
            if name is None:
                await app(scope, receive, send)
                return
            if name not in limited:
                raise ValueError(f"handler {handler} names an unknown rate limit {name!r}")
            await limited[name](scope, receive, send)

        return middleware
