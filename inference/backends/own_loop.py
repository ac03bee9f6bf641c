"""What every backend that runs our decode loop shares: text, windows, sampling, EnCodec, timings.

A backend supplies how it encodes the text and, for each window, a decoder step over a fresh KV cache
sized by that window (and a batched prefill of the window's known frames, where it has one). A
negative prompt is encoded the same way and handed to the window's decoder for the unconditional row.

A generation is a generator (:meth:`OwnLoopBackend.generate_steps`) that yields each decoder step as a
:class:`~inference.backends.base.StepCall` and is sent its logits: run alone, every call goes to its
window's step; batched (:mod:`inference.batching`), the calls of several generations go through
:meth:`OwnLoopBackend.step_batch` together, on backends whose windows can share steps (``batches``).
"""

from __future__ import annotations

import abc
import contextlib
import functools
import time
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np
import torch

from inference.backends.base import (
    AudioCallback,
    Backend,
    BackendOutput,
    GenerationSteps,
    StepCall,
    StepCallback,
    WindowDecoder,
)
from inference.errors import InvalidParameterError
from inference.musicgen.codec import ChunkCallback, StreamingDecoder, decode_audio
from inference.musicgen.loop import TokensFn, decode_steps, decoder_calls
from inference.musicgen.sampling import SamplingConfig
from inference.musicgen.windows import Window, frames_for
from inference.registry import CONTEXT_S
from inference.sharing import Held, LiveMemo
from inference.types import GenerationParams


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
        """What the decoder attends to for ``prompt`` (called through :meth:`shared_text`: once for the
        generations of that prompt running at the same time)."""

    @functools.cached_property
    def _texts(self) -> LiveMemo[Any]:
        return LiveMemo()

    def shared_text(self, prompt: str) -> Held[Any]:
        """:meth:`encode_text` of ``prompt``, computed once for the generations that hold it at the same
        time (the variations of a prompt), afresh once none does."""

        def encode() -> Any:
            with self.all_threads_context():  # a job joining a batch starts while its loops hold torch to one
                return self.encode_text(prompt)

        return self._texts.get(prompt, encode)

    @abc.abstractmethod
    def start_window(self, text: Any, steps: int, guided: bool, negative: Any = None) -> WindowDecoder:
        """A decoder over a fresh KV cache for a window of ``steps`` steps.

        ``negative`` (what :meth:`encode_text` made of a negative prompt, with ``guided`` only) conditions
        the unconditional row; None leaves it unconditioned.
        """

    def open_window(self, text: Any, steps: int, guided: bool, negative: Any = None) -> WindowDecoder:
        """A decoder for a window, as :meth:`start_window`, in buffers of its own: its ``track`` can share
        steps with other windows' (:meth:`step_batch`). Only backends that ``batches`` have it."""
        raise NotImplementedError(f"backend {self.name} does not batch generations")

    def step_batch(self, calls: Sequence[StepCall]) -> list[torch.Tensor]:
        """Logits of each call: one at a time here; backends that ``batches`` run them in one step."""
        return [call.decoder.step(call.tokens, call.position) for call in calls]

    def loop_context(self) -> contextlib.AbstractContextManager[None]:
        """Entered around the decode loop (a hook for subclasses; generations that share steps enter it
        in turn, so it must allow overlapping entries)."""
        return contextlib.nullcontext()

    def encode_audio(self, audio: np.ndarray, sample_rate: int) -> torch.Tensor:
        with self.all_threads_context():  # a continuation may join a batch whose loops hold torch to one
            return super().encode_audio(audio, sample_rate)

    def all_threads_context(self) -> contextlib.AbstractContextManager[None]:
        """Entered around torch work between steps that is worth every thread (encoding a prompt's text
        or audio, a window's set-up, audio decoding) even while loops hold torch to fewer; a hook for
        subclasses."""
        return contextlib.nullcontext()

    def generate_steps(
        self,
        params: GenerationParams,
        seed: int,
        windows: Sequence[Window],
        on_step: StepCallback,
        on_chunk: ChunkCallback | None = None,
        prompt_codes: torch.Tensor | None = None,
        on_audio: AudioCallback | None = None,
        shared: bool = True,
    ) -> GenerationSteps:
        device = self.loop_device
        started = time.perf_counter()
        sampling = SamplingConfig(params.temperature, params.top_k, params.top_p, params.cfg_coef)
        if params.negative_prompt is not None and not sampling.guided:
            raise InvalidParameterError("negative_prompt", "needs cfg_coef above 1")
        # Held (shared with generations of the same texts meanwhile) for this generation's life.
        held_text = self.shared_text(params.prompt)
        held_negative = None if params.negative_prompt is None else self.shared_text(params.negative_prompt)
        text = held_text.value
        negative = None if held_negative is None else held_negative.value
        encoded = time.perf_counter()
        generator = torch.Generator(device=device).manual_seed(seed)
        total = self.total_steps(windows)
        codes = self.starting_codes(prompt_codes, device)
        stream = _AudioStream(self, on_audio) if on_audio is not None else None
        if stream is not None:
            stream.push(codes)
        done = 0
        with self.loop_context():
            for window in windows:
                steps = self.pattern.steps_for(window.frames)
                start = self.start_window if shared else self.open_window
                with self.all_threads_context():
                    decoder = start(text, steps, sampling.guided, negative)
                prompt = codes[:, codes.shape[-1] - window.prompt :] if window.prompt else None
                loop = decode_steps(
                    self.pattern,
                    steps,
                    sampling,
                    generator,
                    self.pad_id,
                    device,
                    _counting(on_step, done, total),
                    prompt,
                    decoder.prefill,
                    stream.follow(window) if stream is not None else None,
                )
                sequence = yield from _calls(decoder, loop)
                codes = torch.cat([codes, self.pattern.undelay(sequence)[:, window.prompt :]], dim=-1)
                done += decoder_calls(self.pattern, window)
                del decoder, loop  # the window's cache goes (for the next window to reuse) before it opens
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        looped = time.perf_counter()
        with self.all_threads_context():
            if stream is not None:
                audio = stream.finish()
                if on_chunk is not None:
                    on_chunk(1, 1)
            else:
                audio = decode_audio(self.model, codes, self.channels, on_chunk).float().cpu().numpy()
        return BackendOutput(
            audio=audio,
            codes=codes.cpu().numpy(),
            steps=total,
            windows=len(windows),
            text_encoding_s=encoded - started,
            decoder_loop_s=looped - encoded,
            audio_decoding_s=time.perf_counter() - looped,
        )


