"""Health, model status, admin reload, OpenAPI, errors without tracebacks, system metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db.models import SystemMetric, utcnow
from app.domain.generations.services import GenerationService
from tests.integration.conftest import ADMIN_KEY, Service, ServiceFactory


async def test_health_reports_database_model_queue_and_machine(service: Service) -> None:
    response = await service.client.get("/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["database"]["ok"] is True
    assert health["database"]["dialect"] in {"sqlite", "postgresql"}
    assert health["model"]["status"] == "ready"
    assert health["model"]["model"] == "tiny-random"
    assert health["queue"] == {"depth": 0, "capacity": 16, "running": [], "max_batch": 1, "accepting": True}
    system = health["system"]
    assert 0 <= system["memory_percent"] <= 100
    assert system["disk_free_gb"] > 0
    assert health["gpu"] is None or isinstance(health["gpu"], list)
    assert health["version"]
    assert health["uptime_s"] >= 0


async def test_health_answers_head_for_uptime_monitors(service_factory: ServiceFactory) -> None:
    async with service_factory(rate_limits_enabled=True, rate_limits={"health": 2}) as service:
        response = await service.client.head("/health")
        assert response.status_code == 200, response.text
        assert response.content == b""
        assert (await service.client.get("/health")).status_code == 200
        limited = await service.client.head("/health")  # one counter for GET and HEAD
        assert limited.status_code == 429
        assert limited.headers["retry-after"]


async def test_model_status(service: Service) -> None:
    status = (await service.client.get("/model/status")).json()
    assert status["status"] == "ready"
    assert status["model"] == "tiny-random"
    assert status["device"] == "cpu"
    assert status["precision"] == "float32"
    assert status["info"]["sample_rate"] == 32000
    assert status["info"]["random_weights"] is True
    assert status["error"] is None


async def test_model_status_lists_what_this_machine_can_run(service: Service) -> None:
    import torch

    from inference.backends import BACKENDS
    from inference.device import available_devices, supported_precisions

    status = (await service.client.get("/model/status")).json()
    devices = {entry["device"]: entry for entry in status["devices"]}
    assert [entry["device"] for entry in status["devices"]] == available_devices()
    assert devices["cpu"]["name"]
    assert "float32" in devices["cpu"]["precisions"]
    assert devices["cpu"]["precisions"] == supported_precisions("cpu")
    assert "float16" not in devices["cpu"]["precisions"]  # emulated on CPU: not offered
    assert ("cuda" in devices) == torch.cuda.is_available()
    assert [b["backend"] for b in status["backends"]] == list(BACKENDS)
    backends = {b["backend"]: b["precisions"] for b in status["backends"]}
    assert "float32" in backends["reference"]
    assert backends["native"] == ["int8"]  # the C step exists in int8 only

    # Every precision on offer is accepted by POST /generate on that device.
    for precision in devices["cpu"]["precisions"]:
        response = await service.client.post(
            "/generate", json={"prompt": "x", "duration": 5, "device": "cpu", "precision": precision}
        )
        assert response.status_code == 202, (precision, response.text)
        assert response.json()["precision"] == precision
        await service.remove(response.json()["generation_id"])


async def test_model_status_offers_only_the_precisions_of_a_fixed_backend(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inference.backends import backend_class

    monkeypatch.setattr(service.jobs.engines, "backend", "onnx")  # as BACKEND=onnx would set it
    status = (await service.client.get("/model/status")).json()
    cpu = next(entry for entry in status["devices"] if entry["device"] == "cpu")
    assert cpu["precisions"]
    assert set(cpu["precisions"]) <= set(backend_class("onnx").precisions)
    assert "bfloat16" not in cpu["precisions"]


async def test_reload_refuses_missing_or_wrong_admin_key(service: Service) -> None:
    missing = await service.client.post("/model/reload", json={})
    assert missing.status_code == 401
    assert missing.json()["error_type"] == "unauthorized"
    wrong = await service.client.post("/model/reload", json={}, headers={"X-Admin-Key": "not-the-key"})
    assert wrong.status_code == 403
    assert wrong.json()["error_type"] == "forbidden"
    empty = await service.client.post("/model/reload", json={}, headers={"X-Admin-Key": ""})
    assert empty.status_code == 401


async def test_reload_switches_precision_and_keeps_old_model_on_failure(service: Service) -> None:
    admin = {"X-Admin-Key": ADMIN_KEY}
    response = await service.client.post("/model/reload", json={"precision": "bfloat16"}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["precision"] == "bfloat16"
    assert response.json()["status"] == "ready"
    record = (await service.client.post("/generate", json={"prompt": "x", "duration": 5})).json()
    assert record["precision"] == "bfloat16"
    await service.remove(record["generation_id"])

    bad = await service.client.post("/model/reload", json={"model": "no-such-model"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["error_type"] == "unknown_model"
    cuda = await service.client.post("/model/reload", json={"device": "cuda"}, headers=admin)
    assert cuda.status_code == 422
    assert cuda.json()["error_type"] == "device_unavailable"
    invalid = await service.client.post("/model/reload", json={"precision": "float64"}, headers=admin)
    assert invalid.status_code == 422
    assert invalid.json()["field"] == "precision"
    status = (await service.client.get("/model/status")).json()
    assert (status["status"], status["model"], status["precision"]) == ("ready", "tiny-random", "bfloat16")


async def test_reload_lets_the_running_job_finish(service: Service) -> None:
    record = (await service.client.post("/generate", json={"prompt": "keeps going", "duration": 10})).json()
    await service.wait_status(record["generation_id"], {"running"})
    admin = {"X-Admin-Key": ADMIN_KEY}
    response = await service.client.post("/model/reload", json={"precision": "bfloat16"}, headers=admin)
    assert response.status_code == 200
    finished = await service.wait_status(record["generation_id"], {"succeeded", "failed", "canceled"})
    assert finished["status"] == "succeeded"
    assert finished["precision"] == "float32"


async def test_admin_key_is_generated_when_not_configured(service_factory: ServiceFactory) -> None:
    async with service_factory(admin_api_key=None) as service:
        key = service.app.state.admin_key
        assert len(key) >= 24
        assert (
            await service.client.post("/model/reload", json={}, headers={"X-Admin-Key": ADMIN_KEY})
        ).status_code == 403
        response = await service.client.post("/model/reload", json={}, headers={"X-Admin-Key": key})
        assert response.status_code == 200


async def test_openapi_lists_every_endpoint(service: Service) -> None:
    schema = (await service.client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in (
        "/generate",
        "/recent",
        "/most-played",
        "/search",
        "/stats",
        "/track-play",
        "/favorite",
        "/download/{generation_id}",
        "/health",
        "/model/status",
        "/model/reload",
        "/generations/{generation_id}",
        "/generations/{generation_id}/events",
        "/generations/{generation_id}/audio",
        "/generations/{generation_id}/peaks",
    ):
        assert path in paths, path
    assert set(paths["/download/{generation_id}"]) >= {"get", "post"}
    assert (await service.client.get("/schema")).status_code == 200


def _enum(schema: dict, node: dict) -> list:
    """The values of an enum, through a $ref or a oneOf with null."""
    if "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    for option in node.get("oneOf", [node]):
        if "enum" in option:
            return [value for value in option["enum"] if value is not None]
        if "$ref" in option:
            return _enum(schema, option)
    raise AssertionError(f"no enum in {node}")


async def test_openapi_carries_each_bound_and_vocabulary_from_its_one_source(service: Service) -> None:
    from app.db.models import STATUSES
    from app.domain.generations.schemas import DOWNLOAD_FORMATS, MAX_DURATION_S, MIN_DURATION_S, PHASES
    from inference.device import PRECISIONS
    from inference.types import MAX_PROMPT_CHARS

    schema = (await service.client.get("/schema/openapi.json")).json()
    components = schema["components"]["schemas"]
    body = components["GenerateRequest"]["properties"]
    assert (
        (body["duration"]["minimum"], body["duration"]["maximum"])
        == (MIN_DURATION_S, MAX_DURATION_S)
        == (5, 120)
    )
    assert body["prompt"]["maxLength"] == MAX_PROMPT_CHARS
    assert sorted(_enum(schema, body["precision"])) == sorted(PRECISIONS)
    assert components["GenerateRequest"]["additionalProperties"] is False
    assert sorted(_enum(schema, components["Generation"]["properties"]["status"])) == sorted(STATUSES)
    assert sorted(_enum(schema, components["Progress"]["properties"]["phase"])) == sorted(PHASES)
    download = schema["paths"]["/download/{generation_id}"]["get"]["parameters"]
    formats = next(p for p in download if p["name"] == "format")["schema"]
    assert sorted(_enum(schema, formats)) == sorted(DOWNLOAD_FORMATS) == ["flac", "mp3", "ogg", "wav"]


@pytest.mark.parametrize("debug", [False, True])
async def test_errors_never_carry_a_traceback(
    service_factory: ServiceFactory, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    async def explode(*_: object, **__: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(GenerationService, "recent", explode)
    async with service_factory(debug=debug) as service:
        response = await service.client.get("/recent")
        assert response.status_code == 500
        body = response.json()
        assert body["error_type"] == "internal_error"
        assert "Traceback" not in response.text
        assert "secret internal detail" not in response.text
        assert 'File "' not in response.text
        missing = await service.client.get("/no/such/path")
        assert missing.status_code == 404
        assert missing.json()["error_type"] == "not_found"
        wrong_method = await service.client.put("/recent")
        assert wrong_method.status_code == 405
        assert wrong_method.json()["error_type"] == "method_not_allowed"


async def test_system_metrics_are_sampled_and_pruned(service: Service) -> None:
    async with service.jobs.sessions() as session:
        session.add(SystemMetric(timestamp=utcnow() - timedelta(days=30), cpu_usage=1.0, memory_usage=1.0))
        await session.commit()
    metric = await service.jobs.sampler.sample()
    assert metric.cpu_usage is not None
    assert 0 <= metric.memory_usage <= 100
    assert metric.queue_depth == 0
    async with service.jobs.sessions() as session:
        rows = (await session.scalars(select(SystemMetric))).all()
    assert len(rows) == 1
    assert rows[0].timestamp > utcnow() - timedelta(minutes=1)


async def test_cors_allows_the_configured_origin(service_factory: ServiceFactory) -> None:
    async with service_factory(cors_origins="http://ui.example") as service:
        allowed = await service.client.get("/health", headers={"Origin": "http://ui.example"})
        assert allowed.headers["access-control-allow-origin"] == "http://ui.example"
        other = await service.client.get("/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
