"""Many generations per decoder step: `generate_many` and the continuous-batching scheduler.

A track must get what it gets alone with the same seed (bit for bit on `native`; within a bound on
torch, whose batched matrix products round differently), and keep its own progress, cancel and errors.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from inference import Engine, EngineConfig, EngineNotLoadedError, GenerationCancelled, GenerationParams
from inference.backends.base import StepCall
from inference.errors import InvalidParameterError
from inference.musicgen.conditioning import encode_text
from tests.conftest import ThreadCounts

REQUESTS = [
    GenerationParams("lo-fi beat with warm piano", 1.0, seed=1, temperature=0.1),
    GenerationParams("loud rock guitar", 2.5, seed=2, temperature=0.1, negative_prompt="drums", top_k=50),
    GenerationParams("jazz trio", 1.5, seed=3, cfg_coef=1.0, top_p=0.9),
]


@pytest.fixture(scope="module")
def native(model_cache_dir: Path) -> Engine:
    engine = Engine.load(
        EngineConfig(model="tiny-random", backend="native", precision="int8", cache_dir=str(model_cache_dir))
    )
    yield engine
    engine.unload()


@pytest.fixture(scope="module")
def alone(native: Engine) -> list:
    return [native.generate(params) for params in REQUESTS]


class _Spy:
    """Records how many generations each shared step carried."""

    def __init__(self, engine: Engine) -> None:
        backend = engine._require().backend
        self.sizes: list[int] = []
        original = backend.step_batch

        def step_batch(calls: list[StepCall]) -> list[torch.Tensor]:
            self.sizes.append(len(calls))
            return original(calls)

        backend.step_batch = step_batch  # type: ignore[method-assign]
        self.undo = lambda: delattr(backend, "step_batch")


def _same(a, b) -> bool:
    """The same tokens and the same audio, bit for bit: EnCodec runs on every torch thread even while
    other tracks' loops hold torch to one (on one thread it rounds differently)."""
    return np.array_equal(a.codes, b.codes) and np.array_equal(a.audio, b.audio)


def test_generate_many_gives_each_request_what_it_gets_alone(native: Engine, alone: list) -> None:
    """Other lengths, guidance, negative prompts and sampling in one batch; a continuation joins too."""
    continuation = GenerationParams(
        "more of it", 2.0, seed=4, temperature=0.1, prompt_audio=alone[0].audio, prompt_sample_rate=32_000
    )
    expected = [*alone, native.generate(continuation)]
    spy = _Spy(native)
    try:
        results = native.generate_many([*REQUESTS, continuation])
    finally:
        spy.undo()
    assert max(spy.sizes) == 4  # they really shared steps
    for index, (got, want) in enumerate(zip(results, expected, strict=True)):
        assert _same(got, want), f"request {index}"
        assert got.seed == want.seed
        assert got.audio.shape == want.audio.shape


def _batching(cache: Path, max_batch: int) -> Engine:
    config = EngineConfig(
        "tiny-random", "native", precision="int8", cache_dir=str(cache), max_batch=max_batch
    )
    return Engine.load(config)