class _AudioStream:
    """Decodes frames as the loop makes them final and hands their audio to ``on_audio``."""

    def __init__(self, backend: OwnLoopBackend, on_audio: AudioCallback) -> None:
        self.pattern = backend.pattern
        self.decoder = StreamingDecoder(backend.model, backend.channels)
        self.all_threads_context = backend.all_threads_context
        self.on_audio = on_audio
        self.pieces: list[np.ndarray] = []

    def push(self, codes: torch.Tensor) -> None:
        # A piece is decoded inside the loop, whose context may hold torch to fewer threads.
        with self.all_threads_context():
            audio = self.decoder.push(codes)
        self._hand_out(audio)

    def follow(self, window: Window) -> TokensFn:
        """The loop's ``on_tokens`` for ``window``: pushes each frame once all its codebooks are in."""
        pushed = window.prompt  # the window's prompt frames were pushed before it

        def on_tokens(sequence: torch.Tensor, steps_done: int) -> None:
            nonlocal pushed
            final = min(self.pattern.frames_for(steps_done), window.frames)
            if final > pushed:
                # Columns pushed.. hold frames pushed..final-1 behind a column in place of the start one.
                self.push(self.pattern.undelay(sequence[:, pushed : final + self.pattern.span]))
                pushed = final

        return on_tokens

    def finish(self) -> np.ndarray:
        """The whole clip: every piece handed out, in order."""
        self._hand_out(self.decoder.finish())
        return np.concatenate(self.pieces, axis=-1)

    def _hand_out(self, audio: torch.Tensor) -> None:
        if audio.shape[-1]:
            piece = audio.float().cpu().numpy()
            self.pieces.append(piece)
            self.on_audio(piece)


def _calls(
    decoder: WindowDecoder, loop: Generator[tuple[torch.Tensor, int], torch.Tensor, torch.Tensor]
) -> Generator[StepCall, torch.Tensor, torch.Tensor]:
    """A window's decode loop with each step addressed to ``decoder``."""
    try:
        tokens, position = next(loop)
        while True:
            tokens, position = loop.send((yield StepCall(decoder, tokens, position)))
    except StopIteration as done:
        return done.value


def _counting(on_step: StepCallback, before: int, total: int) -> StepCallback:
    """A window's step callback counting on from the windows before (the text is reported once)."""

    def report(done: int, _: int) -> None:
        if done or not before:
            on_step(before + done, total)

    return report
