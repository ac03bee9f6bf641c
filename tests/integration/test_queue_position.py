"""`queue_position`: a waiting job's place in line, in its record and in its events, as the queue moves."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.integration.conftest import Service, owner, parse_sse


@pytest.fixture
def gate(service: Service, monkeypatch: pytest.MonkeyPatch) -> asyncio.Semaphore:
    """Jobs start (become `running`) but generate only once the test releases the gate, one at a time."""
    semaphore = asyncio.Semaphore(0)
    engines = service.jobs.engines
    original = engines.get

    async def gated(*args: Any, **kwargs: Any) -> Any:
        await semaphore.acquire()
        return await original(*args, **kwargs)

    monkeypatch.setattr(engines, "get", gated)
    return semaphore


async def submit(service: Service, prompt: str) -> dict[str, Any]:
    response = await service.client.post("/generate", json={"prompt": prompt, "duration": 5})
    assert response.status_code == 202, response.text
    return response.json()


async def position(service: Service, generation_id: str) -> tuple[str, int | None]:
    record = (await service.client.get(f"/generations/{generation_id}")).json()
    return record["status"], record["queue_position"]


async def test_queue_position_counts_down_as_jobs_run(
    service: Service, gate: asyncio.Semaphore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await submit(service, "first")
    await service.wait_status(first["generation_id"], {"running"})
    assert await position(service, first["generation_id"]) == ("running", None)

    second, third, fourth = [await submit(service, name) for name in ("second", "third", "fourth")]
    assert [second["queue_position"], third["queue_position"], fourth["queue_position"]] == [1, 2, 3]
    assert await position(service, fourth["generation_id"]) == ("queued", 3)
    listed = (await service.client.get("/recent", params={"status": "queued"})).json()
    assert {item["generation_id"]: item["queue_position"] for item in listed["items"]} == {
        second["generation_id"]: 1,
        third["generation_id"]: 2,
        fourth["generation_id"]: 3,
    }

    # Follow the last job's events from here on (once the stream has read the record it starts with).
    fourth_id = fourth["generation_id"]
    loaded = asyncio.Event()
    load = service.jobs.load

    async def load_and_tell(generation_id: str) -> Any:
        row = await load(generation_id)
        if generation_id == fourth_id:
            loaded.set()
        return row

    monkeypatch.setattr(service.jobs, "load", load_and_tell)
    stream = asyncio.create_task(service.client.get(f"/generations/{fourth_id}/events"))
    await asyncio.wait_for(loaded.wait(), 30)

    # A job leaving the queue moves the ones behind it up.
    canceled = await service.client.delete(f"/generations/{third['generation_id']}", headers=owner(third))
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["queue_position"] is None
    assert await position(service, fourth_id) == ("queued", 2)

    # The running job finishes: the next starts, the last is next in line.
    gate.release()
    await service.wait_status(first["generation_id"], {"succeeded"})
    await service.wait_status(second["generation_id"], {"running"})
    assert await position(service, second["generation_id"]) == ("running", None)
    assert await position(service, fourth_id) == ("queued", 1)

    gate.release()
    await service.wait_status(fourth_id, {"running"})
    assert await position(service, fourth_id) == ("running", None)
    gate.release()
    final = await service.wait_status(fourth_id, {"succeeded"})
    assert final["queue_position"] is None

    events = parse_sse((await asyncio.wait_for(stream, 60)).text)
    first_status = json.loads(events[0][1])
    assert (events[0][0], first_status["status"], first_status["queue_position"]) == ("status", "queued", 3)
    waiting = [json.loads(data)["queue_position"] for kind, data in events if kind == "progress"]
    assert [p for p in waiting if p is not None] == [2, 1]  # one event per move of the queue
    statuses = [json.loads(data)["status"] for kind, data in events if kind == "status"]
    assert statuses == ["queued", "running", "succeeded"]
    running_at = next(i for i, (kind, data) in enumerate(events) if kind == "status" and '"running"' in data)
    for kind, data in events[running_at:]:
        if kind == "progress":
            assert json.loads(data)["queue_position"] is None
            assert json.loads(data)["phase"] != "queued"


async def test_finished_and_unknown_rows_have_no_position(service: Service) -> None:
    row = await service.add_generation()
    record = (await service.client.get(f"/generations/{row.generation_id}")).json()
    assert record["queue_position"] is None
    # A queued row this process never queued (written by hand) has no known place.
    stray = await service.add_generation(status="queued")
    assert await position(service, stray.generation_id) == ("queued", None)
