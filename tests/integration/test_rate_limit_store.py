"""RATE_LIMIT_STORE: the rate-limit counters of several API processes, shared through one Redis server.

Two processes are two apps built by `create_app`, each with its own stores and Redis client, on the same
Redis database (15, emptied before and after each test). The Redis tests skip when the server is
unreachable, unless MUSICGENIE_REQUIRE_REDIS=1 (CI), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.lib.rate_limits import DEFAULT_LIMITS, rate_limit_stores
from app.settings import Settings
from tests.integration.conftest import Service, ServiceFactory

REDIS_URL = os.environ.get("MUSICGENIE_TEST_REDIS", "redis://127.0.0.1:6379/15")
REQUIRE_REDIS = os.environ.get("MUSICGENIE_REQUIRE_REDIS", "").strip().lower() in {"1", "true", "yes"}
HEALTH_LIMIT = 3


@pytest_asyncio.fixture
async def redis() -> AsyncIterator[Redis]:
    """A client on the test database, emptied before and after the test."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        await client.aclose()
        message = f"Redis at {REDIS_URL} is unreachable: {exc}"
        if REQUIRE_REDIS:
            pytest.fail(f"{message} (MUSICGENIE_REQUIRE_REDIS is set)", pytrace=False)
        pytest.skip(message)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


def health_store(service: Service) -> object:
    return service.app.stores.get("rate_limit_health")


async def test_two_processes_share_each_counter_through_redis(
    service_factory: ServiceFactory, redis: Redis
) -> None:
    options = {
        "rate_limits_enabled": True,
        "rate_limits": {"health": HEALTH_LIMIT},
        "rate_limit_store": REDIS_URL,
    }
    async with service_factory(**options) as first, service_factory(**options) as second:
        stores = [health_store(first), health_store(second)]
        assert all(isinstance(store, RedisStore) for store in stores), (
            f"RATE_LIMIT_STORE is set but the apps count in {stores}: "
            "does create_app pass stores=rate_limit_stores(settings)?"
        )
        assert stores[0]._redis is not stores[1]._redis  # a client each, as two processes have

        # Alternately: the two apps draw on one allowance of 3.
        for service, remaining in ((first, 2), (second, 1), (first, 0)):
            response = await service.client.get("/health")
            assert response.status_code == 200, response.text
            assert response.headers["ratelimit-remaining"] == str(remaining)

        limited = await second.client.get("/health")  # the 4th overall, the 2nd on this app
        assert limited.status_code == 429, limited.text
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        body = limited.json()
        assert body["error_type"] == "rate_limited"
        assert body["status_code"] == 429
        assert "GET /health" in body["message"]
        assert (await first.client.get("/health")).status_code == 429

        # Other limits count apart, in Redis too.
        assert (await second.client.get("/model/status")).status_code == 200
        assert await redis.keys("musicgenie:rate_limit:health*")
        assert await redis.keys("musicgenie:rate_limit:model_status*")


async def test_without_a_store_each_process_counts_alone(service_factory: ServiceFactory) -> None:
    options = {"rate_limits_enabled": True, "rate_limits": {"health": HEALTH_LIMIT}}
    async with service_factory(**options) as first, service_factory(**options) as second:
        assert isinstance(health_store(first), MemoryStore)
        assert health_store(first) is not health_store(second)
        for service in (first, second):
            for _ in range(HEALTH_LIMIT):
                assert (await service.client.get("/health")).status_code == 200
        for service in (first, second):
            assert (await service.client.get("/health")).status_code == 429


async def test_stores_of_every_limit_share_one_client_and_redis(redis: Redis) -> None:
    """Each limit a namespace of its own; two sets of stores (two processes) see each other's counts."""
    settings = Settings(rate_limit_store=REDIS_URL)
    one, other = rate_limit_stores(settings), rate_limit_stores(settings)
    try:
        assert set(one) == {f"rate_limit_{name}" for name in DEFAULT_LIMITS}
        assert all(isinstance(store, RedisStore) for store in one.values())
        assert len({store._redis for store in one.values()}) == 1  # one client per process
        assert len({store.namespace for store in one.values()}) == len(DEFAULT_LIMITS)
        assert one["rate_limit_health"].namespace == "musicgenie:rate_limit:health"

        await one["rate_limit_health"].set("key", b"counted", expires_in=60)
        assert await other["rate_limit_health"].get("key") == b"counted"
        assert await other["rate_limit_search"].get("key") is None
    finally:
        for stores in (one, other):
            for store in stores.values():
                await store.__aexit__(None, None, None)  # the first store closes the client


def test_in_memory_stores_without_rate_limit_store() -> None:
    stores = rate_limit_stores(Settings(rate_limit_store=None))
    assert set(stores) == {f"rate_limit_{name}" for name in DEFAULT_LIMITS}
    assert all(isinstance(store, MemoryStore) for store in stores.values())


@pytest.mark.parametrize(
    "url", ["memcached://127.0.0.1:11211", "http://127.0.0.1:6379", "127.0.0.1:6379", "memory"]
)
def test_settings_refuse_a_store_that_is_not_redis(url: str) -> None:
    with pytest.raises(ValueError, match=r"RATE_LIMIT_STORE must be a redis:// or rediss:// URL"):
        Settings(rate_limit_store=url)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://user:secret@cache.example:6380/2"])
def test_settings_take_redis_urls(url: str) -> None:
    assert Settings(rate_limit_store=url).rate_limit_store == url
