"""The seed's per-endpoint limits per client address, each with its own counter."""

from __future__ import annotations

from tests.integration.conftest import ServiceFactory


async def test_eleventh_generate_in_a_minute_is_429_while_recent_answers(
    service_factory: ServiceFactory,
) -> None:
    async with service_factory(rate_limits_enabled=True) as service:
        ids = []
        for _ in range(10):
            response = await service.client.post("/generate", json={"prompt": "quick", "duration": 5})
            assert response.status_code == 202, response.text
            ids.append(response.json()["generation_id"])
        limited = await service.client.post("/generate", json={"prompt": "one more", "duration": 5})
        assert limited.status_code == 429
        assert limited.json()["error_type"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert (await service.client.get("/recent")).status_code == 200
        assert (await service.client.get("/health")).status_code == 200
        for generation_id in reversed(ids):
            await service.remove(generation_id)
        assert (await service.client.get("/recent", params={"limit": 100})).json()["count"] == 10


async def test_each_limit_counts_separately(service_factory: ServiceFactory) -> None:
    async with service_factory(
        rate_limits_enabled=True, rate_limits={"model_status": 3, "stats": 2}
    ) as service:
        for _ in range(3):
            assert (await service.client.get("/model/status")).status_code == 200
        assert (await service.client.get("/model/status")).status_code == 429
        for _ in range(2):
            assert (await service.client.get("/stats")).status_code == 200
        assert (await service.client.get("/stats")).status_code == 429
        # POST /model/reload allows 2 a minute, counted apart from /model/status.
        for _ in range(2):
            assert (await service.client.post("/model/reload", json={})).status_code == 401
        assert (await service.client.post("/model/reload", json={})).status_code == 429
        assert (await service.client.get("/search", params={"q": "x"})).status_code == 200


async def test_get_and_post_download_share_one_counter(service_factory: ServiceFactory) -> None:
    async with service_factory(rate_limits_enabled=True, rate_limits={"download": 4}) as service:
        row = await service.add_generation()
        for method in ("GET", "POST", "GET", "POST"):
            assert (await service.client.request(method, f"/download/{row.generation_id}")).status_code == 200
        assert (await service.client.post(f"/download/{row.generation_id}")).status_code == 429
        assert (await service.client.get(f"/download/{row.generation_id}")).status_code == 429
        assert (await service.client.get(f"/generations/{row.generation_id}/audio")).status_code == 200
