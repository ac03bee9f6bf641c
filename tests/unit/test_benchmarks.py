"""The benchmark runner's pure parts: variant lists, option parsing, ranking, report, peak memory."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from app.domain.benchmarks.services import Measured, rank
from benchmarks.cli import spread
from benchmarks.memory import PeakMemory
from benchmarks.report import markdown
from benchmarks.runner import BenchOptions, BenchReport, Measurement, Skipped
from benchmarks.store import columns
from benchmarks.variants import default_variants, parse_concurrency, parse_durations, parse_variants

NOW = datetime(2025, 12, 1, tzinfo=UTC)


def test_default_variants_cover_the_device_with_the_reference_first() -> None:
    variants = default_variants("cpu")
    assert variants[0] == ("reference", "float32")
    assert {"float32", "bfloat16", "int8"} == {p for _, p in variants}
    first_other = next(i for i, (b, _) in enumerate(variants) if b != "reference")
    assert all(b != "reference" for b, _ in variants[first_other:])


def test_variant_and_duration_parsing() -> None:
    assert parse_variants(["torch:int8, reference:float32", "torch:int8"]) == [
        ("reference", "float32"),
        ("torch", "int8"),
    ]
    assert parse_durations(["5,10", "30", "10"]) == [5.0, 10.0, 30.0]
    with pytest.raises(ValueError, match="above 0"):
        parse_durations(["0"])
    with pytest.raises(ValueError, match="backend:precision"):
        parse_variants(["int8"])
    assert parse_concurrency(["4 1,2", "2"]) == [1, 2, 4]
    assert parse_concurrency([]) == []
    for bad in ("0", "1.5", "x"):
        with pytest.raises(ValueError, match="at least 1"):
            parse_concurrency([bad])


def test_greedy_options_take_several_values() -> None:
    args = ["--variants", "a:x", "b:y", "--quiet", "--durations=1", "2", "--model", "m"]
    assert spread(args, ("--variants", "--durations")) == [
        *("--variants", "a:x", "--variants", "b:y", "--quiet"),
        *("--durations=1", "--durations", "2", "--model", "m"),
    ]


def _measured(backend: str, precision: str, rtf: float, **fields: object) -> Measured:
    values = {"model": "small-random", "device_name": "cpu A", "run_id": "r2", "created_at": NOW}
    values.update(fields)
    return Measured(backend, precision, realtime_factor=rtf, **values)  # type: ignore[arg-type]


def test_rank_uses_each_variants_latest_run_on_the_closest_machine_and_model() -> None:
    old = NOW - timedelta(days=9)
    rows = [  # newest first, as the query returns them
        _measured("torch", "int8", 0.4),
        _measured("torch", "int8", 0.6),
        _measured("reference", "float32", 0.07),
        _measured("onnx", "int8", 0.45, run_id="r1", created_at=old),
        _measured("torch", "int8", 9.0, run_id="r1", created_at=old),  # superseded by run r2
        _measured("onnx", "int8", 9.0, device_name="cpu B"),  # another machine
        _measured("torch", "bfloat16", 9.0, model="facebook/musicgen-small"),  # another model
    ]
    assert rank(rows, "small-random", "cpu A") == [
        ("torch", "int8"),
        ("onnx", "int8"),
        ("reference", "float32"),
    ]
    # With nothing from this machine or model, the rest of the architecture's rows count.
    assert rank(rows[-1:], "small-random", "cpu Z") == [("torch", "bfloat16")]
    assert rank([], "small-random", "cpu A") == []


def _measurement(backend: str, precision: str, rtf: float, vs: float | None) -> Measurement:
    return Measurement(
        run_id="r",
        model="small-random",
        architecture="small",
        backend=backend,
        precision=precision,
        device="cpu",
        device_type="cpu",
        device_name="cpu A",
        threads=2,
        clip_seconds=10.0,
        repeat=0,
        steps=500,
        realtime_factor=rtf,
        ms_per_step=20.0 / rtf,
        generation_time=10.0 / rtf,
        load_time=1.5,
        peak_memory_mb=900.0,
        first_audio_s=0.8 / rtf,
        vs_reference=vs,
        vs_reference_float32=vs,
        versions={"torch": "2.13.0"},
        host="h",
        created_at=NOW,
    )


def test_markdown_has_one_line_per_variant_and_the_ratios() -> None:
    report = BenchReport(
        run_id="r",
        options=BenchOptions(durations=(10.0,)),
        device="cpu",
        device_name="cpu A",
        threads=2,
        versions={"python": "3.11", "torch": "2.13.0"},
        host="h",
        started_at=NOW,
        measurements=[
            _measurement("reference", "float32", 0.07, 1.0),
            _measurement("torch", "int8", 0.42, 6.0),
            replace(_measurement("torch", "int8", 0.40, 5.0), repeat=1),
        ],
        skipped=[Skipped("onnx", "int8", "UnknownBackendError: not here")],
        bandwidth_gbs={"reference:float32": 24.5, "torch:int8": 21.0},
    )
    text = markdown(report)
    assert "(GB/s, 400 MB, 2 threads" in text
    assert "reference:float32 24.5, torch:int8 21." in text
    assert "| reference | float32 | 10 | 1 | 0.070x | 285.7 | 11.43 | 1.5 | 900 | 1.00x | 1.00x |" in text
    assert "| torch | int8 | 10 | 2 | 0.410x | 48.8 | 2.00 |" in text  # the worse first audio of two
    assert "| torch | int8 | 10 | 2 | 0.410x |" in text
    assert "| 5.50x | 5.50x |" in text
    assert "- onnx:int8: UnknownBackendError: not here" in text
    assert "torch 2.13.0" in text


def test_markdown_tabulates_tracks_at_once_against_one_track() -> None:
    def together(tracks: int, rtf: float, repeat: int = 0) -> Measurement:
        row = replace(_measurement("native", "int8", rtf, None), tracks=tracks, repeat=repeat)
        return replace(row, first_audio_s=None, memory_per_track_mb=40.0 / tracks, generation_time=7.0)

    report = BenchReport(
        run_id="r",
        options=BenchOptions(durations=(10.0,), concurrency=(1, 4)),
        device="cpu",
        device_name="cpu A",
        threads=2,
        versions={"python": "3.11"},
        host="h",
        started_at=NOW,
        measurements=[together(1, 1.0), together(1, 0.8, 1), together(4, 2.7), together(4, 2.7, 1)],
        bandwidth_gbs={"native:int8": 20.0},
        kernels={"native:int8": "amx"},
    )
    text = markdown(report)
    assert "| native | int8 | 10 | 2 | 0.900x |" in text  # the main table: one track at a time only
    assert "| - | 1.5 | 900 |" in text  # no first audio without streaming
    assert "| native | int8 | 10 | 1 | 2 | 0.900x | 1.00x | 0.900x | 22.5 | 7.0 | 40 |" in text
    assert "| native | int8 | 10 | 4 | 2 | 2.700x | 3.00x | 0.675x | 7.4 | 7.0 | 10 |" in text
    assert "native:int8 20" in text
    assert "Native library build (`native`: the best this CPU runs): native:int8 amx." in text


def test_only_columns_are_recorded() -> None:
    row = replace(_measurement("native", "int8", 2.0, None), tracks=4, memory_per_track_mb=12.5)
    values = columns(row)
    assert values["tracks"] == 4
    assert "memory_per_track_mb" not in values


def test_memory_read_rate_is_measured_on_this_cpu() -> None:
    from benchmarks.environment import memory_bandwidth_gbs
    from inference.native import library

    if library.unavailable_reason():
        pytest.skip(library.unavailable_reason())
    rate = memory_bandwidth_gbs(threads=1)
    assert rate is not None
    assert 0.5 < rate < 10_000  # GB/s: any real machine


def test_peak_memory_sees_native_allocations() -> None:
    with PeakMemory("cpu") as memory:
        block = np.ones(64 * 2**20 // 8)  # 64 MB, freed before the peak is read
        del block
        peak = memory.peak_mb()
    assert peak >= 48


def test_peak_memory_keeps_its_peak_across_a_nested_measurement() -> None:
    with PeakMemory("cpu") as outer:
        block = np.ones(64 * 2**20 // 8)
        del block
        outer.keep_peak()
        with PeakMemory("cpu") as inner:  # resets the kernel's high-water mark
            small = np.ones(8 * 2**20 // 8)
            del small
            assert inner.peak_mb() < 48
        assert outer.peak_mb() >= 48
