"""Listing, searching, playing, favouriting and statistics over stored generations."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.db.models import utcnow
from tests.integration.conftest import Service

UNKNOWN_ID = "0123456789abcdef0123456789abcdef"


async def test_recent_lists_newest_first_with_limit_and_status(service: Service) -> None:
    now = utcnow()
    old = await service.add_generation(prompt="old", created_at=now - timedelta(hours=2))
    new = await service.add_generation(prompt="new", created_at=now - timedelta(hours=1))
    failed = await service.add_generation(
        prompt="broken", status="failed", error_type="internal_error", created_at=now
    )
    body = (await service.client.get("/recent")).json()
    assert [g["generation_id"] for g in body["items"]] == [
        failed.generation_id,
        new.generation_id,
        old.generation_id,
    ]
    assert body["count"] == 3
    limited = (await service.client.get("/recent", params={"limit": 1})).json()
    assert [g["prompt"] for g in limited["items"]] == ["broken"]
    succeeded = (await service.client.get("/recent", params={"status": "succeeded"})).json()
    assert [g["prompt"] for g in succeeded["items"]] == ["new", "old"]
    item = succeeded["items"][0]
    assert item["audio_url"] == f"/generations/{new.generation_id}/audio"
    assert item["download_url"] == f"/download/{new.generation_id}"
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"status": "done"}):
        response = await service.client.get("/recent", params=bad)
        assert response.status_code == 422, bad
        assert response.json()["error_type"] == "validation_error"
        assert response.json()["field"] == next(iter(bad))


async def test_most_played_orders_by_play_count(service: Service) -> None:
    quiet = await service.add_generation(prompt="quiet", play_count=1)
    loud = await service.add_generation(prompt="loud", play_count=9)
    await service.add_generation(prompt="never finished", status="queued")
    body = (await service.client.get("/most-played", params={"limit": 5})).json()
    assert [g["generation_id"] for g in body["items"]] == [loud.generation_id, quiet.generation_id]
    assert (await service.client.get("/most-played", params={"limit": 0})).status_code == 422


async def test_search_is_case_insensitive_and_literal(service: Service) -> None:
    for prompt in (
        "Lo-Fi Beat with warm piano",
        "lofi",
        "100% pure techno",
        "1000 pure techno",
        "snake_case groove",
        "snakeXcase groove",
        r"back\slash blues",
        "Ünïcode Chanson",
    ):
        await service.add_generation(prompt=prompt)

    async def search(q: str) -> list[str]:
        response = await service.client.get("/search", params={"q": q})
        assert response.status_code == 200, response.text
        return sorted(g["prompt"] for g in response.json()["items"])

    assert await search("LO-FI") == ["Lo-Fi Beat with warm piano"]
    assert await search("warm PIANO") == ["Lo-Fi Beat with warm piano"]
    assert await search("100%") == ["100% pure techno"]
    assert await search("%") == ["100% pure techno"]
    assert await search("snake_case") == ["snake_case groove"]
    assert await search("_") == ["snake_case groove"]
    assert await search("\\") == [r"back\slash blues"]
    assert await search(r"k\s") == [r"back\slash blues"]
    assert await search("chanson") == ["Ünïcode Chanson"]
    assert await search("no such thing") == []
    limited = await service.client.get("/search", params={"q": "o", "limit": 2})
    assert limited.json()["count"] == 2
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "x", "limit": 101}, {"q": "x" * 201}):
        response = await service.client.get("/search", params=params)
        assert response.status_code == 422, params
        assert response.json()["error_type"] == "validation_error"


async def test_track_play_counts_and_sets_last_played(service: Service) -> None:
    row = await service.add_generation()
    before = utcnow()
    response = await service.client.post(
        "/track-play", json={"generation_id": row.generation_id, "play_duration": 3.5}
    )
    assert response.status_code == 200
    assert response.json()["play_count"] == 1
    record = (await service.client.get(f"/generations/{row.generation_id}")).json()
    assert record["play_count"] == 1
    assert record["last_played"] is not None
    assert record["last_played"] >= before.isoformat().replace("+00:00", "")[:19]

    unknown = await service.client.post("/track-play", json={"generation_id": UNKNOWN_ID})
    assert unknown.status_code == 404
    assert unknown.json()["error_type"] == "not_found"
    traversal = await service.client.post("/track-play", json={"generation_id": "../../etc/passwd"})
    assert traversal.status_code == 404
    queued = await service.add_generation(status="queued")
    assert (
        await service.client.post("/track-play", json={"generation_id": queued.generation_id})
    ).status_code == 409
    for body in ({}, {"generation_id": row.generation_id, "play_duration": -1}, {"generation_id": 5}):
        response = await service.client.post("/track-play", json=body)
        assert response.status_code == 422, body
        assert response.json()["error_type"] == "validation_error"


async def test_200_concurrent_plays_count_exactly_200(service: Service) -> None:
    row = await service.add_generation()

    async def play() -> int:
        response = await service.client.post("/track-play", json={"generation_id": row.generation_id})
        return response.status_code

    statuses = await asyncio.gather(*(play() for _ in range(200)))
    assert statuses == [200] * 200
    record = (await service.client.get(f"/generations/{row.generation_id}")).json()
    assert record["play_count"] == 200


async def test_favorite_toggles(service: Service) -> None:
    row = await service.add_generation()
    first = await service.client.post("/favorite", json={"generation_id": row.generation_id})
    assert first.status_code == 200
    assert first.json() == {"generation_id": row.generation_id, "is_favorited": True}
    second = await service.client.post("/favorite", json={"generation_id": row.generation_id})
    assert second.json()["is_favorited"] is False


async def test_favorite_can_be_set_idempotently(service: Service) -> None:
    row = await service.add_generation()
    for value in (True, True, False, False, True):
        response = await service.client.post(
            "/favorite", json={"generation_id": row.generation_id, "favorite": value}
        )
        assert response.status_code == 200
        assert response.json()["is_favorited"] is value
    bad = await service.client.post("/favorite", json={"generation_id": row.generation_id, "favorite": "yes"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "favorite"
    assert (await service.client.post("/favorite", json={"generation_id": UNKNOWN_ID})).status_code == 404
    assert (await service.client.post("/favorite", json={})).status_code == 422


async def test_stats_totals_devices_days_and_storage(service: Service) -> None:
    await service.add_generation(generation_time=2.0, realtime_factor=0.5, play_count=3, is_favorited=True)
    second = await service.add_generation(generation_time=4.0, realtime_factor=0.25, download_count=2)
    await service.add_generation(
        device="cuda:0", precision="bfloat16", generation_time=1.0, realtime_factor=8.0
    )
    await service.add_generation(status="failed", error_type="internal_error")
    await service.add_generation(status="queued")
    await service.add_generation(prompt="long ago", created_at=utcnow() - timedelta(days=30))

    response = await service.client.get("/stats", params={"days": 7})
    assert response.status_code == 200
    stats = response.json()
    totals = stats["totals"]
    assert totals["generations"] == 5
    assert (totals["succeeded"], totals["failed"], totals["queued"]) == (3, 1, 1)
    assert totals["success_rate"] == 0.75
    assert totals["avg_generation_time"] == round((2.0 + 4.0 + 1.0) / 3, 3)
    assert totals["plays"] == 3
    assert totals["downloads"] == 2
    assert totals["favorites"] == 1
    devices = {(d["device"], d["precision"]): d for d in stats["by_device"]}
    assert devices["cpu", "float32"]["generations"] == 2
    assert devices["cpu", "float32"]["avg_realtime_factor"] == 0.375
    assert devices["cuda:0", "bfloat16"]["avg_generation_time"] == 1.0
    assert len(stats["daily"]) == 7
    today = stats["daily"][-1]
    assert today["date"] == utcnow().date().isoformat()
    # The days count the same rows as the totals.
    assert (today["total_generations"], today["successful_generations"], today["failed_generations"]) == (
        5,
        3,
        1,
    )
    assert sum(day["total_generations"] for day in stats["daily"]) == totals["generations"]
    assert today["avg_generation_time"] == totals["avg_generation_time"]
    # An empty day is a gap (no average), not a zero.
    assert all(day["total_generations"] == 0 for day in stats["daily"][:-1])
    assert all(day["avg_generation_time"] is None for day in stats["daily"][:-1])
    assert stats["storage"]["files"] == 4
    assert stats["storage"]["bytes"] > 0

    month = (await service.client.get("/stats", params={"days": 31})).json()
    assert month["totals"]["generations"] == 6

    # A deleted track leaves the totals and its day alike.
    assert (await service.remove(second.generation_id)).status_code == 204
    after = (await service.client.get("/stats", params={"days": 7})).json()
    assert after["totals"]["generations"] == after["daily"][-1]["total_generations"] == 4
    for days in (0, 366, "week"):
        response = await service.client.get("/stats", params={"days": days})
        assert response.status_code == 422
        assert response.json()["field"] == "days"
