"""Long tracks in windows of the model's context: the plan, the prefill, the loop, every backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inference import Engine, EngineConfig, GenerationParams, InvalidParameterError
from inference.audio import remove_dc
from inference.musicgen.codec import decode_audio
from inference.musicgen.decoder import MusicgenDecoderStep
from inference.musicgen.loop import decode_steps, decoder_calls, drive
from inference.musicgen.pattern import DelayPattern
from inference.musicgen.sampling import SamplingConfig
from inference.musicgen.windows import Window, plan_windows
from inference.native import library

CPU = torch.device("cpu")
BACKENDS = ["reference", "torch", "onnx", "native"]


def test_the_plan_follows_audiocraft() -> None:
    # 70 s at 50 frames per second, a 30 s context, an 18 s stride: 0-30, 18-48, 36-66, 54-70 s.
    assert plan_windows(3500, 1500, 900) == [
        Window(0, 1500),
        Window(600, 1500),
        Window(600, 1500),
        Window(600, 800),
    ]
    assert plan_windows(1000, 1500, 900) == [Window(0, 1000)]
    assert plan_windows(1500, 1500, 900) == [Window(0, 1500)]
    assert len(plan_windows(6000, 1500, 900)) == 6
    # A prompt (continuation) is the first window's known part; past the context, its end only.
    assert plan_windows(3000, 1500, 900, prompt=1000)[0] == Window(1000, 1500)
    assert plan_windows(3000, 1500, 900, prompt=2000)[0] == Window(600, 1500)
    for total, prompt in ((3500, 0), (6000, 0), (3000, 1000), (3000, 2000)):
        windows = plan_windows(total, 1500, 900, prompt)
        assert prompt + sum(w.new for w in windows) == total
        assert all(w.frames <= 1500 and w.new > 0 for w in windows)
    with pytest.raises(ValueError, match="stride"):
        plan_windows(3000, 1500, 1600)


def _start(step: MusicgenDecoderStep, steps: int, guided: bool) -> None:
    generator = torch.Generator().manual_seed(1)
    states = torch.randn(1, 7, step.hidden, generator=generator)
    mask = torch.ones(1, 7, dtype=torch.long)
    mask[0, -2:] = 0
    step.start(states * mask[..., None], mask, guided=guided, steps=steps)


@pytest.mark.parametrize("guided", [True, False], ids=["guided", "unguided"])
def test_prefill_leaves_what_steps_leave(decoder_model, guided: bool) -> None:
    model = decoder_model(1024, 16)
    batched, stepped = (MusicgenDecoderStep(model, CPU, torch.float32, max_steps=80) for _ in range(2))
    tokens = torch.randint(0, 2049, (4, 50), generator=torch.Generator().manual_seed(2))
    for step in (batched, stepped):
        _start(step, steps=60, guided=guided)
    with torch.inference_mode():
        batched.prefill(tokens)
        for t in range(tokens.shape[1]):
            stepped(tokens[:, t], t)
        filled = slice(0, tokens.shape[1])
        torch.testing.assert_close(
            batched.cache[..., filled, :], stepped.cache[..., filled, :], atol=2e-5, rtol=1e-4
        )
        assert not batched.cache[..., tokens.shape[1] :, :].any()  # nothing past the prompt
        after = torch.tensor([5, 6, 7, 2048])
        torch.testing.assert_close(batched(after, 50), stepped(after, 50), atol=2e-4, rtol=1e-4)


def test_native_prefill_stores_the_cache_the_c_step_reads(decoder_model) -> None:
    if library.unavailable_reason():
        pytest.skip(library.unavailable_reason())
    from inference.native.step import NativeDecoderStep

    model = decoder_model(256, 4)
    batched, stepped = (NativeDecoderStep(model, threads=2, max_steps=80) for _ in range(2))
    tokens = torch.randint(0, 2049, (4, 40), generator=torch.Generator().manual_seed(3))
    for step in (batched, stepped):
        _start(step, steps=60, guided=True)
    with torch.inference_mode():
        batched.prefill(tokens)
        for t in range(tokens.shape[1]):
            stepped(tokens[:, t], t)
        after = torch.tensor([5, 6, 7, 2048])
        expected = stepped(after, 40).clone()
        got = batched(after, 40).clone()
    # int8 weights and activations in the C step, float activations in the prefill: the same function
    # within the native backend's tolerance (tests/unit/test_native.py).
    assert (got - expected).abs().max() / expected.std() < 0.08


def test_the_loop_keeps_every_known_token() -> None:
    pattern = DelayPattern(4)
    prompt = torch.randint(0, 2048, (4, 30), generator=torch.Generator().manual_seed(4))
    steps = pattern.steps_for(50)
    seen: list[tuple[int, int]] = []

    def noise(tokens: torch.Tensor, position: int) -> torch.Tensor:
        return torch.randn(2, 4, 2049)

    sequence = drive(
        decode_steps(
            pattern,
            steps,
            SamplingConfig(),
            torch.Generator().manual_seed(5),
            2048,
            CPU,
            lambda done, total: seen.append((done, total)),
            prompt=prompt,
        ),
        noise,
    )
    codes = pattern.undelay(sequence)
    assert torch.equal(codes[:, :30], prompt)  # the window starts from the frames it was given
    assert (codes[:, 30:] < 2048).all()
    calls = decoder_calls(pattern, Window(30, 50))
    assert seen[0] == (0, calls)
    assert seen[-1] == (calls, calls)
    assert [done for done, _ in seen] == list(range(calls + 1))


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest, model_cache_dir: Path) -> Engine:
    backend = request.param
    if backend == "native" and library.unavailable_reason():
        pytest.skip(library.unavailable_reason())
    precision = "int8" if backend == "native" else "float32"
    config = EngineConfig(
        model="tiny-random",
        backend=backend,
        device="cpu",
        precision=precision,
        cache_dir=str(model_cache_dir),
    )
    engine = Engine.load(config)
    yield engine
    engine.unload()


def test_a_long_track_is_made_in_windows_on_every_backend(engine: Engine) -> None:
    # 50 s: 0-30, 18-48, 36-50 s. The third window is prompted by the second, itself prompted, and is
    # the short last one: what any longer track adds is more windows like the second.
    seen = []
    long = engine.generate(GenerationParams("a long tune", duration=50, seed=3), on_progress=seen.append)
    assert long.windows == 3
    assert long.codes.shape[-1] == 2500
    assert long.audio.shape[-1] == 50 * long.sample_rate
    # Prefills and steps, all windows: 1503, then 1 + 1503 - 600 and 1 + 703 - 600.
    assert seen[-1].step == seen[-1].total_steps == long.steps == 2511
    assert [p.step for p in seen] == sorted(p.step for p in seen)
    short = engine.generate(GenerationParams("a short tune", duration=20, seed=3))
    assert (short.windows, short.codes.shape[-1]) == (1, 1000)
    if engine.info()["backend"] == "onnx":  # its exported positions ended at 41 s before windows
        assert engine.generate(GenerationParams("past 41 s", duration=45, seed=1)).windows == 2


def test_windows_continue_exactly_as_transformers_does(model_cache_dir: Path) -> None:
    """Greedy, guided, two windows: our loop (a batched prefill, the exported prefill graph on onnx)
    gives the same tokens as transformers' generate prompted with the first window's end."""
    params = GenerationParams("lo-fi beat", duration=40, seed=3, temperature=0.0)
    codes = {}
    for backend in ("reference", "torch", "onnx"):
        config = EngineConfig(
            model="tiny-random",
            backend=backend,
            device="cpu",
            precision="float32",
            cache_dir=str(model_cache_dir),
        )
        engine = Engine.load(config)
        result = engine.generate(params)
        engine.unload()
        assert result.windows == 2
        codes[backend] = result.codes
    np.testing.assert_array_equal(codes["torch"], codes["reference"])
    np.testing.assert_array_equal(codes["onnx"], codes["reference"])


def test_the_cache_is_sized_by_the_window(model_cache_dir: Path) -> None:
    engine = Engine.load(
        EngineConfig(
            model="tiny-random",
            backend="torch",
            device="cpu",
            precision="float32",
            cache_dir=str(model_cache_dir),
        )
    )
    backend = engine._require().backend
    engine.generate(GenerationParams("long", duration=40, seed=1))
    slots = backend.step.cache.shape[4]
    assert slots <= backend.window_steps + 1 == 1504  # 30 s, not 40 s (or 120 s)
    engine.unload()


def test_a_stride_outside_the_context_is_refused(model_cache_dir: Path) -> None:
    for stride in (0.0, 30.5, -1.0):
        with pytest.raises(InvalidParameterError, match="window_stride_s"):
            Engine.load(
                EngineConfig(
                    model="tiny-random",
                    backend="reference",
                    cache_dir=str(model_cache_dir),
                    window_stride_s=stride,
                )
            )


def test_continuation_starts_with_the_codec_round_trip_of_the_prompt(engine: Engine) -> None:
    backend = engine._require().backend
    earlier = engine.generate(GenerationParams("the start", duration=10, seed=1))
    params = GenerationParams(
        "more of it", duration=25, seed=2, prompt_audio=earlier.audio, prompt_sample_rate=earlier.sample_rate
    )
    result = engine.generate(params)
    known = backend.encode_audio(earlier.audio, earlier.sample_rate)
    assert known.shape[-1] == 500
    np.testing.assert_array_equal(result.codes[:, :500], known.numpy())  # the prompt's tokens, kept
    assert result.codes.shape[-1] == 1250
    assert result.audio.shape[-1] == 25 * result.sample_rate
    assert result.windows == 1
    # Up to the codec's receptive field before the seam, the audio is the prompt through the codec.
    round_trip = remove_dc(decode_audio(backend.model, known, backend.channels).numpy(), result.sample_rate)
    end = round_trip.shape[-1] - 16 * 640
    np.testing.assert_allclose(result.audio[:, :end], round_trip[:, :end], atol=1e-5)


def test_a_long_prompt_continues_in_windows(engine: Engine) -> None:
    # 20 s of 44.1 kHz stereo noise into a mono 32 kHz model: resampled, mixed down, continued to 50 s.
    prompt = np.random.default_rng(0).uniform(-0.3, 0.3, (2, 20 * 44_100)).astype(np.float32)
    result = engine.generate(
        GenerationParams("x", duration=50, seed=3, prompt_audio=prompt, prompt_sample_rate=44_100)
    )
    assert result.codes.shape[-1] == 2500
    assert result.windows == 3  # the 20 s prompt and 10 s more (to 30 s), 30-48 s, 48-50 s
    assert result.audio.shape == (1, 50 * result.sample_rate)


def test_a_prompt_must_be_shorter_than_the_result(engine: Engine) -> None:
    audio = np.zeros((1, 32_000 * 10), dtype=np.float32)
    bad = [
        ({"duration": 10, "prompt_audio": audio, "prompt_sample_rate": 32_000}, "duration"),
        (
            {"duration": 20, "prompt_audio": np.zeros((3, 100), np.float32), "prompt_sample_rate": 32_000},
            "prompt_audio",
        ),
        (
            {
                "duration": 20,
                "prompt_audio": np.full((1, 100), np.nan, np.float32),
                "prompt_sample_rate": 32_000,
            },
            "prompt_audio",
        ),
        ({"duration": 20, "prompt_audio": audio, "prompt_sample_rate": 12}, "prompt_sample_rate"),
    ]
    for fields, field in bad:
        with pytest.raises(InvalidParameterError) as caught:
            engine.generate(GenerationParams("x", seed=1, **fields))
        assert caught.value.field == field
