"""backend/precision ``auto``: ranked candidates, the default order, and the first variant that loads."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from inference import (
    Engine,
    EngineConfig,
    InvalidParameterError,
    ModelUnavailableError,
    UnknownBackendError,
    UnsupportedPrecisionError,
    resolve_placement,
)
from inference.device import Placement, supported_precisions
from inference.tuning import DEFAULT_ORDER, Choice, candidates, choices, load_first, parse_pair


def test_default_order_first_then_every_supported_pair() -> None:
    ranked = candidates("cpu")
    assert ranked[: len(DEFAULT_ORDER["cpu"])] == list(DEFAULT_ORDER["cpu"])
    assert len(ranked) == len(set(ranked))
    assert all(precision in supported_precisions("cpu") for _, precision in ranked)
    assert ("reference", "bfloat16") in ranked


def test_preferences_lead_and_filters_apply() -> None:
    prefs = (("reference", "bfloat16"), ("torch", "float16"), ("torch", "int8"))
    ranked = candidates("cpu", preferences=prefs)
    assert ranked[:2] == [("reference", "bfloat16"), ("torch", "int8")]  # float16 does not run on CPU
    assert candidates("cpu", precision="float32", preferences=prefs)[0] == ("reference", "float32")
    assert {b for b, _ in candidates("cpu", backend="torch", preferences=prefs)} == {"torch"}
    cuda_first = next(pair for pair in DEFAULT_ORDER["cuda"] if pair[1] in supported_precisions("cuda"))
    assert candidates("cuda")[0] == cuda_first  # bfloat16 only where the GPU has it


def test_native_leads_only_where_a_simd_build_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from inference.native import library

    monkeypatch.setattr(library, "runnable_variants", lambda: ["portable"])
    ranked = candidates("cpu")
    assert ranked.index(("torch", "int8")) + 1 == ranked.index(("native", "int8"))
    assert ranked[0] == ("torch", "int8")
    monkeypatch.setattr(library, "runnable_variants", lambda: ["avx2", "portable"])
    assert candidates("cpu")[0] == ("native", "int8")


def test_parse_pair() -> None:
    assert parse_pair(" Torch:INT8 ") == ("torch", "int8")
    with pytest.raises(ValueError, match="backend:precision"):
        parse_pair("torch")


def test_unknown_backends_are_left_out_and_impossible_requests_fail() -> None:
    config = EngineConfig(backend="auto", device="cpu", preferences=(("nosuch", "int8"),))
    assert all(choice.backend_cls.name != "nosuch" for choice in choices(config))
    with pytest.raises(UnsupportedPrecisionError):
        choices(EngineConfig(backend="auto", device="cpu", precision="float16"))


def test_explicit_backend_without_ranking_keeps_the_device_default() -> None:
    [only] = choices(EngineConfig(backend="torch", device="cpu"))
    assert (only.backend_cls.name, only.placement.precision) == ("torch", "float32")
    tuned = choices(EngineConfig(backend="torch", device="cpu", preferences=()))
    assert (tuned[0].backend_cls.name, tuned[0].placement.precision) == ("torch", "int8")


def test_resolve_placement_resolves_the_device_and_leaves_an_auto_precision_to_the_load() -> None:
    assert resolve_placement("torch", " CPU ", "INT8") == ("cpu", "int8")
    assert resolve_placement("torch", "cpu", "auto") == ("cpu", "auto")
    assert resolve_placement("auto", "cpu", "bfloat16") == ("cpu", "bfloat16")
    assert resolve_placement("auto", "cpu", "") == ("cpu", "auto")
    with pytest.raises(UnsupportedPrecisionError, match="float32"):
        resolve_placement("native", "cpu", "float32")  # the backend cannot
    with pytest.raises(UnsupportedPrecisionError):
        resolve_placement("auto", "cpu", "float16")  # the device should not
    with pytest.raises(UnknownBackendError):
        resolve_placement("nosuch", "cpu", "auto")
    with pytest.raises(InvalidParameterError, match="device"):
        resolve_placement("auto", "tpu", "auto")


class _Fake:
    name: ClassVar[str] = "fake"
    precisions: ClassVar[tuple[str, ...]] = ("float32",)

    def __init__(self, checkpoint: Path, placement: Placement, cache_dir: Path) -> None:
        self.placement = placement


class _Broken(_Fake):
    name: ClassVar[str] = "broken"

    def __init__(self, checkpoint: Path, placement: Placement, cache_dir: Path) -> None:
        raise RuntimeError("no kernels here")


def test_first_variant_that_loads_wins_and_failures_are_reported() -> None:
    cpu = Placement("cpu", "float32")
    chosen = load_first([Choice(_Broken, cpu), Choice(_Fake, cpu)], Path("."), Path("."))  # type: ignore[arg-type]
    assert isinstance(chosen.backend, _Fake)
    assert chosen.skipped == ["broken:float32: RuntimeError: no kernels here"]
    with pytest.raises(ModelUnavailableError, match="no kernels here"):
        load_first([Choice(_Broken, cpu), Choice(_Broken, cpu)], Path("."), Path("."))  # type: ignore[arg-type]
    # A single explicit variant: what the checkpoint made its loader raise is model_unavailable, named.
    with pytest.raises(ModelUnavailableError, match=r"broken:float32 could not load .*no kernels here"):
        load_first([Choice(_Broken, cpu)], Path("."), Path("."))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("backend", "precision", "preferences", "expected"),
    [
        ("auto", "auto", None, ("native", "int8")),  # the CPU default order
        ("auto", "auto", (("reference", "bfloat16"),), ("reference", "bfloat16")),
        ("auto", "float32", (("torch", "int8"),), ("reference", "float32")),
        ("reference", "auto", (("torch", "int8"), ("reference", "int8")), ("reference", "int8")),
    ],
)
def test_engine_load_resolves_auto(
    model_cache_dir: Path,
    backend: str,
    precision: str,
    preferences: tuple[tuple[str, str], ...] | None,
    expected: tuple[str, str],
) -> None:
    config = EngineConfig(
        model="tiny-random",
        backend=backend,
        device="cpu",
        precision=precision,
        cache_dir=str(model_cache_dir),
        preferences=preferences,
    )
    engine = Engine.load(config)
    try:
        info = engine.info()
        assert (info["backend"], info["precision"]) == expected
    finally:
        engine.unload()
