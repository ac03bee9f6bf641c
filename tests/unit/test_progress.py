"""The progress model on a scripted clock: phase weights, ETA, what it learns, cancel."""

from __future__ import annotations

import itertools
import threading

import pytest

from inference import GenerationCancelled, Progress
from inference.progress import DEFAULT_TEXT_STEPS, PhaseCosts, ProgressTracker


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(
    costs: PhaseCosts,
    step_times: list[float],
    *,
    text_s: float = 1.0,
    chunks: int = 4,
    chunk_s: float = 1.25,
    audio_s: float = 10.0,
    report_text: bool = True,
) -> list[Progress]:
    """One generation as a backend drives the tracker: text, then a step per entry, then audio chunks."""
    clock, seen = Clock(), []
    total = len(step_times)
    tracker = ProgressTracker(costs, total, audio_s, seen.append, clock=clock)
    tracker.start()
    clock.now += text_s
    if report_text:
        tracker.on_step(0, total)
    for step, seconds in enumerate(step_times, 1):
        clock.now += seconds
        tracker.on_step(step, total)
    for done in range(1, chunks + 1):
        clock.now += chunk_s
        tracker.on_chunk(done, chunks)
    assert tracker.finish() == pytest.approx(clock.now - 100.0)
    return seen


def test_phases_are_weighted_by_their_measured_cost() -> None:
    # 1 s of text, 100 steps of 0.1 s, and 0.5 s of decoding per second of audio: 1 + 10 + 5 s.
    seen = run(PhaseCosts(DEFAULT_TEXT_STEPS, 0.5), [0.1] * 100)
    by_step = {(p.phase, p.step): p for p in seen}
    assert seen[0] == Progress(0, 100, 0.0, 0.0, "encoding_text", 0.0)  # no step time known yet: ETA 0
    assert by_step["generating", 1].fraction == pytest.approx((1 + 0.1) / 16)
    assert by_step["generating", 50].fraction == pytest.approx(6 / 16)
    assert by_step["generating", 100].fraction == pytest.approx(11 / 16)  # 1 - the decoding's share
    decoding = [p for p in seen if p.phase == "decoding_audio"]
    assert [p.fraction for p in decoding] == pytest.approx([11 / 16, 12.25 / 16, 13.5 / 16, 14.75 / 16, 1.0])
    assert [p.fraction for p in seen].count(1.0) == 1
    assert by_step["generating", 50].eta_s == pytest.approx(50 * 0.1 + 5)  # steps left + decoding
    assert decoding[0].eta_s == pytest.approx(5.0)
    assert decoding[1].eta_s == pytest.approx(3 * 1.25)  # from the chunks' own pace
    assert decoding[-1].eta_s == 0.0
    assert decoding[-1].elapsed_s == pytest.approx(16.0)


def test_the_next_generation_starts_from_what_this_one_measured() -> None:
    costs = PhaseCosts(DEFAULT_TEXT_STEPS, 0.5)
    run(costs, [0.1] * 100, chunk_s=0.5)  # decodes 10 s of audio in 2 s, not the default's 5 s
    assert costs.step_s == pytest.approx(0.1)
    assert costs.text_steps == pytest.approx(10.0)  # 1 s of text is 10 steps
    assert costs.decode_s_per_audio_s == pytest.approx(0.2)
    seen = run(costs, [0.1] * 100, chunk_s=0.5)
    assert seen[0].eta_s == pytest.approx(10 * 0.1 + 100 * 0.1 + 2.0)  # known before anything ran
    loop_end = next(p for p in seen if p.phase == "generating" and p.step == 100)
    assert loop_end.fraction == pytest.approx(11 / 13)


def test_a_one_off_slow_generation_does_not_move_the_estimates() -> None:
    costs = PhaseCosts(DEFAULT_TEXT_STEPS, 0.5)
    for chunk_s in (5.0, 0.5, 0.5):  # the first decodes 10x slower (kernels prepared for a new length)
        run(costs, [0.1] * 100, chunk_s=chunk_s)
    assert costs.decode_s_per_audio_s == pytest.approx(0.2)
    for chunk_s in (1.0, 1.0, 1.0):  # a lasting change wins
        run(costs, [0.1] * 100, chunk_s=chunk_s)
    assert costs.decode_s_per_audio_s == pytest.approx(0.4)


def test_eta_stays_steady_when_steps_jitter() -> None:
    costs = PhaseCosts(DEFAULT_TEXT_STEPS, 0.5)
    run(costs, [0.1] * 100)
    jitter = list(itertools.islice(itertools.cycle([0.05, 0.3, 0.05, 0.05, 0.6]), 200))
    seen = run(costs, jitter)
    running = [p for p in seen[:-1] if p.step >= 20]
    growth = [later.eta_s / earlier.eta_s for earlier, later in itertools.pairwise(running)]
    assert max(growth) <= 1.25  # the last step's time (0.05-0.6 s) would swing it 12x
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)


def test_a_backend_that_does_not_report_the_text_still_gets_weights() -> None:
    seen = run(PhaseCosts(DEFAULT_TEXT_STEPS, 0.5), [0.1] * 100, report_text=False)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert 0 < fractions[1] < fractions[-2] < 1.0 == fractions[-1]


def test_cancel_is_checked_at_every_report() -> None:
    costs, cancel = PhaseCosts(DEFAULT_TEXT_STEPS, 0.5), threading.Event()
    tracker = ProgressTracker(costs, 10, 1.0, cancel=cancel, clock=Clock())
    tracker.start()
    for step in range(4):
        tracker.on_step(step, 10)
    cancel.set()
    with pytest.raises(GenerationCancelled, match="canceled at step 4 of 10"):
        tracker.on_step(4, 10)
    cancel.clear()
    for step in range(4, 11):
        tracker.on_step(step, 10)
    cancel.set()
    with pytest.raises(GenerationCancelled, match="at step 10 of 10 while decoding audio"):
        tracker.on_chunk(1, 3)
