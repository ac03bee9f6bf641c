"""The engine's public value types: configuration, request parameters, progress and results."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from inference.errors import InvalidParameterError
from inference.registry import WINDOW_STRIDE_S

MAX_PROMPT_CHARS = 2000


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Which model variant to load: model x backend x device x precision.

    ``cache_dir`` is where presets are built and hub checkpoints cached (``MODEL_CACHE_DIR``);
    ``threads`` caps torch's intra-op threads on CPU (None keeps torch's default).
    ``backend="auto"`` (the default, as in the service; or ``precision="auto"`` with ``preferences``)
    tries ranked (backend, precision) pairs, fastest first, then a default order per device type: see
    :mod:`inference.tuning`. ``backend="reference"`` is transformers' own ``generate``, the parity oracle.
    ``max_batch`` above 1 lets that many generations called at once share decoder steps (continuous
    batching, on backends that batch: torch and native).
    """

    model: str = "tiny-random"
    backend: str = "auto"
    device: str = "auto"
    precision: str = "auto"
    cache_dir: str | None = None
    threads: int | None = None
    hub_timeout_s: float = 5.0
    preferences: tuple[tuple[str, str], ...] | None = None
    window_stride_s: float = WINDOW_STRIDE_S
    max_batch: int = 1


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """One request. Defaults follow MusicGen's (AudioCraft's) sampling defaults.

    ``top_p`` of 0 disables nucleus sampling; ``top_k`` of 0 disables top-k;
    ``temperature`` of 0 means greedy decoding; ``cfg_coef`` of 1 disables guidance.

    ``prompt_audio`` (float samples ``[channels, samples]`` at ``prompt_sample_rate``) is continued:
    the result is that audio (through the model's codec) followed by new music, ``duration`` seconds in
    all, so ``duration`` must exceed the prompt's length.

    ``negative_prompt`` is what to steer away from: the unconditional half of classifier-free guidance
    is conditioned on its text instead of on nothing (``logits = neg + cfg_coef * (cond - neg)``, as
    AudioCraft and diffusers do), so it needs ``cfg_coef`` above 1. None (the default) is no negative
    prompt: the output is exactly what it was before negative prompts existed.
    """

    prompt: str
    duration: float
    top_k: int = 250
    top_p: float = 0.0
    temperature: float = 1.0
    cfg_coef: float = 3.0
    seed: int | None = None
    prompt_audio: np.ndarray | None = field(default=None, repr=False, compare=False)
    prompt_sample_rate: int | None = None
    negative_prompt: str | None = None

    @property
    def prompt_seconds(self) -> float:
        """Length of ``prompt_audio`` in seconds (0 without one)."""
        if self.prompt_audio is None or not self.prompt_sample_rate:
            return 0.0
        return self.prompt_audio.shape[-1] / self.prompt_sample_rate

    def validate(self, max_duration: float | None = None) -> None:
        """Raise :class:`InvalidParameterError` naming the first bad field."""
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise InvalidParameterError("prompt", "must be a non-empty text")
        if len(self.prompt) > MAX_PROMPT_CHARS:
            raise InvalidParameterError("prompt", f"must be at most {MAX_PROMPT_CHARS} characters")
        if not _finite(self.duration) or self.duration <= 0:
            raise InvalidParameterError("duration", "must be a number of seconds above 0")
        if max_duration is not None and self.duration > max_duration:
            raise InvalidParameterError("duration", f"must be at most {max_duration:g} s for this model")
        if not isinstance(self.top_k, int) or self.top_k < 0:
            raise InvalidParameterError("top_k", "must be an integer >= 0 (0 disables top-k)")
        if not _finite(self.top_p) or not 0.0 <= self.top_p <= 1.0:
            raise InvalidParameterError("top_p", "must be between 0 and 1 (0 disables top-p)")
        if not _finite(self.temperature) or self.temperature < 0:
            raise InvalidParameterError("temperature", "must be >= 0 (0 means greedy decoding)")
        if not _finite(self.cfg_coef) or self.cfg_coef < 1.0:
            raise InvalidParameterError("cfg_coef", "must be >= 1 (1 disables classifier-free guidance)")
        if self.seed is not None and (not isinstance(self.seed, int) or not 0 <= self.seed < 2**63):
            raise InvalidParameterError("seed", "must be an integer between 0 and 2**63 - 1")
        if self.negative_prompt is not None:
            self._validate_negative_prompt()
        if self.prompt_audio is not None:
            self._validate_prompt_audio()

    def _validate_negative_prompt(self) -> None:
        negative = self.negative_prompt
        if not isinstance(negative, str) or not negative.strip():
            raise InvalidParameterError("negative_prompt", "must be a non-empty text (or absent for none)")
        if len(negative) > MAX_PROMPT_CHARS:
            raise InvalidParameterError("negative_prompt", f"must be at most {MAX_PROMPT_CHARS} characters")
        if self.cfg_coef <= 1.0:
            raise InvalidParameterError(
                "negative_prompt",
                "needs cfg_coef above 1: it conditions the unconditional half of classifier-free guidance, "
                "which cfg_coef 1 turns off",
            )

    def _validate_prompt_audio(self) -> None:
        audio = self.prompt_audio
        if not isinstance(audio, np.ndarray) or audio.ndim not in (1, 2) or audio.shape[-1] == 0:
            raise InvalidParameterError("prompt_audio", "must be samples as [channels, samples]")
        if audio.ndim == 2 and not 1 <= audio.shape[0] <= 2:
            raise InvalidParameterError("prompt_audio", f"must be mono or stereo ({audio.shape[0]} channels)")
        if not np.isfinite(audio).all():
            raise InvalidParameterError("prompt_audio", "must hold finite samples")
        rate = self.prompt_sample_rate
        if not isinstance(rate, int) or not 1000 <= rate <= 384_000:
            raise InvalidParameterError("prompt_sample_rate", "must be a sample rate in Hz (1000-384000)")
        if self.prompt_seconds >= self.duration:
            raise InvalidParameterError(
                "duration",
                f"must exceed the audio to continue ({self.prompt_seconds:.2f} s): it is the length of the "
                "whole result",
            )


