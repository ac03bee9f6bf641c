"""The native backend: the C decoder step installed with the project computes our decoder's function."""

from __future__ import annotations

import ctypes
import itertools
import os
import platform
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from inference import Engine, EngineConfig, GenerationParams
from inference.backends.hf import load_musicgen
from inference.errors import BackendUnavailableError, GenerationCancelled
from inference.musicgen.conditioning import encode_text
from inference.musicgen.decoder import MusicgenDecoderStep
from inference.native import library
from inference.native.step import NativeDecoderStep
from inference.random_models import random_decoder_model
from inference.registry import resolve_checkpoint
from tests.conftest import ThreadCounts

CPU = torch.device("cpu")
# Largest logit difference from our float32 step, in units of the logits' spread (std): int8 weights
# and per-row int8 activations, keys/values.
TOLERANCE = 0.08

UNAVAILABLE = library.unavailable_reason()
pytestmark = pytest.mark.skipif(bool(UNAVAILABLE), reason=UNAVAILABLE)

# Every installed build this CPU runs: VNNI (unsigned weights), plain AVX2 (signed), portable (scalar).
VARIANTS = library.runnable_variants()


@pytest.fixture(scope="module")
def checkpoint(model_cache_dir: Path) -> Path:
    return resolve_checkpoint("tiny-random", model_cache_dir)


@pytest.fixture(scope="module")
def native_engine(model_cache_dir: Path) -> Engine:
    config = EngineConfig(model="tiny-random", backend="native", threads=2, cache_dir=str(model_cache_dir))
    engine = Engine.load(config)
    yield engine
    engine.unload()


@pytest.fixture(scope="module")
def models(checkpoint: Path, decoder_model) -> dict:
    """tiny-random (16-wide heads) with a prompt's text states, and a decoder with production-shaped
    64-wide heads; steps are built from them without consuming them."""
    loaded = load_musicgen(checkpoint, torch.float32, CPU)
    text = encode_text(loaded.model, loaded.processor, "warm piano with soft drums", CPU)
    return {"tiny-random": (loaded.model, text), "64-wide-heads": (decoder_model(256, 4), None)}


