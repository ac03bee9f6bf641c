"""Honest progress for one generation: its phases weighted by what they cost, and a steady ETA.

A generation is text encoding, the decoder loop (``total_steps`` steps) and audio decoding (EnCodec).
Each engine keeps :class:`PhaseCosts`, running estimates from its own past generations; a
:class:`ProgressTracker` turns one generation's backend callbacks into :class:`~inference.types.Progress`
reports. The phases' weights are fixed at the first decoder step (from the measured text time, the
step time and the expected decode time), so the fraction never goes back and reaches 1.0 only when
the audio is decoded. The ETA uses the mean step time of the loop so far (blended with past
generations' while few steps are done), not the last step's, and adds the expected decode time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import median_low

from inference.errors import GenerationCancelled
from inference.types import Progress

# Defaults until an engine has finished a generation, measured here on 2 CPU threads: text encoding
# took 3.6-4.7 decoder steps on small-random with torch int8 (0.3-0.6 with reference float32, whose
# steps are 8x slower) and 1.2-3.7 on tiny-random.
DEFAULT_TEXT_STEPS = 4.0
# EnCodec (32 kHz) decoded 0.17-0.28 s per second of mono audio on 2 CPU threads (small-random;
# tiny-random's toy codec takes 0.01-0.03 s). On a GPU it is a guess that the first generation replaces.
DEFAULT_DECODE_S_PER_AUDIO_S = {"cpu": 0.22}
DEFAULT_DECODE_S_PER_AUDIO_S_ACCELERATOR = 0.02
HISTORY = 5  # how many recent generations the estimates look at
PRIOR_STEPS = 8  # the past generations' step time counts as this many steps of the current one


@dataclass(slots=True)
class PhaseCosts:
    """An engine's estimates of what each phase costs, from its last :data:`HISTORY` generations.

    Each is the lower median of the recent measurements (the default until there is one): one-off
    costs, such as a first run or the first EnCodec pass at a new clip length (tiny-random's took 20x
    its usual time), are outliers it ignores, while a lasting change wins within a few generations.
    """

    default_text_steps: float
    default_decode_s_per_audio_s: float
    text_history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    decode_history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))
    step_history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))

    @classmethod
    def defaults(cls, device_type: str, channels: int) -> PhaseCosts:
        """The measured defaults for ``device_type`` (:data:`DEFAULT_DECODE_S_PER_AUDIO_S`)."""
        per_channel = DEFAULT_DECODE_S_PER_AUDIO_S.get(device_type, DEFAULT_DECODE_S_PER_AUDIO_S_ACCELERATOR)
        return cls(DEFAULT_TEXT_STEPS, per_channel * channels)

    @property
    def text_steps(self) -> float:
        """Text encoding time, in decoder-step times."""
        return median_low(self.text_history) if self.text_history else self.default_text_steps

    @property
    def decode_s_per_audio_s(self) -> float:
        """Seconds of audio decoding per second of audio."""
        return median_low(self.decode_history) if self.decode_history else self.default_decode_s_per_audio_s

    @property
    def step_s(self) -> float | None:
        """Seconds per decoder step; None until a generation finished."""
        return median_low(self.step_history) if self.step_history else None

    def update(
        self, text_s: float | None, loop_s: float, steps: int, decode_s: float, audio_s: float
    ) -> None:
        """Record one finished generation's measured phases."""
        if steps <= 0 or loop_s <= 0 or audio_s <= 0:
            return
        step_s = loop_s / steps
        self.step_history.append(step_s)
        if text_s is not None:
            self.text_history.append(text_s / step_s)
        self.decode_history.append(decode_s / audio_s)


