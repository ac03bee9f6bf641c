"""What every backend that runs our decode loop shares: text, windows, sampling, EnCodec, timings.

A backend supplies how it encodes the text and, for each window, a decoder step over a fresh KV cache
sized by that window (and a batched prefill of the window's known frames, where it has one).
"""

from __future__ import annotations

import abc
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from inference.backends.base import Backend, BackendOutput, StepCallback
from inference.musicgen.codec import ChunkCallback, decode_audio
from inference.musicgen.loop import PrefillFn, StepFn, decode, decoder_calls
from inference.musicgen.sampling import SamplingConfig
from inference.musicgen.windows import Window, frames_for
from inference.registry import CONTEXT_S
from inference.types import GenerationParams


@dataclass(frozen=True, slots=True)
class WindowDecoder:
    """A window's decoder: its step, and its prefill of known frames (step by step when None)."""

    step: StepFn
    prefill: PrefillFn | None = None


class OwnLoopBackend(Backend):
    """`generate` in windows around the backend's decoder step."""

    @property
    def window_steps(self) -> int:
        """Steps of the longest window (the model's context): what a KV cache must hold at most."""
        return self.pattern.steps_for(frames_for(CONTEXT_S, self.frame_rate))

    @property
    def loop_device(self) -> torch.device:
        """Where tokens and sampling live."""
        return self.placement.torch_device

    @abc.abstractmethod
    def encode_text(self, prompt: str) -> Any:
        """What the decoder attends to for ``prompt`` (computed once per generation)."""

    @abc.abstractmethod
    def start_window(self, text: Any, steps: int, guided: bool) -> WindowDecoder:
        """A decoder over a fresh KV cache for a window of ``steps`` steps."""

    def loop_context(self) -> contextlib.AbstractContextManager[None]:
        """Entered around the decode loop (a hook for subclasses)."""
        return contextlib.nullcontext()

    @torch.inference_mode()
    def generate(
        self,
        params: GenerationParams,
        seed: int,
        windows: Sequence[Window],
        on_step: StepCallback,
        on_chunk: ChunkCallback | None = None,
        prompt_codes: torch.Tensor | None = None,
    ) -> BackendOutput:
        device = self.loop_device
        started = time.perf_counter()
        sampling = SamplingConfig(params.temperature, params.top_k, params.top_p, params.cfg_coef)
        text = self.encode_text(params.prompt)
        encoded = time.perf_counter()
        generator = torch.Generator(device=device).manual_seed(seed)
        total = self.total_steps(windows)
        codes = self.starting_codes(prompt_codes, device)
        done = 0
        with self.loop_context():
            for window in windows:
                steps = self.pattern.steps_for(window.frames)
                decoder = self.start_window(text, steps, sampling.guided)
                prompt = codes[:, codes.shape[-1] - window.prompt :] if window.prompt else None
                sequence = decode(
                    decoder.step,
                    self.pattern,
                    steps,
                    sampling,
                    generator,
                    self.pad_id,
                    device,
                    _counting(on_step, done, total),
                    prompt,
                    decoder.prefill,
                )
                codes = torch.cat([codes, self.pattern.undelay(sequence)[:, window.prompt :]], dim=-1)
                done += decoder_calls(self.pattern, window)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        looped = time.perf_counter()
        audio = decode_audio(self.model, codes, self.channels, on_chunk)
        return BackendOutput(
            audio=audio.float().cpu().numpy(),
            codes=codes.cpu().numpy(),
            steps=total,
            windows=len(windows),
            text_encoding_s=encoded - started,
            decoder_loop_s=looped - encoded,
            audio_decoding_s=time.perf_counter() - looped,
        )


def _counting(on_step: StepCallback, before: int, total: int) -> StepCallback:
    """A window's step callback counting on from the windows before (the text is reported once)."""

    def report(done: int, _: int) -> None:
        if done or not before:
            on_step(before + done, total)

    return report
