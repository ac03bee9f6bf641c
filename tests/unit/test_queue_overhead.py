"""benchmarks.queue_overhead's pure parts: options, the figures, the table and the no-op engine (no DB)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from app.jobs.engines import EngineManager
from app.settings import Settings
from benchmarks import queue_overhead as qo
from inference import EngineConfig, GenerationParams, GenerationResult


def test_options_and_their_defaults() -> None:
    args = qo.check_args(qo.parser().parse_args(["--jobs", "20", "--backends", "saq", "local", "saq"]))
    assert args.jobs == 20
    assert args.idle_jobs == 20  # min(jobs, 50)
    assert args.backends == ["saq", "local"]
    assert (args.workers, args.max_batch, args._api, args._worker) == (1, 1, None, None)
    assert qo.check_args(qo.parser().parse_args([])).idle_jobs == 50
    assert qo.parser().parse_args(["--_worker", "w1"])._worker == "w1"
    with pytest.raises(SystemExit):
        qo.check_args(qo.parser().parse_args(["--jobs", "0"]))
    with pytest.raises(SystemExit):
        qo.parser().parse_args(["--backends", "redis"])


def test_percentiles_match_numpy() -> None:
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    for q in (0, 50, 95, 100):
        assert qo.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert math.isnan(qo.percentile([], 50))
    spread = qo.spread_ms([0.001, 0.002, 0.003, math.nan])
    assert spread == {"p50": 2.0, "p95": 2.9, "mean": 2.0, "max": 3.0}


def test_summary_math() -> None:
    idle = [qo.JobTimes(0.0, 0.002, 0.010, 0.020), qo.JobTimes(1.0, 1.004, 1.010, 0.030)]
    burst = [qo.JobTimes(10.0 + i * 0.01, 10.5 + i * 0.1, 10.6 + i * 0.1) for i in range(10)]
    result = qo.summarize(
        "saq", workers=2, max_batch=1, idle=idle, burst=burst, first_submit=10.0, last_answer=10.5
    )
    assert result.jobs == 10
    assert result.jobs_per_s == pytest.approx(10 / 1.5, abs=0.01)  # the last finished at 11.5
    assert result.burst_wall_s == pytest.approx(1.5, abs=0.001)
    assert result.submit_per_s == pytest.approx(20.0)
    assert result.idle_wait_ms["p50"] == pytest.approx(3.0)
    assert result.idle_round_trip_ms["max"] == pytest.approx(30.0)
    assert result.burst_wait_ms["p50"] == pytest.approx(1000 * float(np.median([b.wait for b in burst])))
    table = qo.markdown_table([result], {"cpu": "Test CPU", "cores": 2, "load_1m": 0.1})
    assert "Test CPU" in table
    assert "| saq | 2 x 1 | 10 | 6.7 |" in table


def test_row_times_and_urls() -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    row = {"created_at": created, "started_at": created.replace(second=1), "finished_at": None}
    times = qo.times_of(row, 0.5)
    assert times.wait == pytest.approx(1.0)
    assert math.isnan(times.finished)
    assert qo.database_url("postgresql+asyncpg://u@h:5432/postgres", "mg") == "postgresql://u@h:5432/mg"


async def test_the_noop_engine_serves_the_engine_manager() -> None:
    settings = Settings(
        database_url="sqlite+aiosqlite:///:memory:",
        model="tiny-random",
        backend="reference",
        device="cpu",
        precision="float32",
        max_batch=3,
    )
    engines = EngineManager(settings, loader=qo.noop_load, unloader=qo.noop_unload)
    engines.start()
    await engines.wait_ready()
    assert engines.status == "ready"
    assert engines.batch_capacity == 3
    assert engines.snapshot()["info"]["sample_rate"] == qo.NOOP_SAMPLE_RATE
    engine = await engines.get("cpu", "float32")
    result = engine.generate(GenerationParams("x", 5.0, seed=7))
    assert isinstance(result, GenerationResult)
    assert result.audio.shape == (1, round(qo.NOOP_SECONDS * qo.NOOP_SAMPLE_RATE))
    assert (result.seed, result.backend) == (7, "reference")
    await engines.close()
    assert not engine.loaded
    assert qo.NoopEngine(EngineConfig("tiny-random")).batch_capacity == 1
