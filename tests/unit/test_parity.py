"""Every backend computes the reference's function: same tokens in float32, close logits below it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inference import Engine, EngineConfig, GenerationParams
from inference.backends.hf import load_musicgen
from inference.musicgen.conditioning import encode_text
from inference.musicgen.decoder import MusicgenDecoderStep
from inference.musicgen.pattern import DelayPattern
from inference.registry import resolve_checkpoint

CPU = torch.device("cpu")
# Largest logit difference from transformers' float32 logits, in units of the logits' spread (std).
LOGIT_TOLERANCE = {"float32": 1e-4, "bfloat16": 0.08, "int8": 0.08}


@pytest.fixture(scope="module")
def torch_engine(model_cache_dir: Path) -> Engine:
    engine = Engine.load(EngineConfig(model="tiny-random", backend="torch", cache_dir=str(model_cache_dir)))
    yield engine
    engine.unload()


@pytest.fixture(scope="module")
def onnx_engine(model_cache_dir: Path) -> Engine:
    config = EngineConfig(
        model="tiny-random", backend="onnx", precision="float32", cache_dir=str(model_cache_dir)
    )
    engine = Engine.load(config)
    yield engine
    engine.unload()


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("cfg_coef", [3.0, 1.0])
@pytest.mark.parametrize("prompt", ["lo-fi beat with warm piano, 90 bpm", "epic orchestral"])
def test_greedy_tokens_match_the_reference(
    request: pytest.FixtureRequest, tiny_engine: Engine, backend: str, cfg_coef: float, prompt: str
) -> None:
    engine = request.getfixturevalue(f"{backend}_engine")
    params = GenerationParams(prompt, duration=2, temperature=0, cfg_coef=cfg_coef)
    expected = tiny_engine.generate(params)
    actual = engine.generate(params)
    assert actual.backend == backend
    assert actual.codes.shape == expected.codes.shape == (4, 100)
    assert np.array_equal(actual.codes, expected.codes)
    # Same codes through the same EnCodec: the same audio.
    np.testing.assert_allclose(actual.audio, expected.audio, atol=1e-5)


def test_sampling_is_reproducible_and_seed_dependent(torch_engine: Engine) -> None:
    params = GenerationParams("funk", duration=1, seed=5)
    a, b = torch_engine.generate(params), torch_engine.generate(params)
    c = torch_engine.generate(GenerationParams("funk", duration=1, seed=6))
    assert np.array_equal(a.audio, b.audio)
    assert not np.array_equal(a.codes, c.codes)
    nucleus = torch_engine.generate(GenerationParams("funk", duration=1, seed=5, top_p=0.9))
    assert not np.array_equal(a.codes, nucleus.codes)


def test_torch_backend_keeps_the_engine_contract(torch_engine: Engine) -> None:
    seen = []
    result = torch_engine.generate(GenerationParams("jazz", duration=1.3, seed=1), on_progress=seen.append)
    assert result.audio.shape == (1, round(1.3 * 32_000))
    assert [p.step for p in seen if p.phase == "generating"] == list(range(1, result.steps + 1))
    assert [p.phase for p in (seen[0], seen[-1])] == ["encoding_text", "decoding_audio"]
    assert seen[-1].fraction == 1.0


def test_onnx_export_is_cached_and_reexported_when_stale(model_cache_dir: Path, onnx_engine: Engine) -> None:
    import json

    from inference.export.onnx_export import MANIFEST

    directory = model_cache_dir / "onnx" / "tiny-random-v1" / "float32"
    manifest = json.loads((directory / MANIFEST).read_text())
    assert manifest["format"] >= 1
    assert manifest["torch"] == torch.__version__
    assert {"text_encoder.onnx", "decoder_step.onnx", "decoder_prefill.onnx"} <= set(manifest["files"])
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    step_file = directory / "decoder_step.onnx"
    mtime = step_file.stat().st_mtime_ns
    config = EngineConfig(
        model="tiny-random", backend="onnx", precision="float32", cache_dir=str(model_cache_dir)
    )
    Engine.load(config).unload()
    assert step_file.stat().st_mtime_ns == mtime, "a current export is reused"
    (directory / MANIFEST).write_text(json.dumps({**manifest, "torch": "0.0-stale"}))
    Engine.load(config).unload()
    assert json.loads((directory / MANIFEST).read_text())["torch"] == torch.__version__
    assert step_file.stat().st_mtime_ns != mtime, "a stale export is rebuilt"


def test_onnx_int8_logits_within_tolerance(model_cache_dir: Path, reference_logits) -> None:
    from inference.backends.onnx_backend import _BoundStep

    _, _, _, sequence, expected = reference_logits
    config = EngineConfig(
        model="tiny-random", backend="onnx", precision="int8", cache_dir=str(model_cache_dir)
    )
    engine = Engine.load(config)
    try:
        backend = engine._loaded.backend
        inputs = backend.processor(text=["warm piano"], return_tensors="np")
        keys, values = backend.text_session.run(None, {k: inputs[k].astype(np.int64) for k in inputs})
        step = _BoundStep(backend, sequence.shape[1] - 1, 1, keys, values)
        actual = torch.stack(
            [step(sequence[:, t], t)[0].clone() for t in range(sequence.shape[1] - 1)], dim=1
        )
    finally:
        engine.unload()
    error = (actual - expected).abs().max().item() / expected.std().item()
    assert error <= LOGIT_TOLERANCE["int8"], f"onnx int8: {error:.4f} x std"


def _teacher_forced_logits(step: MusicgenDecoderStep, states, mask, sequence: torch.Tensor, static: bool):
    step.start(states, mask, guided=False, steps=sequence.shape[1] - 1)
    rows = []
    for t in range(sequence.shape[1] - 1):
        position = torch.tensor(t) if static else t
        rows.append(step(sequence[:, t], position, static=static)[0].float())
    return torch.stack(rows, dim=1)  # [K, steps, V]


@pytest.fixture(scope="module")
def reference_logits(model_cache_dir: Path, tiny_engine: Engine):
    """transformers' own float32 logits for a greedy sequence, without guidance."""
    checkpoint = resolve_checkpoint("tiny-random", model_cache_dir)
    loaded = load_musicgen(checkpoint, torch.float32, CPU)
    result = tiny_engine.generate(GenerationParams("warm piano", duration=0.6, temperature=0, cfg_coef=1.0))
    pattern = DelayPattern(4)
    steps = pattern.steps_for(result.codes.shape[1])
    sequence = torch.full((4, steps + 1), loaded.pad_id)
    valid = pattern.valid_mask(steps)
    sequence[valid] = torch.as_tensor(result.codes).flatten()
    inputs = loaded.processor(text=["warm piano"], return_tensors="pt")
    with torch.inference_mode():
        logits = loaded.model(**inputs, decoder_input_ids=sequence[:, :-1]).logits  # [K, steps, V]
        states, mask = encode_text(loaded.model, loaded.processor, "warm piano", CPU)
    return loaded.model, states, mask, sequence, logits