def _text(step: MusicgenDecoderStep, length: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random text states ``[1, length, hidden]`` with the last two tokens masked."""
    mask = torch.ones(1, length, dtype=torch.long)
    mask[0, -2:] = 0
    states = torch.randn(1, length, step.hidden, generator=torch.Generator().manual_seed(seed))
    return states * mask[..., None], mask


def _tokens(count: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 2049, (4,), generator=generator) for _ in range(count)]


def _step_cases() -> list:
    """(kind, guided, variant, threads, steps) of the whole-step parity test: every build on both
    models, guided and unguided, with 1 and 2 threads, without the full product of them.

    The best build (the one the backend loads) runs both models, guided and unguided, for 150 steps
    with 2 threads, and once with 1. Every other build runs each model once (guided with 2 threads,
    unguided with 1) for 41 steps: past the 8-key blocks and the 32-row prefetch distance, with a ragged
    tail. What differs between builds is their kernels, which tests/unit/test_native_ops.py checks
    exactly, one at a time, at lengths up to 150; the pool's chunks do not change any result.
    """
    if not VARIANTS:
        return []
    best, *others = VARIANTS
    kinds = ("tiny-random", "64-wide-heads")
    cases = [(kind, guided, best, 2, 150) for kind in kinds for guided in (True, False)]
    cases.append(("64-wide-heads", False, best, 1, 150))
    for variant in others:
        cases += [("64-wide-heads", True, variant, 2, 41), ("tiny-random", False, variant, 1, 41)]
    return [
        pytest.param(*case, id=f"{case[0]}-{'guided' if case[1] else 'unguided'}-{case[2]}-{case[3]}")
        for case in cases
    ]


@pytest.mark.parametrize(("kind", "guided", "variant", "threads", "steps"), _step_cases())
def test_step_logits_match_our_float32_step(
    models: dict, kind: str, guided: bool, variant: str, threads: int, steps: int
) -> None:
    model, text = models[kind]
    ours = MusicgenDecoderStep(model, CPU, torch.float32, max_steps=160)
    native = NativeDecoderStep(model, threads=threads, max_steps=160, variant=variant)
    assert (native.threads, native.variant) == (threads, variant)
    assert native.head_dim == (16 if kind == "tiny-random" else 64)
    states, mask = text or _text(ours, 9, seed=1)
    for step in (ours, native):
        step.start(states, mask, guided=guided, steps=steps)
    worst, agree = 0.0, []
    with torch.inference_mode():
        for t, tokens in enumerate(_tokens(steps, seed=0)):
            expected, actual = ours(tokens, t), native(tokens, t).clone()
            assert actual.shape == expected.shape == (2 if guided else 1, 4, ours.vocab)
            worst = max(worst, ((actual - expected).abs().max() / expected.std()).item())
            agree.append((actual.argmax(-1) == expected.argmax(-1)).float().mean().item())
    assert worst <= TOLERANCE, f"{kind}, {variant}, {threads} threads: {worst:.4f} x std"
    assert np.mean(agree) >= 0.9


def test_the_matrices_are_views_of_one_buffer_without_overlap(models: dict) -> None:
    """One buffer (on huge pages where Linux has them) streams from memory as one; the logits tests
    above show that each matrix's bytes arrived in it."""
    step = NativeDecoderStep(models["64-wide-heads"][0], threads=1, max_steps=8)
    linears = [step.lm_heads] + [
        getattr(layer, name)
        for layer in step.layers
        for name in ("qkv", "self_out", "cross_q", "cross_out", "fc1", "fc2")
    ]
    buffer = step._weight_bytes
    storage = buffer.untyped_storage().data_ptr()
    assert all(linear.qweight.untyped_storage().data_ptr() == storage for linear in linears)
    spans = sorted((w.data_ptr(), w.data_ptr() + w.numel()) for w in (linear.qweight for linear in linears))
    assert all(start % 64 == 0 for start, _ in spans)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    assert spans[0][0] >= buffer.data_ptr()
    assert spans[-1][1] <= buffer.data_ptr() + buffer.numel()


def _run(
    step: NativeDecoderStep, request: dict, tokens: list[torch.Tensor], steps: int | None = None
) -> list[torch.Tensor]:
    """Start ``request`` for ``steps`` steps (default: one per token) and run ``tokens``' steps."""
    steps = len(tokens) if steps is None else steps
    step.start(*request["text"], guided=request["guided"], steps=steps, negative=request.get("negative"))
    with torch.inference_mode():
        return [step(t, position).clone() for position, t in enumerate(tokens)]


def test_a_request_sees_nothing_of_the_one_before(decoder_model) -> None:
    """Each request on a reused step gives what a fresh step gives: no keys, text rows, guidance or
    cache length carried over (a longer request after a shorter one, fewer text rows after more)."""
    model = decoder_model(256, 4)  # every step copies its weights from it, none consumes them
    fresh = NativeDecoderStep(model, threads=2, max_steps=40)
    reused = NativeDecoderStep(model, threads=2, max_steps=40)
    requests = [
        {"text": _text(fresh, 12, seed=1), "negative": _text(fresh, 7, seed=2), "guided": True, "steps": 6},
        {"text": _text(fresh, 5, seed=3), "guided": True, "steps": 20},
        {"text": _text(fresh, 9, seed=4), "guided": False, "steps": 9},
        {"text": _text(fresh, 9, seed=4), "guided": True, "steps": 9},
    ]
    for index, request in enumerate(requests):
        tokens = _tokens(request["steps"], seed=10 + index)
        actual = _run(reused, request, tokens)
        fresh = NativeDecoderStep(model, threads=2, max_steps=40)
        expected = _run(fresh, request, tokens)
        assert all(torch.equal(a, e) for a, e in zip(actual, expected, strict=True)), f"request {index}"


def test_tracks_batched_in_one_step_get_what_they_get_alone() -> None:
    """Rows of several tracks (other texts, positions, guidance) share the weights' pass and nothing
    else: each track's logits are bit for bit its logits alone, also past the library's row limit."""
    step = NativeDecoderStep(random_decoder_model(256, 4), threads=2, max_steps=40)
    requests = [
        {"text": _text(step, 12, seed=1), "negative": _text(step, 7, seed=2), "guided": True},
        {"text": _text(step, 5, seed=3), "guided": False},
        {"text": _text(step, 9, seed=4), "guided": True},
    ] * 4  # 12 tracks, 20 rows: more than MAX_ROWS (two calls into the library)
    offsets = [0, 3, 7, 1, 2, 4, 5, 6, 0, 2, 1, 3]  # each track is at a position of its own
    tokens = [_tokens(20, seed=20 + i) for i in range(len(requests))]
    alone = [_run(step, {**r}, t) for r, t in zip(requests, tokens, strict=True)]
    with torch.inference_mode():
        tracks = [
            step.open(*r["text"], guided=r["guided"], steps=20, negative=r.get("negative")) for r in requests
        ]
        for track, track_tokens, offset in zip(tracks, tokens, offsets, strict=True):
            for t in range(offset):  # the steps before this track's first
                step.step_tracks([track], [track_tokens[t]], [t])
        assert sum(track.batch for track in tracks) > library.MAX_ROWS
        for t in range(20 - max(offsets)):
            positions = [t + offset for offset in offsets]
            logits = step.step_tracks(
                tracks, [tok[p] for tok, p in zip(tokens, positions, strict=True)], positions
            )
            for i, (out, position) in enumerate(zip(logits, positions, strict=True)):
                assert torch.equal(out, alone[i][position]), f"track {i}, step {t}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_step_is_timed_by_phase_only_while_profiled(variant: str) -> None:
    """``profile``: every phase of a guided track's step with a text is timed, the phases add up to no
    more than the steps' wall time, reading them restarts the counts, and nothing is counted while off."""
    step = NativeDecoderStep(random_decoder_model(256, 4), threads=2, max_steps=40, variant=variant)
    request = {"text": _text(step, 12, seed=1), "guided": True}
    tokens = _tokens(30, seed=5)
    assert set(step.profile(True)) == set(library.PHASES)
    started = time.perf_counter()
    _run(step, request, tokens)
    wall = time.perf_counter() - started
    spent = step.profile(False)
    assert all(seconds > 0 for seconds in spent.values()), spent
    assert sum(spent.values()) <= wall
    _run(step, request, tokens)
    assert all(seconds == 0 for seconds in step.profile(False).values())


def test_bad_step_arguments_raise_instead_of_reading_out_of_bounds() -> None:
    native = NativeDecoderStep(random_decoder_model(256, 4), threads=1, max_steps=40)
    native.start(*_text(native, 5, seed=1), guided=True, steps=4)
    slots = native.track.struct.slots  # steps + 1, rounded up to whole tiles of keys
    assert slots == library.KEY_TILE
    with pytest.raises(RuntimeError, match=f"position {slots}"):
        native(torch.tensor([1, 2, 3, 4]), slots)
    with pytest.raises(RuntimeError):
        native(torch.tensor([1, 2, 3, 5000]), 0)  # no such token
    structs = [native.track.struct] * (library.MAX_ROWS // 2 + 1)
    tracks = (library.Track * len(structs))(*structs)
    for track in tracks:
        track.tokens = torch.tensor([1, 2, 3, 4]).data_ptr()
    assert native.lib.mg_step(native.handle, tracks, len(tracks)) == -1, "more rows than MG_MAX_ROWS"
    # A prefill's keys/values go only into slots the cache has, of a layer the model has.
    track = ctypes.byref(native.track.struct)
    rows = torch.zeros(2, native.heads, slots + 1, native.head_dim)
    store = native.lib.mg_cache_store
    assert store(native.handle, track, 0, rows.data_ptr(), rows.data_ptr(), slots + 1) == -1
    assert store(native.handle, track, len(native.layers), rows.data_ptr(), rows.data_ptr(), 1) == -1
    assert store(native.handle, track, 0, rows.data_ptr(), rows.data_ptr(), slots) == 0


def test_a_forked_child_runs_the_step(decoder_model) -> None:
    """A child inherits the pool's state but none of its threads: it starts its own, not wait forever."""
    native = NativeDecoderStep(decoder_model(256, 4), threads=2, max_steps=40)
    native.start(*_text(native, 5, seed=1), guided=True, steps=8)
    tokens = torch.tensor([1, 2, 3, 4])
    with torch.inference_mode():
        expected = native(tokens, 0).clone()
        native(tokens, 1)  # the workers are spinning when the fork comes
        pid = os.fork()
        if pid == 0:  # the child: exit 0 only with the parent's logits
            os._exit(0 if torch.equal(native(tokens, 0), expected) else 3)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung in the native step")


def test_the_library_is_installed_with_the_project() -> None:
    installed = library.installed_variants()
    assert "portable" in installed, "the scalar build runs anywhere and is always built"
    if platform.machine().lower() in ("x86_64", "amd64"):
        assert {"avx2", "avxvnni", "avx512vnni"} <= set(installed)
        if library.cpu_features() & library.CPU_AVX2:
            assert library.best_variant() != "portable"
    header = library.HEADER.read_text()
    assert int(re.search(r"#define MG_ABI_VERSION (\d+)", header).group(1)) == library.ABI_VERSION
    assert int(re.search(r"#define MG_MAX_ROWS (\d+)", header).group(1)) == library.MAX_ROWS
    phases = sorted((int(i), name.lower()) for name, i in re.findall(r"MG_PHASE_(\w+) = (\d+)", header))
    assert tuple(name for _, name in phases) == library.PHASES
    for variant in VARIANTS:
        lib = library.load_library(variant)
        assert lib.mg_variant().decode() == variant
        assert [lib.mg_sizeof(i) for i in range(6)] == [ctypes.sizeof(s) for s in library.STRUCTS]


@pytest.mark.parametrize(
    ("features", "best"),
    [
        (library.CPU_AVX2 | library.CPU_AVX512_VNNI | library.CPU_AMX_INT8, "amx"),
        (library.CPU_AVX2 | library.CPU_AVX512_VNNI, "avx512vnni"),  # AMX refused by the OS, or absent
        (library.CPU_AVX2 | library.CPU_AVX_VNNI, "avxvnni"),
        (library.CPU_AVX2, "avx2"),
        (0, "portable"),
    ],
)
def test_the_best_build_the_cpu_and_os_allow_is_loaded(
    monkeypatch: pytest.MonkeyPatch, features: int, best: str
) -> None:
    header = library.HEADER.read_text()
    bits = {name: int(value) for name, value in re.findall(r"MG_CPU_(\w+) = (\d+)", header)}
    assert bits == {"AVX2": 1, "AVX_VNNI": 2, "AVX512_VNNI": 4, "AMX_INT8": 8}
    assert (library.CPU_AVX2, library.CPU_AVX_VNNI, library.CPU_AVX512_VNNI, library.CPU_AMX_INT8) == (
        1,
        2,
        4,
        8,
    )
    monkeypatch.setattr(library, "installed_variants", lambda: list(library.VARIANTS))
    monkeypatch.setattr(library, "cpu_features", lambda: features)
    assert library.best_variant() == best
    if best != "amx":
        with pytest.raises(library.NativeUnavailableError, match="cannot run"):
            library.load_library("amx")


def test_a_library_of_another_abi_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library, "_loaded", {})
    monkeypatch.setattr(library, "ABI_VERSION", library.ABI_VERSION + 1)
    with pytest.raises(library.NativeUnavailableError, match="ABI"):
        library.load_library()


def test_nothing_is_built_or_loaded_from_the_model_cache(
    model_cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No compiler at run time: the engine loads with none on the PATH and writes no code to the cache."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    engine = Engine.load(
        EngineConfig(model="tiny-random", backend="native", threads=1, cache_dir=str(model_cache_dir))
    )
    try:
        assert engine.generate(GenerationParams("ambient", duration=0.3, seed=1)).audio.size
    finally:
        engine.unload()
    assert not [p for p in model_cache_dir.rglob("*") if p.suffix in (".so", ".dylib", ".c")]


def test_without_the_library_native_fails_clearly_and_auto_falls_back(
    model_cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library, "_loaded", {})
    monkeypatch.setattr(library, "library_path", lambda variant: tmp_path / f"musicgen_step_{variant}.so")
    with pytest.raises(BackendUnavailableError, match="not installed") as raised:
        Engine.load(EngineConfig(model="tiny-random", backend="native", cache_dir=str(model_cache_dir)))
    assert raised.value.error_type == "backend_unavailable"
    assert "make setup" in str(raised.value)
    engine = Engine.load(
        EngineConfig(model="tiny-random", backend="auto", device="cpu", cache_dir=str(model_cache_dir))
    )
    try:
        info = engine.info()
        assert (info["backend"], info["precision"]) == ("torch", "int8")  # the next in the default order
    finally:
        engine.unload()


def test_info_counts_the_layers_read_one_at_a_time(native_engine: Engine, tiny_engine: Engine) -> None:
    assert native_engine.info()["parameters"] == tiny_engine.info()["parameters"]


def test_info_names_the_library_build_that_runs(native_engine: Engine, tiny_engine: Engine) -> None:
    assert native_engine.info()["kernel"] == library.best_variant()
    assert tiny_engine.info()["kernel"] is None


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


def test_work_between_steps_runs_on_every_thread(
    native_engine: Engine, monkeypatch: pytest.MonkeyPatch, thread_counts: ThreadCounts
) -> None:
    # The loop holds torch to one thread while the native pool runs; a window's set-up and EnCodec's
    # pieces, run between steps, must not inherit that (EnCodec's pieces on one thread took 1.7x as
    # long: 0.6 s more per streamed 10 s track; a window's text keys/values 36 ms against 26).
    from inference.musicgen import codec

    backend = native_engine._require().backend
    monkeypatch.setattr(backend, "start_window", thread_counts.wrap("window", backend.start_window))
    monkeypatch.setattr(
        codec.StreamingDecoder,
        "_decode_stream",
        thread_counts.wrap("piece", codec.StreamingDecoder._decode_stream),
    )
    pieces = []
    native_engine.generate(GenerationParams("ambient", duration=3, seed=1), on_audio=pieces.append)
    assert len(pieces) >= 3, "pieces were decoded while the loop ran"
    assert thread_counts == {"window": [2], "piece": [2] * len(pieces)}
    assert torch.get_num_threads() == 2


def test_native_runs_on_cpu_only(model_cache_dir: Path) -> None:
    from inference.backends.native_backend import NativeBackend
    from inference.device import Placement
    from inference.errors import DeviceUnavailableError

    with pytest.raises(DeviceUnavailableError):
        NativeBackend(
            resolve_checkpoint("tiny-random", model_cache_dir), Placement("cuda:0", "int8"), model_cache_dir
        )
