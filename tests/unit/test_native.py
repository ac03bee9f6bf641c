"""The native backend: the C decoder step built for this CPU computes our decoder's function."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from inference import Engine, EngineConfig, GenerationParams
from inference.backends.hf import load_musicgen
from inference.errors import GenerationCancelled
from inference.musicgen.conditioning import encode_text
from inference.musicgen.decoder import MusicgenDecoderStep
from inference.native import build
from inference.native.step import NativeDecoderStep
from inference.registry import resolve_checkpoint

CPU = torch.device("cpu")
# Largest logit difference from our float32 step, in units of the logits' spread (std): int8 weights
# and per-row int8 activations, keys/values.
TOLERANCE = 0.08

try:
    build._check_cpu()
    build._compiler()
    UNAVAILABLE = ""
except build.NativeUnavailableError as exc:
    UNAVAILABLE = str(exc)

pytestmark = pytest.mark.skipif(bool(UNAVAILABLE), reason=UNAVAILABLE)

# The build for this CPU (VNNI where it has it) and the plain AVX2 build (signed int8 products).
MARCHES = ["native", "x86-64-v3"]


@pytest.fixture(scope="module")
def checkpoint(model_cache_dir: Path) -> Path:
    return resolve_checkpoint("tiny-random", model_cache_dir)


@pytest.fixture(scope="module")
def native_engine(model_cache_dir: Path) -> Engine:
    config = EngineConfig(model="tiny-random", backend="native", threads=2, cache_dir=str(model_cache_dir))
    engine = Engine.load(config)
    yield engine
    engine.unload()


def _steps(checkpoint: Path, cache: Path, march: str, threads: int):
    ours = MusicgenDecoderStep(
        load_musicgen(checkpoint, torch.float32, CPU).model, CPU, torch.float32, max_steps=160
    )
    model = load_musicgen(checkpoint, torch.float32, CPU).model
    native = NativeDecoderStep(model, cache, threads=threads, max_steps=160, march=march)
    return ours, native


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("march", MARCHES)
@pytest.mark.parametrize("guided", [True, False], ids=["guided", "unguided"])
def test_step_logits_match_our_float32_step(
    checkpoint: Path, model_cache_dir: Path, march: str, threads: int, guided: bool
) -> None:
    ours, native = _steps(checkpoint, model_cache_dir, march, threads)
    assert native.threads == threads
    loaded = load_musicgen(checkpoint, torch.float32, CPU)
    states, mask = encode_text(loaded.model, loaded.processor, "warm piano with soft drums", CPU)
    steps = 150  # past the 8-key blocks and the prefetch distance, with ragged tails
    for step in (ours, native):
        step.start(states, mask, guided=guided, steps=steps)
    generator = torch.Generator().manual_seed(0)
    worst, agree = 0.0, []
    with torch.inference_mode():
        for t in range(steps):
            tokens = torch.randint(0, 2049, (ours.num_codebooks,), generator=generator)
            expected, actual = ours(tokens, t), native(tokens, t).clone()
            assert actual.shape == expected.shape == (2 if guided else 1, 4, ours.vocab)
            worst = max(worst, ((actual - expected).abs().max() / expected.std()).item())
            agree.append((actual.argmax(-1) == expected.argmax(-1)).float().mean().item())
    assert worst <= TOLERANCE, f"{march}, {threads} threads: {worst:.4f} x std"
    assert np.mean(agree) >= 0.9


def test_a_new_request_resets_the_cache(checkpoint: Path, model_cache_dir: Path) -> None:
    _, native = _steps(checkpoint, model_cache_dir, "native", 2)
    loaded = load_musicgen(checkpoint, torch.float32, CPU)
    states, mask = encode_text(loaded.model, loaded.processor, "jazz", CPU)
    tokens = torch.tensor([1, 2, 3, 4])

    def run() -> list[torch.Tensor]:
        native.start(states, mask, guided=True, steps=8)
        return [native(tokens, t).clone() for t in range(8)]

    assert all(torch.equal(a, b) for a, b in zip(run(), run(), strict=True))


def test_bad_step_arguments_raise_instead_of_reading_out_of_bounds(
    checkpoint: Path, model_cache_dir: Path
) -> None:
    _, native = _steps(checkpoint, model_cache_dir, "native", 1)
    loaded = load_musicgen(checkpoint, torch.float32, CPU)
    states, mask = encode_text(loaded.model, loaded.processor, "jazz", CPU)
    native.start(states, mask, guided=True, steps=4)
    with pytest.raises(RuntimeError, match="position 5"):
        native(torch.tensor([1, 2, 3, 4]), 5)  # the cache has slots 0..4
    with pytest.raises(RuntimeError):
        native(torch.tensor([1, 2, 3, 5000]), 0)  # no such token


def test_the_library_is_built_once_per_source_and_cpu(model_cache_dir: Path) -> None:
    first = build.library_path(model_cache_dir)
    assert first.exists()
    assert first.parent.parent == model_cache_dir / "native"
    built_at = first.stat().st_mtime_ns
    assert build.library_path(model_cache_dir) == first
    assert first.stat().st_mtime_ns == built_at, "not rebuilt"
    assert build.library_path(model_cache_dir, "x86-64-v3") != first


def test_info_counts_the_layers_read_one_at_a_time(native_engine: Engine, tiny_engine: Engine) -> None:
    assert native_engine.info()["parameters"] == tiny_engine.info()["parameters"]


def test_generation_through_the_engine(native_engine: Engine) -> None:
    seen = []
    params = GenerationParams("lo-fi beat with warm piano, 90 bpm", duration=1.3, seed=3)
    result = native_engine.generate(params, on_progress=seen.append)
    assert result.backend == "native"
    assert result.precision == "int8"
    assert result.audio.shape == (1, round(1.3 * 32_000))
    assert np.isfinite(result.audio).all()
    assert np.abs(result.audio).max() > 0
    assert [p.step for p in seen if p.phase == "generating"] == list(range(1, result.steps + 1))
    assert seen[-1].fraction == 1.0
    again = native_engine.generate(params)
    assert np.array_equal(again.codes, result.codes), "same seed, same tokens"
    other = native_engine.generate(GenerationParams(params.prompt, duration=1.3, seed=4))
    assert not np.array_equal(other.codes, result.codes)


def test_cancel_stops_the_native_loop(native_engine: Engine) -> None:
    cancel = threading.Event()
    seen = []

    def progress(p) -> None:
        seen.append(p.step)
        if p.step == 5:
            cancel.set()

    with pytest.raises(GenerationCancelled):
        native_engine.generate(GenerationParams("ambient", duration=3), on_progress=progress, cancel=cancel)
    assert seen[-1] <= 6
    assert torch.get_num_threads() == 2, "torch's threads are restored after the loop"


def test_native_runs_on_cpu_only(model_cache_dir: Path) -> None:
    from inference.backends.native_backend import NativeBackend
    from inference.device import Placement
    from inference.errors import DeviceUnavailableError

    with pytest.raises(DeviceUnavailableError):
        NativeBackend(
            resolve_checkpoint("tiny-random", model_cache_dir), Placement("cuda:0", "int8"), model_cache_dir
        )


def test_without_a_compiler_native_fails_clearly_and_auto_falls_back(
    model_cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inference.errors import BackendUnavailableError

    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    cache = tmp_path / "cache"  # the model, but no native build
    checkpoint = resolve_checkpoint("tiny-random", model_cache_dir)
    shutil.copytree(checkpoint, cache / checkpoint.relative_to(model_cache_dir))
    with pytest.raises(BackendUnavailableError, match="C compiler") as raised:
        Engine.load(EngineConfig(model="tiny-random", backend="native", cache_dir=str(cache)))
    assert raised.value.error_type == "backend_unavailable"
    engine = Engine.load(
        EngineConfig(model="tiny-random", backend="auto", device="cpu", cache_dir=str(cache))
    )
    try:
        info = engine.info()
        assert (info["backend"], info["precision"]) == ("torch", "int8")  # the next in the default order
    finally:
        engine.unload()