@pytest.mark.parametrize("precision", ["float32", "bfloat16", "int8"])
@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static-shapes"])
def test_step_logits_within_tolerance(reference_logits, precision: str, static: bool) -> None:
    model, states, mask, sequence, expected = reference_logits
    dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
    weights = "int8" if precision == "int8" else "float"
    step = MusicgenDecoderStep(model, CPU, dtype, weights=weights, max_steps=64)
    actual = _teacher_forced_logits(step, states, mask, sequence, static)
    spread = expected.std().item()
    error = (actual - expected).abs().max().item() / spread
    assert error <= LOGIT_TOLERANCE[precision], f"{precision}: {error:.4f} x std"
    # The ranking that decides greedy decoding mostly survives lower precisions.
    agreement = (actual.argmax(-1) == expected.argmax(-1)).float().mean().item()
    assert agreement >= (1.0 if precision == "float32" else 0.6)


@pytest.mark.parametrize("channels", [1, 2])
def test_delay_pattern_matches_transformers(channels: int) -> None:
    from transformers import MusicgenDecoderConfig, MusicgenForCausalLM

    codebooks = 4 * channels
    config = MusicgenDecoderConfig(
        vocab_size=16,
        num_hidden_layers=1,
        hidden_size=8,
        num_attention_heads=2,
        ffn_dim=8,
        num_codebooks=codebooks,
        audio_channels=channels,
    )
    hf = MusicgenForCausalLM(config)
    steps = 12
    start = torch.full((codebooks, 1), 16)
    _, hf_mask = hf.build_delay_pattern_mask(start, pad_token_id=16, max_length=steps + 1)
    pattern = DelayPattern(codebooks, channels)
    assert torch.equal(pattern.valid_mask(steps), hf_mask == -1)
    sequence = torch.arange(codebooks * (steps + 1)).view(codebooks, steps + 1)
    codes = pattern.undelay(sequence)
    assert codes.shape == (codebooks, pattern.frames_for(steps))
    hf_filtered = torch.where(hf_mask == -1, sequence, -1)
    assert torch.equal(codes, hf_filtered[hf_filtered != -1].view(codebooks, -1))
