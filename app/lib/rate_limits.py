"""The seed's per-endpoint rate limits per client address, each with its own counter (store)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from litestar import Router
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.rate_limit import RateLimitConfig

from app.settings import Settings

OPT_KEY = "rate_limit"

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
    return RateLimitConfig(rate_limit=("minute", per_minute), store=f"rate_limit_{name}")


def with_rate_limits(
    handlers: Iterable[HTTPRouteHandler], settings: Settings
) -> list[HTTPRouteHandler | Router]:
    """Wrap the handlers marked `opt={"rate_limit": name}` in a router carrying that limit's middleware.

    Handlers sharing a name (POST and GET /download/{id}) share one router and one counter.
    """
    plain: list[HTTPRouteHandler | Router] = []
    grouped: dict[str, list[HTTPRouteHandler]] = defaultdict(list)
    for handler in handlers:
        name = handler.opt.get(OPT_KEY)
        if name is None or not settings.rate_limits_enabled:
            plain.append(handler)
        else:
            if name not in DEFAULT_LIMITS:
                raise ValueError(f"handler {handler} names an unknown rate limit {name!r}")
            grouped[name].append(handler)
    active = limits(settings)
    routers = [
        Router(path="/", route_handlers=group, middleware=[rate_limit_config(name, active[name]).middleware])
        for name, group in grouped.items()
    ]
    return [*plain, *routers]
