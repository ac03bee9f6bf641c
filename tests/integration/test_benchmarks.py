"""`musicgenie bench` into a real database, `GET /benchmarks`, benchmarks in `/stats`, and `auto` tuning."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.db.models import BenchmarkRun, utcnow
from benchmarks.cli import bench_command
from inference.tuning import DEFAULT_ORDER
from tests.integration.conftest import Service, ServiceFactory


async def _rows(url: str) -> list[BenchmarkRun]:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as connection:
        rows = (await connection.execute(select(BenchmarkRun).order_by(BenchmarkRun.id))).all()
    await engine.dispose()
    return rows


async def test_bench_records_every_run_and_writes_the_report(
    database_url: str, tmp_path: Path, model_cache_dir: Path
) -> None:
    args = [
        *("--model", "tiny-random", "--durations", "0.5", "--repeats", "1", "--warmup", "0.1", "--quiet"),
        *("--variants", "torch:float32", "reference:float32", "nosuch:int8"),
        *("--database-url", database_url, "--output-dir", str(tmp_path / "out")),
        *("--cache-dir", str(model_cache_dir), "--device", "cpu"),
    ]
    result = await asyncio.to_thread(CliRunner().invoke, bench_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Skipped:\n\n- nosuch:int8" in result.output, result.output  # the only one skipped
    assert "Memory read rate just before each variant" in result.output
    rows = await _rows(database_url)
    assert [(r.backend, r.precision) for r in rows] == [("reference", "float32"), ("torch", "float32")]
    for row in rows:
        assert (row.model, row.architecture, row.device, row.device_type) == (
            "tiny-random",
            "tiny",
            "cpu",
            "cpu",
        )
        assert row.clip_seconds == 0.5
        assert row.threads == 2
        assert row.steps > 0
        assert row.realtime_factor > 0
        assert row.ms_per_step > 0
        assert row.load_time > 0
        assert row.peak_memory_mb is not None
        assert row.first_audio_s > 0
        assert {"python", "torch", "transformers"} <= set(row.versions)
        assert row.device_name
        assert row.run_id == rows[0].run_id
    reference, torch_row = rows
    # A 0.5 s clip is shorter than one streamed piece: its first audio is all of it, at the end.
    assert torch_row.first_audio_s <= torch_row.generation_time + 1.0
    assert reference.vs_reference == pytest.approx(1.0)
    assert torch_row.vs_reference == pytest.approx(torch_row.realtime_factor / reference.realtime_factor)
    assert torch_row.vs_reference_float32 == pytest.approx(torch_row.vs_reference)
    table = (tmp_path / "out" / "latest.md").read_text()
    assert "x vs reference same precision" in table
    assert "x vs reference float32" in table
    assert "| torch | float32 | 0.5 | 1 |" in table
    assert "nosuch:int8: UnknownBackendError" in table
    for plot in ("realtime_factor.png", "ms_per_step.png"):
        assert (tmp_path / "out" / plot).read_bytes()[:4] == b"\x89PNG"


async def test_bench_concurrency_records_each_number_of_tracks_at_once(
    database_url: str, tmp_path: Path, model_cache_dir: Path
) -> None:
    args = [
        *("--model", "tiny-random", "--durations", "1", "--repeats", "1", "--warmup", "0.1", "--quiet"),
        *("--variants", "torch:float32", "--concurrency", "1", "2"),
        *("--database-url", database_url, "--output-dir", str(tmp_path / "out")),
        *("--cache-dir", str(model_cache_dir), "--device", "cpu"),
    ]
    result = await asyncio.to_thread(CliRunner().invoke, bench_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = await _rows(database_url)
    assert [(r.backend, r.precision, r.tracks, r.repeat) for r in rows] == [
        ("torch", "float32", 1, 0),
        ("torch", "float32", 2, 0),
    ]
    one, two = rows
    for row in rows:
        assert row.realtime_factor > 0
        assert row.ms_per_step > 0
        assert row.steps > 0
        assert row.first_audio_s is None  # generate_many does not stream
        assert row.peak_memory_mb is not None
    # The aggregate: two 1 s tracks over the wall time of the one call that made both.
    assert two.realtime_factor == pytest.approx(2.0 / two.generation_time, rel=0.02)
    assert one.realtime_factor == pytest.approx(1.0 / one.generation_time, rel=0.02)
    ratio = two.realtime_factor / one.realtime_factor
    line = f"| torch | float32 | 1 | 2 | 1 | {two.realtime_factor:.3f}x | {ratio:.2f}x |"
    for text in (result.output, (tmp_path / "out" / "latest.md").read_text()):
        assert "## Tracks generated at once" in text
        assert line in text, text
        assert "| torch | float32 | 1 | 1 | 1 |" in text
        assert "Memory read rate just before each variant" in text
    assert (tmp_path / "out" / "concurrency.png").read_bytes()[:4] == b"\x89PNG"


def _run(**fields: Any) -> BenchmarkRun:
    values: dict[str, Any] = {
        "run_id": "r1",
        "model": "tiny-random",
        "architecture": "tiny",
        "backend": "reference",
        "precision": "float32",
        "device": "cpu",
        "device_type": "cpu",
        "device_name": "test cpu",
        "threads": 2,
        "clip_seconds": 10.0,
        "tracks": 1,
        "repeat": 0,
        "steps": 500,
        "realtime_factor": 1.0,
        "ms_per_step": 20.0,
        "generation_time": 10.0,
        "load_time": 1.0,
        "peak_memory_mb": 100.0,
        "first_audio_s": 0.5,
        "vs_reference": 1.0,
        "vs_reference_float32": 1.0,
        "versions": {"torch": "2.13.0"},
        "host": "test",
        "created_at": utcnow(),
    }
    values.update(fields)
    return BenchmarkRun(**values)


async def _record(service: Service, *rows: BenchmarkRun) -> None:
    async with service.jobs.sessions() as session:
        session.add_all(rows)
        await session.commit()


async def test_benchmarks_endpoint_lists_and_filters(service: Service) -> None:
    now = utcnow()
    await _record(
        service,
        _run(created_at=now - timedelta(minutes=2)),
        _run(
            backend="torch", precision="int8", realtime_factor=3.0, vs_reference_float32=3.0, created_at=now
        ),
        _run(
            model="small-random",
            architecture="small",
            device="cuda:0",
            device_type="cuda",
            precision="bfloat16",
        ),
    )
    body = (await service.client.get("/benchmarks")).json()
    assert body["count"] == 3
    assert body["items"][0]["model"] == "small-random"  # newest first
    assert body["items"][1]["backend"] == "torch"
    assert body["items"][1]["versions"] == {"torch": "2.13.0"}
    only = (await service.client.get("/benchmarks", params={"model": "tiny-random", "device": "cpu"})).json()
    assert [i["backend"] for i in only["items"]] == ["torch", "reference"]
    cuda = (await service.client.get("/benchmarks", params={"device": "cuda:0"})).json()
    assert cuda["count"] == 1
    assert (await service.client.get("/benchmarks", params={"limit": 1})).json()["count"] == 1
    assert (await service.client.get("/benchmarks", params={"limit": 0})).status_code == 422

    stats = (await service.client.get("/stats")).json()
    best = {(b["model"], b["backend"], b["precision"]): b for b in stats["benchmarks"]}
    assert best[("tiny-random", "torch", "int8")]["best_realtime_factor"] == 3.0
    assert best[("tiny-random", "torch", "int8")]["best_vs_reference_float32"] == 3.0
    assert best[("tiny-random", "reference", "float32")]["runs"] == 1
    assert best[("small-random", "reference", "bfloat16")]["device_type"] == "cuda"

    schema = (await service.client.get("/schema/openapi.json")).json()
    assert "get" in schema["paths"]["/benchmarks"]
    assert "benchmarks" in schema["components"]["schemas"]["Stats"]["properties"]
    assert "realtime_factor" in schema["components"]["schemas"]["Benchmark"]["properties"]


async def test_benchmarks_has_its_own_rate_limit(service_factory: ServiceFactory) -> None:
    async with service_factory(rate_limits_enabled=True, rate_limits={"benchmarks": 2}) as service:
        for _ in range(2):
            assert (await service.client.get("/benchmarks")).status_code == 200
        limited = await service.client.get("/benchmarks")
        assert limited.status_code == 429
        assert limited.json()["error_type"] == "rate_limited"
        assert (await service.client.get("/stats")).status_code == 200


async def _record_to(url: str, *rows: BenchmarkRun) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as connection:
        for row in rows:
            values = {c.name: getattr(row, c.name) for c in BenchmarkRun.__table__.columns if c.name != "id"}
            await connection.execute(BenchmarkRun.__table__.insert().values(**values))
    await engine.dispose()


async def test_auto_loads_the_fastest_recorded_variant(
    database_url: str, service_factory: ServiceFactory
) -> None:
    from inference.device import device_name

    here = device_name("cpu")
    await _record_to(
        database_url,
        _run(backend="reference", precision="float32", realtime_factor=1.0, device_name=here),
        _run(backend="torch", precision="float32", realtime_factor=2.0, device_name=here),
        _run(backend="reference", precision="bfloat16", realtime_factor=5.0, device_name=here),
        # Another machine's figures, an older run of this variant and several tracks at once do not count.
        _run(backend="torch", precision="int8", realtime_factor=50.0, device_name="another cpu"),
        _run(backend="torch", precision="bfloat16", realtime_factor=60.0, tracks=4, device_name=here),
        _run(
            backend="reference",
            precision="float32",
            realtime_factor=99.0,
            run_id="old",
            created_at=utcnow() - timedelta(days=30),
            device_name=here,
        ),
    )
    async with service_factory(real_loader=True, backend="auto", precision="auto") as service:
        engines = service.jobs.engines
        assert engines.status == "ready", engines.error
        assert (engines.default.backend, engines.default.precision) == ("reference", "bfloat16")
        status = (await service.client.get("/model/status")).json()
        assert (status["backend"], status["precision"], status["info"]["backend"]) == (
            "reference",
            "bfloat16",
            "reference",
        )
        # An explicit precision picks the fastest recorded variant in that precision.
        engine = await engines.get("cpu", "float32")
        assert (engine.info()["backend"], engine.info()["precision"]) == ("torch", "float32")
        assert engines.variant(precision="float32").backend == "torch"
        assert engines.variant() == engines.default


async def test_auto_follows_the_default_order_when_nothing_is_recorded(
    service_factory: ServiceFactory,
) -> None:
    # PRECISION=bfloat16 keeps the test off the ONNX export (inference's unit tests load onnx:int8).
    async with service_factory(real_loader=True, backend="auto", precision="bfloat16") as service:
        engines = service.jobs.engines
        assert engines.status == "ready", engines.error
        first = next(pair for pair in DEFAULT_ORDER["cpu"] if pair[1] == "bfloat16")
        assert (engines.default.backend, engines.default.precision) == first
        assert (await service.client.get("/model/status")).json()["backend"] == first[0]
        response = await service.client.post(
            "/generate", json={"prompt": "tuned", "duration": 5, "precision": "float32", "seed": 1}
        )
        assert response.status_code == 202, response.text
        record = await service.wait_status(response.json()["generation_id"], {"succeeded", "failed"})
        assert record["status"] == "succeeded", record
        first = next(pair for pair in DEFAULT_ORDER["cpu"] if pair[1] == "float32")
        assert (record["backend"], record["precision"]) == first