def test_a_track_that_fails_or_is_canceled_leaves_the_others_intact(
    model_cache_dir: Path, alone: list
) -> None:
    cancel = threading.Event()
    scheduled = _batching(model_cache_dir, 4)
    outcomes: dict[int, object] = {}

    def run(index: int, params: GenerationParams, flag: threading.Event | None = None) -> None:
        def on_progress(progress) -> None:
            if index == 1 and progress.step >= 5:
                cancel.set()

        try:
            outcomes[index] = scheduled.generate(params, on_progress=on_progress, cancel=flag)
        except Exception as exc:
            outcomes[index] = exc

    bad = GenerationParams("x", 1.0, seed=5, prompt_audio=alone[1].audio, prompt_sample_rate=32_000)
    threads = [
        threading.Thread(target=run, args=(0, REQUESTS[0])),
        threading.Thread(target=run, args=(1, REQUESTS[1], cancel)),
        threading.Thread(target=run, args=(2, bad)),  # longer prompt than the result: fails in the batch
        threading.Thread(target=run, args=(3, REQUESTS[2])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert isinstance(outcomes[1], GenerationCancelled)
    assert isinstance(outcomes[2], InvalidParameterError)
    assert outcomes[2].field == "duration"
    assert _same(outcomes[0], alone[0])
    assert _same(outcomes[3], alone[2])
    scheduled.unload()


def test_the_scheduler_lets_jobs_join_and_leave_at_step_boundaries(
    model_cache_dir: Path, alone: list
) -> None:
    """Three callers, room for two: the third joins when the first leaves; each gets its own result
    and its own progress to the end."""
    engine = _batching(model_cache_dir, 2)
    spy = _Spy(engine)
    results: list = [None] * 3
    progress: list[list[float]] = [[], [], []]

    def run(index: int) -> None:
        results[index] = engine.generate(
            REQUESTS[index], on_progress=lambda p: progress[index].append(p.fraction)
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
        time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=120)
    assert [_same(got, want) for got, want in zip(results, alone, strict=True)] == [True] * 3
    assert max(spy.sizes) == 2, "never more than max_batch at once"
    assert spy.sizes.count(2) > 10, "the callers shared steps"
    for fractions in progress:
        assert fractions[-1] == 1.0
        assert fractions == sorted(fractions)
    engine.unload()
    with pytest.raises(EngineNotLoadedError):
        engine.generate(REQUESTS[0])


def test_unload_lets_the_generations_in_the_batch_finish(model_cache_dir: Path, alone: list) -> None:
    engine = _batching(model_cache_dir, 2)
    results: list = []
    started = threading.Event()

    def run() -> None:
        results.append(engine.generate(REQUESTS[1], on_progress=lambda p: started.set()))

    thread = threading.Thread(target=run)
    thread.start()
    started.wait(30)
    engine.unload()
    thread.join(timeout=60)
    assert len(results) == 1
    assert _same(results[0], alone[1])


@pytest.mark.parametrize("precision", ["float32", "int8"])
def test_torch_tracks_batched_stay_within_rounding_of_alone(model_cache_dir: Path, precision: str) -> None:
    """torch rounds a batch's products differently (int8: one activation scale for all rows), so its
    logits are bounded, not equal: within 1e-4 of their spread in float32, 10% in int8."""
    engine = Engine.load(
        EngineConfig(
            model="tiny-random", backend="torch", precision=precision, cache_dir=str(model_cache_dir)
        )
    )
    backend = engine._require().backend
    step = backend.step
    texts = [
        encode_text(backend.model, backend.processor, p, torch.device("cpu")) for p in ("a", "drums and bass")
    ]
    requests = [(texts[0], True, None), (texts[1], False, None), (texts[1], True, texts[0])]
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 2048, (3, 12, 4), generator=generator)  # each track its own
    with torch.inference_mode():
        alone = []
        for i, ((states, mask), guided, negative) in enumerate(requests):
            track = step.open(states, mask, guided=guided, steps=12, negative=negative)
            alone.append([step.step_tracks([track], [tokens[i, t]], [t])[0].clone() for t in range(12)])
        tracks = [
            step.open(states, mask, guided=guided, steps=12, negative=negative)
            for (states, mask), guided, negative in requests
        ]
        bound = 1e-4 if precision == "float32" else 0.1
        for t in range(12):
            batched = step.step_tracks(tracks, list(tokens[:, t]), [t] * 3)
            for i, logits in enumerate(batched):
                assert logits.shape == alone[i][t].shape
                spread = alone[i][t].std()
                assert (logits - alone[i][t]).abs().max() <= bound * spread, f"track {i}, step {t}"
    engine.unload()


def test_torch_rows_of_each_track_meet_their_own_text(decoder_model) -> None:
    """On a decoder whose attention is sharp (64-wide heads, unit-scale texts), each track's rows must
    query its own text with its own rows: a batched float32 step stays within 1e-4 of each alone."""
    from inference.musicgen.decoder import MusicgenDecoderStep

    step = MusicgenDecoderStep(decoder_model(256, 4), torch.device("cpu"), torch.float32, max_steps=40)
    generator = torch.Generator().manual_seed(3)

    def text(length: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(1, length, step.hidden, generator=generator), torch.ones(
            1, length, dtype=torch.long
        )

    requests = [(text(7), True, None), (text(4), False, None), (text(9), True, text(5))]
    tokens = torch.randint(0, 2048, (3, 10, 4), generator=generator)
    with torch.inference_mode():
        alone = []
        for i, ((states, mask), guided, negative) in enumerate(requests):
            track = step.open(states, mask, guided=guided, steps=10, negative=negative)
            alone.append([step.step_tracks([track], [tokens[i, t]], [t])[0].clone() for t in range(10)])
        tracks = [step.open(s, m, guided=g, steps=10, negative=n) for (s, m), g, n in requests]
        for t in range(10):
            for i, logits in enumerate(step.step_tracks(tracks, list(tokens[:, t]), [t] * 3)):
                assert (logits - alone[i][t]).abs().max() <= 1e-4 * alone[i][t].std(), f"track {i}, step {t}"


def test_a_script_that_never_unloads_its_engine_exits_cleanly(run_script) -> None:
    # The scheduler's daemon thread, stopped by the interpreter's finalisation while still inside torch,
    # used to abort the process (status 134) after the script's last line; it must be closed by then.
    # This check runs after the library's own exit handlers (registered before the import: last out).
    lines = run_script(
        "import atexit, threading\n"
        "atexit.register(lambda: print('batch threads at exit:', sum(t.name == 'generation-batch' and "
        "t.is_alive() for t in threading.enumerate())))\n"
        "from inference import Engine, EngineConfig, GenerationParams\n"
        "engine = Engine.load(EngineConfig(model='tiny-random', backend='native', precision='int8', "
        "cache_dir={cache}, max_batch=2))\n"
        "engine.generate_many([GenerationParams('lo-fi', 1.0, seed=s) for s in (1, 2)])\n"
        "print('generated')\n"
    )
    assert lines[-2:] == ["generated", "batch threads at exit: 0"]


def test_exiting_while_a_generation_runs_cancels_it_at_a_step_rather_than_wait(run_script) -> None:
    # The check is registered before the import, so it runs after the library's exit handler.
    lines = run_script(
        "import atexit, threading\n"
        "started, steps, outcome = threading.Event(), [], []\n"
        "def check():\n"
        "    runner.join(60)\n"
        "    print('outcome', outcome, steps[-1][0] < steps[-1][1])\n"
        "atexit.register(check)\n"
        "from inference import Engine, EngineConfig, GenerationParams\n"
        "engine = Engine.load(EngineConfig(model='tiny-random', backend='native', precision='int8', "
        "cache_dir={cache}, max_batch=2))\n"
        "def progress(p):\n"
        "    steps.append((p.step, p.total_steps))\n"
        "    if p.step >= 10:\n"
        "        started.set()\n"
        "def run():\n"
        "    try:\n"
        "        engine.generate(GenerationParams('lo-fi', 120.0, seed=1), on_progress=progress)\n"
        "    except Exception as exc:\n"
        "        outcome.append(type(exc).__name__)\n"
        "runner = threading.Thread(target=run, daemon=True)\n"
        "runner.start()\n"
        "started.wait()\n"
    )
    assert lines[-1] == "outcome ['GenerationCancelled'] True"


def test_the_tracks_breakdown_splits_the_whole_call(native: Engine) -> None:
    """benchmarks.tracks_breakdown: its phases of a real generate_many call add up to the call's wall
    time, and the per-track phases are summed over the tracks."""
    from benchmarks.tracks_breakdown import phases

    for split in (phases(native, 1, 1.0, seed=1), phases(native, 2, 1.0, seed=1)):
        assert split["text"] + split["audio"] + split["loop"] == pytest.approx(split["wall"])
        assert min(split["text"], split["audio"], split["loop"]) > 0
        assert split["steps"] == native.generate(GenerationParams("x", 1.0, seed=1)).steps

    class Known:  # results with known phases: each track's text and audio count, one after another
        def generate_many(self, requests: list[GenerationParams]) -> list[SimpleNamespace]:
            time.sleep(0.05)
            timings = SimpleNamespace(text_encoding_s=0.01, audio_decoding_s=0.02)
            return [SimpleNamespace(timings=timings, steps=7) for _ in requests]

    split = phases(Known(), 2, 1.0, seed=1)  # type: ignore[arg-type]
    assert (split["text"], split["audio"], split["steps"]) == (pytest.approx(0.02), pytest.approx(0.04), 7)
    assert split["loop"] == pytest.approx(split["wall"] - 0.06)


def test_tracks_of_one_prompt_at_once_share_its_text_and_keep_nothing_after(native: Engine) -> None:
    """Variations of a prompt encode it once and read one copy of its cross-attention keys/values; a
    track with another prompt or another negative prompt gets its own; each track is what it is alone,
    and once the call ends nothing of the texts is kept."""
    backend = native._require().backend
    step = backend.step
    lofi = "lo-fi beat with warm piano"
    requests = [
        GenerationParams(lofi, 1.0, seed=11),
        GenerationParams(lofi, 1.0, seed=12),
        GenerationParams("loud rock guitar", 1.0, seed=13),
        GenerationParams(lofi, 1.0, seed=14, negative_prompt="drums"),
        GenerationParams(lofi, 1.0, seed=15, negative_prompt="drums"),
    ]
    expected = [native.generate(params) for params in requests]
    encoded: list[str] = []
    written: list[int] = []
    encode, write = backend.encode_text, step._write_texts

    def spy_encode(prompt: str):
        encoded.append(prompt)
        return encode(prompt)

    def spy_write(track, *args):
        written.append(track.cross_rows)
        return write(track, *args)

    backend.encode_text, step._write_texts = spy_encode, spy_write  # type: ignore[method-assign]
    try:
        results = native.generate_many(requests)
    finally:
        del backend.encode_text, step._write_texts
    assert sorted(encoded) == sorted([lofi, "loud rock guitar", "drums"])
    assert sorted(written) == [1, 1, 2]  # lo-fi, rock, lo-fi against drums
    for index, (got, want) in enumerate(zip(results, expected, strict=True)):
        assert _same(got, want), f"request {index}"
    assert (len(backend._texts), len(step._texts)) == (0, 0)


def test_a_job_joining_a_batch_encodes_its_inputs_on_every_thread(
    model_cache_dir: Path, thread_counts: ThreadCounts
) -> None:
    """The running loops hold torch to one thread (the native pool has the cores); a job joining them
    encodes its text and its audio to continue between their steps, and gets every thread for it."""
    engine = Engine.load(
        EngineConfig(
            "tiny-random", "native", precision="int8", cache_dir=str(model_cache_dir), threads=2, max_batch=2
        )
    )
    backend = engine._require().backend
    codec = backend.model.audio_encoder
    backend.encode_text = thread_counts.wrap("text", backend.encode_text)  # type: ignore[method-assign]
    codec.encode = thread_counts.wrap("audio", codec.encode)  # type: ignore[method-assign]
    joining = GenerationParams(
        "jazz trio",
        2.0,
        seed=5,
        prompt_audio=np.zeros((1, 16_000), dtype=np.float32),
        prompt_sample_rate=32_000,
    )
    joiner: list[threading.Thread] = []

    def progress(update) -> None:
        if update.step == 5 and not joiner:  # the first job is in its loop
            joiner.append(threading.Thread(target=engine.generate, args=(joining,)))
            joiner[0].start()
        if joiner and not thread_counts["audio"]:
            time.sleep(0.002)  # room for the second job to join before the first one ends

    try:
        engine.generate(GenerationParams("ambient", 10.0, seed=4), on_progress=progress)
        joiner[0].join(timeout=120)
    finally:
        engine.unload()
    assert thread_counts == {"text": [2, 2], "audio": [2]}