class ProgressTracker:
    """One generation's progress: call :meth:`start`, pass :meth:`on_step` and :meth:`on_chunk` to the
    backend, then call :meth:`finish` once the audio is final.

    Every call checks ``cancel`` first and raises :class:`GenerationCancelled` when it is set.
    """

    def __init__(
        self,
        costs: PhaseCosts,
        total_steps: int,
        audio_s: float,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.clock = clock
        self.costs = costs
        self.total_steps = total_steps
        self.audio_s = audio_s
        self.on_progress = on_progress
        self.cancel = cancel
        self.started = clock()
        self.step = 0
        self.decode_s = max(costs.decode_s_per_audio_s * audio_s, 1e-4)  # expected; never free
        self._text_done_at: float | None = None
        self._loop_done_at: float | None = None
        self._weights: tuple[float, float, float] | None = None  # text, loop, decode; sum 1

    def start(self) -> None:
        """Report the start (``encoding_text``, fraction 0)."""
        self._check_cancel()
        step_s = self.costs.step_s
        eta = 0.0 if step_s is None else (self.costs.text_steps + self.total_steps) * step_s + self.decode_s
        self._report("encoding_text", 0.0, eta, self.clock())

    def on_step(self, step: int, total: int) -> None:
        """The backend's :data:`~inference.backends.base.StepCallback`."""
        self._check_cancel(step)
        now = self.clock()
        if step == 0:  # the text is encoded
            self._text_done_at = now
            return
        self.step = step
        text, loop, _ = self._weights or self._fix_weights(now)
        step_s = self._mean_step_s(now)
        self._report("generating", text + loop * (step / total), (total - step) * step_s + self.decode_s, now)
        if step == total:
            self._loop_done_at = now
            self._report("decoding_audio", text + loop, self.decode_s, now)

    def on_chunk(self, done: int, total: int) -> None:
        """The backend's :data:`~inference.musicgen.codec.ChunkCallback`; the last chunk waits for
        :meth:`finish`, which reports 1.0."""
        self._check_cancel()
        if done >= total:
            return
        now = self.clock()
        text, loop, decode = self._weights or self._fix_weights(now)
        spent = now - (now if self._loop_done_at is None else self._loop_done_at)
        eta = spent / done * (total - done) if spent > 0 else self.decode_s * (1 - done / total)
        self._report("decoding_audio", text + loop + decode * (done / total), eta, now)

    def finish(self) -> float:
        """Report the end (fraction 1.0), learn from this generation's phases; the seconds since start."""
        now = self.clock()
        loop_done = now if self._loop_done_at is None else self._loop_done_at
        text_s = None if self._text_done_at is None else self._text_done_at - self.started
        self.costs.update(text_s, loop_done - self._loop_started, self.step, now - loop_done, self.audio_s)
        self._report("decoding_audio", 1.0, 0.0, now)
        return now - self.started

    def _fix_weights(self, now: float) -> tuple[float, float, float]:
        """The phases' shares of the work, from this generation's text time and first step(s)."""
        step_s = self.costs.step_s
        if step_s is None:  # this engine's first generation: its first step(s)
            step_s = max(now - self._loop_started, 1e-6) / max(self.step, 1)
        if self._text_done_at is not None:
            text_s = self._text_done_at - self.started
        else:
            text_s = self.costs.text_steps * step_s
        loop_s = self.total_steps * step_s
        whole = text_s + loop_s + self.decode_s
        text, loop = text_s / whole, loop_s / whole
        self._weights = (text, loop, 1.0 - text - loop)
        return self._weights

    @property
    def _loop_started(self) -> float:
        """When the text was encoded; the start, for a backend that does not say."""
        return self.started if self._text_done_at is None else self._text_done_at

    def _mean_step_s(self, now: float) -> float:
        """Mean step time of this loop so far, weighted with the past generations' while few steps ran."""
        loop_s = now - self._loop_started
        if self.costs.step_s is None:
            return loop_s / self.step
        return (PRIOR_STEPS * self.costs.step_s + loop_s) / (PRIOR_STEPS + self.step)

    def _check_cancel(self, step: int | None = None) -> None:
        if self.cancel is not None and self.cancel.is_set():
            where = " while decoding audio" if self._loop_done_at is not None else ""
            at = self.step if step is None else step
            raise GenerationCancelled(f"canceled at step {at} of {self.total_steps}{where}")

    def _report(self, phase: str, fraction: float, eta_s: float, now: float) -> None:
        if self.on_progress is not None:
            self.on_progress(
                Progress(
                    step=self.step,
                    total_steps=self.total_steps,
                    elapsed_s=now - self.started,
                    eta_s=max(0.0, eta_s),
                    phase=phase,
                    fraction=fraction,
                )
            )
