"""Negative prompts: the unconditional half of classifier-free guidance conditioned on a text.

Without one, every backend must give exactly the tokens it gave before negative prompts existed
(golden hashes recorded then); with one, each backend must compute transformers' function on the batch
``[prompt, negative]``, the shorter text padded and masked as MusicGen's forward does.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from inference import Engine, EngineConfig, GenerationParams, InvalidParameterError
from inference.backends.hf import load_musicgen
from inference.cli import _parser, main
from inference.musicgen.conditioning import encode_text
from inference.musicgen.decoder import MusicgenDecoderStep
from inference.musicgen.graph import GraphedStep
from inference.native import library
from inference.registry import resolve_checkpoint
from inference.types import MAX_PROMPT_CHARS

CPU = torch.device("cpu")
BACKENDS = ["reference", "torch", "onnx", "native"]
PRECISION = {"reference": "float32", "torch": "float32", "onnx": "float32", "native": "int8"}
DEFAULT = GenerationParams("lo-fi beat with warm piano", duration=2, seed=7)
# sha256 of DEFAULT's int64 codes [4, 100] per backend, recorded on tiny-random before negative prompts
# existed (torch 2.13 CPU, x86-64). The default path must not change by a bit; a sampled token flips
# only if the logits moved. If a new torch or CPU moves them, check that with the code before a change.
GOLDEN = {
    "reference": "2ed2a4ff977ccd982104a67e4355db2f0f0626fb386026f6dd2ece9d3ab23a4e",
    "torch": "1006212a54135894698dde1b822fe2e01ac4f08f5379f5f8bfb325d02f38987d",
    "onnx": "1006212a54135894698dde1b822fe2e01ac4f08f5379f5f8bfb325d02f38987d",
    # Re-recorded when the native attention moved to integer products (ABI 4); the same on every build.
    "native": "b0a875e37963820c476cf7412751a6c641e641d4cc15bfbcaa5be354fdcfa4d6",
}
# A short prompt with a long negative and the other way round: the shorter text is padded and masked.
PAIRS = [
    ("lo-fi beat", "loud distorted electric guitar with heavy drums and noise"),
    ("calm ambient pad with soft strings and a slow piano melody", "drums"),
]
# Largest logit difference from transformers' float32 logits, in units of their spread (std):
# tests/unit/test_parity.py (float32) and tests/unit/test_native.py (int8).
TOLERANCE = {"float32": 1e-4, "int8": 0.08}

NATIVE_UNAVAILABLE = library.unavailable_reason()
NATIVE_VARIANTS = library.runnable_variants()  # every installed build this CPU runs


def _sha(codes: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(codes, dtype=np.int64).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def engine_for(model_cache_dir: Path) -> Iterator[Callable[[str], Engine]]:
    """Engines on tiny-random, CPU, loaded once per backend on first use."""
    engines: dict[str, Engine] = {}

    def get(backend: str) -> Engine:
        if backend == "native" and NATIVE_UNAVAILABLE:
            pytest.skip(NATIVE_UNAVAILABLE)
        if backend not in engines:
            config = EngineConfig(
                model="tiny-random",
                backend=backend,
                device="cpu",
                precision=PRECISION[backend],
                cache_dir=str(model_cache_dir),
            )
            engines[backend] = Engine.load(config)
        return engines[backend]

    yield get
    for engine in engines.values():
        engine.unload()


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"negative_prompt": ""}, "non-empty"),
        ({"negative_prompt": "   \n"}, "non-empty"),
        ({"negative_prompt": 5}, "non-empty"),
        ({"negative_prompt": "x" * (MAX_PROMPT_CHARS + 1)}, f"at most {MAX_PROMPT_CHARS}"),
        ({"negative_prompt": "drums", "cfg_coef": 1.0}, "needs cfg_coef above 1"),
    ],
)
def test_a_bad_negative_prompt_is_refused(changes: dict[str, object], message: str) -> None:
    params = dataclasses.replace(DEFAULT, **changes)
    with pytest.raises(InvalidParameterError, match=message) as raised:
        params.validate()
    assert raised.value.field == "negative_prompt"
    assert raised.value.error_type == "invalid_parameter"


def test_no_negative_prompt_is_the_default_and_valid() -> None:
    assert DEFAULT.negative_prompt is None
    DEFAULT.validate()
    dataclasses.replace(DEFAULT, negative_prompt="x" * MAX_PROMPT_CHARS).validate()
    dataclasses.replace(DEFAULT, negative_prompt="drums", cfg_coef=1.01).validate()


def test_the_engine_refuses_before_any_work(engine_for: Callable[[str], Engine]) -> None:
    with pytest.raises(InvalidParameterError, match="negative_prompt: needs cfg_coef above 1"):
        engine_for("torch").generate(dataclasses.replace(DEFAULT, negative_prompt="drums", cfg_coef=1.0))


# --- the default path, bit for bit; a negative prompt changes the output --------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_a_negative_prompt_the_tokens_are_those_of_before(
    engine_for: Callable[[str], Engine], backend: str
) -> None:
    engine = engine_for(backend)
    before = engine.generate(DEFAULT).codes
    assert _sha(before) == GOLDEN[backend]
    negative = engine.generate(dataclasses.replace(DEFAULT, negative_prompt="noisy distorted drums"))
    assert negative.codes.shape == (4, 100)
    assert not np.array_equal(negative.codes, before), "the negative prompt acts"
    # Nothing of the negative request stays behind (grown text buffers, masks, compiled graphs): the
    # next request is the default's again.
    assert _sha(engine.generate(DEFAULT).codes) == GOLDEN[backend]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_negative_prompt_equal_to_the_prompt_cancels_guidance(
    engine_for: Callable[[str], Engine], backend: str
) -> None:
    """Both rows see the same text through the same path: cond == uncond bit for bit, so the guided
    logits (uncond + cfg * (cond - uncond)) do not depend on cfg_coef."""
    engine = engine_for(backend)
    same = dataclasses.replace(DEFAULT, duration=1, negative_prompt=DEFAULT.prompt)
    low, high = (engine.generate(dataclasses.replace(same, cfg_coef=c)).codes for c in (2.0, 9.0))
    np.testing.assert_array_equal(low, high)
    guided = engine.generate(dataclasses.replace(same, negative_prompt=None, cfg_coef=9.0)).codes
    assert not np.array_equal(high, guided)


# --- the function computed: transformers on the batch [prompt, negative] -------------------------


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize(("prompt", "negative"), PAIRS, ids=["longer-negative", "shorter-negative"])
def test_greedy_tokens_match_the_reference(
    engine_for: Callable[[str], Engine], backend: str, prompt: str, negative: str
) -> None:
    params = GenerationParams(prompt, duration=2, temperature=0, negative_prompt=negative)
    expected = engine_for("reference").generate(params).codes
    np.testing.assert_array_equal(engine_for(backend).generate(params).codes, expected)


def test_a_continuation_prefills_both_rows_as_the_reference_does(engine_for: Callable[[str], Engine]) -> None:
    reference, ours = engine_for("reference"), engine_for("torch")
    earlier = ours.generate(GenerationParams("the start", duration=1, seed=1))
    params = GenerationParams(
        "more of it",
        duration=2,
        temperature=0,
        negative_prompt="a loud noisy distorted electric guitar",
        prompt_audio=earlier.audio,
        prompt_sample_rate=earlier.sample_rate,
    )
    np.testing.assert_array_equal(ours.generate(params).codes, reference.generate(params).codes)


@pytest.fixture(scope="module")
def guided_logits(model_cache_dir: Path) -> Callable[[str, str], tuple]:
    """transformers' float32 logits ``[2, K, steps, V]`` for a fixed token sequence, with the batch
    ``[prompt, negative]`` as the text (padded, masked), and our states/masks of each text alone."""
    loaded = load_musicgen(resolve_checkpoint("tiny-random", model_cache_dir), torch.float32, CPU)
    sequence = torch.randint(0, 2049, (4, 41), generator=torch.Generator().manual_seed(0))
    sequence[:, 0] = loaded.pad_id

    def logits(prompt: str, negative: str) -> tuple:
        both = loaded.processor(text=[prompt, negative], padding=True, return_tensors="pt")
        with torch.inference_mode():
            expected = loaded.model(**both, decoder_input_ids=sequence[:, :-1].repeat(2, 1)).logits
            texts = [encode_text(loaded.model, loaded.processor, text, CPU) for text in (prompt, negative)]
        return loaded.model, texts, sequence, expected.view(2, 4, *expected.shape[1:])

    return logits


def _teacher_forced(step: Callable, sequence: torch.Tensor, static: bool = False) -> torch.Tensor:
    """Logits ``[2, K, steps, V]`` of ``step`` fed ``sequence`` column by column."""
    rows = []  # cloned as they come: the native and onnx steps reuse one logits buffer
    for t in range(sequence.shape[1] - 1):
        logits = step(sequence[:, t], torch.tensor(t), static=True) if static else step(sequence[:, t], t)
        rows.append(logits.float().clone())
    return torch.stack(rows, dim=2)


def _error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return (actual - expected).abs().max().item() / expected.std().item()


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static-shapes"])
@pytest.mark.parametrize(("prompt", "negative"), PAIRS, ids=["longer-negative", "shorter-negative"])
def test_torch_step_logits_match_transformers(
    guided_logits, prompt: str, negative: str, static: bool
) -> None:
    model, (text, neg), sequence, expected = guided_logits(prompt, negative)
    step = MusicgenDecoderStep(model, CPU, torch.float32, max_steps=64)
    step.start(*text, guided=True, steps=sequence.shape[1] - 1, negative=neg)
    with torch.inference_mode():
        actual = _teacher_forced(step, sequence, static)
    assert _error(actual, expected) <= TOLERANCE["float32"]
    # The unconditional row sees the negative text: far from what it gives without one.
    step.start(*text, guided=True, steps=sequence.shape[1] - 1)
    with torch.inference_mode():
        plain = _teacher_forced(step, sequence, static)
    assert _error(plain[1], expected[1]) > 100 * TOLERANCE["float32"]
    assert _error(plain[0], expected[0]) <= TOLERANCE["float32"]


@pytest.mark.parametrize(("prompt", "negative"), PAIRS, ids=["longer-negative", "shorter-negative"])
def test_onnx_step_logits_match_transformers(
    engine_for: Callable[[str], Engine], guided_logits, prompt: str, negative: str
) -> None:
    from inference.backends.onnx_backend import _BoundStep, _text_rows

    _, _, sequence, expected = guided_logits(prompt, negative)
    backend = engine_for("onnx")._require().backend
    rows = _text_rows(backend.encode_text(prompt), backend.encode_text(negative))
    step = _BoundStep(backend, sequence.shape[1] - 1, 2, *rows)
    actual = _teacher_forced(step, sequence)
    assert _error(actual, expected) <= TOLERANCE["float32"]


@pytest.mark.skipif(bool(NATIVE_UNAVAILABLE), reason=NATIVE_UNAVAILABLE)
@pytest.mark.parametrize("variant", NATIVE_VARIANTS)
@pytest.mark.parametrize(("prompt", "negative"), PAIRS, ids=["longer-negative", "shorter-negative"])
def test_native_step_logits_match_transformers(
    model_cache_dir: Path, guided_logits, prompt: str, negative: str, variant: str
) -> None:
    from inference.native.step import NativeDecoderStep

    _, (text, neg), sequence, expected = guided_logits(prompt, negative)
    fresh = load_musicgen(resolve_checkpoint("tiny-random", model_cache_dir), torch.float32, CPU).model
    step = NativeDecoderStep(fresh, threads=2, max_steps=64, variant=variant)
    step.start(*text, guided=True, steps=sequence.shape[1] - 1, negative=neg)
    with torch.inference_mode():
        actual = _teacher_forced(step, sequence)
    assert _error(actual, expected) <= TOLERANCE["int8"]
    assert (actual.argmax(-1) == expected.argmax(-1)).float().mean() >= 0.9


@pytest.mark.skipif(bool(NATIVE_UNAVAILABLE), reason=NATIVE_UNAVAILABLE)
@pytest.mark.parametrize("variant", NATIVE_VARIANTS)
def test_native_step_matches_ours_where_the_negative_text_matters(decoder_model, variant: str) -> None:
    from inference.native.step import NativeDecoderStep

    ours = MusicgenDecoderStep(decoder_model(256, 4), CPU, torch.float32, max_steps=80)
    native = NativeDecoderStep(decoder_model(256, 4), threads=2, max_steps=80, variant=variant)
    generator = torch.Generator().manual_seed(1)

    def text(length: int, padding: int) -> tuple[torch.Tensor, torch.Tensor]:
        mask = torch.ones(1, length, dtype=torch.long)
        mask[0, length - padding :] = 0
        return torch.randn(1, length, ours.hidden, generator=generator) * mask[..., None], mask

    prompt, negative = text(7, 2), text(12, 3)  # the prompt's row is padded to 12 and masked
    sequence = torch.randint(0, 65, (4, 61), generator=generator)

    def run(step: MusicgenDecoderStep, negative_text: tuple | None) -> torch.Tensor:
        step.start(*prompt, guided=True, steps=60, negative=negative_text)
        with torch.inference_mode():
            return _teacher_forced(step, sequence)

    expected, actual = run(ours, negative), run(native, negative)
    error = _error(actual, expected)
    assert error <= TOLERANCE["int8"], f"{variant}: {error:.4f} x std"
    assert (actual.argmax(-1) == expected.argmax(-1)).float().mean() >= 0.9
    # The test can tell: without the negative text, the unconditional row moves far more than that.
    assert _error(run(ours, None)[1], expected[1]) > 3 * TOLERANCE["int8"]


# --- the default path of the steps after a negative request, bit for bit ---------------------------


def _steps(model_cache_dir: Path) -> list[MusicgenDecoderStep]:
    checkpoint = resolve_checkpoint("tiny-random", model_cache_dir)
    steps = [MusicgenDecoderStep(load_musicgen(checkpoint, torch.float32, CPU).model, CPU, torch.float32)]
    if not NATIVE_UNAVAILABLE:
        from inference.native.step import NativeDecoderStep

        model = load_musicgen(checkpoint, torch.float32, CPU).model
        steps.append(NativeDecoderStep(model, threads=2, max_steps=64))
    return steps


def test_the_default_path_is_bitwise_the_same_after_a_negative_request(
    model_cache_dir: Path, guided_logits
) -> None:
    """The first negative prompt grows the text buffers to two rows; the default path reads row 0 of
    them (in C: with the wider layout's strides) and must give what a step that never grew gives."""
    _, (text, neg), sequence, _ = guided_logits(*PAIRS[1])
    for step in _steps(model_cache_dir):
        name = type(step).__name__
        with torch.inference_mode():
            step.start(*text, guided=True, steps=40)
            assert step.cross.shape[2] == 1, name
            before = _teacher_forced(step, sequence)
            step.start(*text, guided=True, steps=40, negative=neg)
            assert step.cross.shape[2] == 2, name
            _teacher_forced(step, sequence)
            step.start(*text, guided=True, steps=40)
            after = _teacher_forced(step, sequence)
        assert torch.equal(before, after), name


class _LibSpy:
    """The native library with ``mg_step`` recording how many rows it is told attend to a text."""

    def __init__(self, lib: object, rows: list[int]) -> None:
        self.lib, self.rows = lib, rows

    def __getattr__(self, name: str) -> object:
        return getattr(self.lib, name)

    def mg_step(self, *args: object) -> int:
        tracks = ctypes.cast(args[1], ctypes.POINTER(library.Track))
        self.rows.extend(tracks[i].text_rows for i in range(args[2]))
        return self.lib.mg_step(*args)


def _spy_text_rows(step: MusicgenDecoderStep) -> list[int]:
    """The rows attending to a text in each of ``step``'s calls from now on (per layer in torch)."""
    rows: list[int] = []
    if hasattr(step, "lib"):
        step.lib = _LibSpy(step.lib, rows)
        return rows

    def spy(query: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda h: rows.append(h.shape[0]) or query(h)

    for layer in step.layers:
        layer.cross_q = spy(layer.cross_q)
    return rows


def test_without_a_negative_prompt_only_the_conditional_row_attends(
    model_cache_dir: Path, guided_logits, engine_for: Callable[[str], Engine]
) -> None:
    """The skip that makes the default path the same computation as before, op for op: fed zero text
    states instead, the unconditional row would add exactly zero but batching the conditional row with
    it may round differently (it does here: 1 ulp in float32), which no token snapshot would see."""
    _, (text, neg), sequence, _ = guided_logits(*PAIRS[0])
    for step in _steps(model_cache_dir):
        rows = _spy_text_rows(step)
        with torch.inference_mode():
            for guided, negative, attending in ((True, None, 1), (False, None, 1), (True, neg, 2)):
                rows.clear()
                step.start(*text, guided=guided, steps=8, negative=negative)
                step(sequence[:, 0], 0)
                assert rows, type(step).__name__
                assert set(rows) == {attending}, (type(step).__name__, guided, negative is None)
    from inference.backends.onnx_backend import _BoundStep

    backend = engine_for("onnx")._require().backend
    bound = _BoundStep(backend, 8, 2, *backend.encode_text(PAIRS[0][0]))
    assert bound._pinned["cross_mask"].shape[0] == bound._pinned["cross_key_0"].shape[0] == 1


def test_a_negative_prompt_needs_guidance_in_the_step(model_cache_dir: Path, guided_logits) -> None:
    _, (text, neg), _, _ = guided_logits(*PAIRS[0])
    for step in _steps(model_cache_dir):
        with pytest.raises(ValueError, match="needs guidance"):
            step.start(*text, guided=False, steps=8, negative=neg)


def test_cuda_graphs_are_captured_per_text_rows_and_dropped_when_the_buffers_grow(
    model_cache_dir: Path, guided_logits
) -> None:
    """GraphedStep's bookkeeping, on CPU with a stand-in for the capture."""
    _, (text, neg), _, _ = guided_logits(*PAIRS[0])
    step = _steps(model_cache_dir)[0]
    graphed = GraphedStep(step)
    captured: list[tuple[int, int, int]] = []  # batch, text rows, text buffers

    class Graph:
        def replay(self) -> None:
            pass

    def capture() -> tuple:
        captured.append((step.batch, step.cross_rows, step.text_buffers))
        return Graph(), torch.zeros(4, dtype=torch.long), torch.zeros((), dtype=torch.long), torch.zeros(1)

    graphed._capture = capture
    for negative in (None, None, neg, None, neg):
        step.start(*text, guided=True, steps=8, negative=negative)
        graphed.prepare(guided=True)
    step.start(*text, guided=False, steps=8)
    graphed.prepare(guided=False)
    assert captured == [(2, 1, 1), (2, 2, 2), (2, 1, 2), (1, 1, 2)]


# --- the CLI ----------------------------------------------------------------------------------------


def test_the_cli_takes_a_negative_prompt(
    tmp_path: Path, model_cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _parser().parse_args(["generate", "piano"]).negative_prompt is None
    args = ["generate", "piano", "--model", "tiny-random", "--cache-dir", str(model_cache_dir)]
    assert main([*args, "--negative-prompt", "drums", "--cfg-coef", "1"]) == 2
    assert "error (invalid_parameter): negative_prompt: needs cfg_coef above 1" in capsys.readouterr().err
    out = tmp_path / "out.wav"
    more = ["--backend", "torch", "--duration", "1", "--seed", "1", "-q", "-o", str(out)]
    assert main([*args, *more, "--negative-prompt", "drums"]) == 0
    assert out.stat().st_size > 0
