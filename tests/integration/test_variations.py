"""`variations`: several tracks of one request, generated together (MAX_BATCH jobs share each step)."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
from sqlalchemy import func, select

from app.db.models import MusicGeneration
from tests.integration.conftest import Service, ServiceFactory, owner

BATCHING = {"backend": "native", "precision": "int8", "max_batch": 3}


async def _audio(service: Service, generation_id: str) -> np.ndarray:
    response = await service.client.get(f"/download/{generation_id}", params={"format": "flac"})
    assert response.status_code == 200, response.text
    audio, _ = sf.read(io.BytesIO(response.content), dtype="float32")
    return audio


async def test_variations_are_made_together_each_with_its_seed(service_factory: ServiceFactory) -> None:
    async with service_factory(**BATCHING) as service:
        health = (await service.client.get("/health")).json()
        assert health["queue"]["max_batch"] == 3
        response = await service.client.post(
            "/generate",
            json={"prompt": "lo-fi beat, warm piano", "duration": 5, "seed": 10, "variations": 3},
            headers={"Prefer": "wait=60"},
        )
        assert response.status_code == 201, response.text
        first = response.json()
        batch = first["batch"]
        assert batch[0]["generation_id"] == first["generation_id"]
        assert len({record["generation_id"] for record in batch}) == 3
        assert {record["batch_id"] for record in batch} == {first["batch_id"]}
        assert first["batch_id"] is not None
        assert [record["seed"] for record in batch] == [10, 11, 12]
        assert all(record["status"] == "succeeded" for record in batch), batch
        # They ran at once: each started before the others finished.
        starts = [record["started_at"] for record in batch]
        ends = [record["finished_at"] for record in batch]
        assert max(starts) < min(ends)

        listed = (await service.client.get("/recent", params={"batch_id": first["batch_id"]})).json()
        assert listed["total"] == 3
        audios = [await _audio(service, record["generation_id"]) for record in batch]
        assert not np.allclose(audios[0], audios[1])  # different seeds, different music

        # A variation is the track its seed makes alone.
        alone = await service.client.post(
            "/generate",
            json={"prompt": "lo-fi beat, warm piano", "duration": 5, "seed": 11},
            headers={"Prefer": "wait=60"},
        )
        assert alone.status_code == 201, alone.text
        assert alone.json()["batch_id"] is None
        assert alone.json()["batch"][0]["generation_id"] == alone.json()["generation_id"]
        np.testing.assert_allclose(await _audio(service, alone.json()["generation_id"]), audios[1], atol=1e-3)

        # One token for the whole batch: the creator can delete any of them.
        response = await service.client.delete(
            f"/generations/{batch[2]['generation_id']}", headers=owner(first)
        )
        assert response.status_code == 204, response.text


async def test_variations_need_room_for_all_and_are_bounded(service_factory: ServiceFactory) -> None:
    async with service_factory(queue_max_size=2) as service:
        response = await service.client.post(
            "/generate", json={"prompt": "x", "duration": 5, "variations": 5}
        )
        assert response.status_code == 422, response.text
        assert response.json()["error_type"] == "validation_error"
        assert response.json()["field"] == "variations"
        response = await service.client.post(
            "/generate", json={"prompt": "x", "duration": 5, "variations": 3}
        )
        assert response.status_code == 429, response.text
        assert response.headers["retry-after"]
        assert response.json()["message"].startswith(
            "the generation queue has room for 2 more jobs, not the 3 asked for (0 waiting, at most 2)"
        ), response.text
        async with service.jobs.sessions() as session:
            assert int(await session.scalar(select(func.count(MusicGeneration.id)))) == 0  # nothing written
