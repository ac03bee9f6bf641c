"""Rows a killed process left `running` or `queued` are handled at the next start; shutdown keeps queued."""

from __future__ import annotations

from app.db.models import utcnow
from tests.integration.conftest import ServiceFactory


async def test_rows_left_by_a_killed_process(service_factory: ServiceFactory) -> None:
    async with service_factory(wait_model=False) as first:
        running = await first.add_generation(
            status="running", duration=5, duration_requested=5, started_at=utcnow()
        )
        queued = await first.add_generation(status="queued", duration=5, duration_requested=5)
        # The app above started before these rows existed, as if a killed process had left them.
    async with service_factory() as second:
        interrupted = (await second.client.get(f"/generations/{running.generation_id}")).json()
        assert interrupted["status"] == "failed"
        assert interrupted["error_type"] == "interrupted"
        assert interrupted["finished_at"] is not None
        done = await second.wait_status(queued.generation_id, {"succeeded", "failed"})
        assert done["status"] == "succeeded", done
        assert second.jobs.storage.exists(queued.generation_id)


async def test_a_continuation_whose_track_is_gone_fails_instead_of_hanging(
    service_factory: ServiceFactory,
) -> None:
    async with service_factory(wait_model=False) as first:
        parent = await first.add_generation(duration=2.0)
        child = await first.add_generation(
            status="queued",
            duration=5,
            duration_requested=5,
            parent_id=parent.generation_id,
            prompt_seconds=2.0,
        )
        first.jobs.storage.delete(parent.generation_id)  # deleted after the continuation was queued
    async with service_factory() as second:
        done = await second.wait_status(child.generation_id, {"succeeded", "failed"})
        assert (done["status"], done["error_type"]) == ("failed", "file_missing"), done
        assert parent.generation_id in done["error_message"]


async def test_interrupted_rows_are_requeued_when_configured(service_factory: ServiceFactory) -> None:
    async with service_factory(wait_model=False) as first:
        running = await first.add_generation(
            status="running", duration=5, duration_requested=5, started_at=utcnow()
        )
    async with service_factory(requeue_interrupted=True) as second:
        done = await second.wait_status(running.generation_id, {"succeeded", "failed"})
        assert done["status"] == "succeeded", done


async def test_shutdown_leaves_queued_rows_queued(service_factory: ServiceFactory) -> None:
    async with service_factory(shutdown_grace_s=0.5) as service:
        long = (await service.client.post("/generate", json={"prompt": "long", "duration": 60})).json()
        waiting = (await service.client.post("/generate", json={"prompt": "waiting", "duration": 5})).json()
        await service.wait_status(long["generation_id"], {"running"})
    # Stopped: the waiting job stays queued; the running one outlived the grace period and was requeued.
    left_waiting = await service.jobs.load(waiting["generation_id"])
    left_running = await service.jobs.load(long["generation_id"])
    assert left_waiting.status == "queued"
    assert left_running.status == "queued"
    assert left_running.error_type is None
    assert left_running.started_at is None
    assert not service.jobs.storage.exists(long["generation_id"])


async def test_shutdown_lets_a_short_job_finish(service_factory: ServiceFactory) -> None:
    async with service_factory(shutdown_grace_s=30) as service:
        job = (await service.client.post("/generate", json={"prompt": "short", "duration": 5})).json()
        await service.wait_status(job["generation_id"], {"running"})
    finished = await service.jobs.load(job["generation_id"])
    assert finished.status == "succeeded"
    assert service.jobs.storage.exists(job["generation_id"])