PHASES = ("encoding_text", "generating", "decoding_audio")
"""The phases of one generation, in order: text encoding, the decoder loop, audio decoding."""


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a generation stands: reported at its start, after every decoder step and during audio decoding.

    ``step``/``total_steps`` count decoder steps (``step == total_steps`` once the loop is done);
    ``phase`` is one of :data:`PHASES`; ``fraction`` is the share of the whole generation's work done
    (the phases weighted by their measured cost), non-decreasing, 1.0 only once the audio is decoded;
    ``eta_s`` is the estimated wall time left for all of it (0 while nothing is known yet: the
    first report of an engine's first generation).
    """

    step: int
    total_steps: int
    elapsed_s: float
    eta_s: float
    phase: str
    fraction: float


@dataclass(frozen=True, slots=True)
class Timings:
    """Wall-clock seconds per phase of one generation."""

    text_encoding_s: float
    decoder_loop_s: float
    audio_decoding_s: float
    total_s: float


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """Audio (float32, channels x samples) and how it was made."""

    audio: np.ndarray
    sample_rate: int
    seed: int
    model: str
    backend: str
    device: str
    precision: str
    steps: int  # calls into the decoder: every window's prefill and steps
    windows: int  # decoder windows the track took: 1 up to the model's context, more beyond
    timings: Timings
    params: GenerationParams = field(repr=False)
    codes: np.ndarray | None = field(default=None, repr=False)  # codebooks x frames, the audio tokens

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return self.audio.shape[-1] / self.sample_rate

    @property
    def channels(self) -> int:
        return int(self.audio.shape[0])

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio per second of wall time (higher is faster; 1.0 is realtime)."""
        return self.duration / self.timings.total_s if self.timings.total_s > 0 else math.inf

    @property
    def ms_per_step(self) -> float:
        return 1000.0 * self.timings.decoder_loop_s / self.steps if self.steps else 0.0


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
