"""`negative_prompt` through the API: kept on the record, steering the audio, refused without guidance."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from tests.integration.conftest import Service


async def _audio(service: Service, generation_id: str) -> np.ndarray:
    response = await service.client.get(f"/generations/{generation_id}/audio")
    assert response.status_code == 200
    return sf.read(io.BytesIO(response.content), dtype="float32")[0]


async def test_a_negative_prompt_is_kept_and_changes_the_track(service: Service) -> None:
    body = {"prompt": "ambient pads", "duration": 5, "seed": 11}
    plain = await service.client.post("/generate", json=body, headers={"Prefer": "wait=60"})
    steered = await service.client.post(
        "/generate", json={**body, "negative_prompt": "  loud drums  "}, headers={"Prefer": "wait=60"}
    )
    assert plain.status_code == steered.status_code == 201, steered.text
    record = steered.json()
    assert record["negative_prompt"] == "loud drums"
    assert plain.json()["negative_prompt"] is None
    fetched = (await service.client.get(f"/generations/{record['generation_id']}")).json()
    assert fetched["negative_prompt"] == "loud drums"
    same_seed = await _audio(service, plain.json()["generation_id"])
    assert not np.array_equal(same_seed, await _audio(service, record["generation_id"]))


async def test_a_form_with_audio_takes_a_negative_prompt(service: Service) -> None:
    upload = io.BytesIO()
    sf.write(upload, np.zeros(32000, dtype=np.float32), 32000, format="WAV")
    response = await service.client.post(
        "/generate",
        data={"prompt": "more", "duration": "5", "negative_prompt": "drums"},
        files={"audio": ("intro.wav", upload.getvalue(), "audio/wav")},
        headers={"Prefer": "wait=60"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["negative_prompt"] == "drums"


async def test_bad_negative_prompts_are_refused_and_nothing_is_queued(service: Service) -> None:
    cases = [
        ({"negative_prompt": "drums", "cfg_coef": 1}, "needs cfg_coef above 1"),
        ({"negative_prompt": "   "}, "negative_prompt"),
        ({"negative_prompt": "a\x00b"}, "negative_prompt"),
        ({"negative_prompt": "z" * 2001}, "negative_prompt"),
    ]
    for fields, message in cases:
        response = await service.client.post("/generate", json={"prompt": "x", "duration": 5, **fields})
        assert response.status_code == 422, (fields, response.text)
        assert response.json()["field"] == "negative_prompt"
        assert message in response.json()["message"]
    assert (await service.client.get("/recent")).json()["total"] == 0
