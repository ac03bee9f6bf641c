"""Paging through /recent, /search and /most-played: offset, total, the favourite filter, bounds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.db.models import utcnow
from tests.integration.conftest import Service


async def page_through(
    service: Service, path: str, limit: int, **params: Any
) -> tuple[list[str], list[dict]]:
    """Every page of `path` from offset 0 until a short page: the ids in order and each page's body."""
    ids: list[str] = []
    bodies: list[dict] = []
    offset = 0
    while True:
        response = await service.client.get(path, params={**params, "limit": limit, "offset": offset})
        assert response.status_code == 200, response.text
        body = response.json()
        bodies.append(body)
        assert (body["offset"], body["limit"]) == (offset, limit)
        assert body["count"] == len(body["items"]) <= limit
        ids.extend(item["generation_id"] for item in body["items"])
        if body["count"] < limit:
            return ids, bodies
        offset += body["count"]


async def add_library(service: Service) -> list[Any]:
    """23 finished rows, newest last; five share one timestamp (ties); every third is a favourite."""
    now = utcnow()
    rows = []
    for index in range(23):
        created = now - timedelta(minutes=60 - (12 if 8 <= index < 13 else index))
        rows.append(
            await service.add_generation(
                prompt=f"{'piano' if index % 2 else 'drums'} take {index}",
                created_at=created,
                is_favorited=index % 3 == 0,
            )
        )
    return rows


async def test_recent_pages_are_disjoint_and_add_up_to_the_total(service: Service) -> None:
    rows = await add_library(service)
    ids, bodies = await page_through(service, "/recent", 5)
    assert [len(body["items"]) for body in bodies] == [5, 5, 5, 5, 3]
    assert all(body["total"] == 23 for body in bodies)
    assert len(ids) == len(set(ids)) == 23
    assert set(ids) == {row.generation_id for row in rows}
    created = [item["created_at"] for body in bodies for item in body["items"]]
    assert created == sorted(created, reverse=True)
    assert ids[0] == rows[-1].generation_id

    # One request for everything gives the same order as the pages.
    everything = (await service.client.get("/recent", params={"limit": 100})).json()
    assert [item["generation_id"] for item in everything["items"]] == ids
    assert (everything["count"], everything["total"], everything["offset"]) == (23, 23, 0)

    past_the_end = (await service.client.get("/recent", params={"offset": 23})).json()
    assert (past_the_end["items"], past_the_end["count"], past_the_end["total"]) == ([], 0, 23)


async def test_favorite_filter_on_recent_and_search(service: Service) -> None:
    rows = await add_library(service)
    favourites = [row.generation_id for row in reversed(rows) if row.is_favorited]
    assert len(favourites) == 8
    ids, bodies = await page_through(service, "/recent", 3, favorite="true")
    assert ids == favourites
    assert all(body["total"] == 8 for body in bodies)
    assert all(item["is_favorited"] for body in bodies for item in body["items"])

    others = (await service.client.get("/recent", params={"favorite": "false", "limit": 100})).json()
    assert others["total"] == 15
    assert not any(item["is_favorited"] for item in others["items"])

    # favourites that also match the search: piano takes are the odd ones, favourites every third.
    piano_favourites = [
        row.generation_id for row in reversed(rows) if row.is_favorited and row.prompt.startswith("piano")
    ]
    found, pages = await page_through(service, "/search", 2, q="PIANO", favorite="true")
    assert found == piano_favourites
    assert all(body["total"] == len(piano_favourites) == 4 for body in pages)

    # Toggling the flag moves a track in and out of the filter.
    newest = rows[-1].generation_id
    assert not rows[-1].is_favorited
    await service.client.post("/favorite", json={"generation_id": newest})
    now_favourite = (await service.client.get("/recent", params={"favorite": "true", "limit": 1})).json()
    assert now_favourite["items"][0]["generation_id"] == newest
    assert now_favourite["total"] == 9


async def test_search_pages_are_disjoint_with_the_total(service: Service) -> None:
    rows = await add_library(service)
    drums = {row.generation_id for row in rows if row.prompt.startswith("drums")}
    ids, bodies = await page_through(service, "/search", 4, q="drums")
    assert len(ids) == len(set(ids)) == 12
    assert set(ids) == drums
    assert all(body["total"] == 12 for body in bodies)
    none = (await service.client.get("/search", params={"q": "no such thing"})).json()
    assert (none["items"], none["total"], none["count"]) == ([], 0, 0)


async def test_most_played_pages(service: Service) -> None:
    for plays in (5, 3, 3, 1, 0):
        await service.add_generation(prompt=f"{plays} plays", play_count=plays)
    await service.add_generation(prompt="waiting", status="queued")
    ids, bodies = await page_through(service, "/most-played", 2)
    assert len(set(ids)) == 4  # a track nobody played is not "most played"
    assert all(body["total"] == 4 for body in bodies)
    plays = [item["play_count"] for body in bodies for item in body["items"]]
    assert plays == [5, 3, 3, 1]


async def test_paging_parameters_have_bounds(service: Service) -> None:
    for path, base in (("/recent", {}), ("/search", {"q": "x"}), ("/most-played", {})):
        for bad in ({"offset": -1}, {"offset": 1_000_001}, {"offset": "two"}, {"limit": 0}, {"limit": 101}):
            response = await service.client.get(path, params={**base, **bad})
            assert response.status_code == 422, (path, bad, response.text)
            error = response.json()
            assert error["error_type"] == "validation_error"
            assert error["field"] == next(iter(bad))
        ok = await service.client.get(path, params={**base, "offset": 1_000_000, "limit": 100})
        assert ok.status_code == 200, ok.text
    for path, base in (("/recent", {}), ("/search", {"q": "x"})):
        response = await service.client.get(path, params={**base, "favorite": "maybe"})
        assert response.status_code == 422, response.text
        assert response.json()["error_type"] == "validation_error"
        assert response.json()["field"] == "favorite"
