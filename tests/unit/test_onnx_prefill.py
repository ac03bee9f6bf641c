"""The onnx backend's window prefill: a window's known frames in one call of the exported prefill graph.

It must leave the KV cache that as many single steps leave (to float rounding; int8 within the
quantisation tolerance), for every batch the step takes (guided, unguided, a negative prompt's two
text rows), and it must be one call into ONNX Runtime, not one per frame.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from inference import Engine, EngineConfig, GenerationParams

PROMPT, NEGATIVE = "lo-fi beat", "loud distorted electric guitar with heavy drums and noise"
# Largest difference from the stepped cache/logits, in units of their spread (std): float rounding in
# float32 (2e-6 seen); in int8 the prefill quantises each activation over all P positions at once, a
# step over one position (0.026 seen; a prefill without its causal mask is off by 0.11 in both).
TOLERANCE = {"float32": 1e-4, "int8": 0.05}


@pytest.fixture(scope="module")
def engine_for(model_cache_dir: Path) -> Iterator[Callable[[str, str], Engine]]:
    """Engines on tiny-random, CPU, loaded once per backend and precision on first use."""
    engines: dict[tuple[str, str], Engine] = {}

    def get(backend: str, precision: str = "float32") -> Engine:
        if (backend, precision) not in engines:
            config = EngineConfig(
                model="tiny-random",
                backend=backend,
                device="cpu",
                precision=precision,
                cache_dir=str(model_cache_dir),
            )
            engines[backend, precision] = Engine.load(config)
        return engines[backend, precision]

    yield get
    for engine in engines.values():
        engine.unload()


def _bound_steps(backend, text_rows: str, steps: int) -> tuple:
    """Two decoders over fresh caches for the same window: batch and text rows as start_window makes them."""
    from inference.backends.onnx_backend import _BoundStep, _text_rows

    text = backend.encode_text(PROMPT)
    batch, rows = {
        "guided": (2, text),
        "unguided": (1, text),
        "negative": (2, _text_rows(text, backend.encode_text(NEGATIVE))),
    }[text_rows]
    return _BoundStep(backend, steps, batch, *rows), _BoundStep(backend, steps, batch, *rows)


def _error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / expected.std())


@pytest.mark.parametrize("precision", ["float32", "int8"])
@pytest.mark.parametrize("text_rows", ["guided", "unguided", "negative"])
def test_the_prefill_leaves_what_steps_leave(
    engine_for: Callable[[str, str], Engine], precision: str, text_rows: str
) -> None:
    backend = engine_for("onnx", precision)._require().backend
    # 100 known frames in a window of 150 steps: past MIN_SLOTS, so the cache grows as the steps grow it.
    count, steps = 100, 150
    batched, stepped = _bound_steps(backend, text_rows, steps)
    tokens = torch.randint(0, 2049, (4, count), generator=torch.Generator().manual_seed(2))
    batched.prefill(tokens)
    for t in range(count):
        stepped(tokens[:, t], t)
    assert batched.keys.shape == stepped.keys.shape
    assert batched.keys.shape[3] == 128  # 64 slots doubled once, as the steps left it
    filled = slice(0, count)
    for got, expected in ((batched.keys, stepped.keys), (batched.values, stepped.values)):
        assert _error(got[..., filled, :], expected[..., filled, :]) <= TOLERANCE[precision]
        assert not got[..., count:, :].any()  # nothing past the prompt
    after = torch.tensor([5, 6, 7, 2048])
    got, expected = batched(after, count).clone(), stepped(after, count).clone()
    assert _error(got.numpy(), expected.numpy()) <= TOLERANCE[precision]
    if precision == "float32":
        assert (got.argmax(-1) == expected.argmax(-1)).all()


def test_a_prefill_of_one_frame_is_the_step(engine_for: Callable[[str, str], Engine]) -> None:
    backend = engine_for("onnx")._require().backend
    batched, stepped = _bound_steps(backend, "guided", 20)
    tokens = torch.tensor([[1], [2], [3], [4]])
    batched.prefill(tokens)
    stepped(tokens[:, 0], 0)
    np.testing.assert_array_equal(batched.keys, stepped.keys)
    np.testing.assert_array_equal(batched.values, stepped.values)


@pytest.mark.parametrize("negative", [None, NEGATIVE], ids=["plain", "negative-prompt"])
def test_a_window_prefill_is_one_call_into_onnxruntime(
    engine_for: Callable[[str, str], Engine], monkeypatch: pytest.MonkeyPatch, negative: str | None
) -> None:
    engine = engine_for("onnx")
    backend = engine._require().backend
    earlier = engine.generate(GenerationParams("the start", duration=1, seed=1))
    calls = {"step": 0, "prefill": 0}

    def counting(session, kind: str) -> None:
        run = session.run_with_iobinding

        def counted(*args, **kwargs):
            calls[kind] += 1
            return run(*args, **kwargs)

        monkeypatch.setattr(session, "run_with_iobinding", counted)

    counting(backend.step_session, "step")
    counting(backend.prefill_session, "prefill")
    params = GenerationParams(
        "more of it",
        duration=2,
        seed=2,
        negative_prompt=negative,
        prompt_audio=earlier.audio,
        prompt_sample_rate=earlier.sample_rate,
    )
    result = engine.generate(params)
    # One window: 50 known frames, then a step per column up to 100 frames (103 with the delays).
    assert result.windows == 1
    assert calls == {"step": 103 - 50, "prefill": 1}
    assert result.steps == calls["step"] + calls["prefill"]


def test_a_continuation_with_a_negative_prompt_matches_the_reference(
    engine_for: Callable[[str, str], Engine],
) -> None:
    """Greedy: the onnx prefill of both text rows gives transformers' tokens (as the torch one does,
    tests/unit/test_negative_prompt.py)."""
    reference, ours = engine_for("reference"), engine_for("onnx")
    earlier = ours.generate(GenerationParams("the start", duration=1, seed=1))
    params = GenerationParams(
        "more of it",
        duration=2,
        temperature=0,
        negative_prompt=NEGATIVE,
        prompt_audio=earlier.audio,
        prompt_sample_rate=earlier.sample_rate,
    )
    np.testing.assert_array_equal(ours.generate(params).codes, reference.generate(params).codes)


def test_an_export_of_format_5_is_rebuilt_with_the_prefill_graph(
    model_cache_dir: Path, engine_for: Callable[[str, str], Engine]
) -> None:
    from inference.export.onnx_export import DECODER_PREFILL, EXPORT_FORMAT, MANIFEST

    engine_for("onnx", "float32")  # exported
    directory = model_cache_dir / "onnx" / "tiny-random-v1" / "float32"
    manifest = json.loads((directory / MANIFEST).read_text())
    assert manifest["format"] == EXPORT_FORMAT == 6
    # What format 5 left: no prefill graph.
    for path in directory.glob(f"{DECODER_PREFILL}*"):
        path.unlink()
    del manifest["files"][DECODER_PREFILL]
    (directory / MANIFEST).write_text(json.dumps({**manifest, "format": 5}))
    config = EngineConfig(
        model="tiny-random", backend="onnx", precision="float32", cache_dir=str(model_cache_dir)
    )
    Engine.load(config).unload()
    assert json.loads((directory / MANIFEST).read_text())["format"] == 6
    assert (directory / DECODER_PREFILL).is_file()
