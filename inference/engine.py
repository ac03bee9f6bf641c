"""Engine: one loaded MusicGen variant (model x backend x device x precision) and its generate call."""

from __future__ import annotations

import gc
import secrets
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference import device as devices
from inference import tuning
from inference.audio import DcFilter
from inference.backends.base import Backend, StepCall, run_alone
from inference.batching import Batch, Scheduler
from inference.errors import EngineNotLoadedError, GenerationCancelled, InvalidParameterError
from inference.musicgen.windows import Window, frames_for, plan_windows
from inference.progress import PhaseCosts, ProgressTracker
from inference.registry import DEFAULT_CACHE_DIR, ModelSpec, model_spec, resolve_checkpoint
from inference.types import EngineConfig, GenerationParams, GenerationResult, Progress, Timings

ProgressCallback = Callable[[Progress], None]
AudioCallback = Callable[[np.ndarray], None]


@dataclass(frozen=True, slots=True)
class _Loaded:
    backend: Backend
    spec: ModelSpec
    placement: devices.Placement
    load_time_s: float


class Engine:
    """Generates music with one loaded variant. Thread-safe: generations run one at a time."""

    def __init__(self, config: EngineConfig, loaded: _Loaded) -> None:
        self.config = config
        self._loaded: _Loaded | None = loaded
        self._lock = threading.Lock()
        self._scheduler: Scheduler | None = None
        self._costs = PhaseCosts.defaults(loaded.placement.device_type, loaded.backend.channels)

    @classmethod
    def load(cls, config: EngineConfig | None = None) -> Engine:
        """Resolve the model, device and precision, fetch or build the weights and load them."""
        config = config or EngineConfig()
        started = time.perf_counter()
        spec = model_spec(config.model)
        if not 0 < config.window_stride_s <= spec.context_s:
            raise InvalidParameterError(
                "window_stride_s", f"must be above 0 and at most the model's context ({spec.context_s:g} s)"
            )
        if not isinstance(config.max_batch, int) or config.max_batch < 1:
            raise InvalidParameterError("max_batch", "must be an integer of at least 1")
        options = tuning.choices(config)  # one, unless backend or precision is "auto"
        if options[0].placement.device_type == "cpu":
            # torch's default counts the CPUs in the affinity mask but not a container's CPU quota.
            torch.set_num_threads(config.threads or min(torch.get_num_threads(), devices.available_cpus()))
        _quiet_transformers()
        checkpoint = resolve_checkpoint(config.model, config.cache_dir, config.hub_timeout_s)
        cache_dir = Path(config.cache_dir) if config.cache_dir is not None else DEFAULT_CACHE_DIR
        chosen = tuning.load_first(options, checkpoint, cache_dir)
        DcFilter(chosen.backend.sample_rate)  # imports scipy.signal now, not in the first request (~0.5 s)
        _freeze_long_lived()
        return cls(config, _Loaded(chosen.backend, spec, chosen.placement, time.perf_counter() - started))

    @property
    def batch_capacity(self) -> int:
        """Generations that share decoder steps at most when called at once (1: one at a time)."""
        loaded = self._loaded
        return self.config.max_batch if loaded is not None and loaded.backend.batches else 1

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def info(self) -> dict[str, Any]:
        """What is loaded, where, and what it produces."""
        loaded = self._require()
        backend = loaded.backend
        return {
            "model": loaded.spec.name,
            "description": loaded.spec.description,
            "random_weights": loaded.spec.random_weights,
            "backend": backend.name,
            "device": loaded.placement.device,
            "device_name": devices.device_name(loaded.placement.device),
            "precision": loaded.placement.precision,
            "sample_rate": backend.sample_rate,
            "channels": backend.channels,
            "frame_rate": backend.frame_rate,
            "max_duration": loaded.spec.max_duration,
            "parameters": backend.parameters,
            "load_time_s": round(loaded.load_time_s, 3),
            "artifacts": str(backend.artifacts) if backend.artifacts else None,
            "kernel": backend.kernel,
            "threads": torch.get_num_threads() if loaded.placement.device_type == "cpu" else None,
        }

    def generate(
        self,
        params: GenerationParams,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_audio: AudioCallback | None = None,
    ) -> GenerationResult:
        """Generate ``params.duration`` seconds of audio, DC removed (:func:`inference.audio.remove_dc`).

        ``on_progress`` gets a :class:`~inference.types.Progress` at the start, after every decoder step
        and during audio decoding, the last with ``fraction`` 1.0 (see :mod:`inference.progress`).
        Setting ``cancel`` stops generation within one decoder step (or audio chunk) by raising
        :class:`GenerationCancelled`. ``on_audio`` streams the result: it gets each piece of the
        audio ``[channels, samples]`` as soon as it is final (on backends with our own loop, while the
        decoder runs; on ``reference``, at the end), and the pieces put together are ``result.audio``.

        With ``EngineConfig.max_batch`` above 1 on a backend that batches, generations called from
        several threads at once share decoder steps (:mod:`inference.batching`); each keeps its own
        seed, settings, progress and cancel.
        """
        loaded = self._require()
        seed = self._check(params, loaded, cancel)
        scheduler = self._scheduler_of(loaded)
        if scheduler is not None:
            steps = self._generation(loaded, params, seed, on_progress, cancel, on_audio, shared=False)
            return scheduler.submit(steps).result()
        with self._lock:
            loaded = self._require()
            return run_alone(self._generation(loaded, params, seed, on_progress, cancel, on_audio))

    def generate_many(
        self,
        requests: Sequence[GenerationParams],
        on_progress: Callable[[int, Progress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[GenerationResult]:
        """Generate every request of ``requests`` together, in shared decoder steps where the backend
        batches (one after the other where it does not); results in the same order.

        A request's tokens are those it gets alone with the same seed, bit for bit on ``native``;
        other backends round a batch's matrix products differently (see :mod:`inference.musicgen.decoder`).
        ``on_progress`` gets ``(index, progress)``; ``cancel`` stops them all. If any request fails,
        the first failure is raised once all have ended.
        """
        loaded = self._require()
        seeds = [self._check(params, loaded, cancel) for params in requests]

        def progress(index: int) -> ProgressCallback | None:
            return None if on_progress is None else lambda update: on_progress(index, update)

        if not loaded.backend.batches:
            return [self.generate(p, progress(i), cancel) for i, p in enumerate(requests)]
        runs = [
            self._generation(loaded, p, seed, progress(i), cancel, None, shared=False)
            for i, (p, seed) in enumerate(zip(requests, seeds, strict=True))
        ]
        scheduler = self._scheduler_of(loaded)
        if scheduler is not None:
            futures = [scheduler.submit(run) for run in runs]
            outcomes = [(f.exception(), None) if f.exception() else (None, f.result()) for f in futures]
        else:
            settled: dict[int, tuple[BaseException | None, Any]] = {}
            with self._lock, torch.inference_mode():
                self._require()
                batch = Batch(loaded.backend)
                for index, run in enumerate(runs):
                    batch.add(run, lambda result, error, i=index: settled.__setitem__(i, (error, result)))
                batch.run()
            outcomes = [settled[i] for i in range(len(runs))]
        for error, _ in outcomes:
            if error is not None:
                raise error
        return [result for _, result in outcomes]

    def _check(self, params: GenerationParams, loaded: _Loaded, cancel: threading.Event | None) -> int:
        """Validate a request; its seed (drawn where it has none)."""
        params.validate(max_duration=loaded.spec.max_duration)
        if cancel is not None and cancel.is_set():
            raise GenerationCancelled("canceled before it started")
        return params.seed if params.seed is not None else secrets.randbelow(2**31)

    def _scheduler_of(self, loaded: _Loaded) -> Scheduler | None:
        """The batch scheduler, where generations share steps (made on first use)."""
        if self.config.max_batch <= 1 or not loaded.backend.batches:
            return None
        with self._lock:
            if self._loaded is not loaded:
                raise EngineNotLoadedError("the engine was unloaded; load it again")
            if self._scheduler is None:
                self._scheduler = Scheduler(loaded.backend, self.config.max_batch)
            return self._scheduler

    def _generation(
        self,
        loaded: _Loaded,
        params: GenerationParams,
        seed: int,
        on_progress: ProgressCallback | None,
        cancel: threading.Event | None,
        on_audio: AudioCallback | None,
        shared: bool = True,
    ) -> Generator[StepCall, torch.Tensor, GenerationResult]:
        """One generation as a generator of its decoder steps (see :mod:`inference.batching`)."""
        backend = loaded.backend
        prompt_codes = None
        if params.prompt_audio is not None:
            prompt_codes = backend.encode_audio(params.prompt_audio, params.prompt_sample_rate)
        known = 0 if prompt_codes is None else prompt_codes.shape[-1]
        windows = self.windows(params.duration, known)
        steps = backend.total_steps(windows)
        tracker = ProgressTracker(self._costs, steps, params.duration, on_progress, cancel)
        tracker.start()
        output = _Output(round(params.duration * backend.sample_rate), backend.sample_rate, on_audio)
        out = yield from backend.generate_steps(
            params,
            seed,
            windows,
            tracker.on_step,
            tracker.on_chunk,
            prompt_codes,
            output.push if on_audio is not None else None,
            shared=shared,
        )
        audio = output.result(out.audio)
        total_s = tracker.finish()
        return GenerationResult(
            audio=audio,
            sample_rate=backend.sample_rate,
            seed=seed,
            model=loaded.spec.name,
            backend=backend.name,
            device=loaded.placement.device,
            precision=loaded.placement.precision,
            steps=out.steps,
            windows=out.windows,
            timings=Timings(out.text_encoding_s, out.decoder_loop_s, out.audio_decoding_s, total_s),
            params=params,
            codes=out.codes,
        )

    def windows(self, duration: float, prompt_frames: int = 0) -> list[Window]:
        """The decoder windows a track of ``duration`` seconds takes here (one up to the context), after
        ``prompt_frames`` known frames (continuation)."""
        loaded = self._require()
        rate = loaded.backend.frame_rate
        total = frames_for(duration, rate)
        if prompt_frames >= total:
            raise InvalidParameterError(
                "duration", "must exceed the audio to continue: it is the length of the whole result"
            )
        return plan_windows(
            total,
            frames_for(loaded.spec.context_s, rate),
            frames_for(self.config.window_stride_s, rate),
            prompt_frames,
        )

    def unload(self) -> None:
        """Free the model; later ``generate`` calls raise :class:`EngineNotLoadedError`."""
        with self._lock:
            loaded, self._loaded = self._loaded, None
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.close()  # the generations in it finish first
        if loaded is not None:
            loaded.backend.close()
            del loaded
            gc.unfreeze()
            gc.collect()
            _freeze_long_lived()

    def _require(self) -> _Loaded:
        if self._loaded is None:
            raise EngineNotLoadedError("the engine was unloaded; load it again")
        return self._loaded


def _freeze_long_lived() -> None:
    """Keep the garbage collector off what lives as long as a model: a full collection walks every
    tracked object, the model's included, and the decode loop allocates enough to start one every
    few steps (measured: about 5% of a 4-track native step). Unloading thaws them first."""
    gc.collect()
    gc.freeze()


class _Output:
    """The backend's audio as the caller gets it: cut to the requested length, DC removed (causally,
    so it is the same piece by piece as whole), and handed to ``on_audio`` as it comes."""

    def __init__(self, samples: int, sample_rate: int, on_audio: AudioCallback | None) -> None:
        self.samples = samples
        self.filter = DcFilter(sample_rate)
        self.on_audio = on_audio
        self.pieces: list[np.ndarray] = []
        self.seen = 0

    def push(self, audio: np.ndarray) -> None:
        piece = self.filter(audio[:, : max(0, self.samples - self.seen)])
        self.seen += piece.shape[-1]
        if piece.shape[-1]:
            self.pieces.append(piece)
            if self.on_audio is not None:
                self.on_audio(piece)

    def result(self, audio: np.ndarray) -> np.ndarray:
        """The whole clip: the pieces handed out, or ``audio`` filtered when none were."""
        if not self.pieces:
            self.push(audio)
        return np.concatenate(self.pieces, axis=-1) if self.pieces else audio[:, :0]


def _quiet_transformers() -> None:
    """No download bars or token-id warnings on stderr: the engine reports its own progress."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
