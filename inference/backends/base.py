"""What every backend offers the engine."""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

import numpy as np
import torch

from inference.backends.hf import Loaded
from inference.device import Placement
from inference.errors import UnknownBackendError
from inference.musicgen.codec import ChunkCallback, encode_audio
from inference.musicgen.decoder import DecoderTrack
from inference.musicgen.loop import PrefillFn, StepFn, decoder_calls
from inference.musicgen.pattern import DelayPattern
from inference.musicgen.windows import Window
from inference.types import GenerationParams

T = TypeVar("T")

StepCallback = Callable[[int, int], None]
"""Called with (0, total_steps) once the text is encoded, then after each call into the decoder with
(calls done, total_steps), counting every window's prefill and steps; may raise to stop generation."""

AudioCallback = Callable[[np.ndarray], None]
"""Called with each piece of audio ``[channels, samples]`` (float32) as soon as it is final, in order:
the pieces put together are the whole clip. May raise to stop generation."""


@dataclass(frozen=True, slots=True)
class WindowDecoder:
    """A window's decoder: its step, its prefill of known frames (step by step when None), and its track
    where it has buffers of its own (it can then share steps with other windows' tracks)."""

    step: StepFn
    prefill: PrefillFn | None = None
    track: DecoderTrack | None = None


@dataclass(frozen=True, slots=True)
class StepCall:
    """One decoder step a generation asks for: ``decoder``'s logits for ``tokens`` at ``position``."""

    decoder: WindowDecoder
    tokens: torch.Tensor
    position: int


GenerationSteps = Generator[StepCall, torch.Tensor, "BackendOutput"]
"""A generation that yields each decoder step it needs, is sent the step's logits, and returns its
output: :func:`run_alone` drives one; :class:`inference.batching.Batch` drives several together."""


def run_alone(steps: Generator[StepCall, torch.Tensor, T]) -> T:
    """Drive a generation by itself: each step by its window's decoder."""
    with torch.inference_mode():
        try:
            call = next(steps)
            while True:
                call = steps.send(call.decoder.step(call.tokens, call.position))
        except StopIteration as done:
            return done.value


@dataclass(frozen=True, slots=True)
class BackendOutput:
    """Audio of at least the requested length plus phase timings (seconds)."""

    audio: np.ndarray  # float32, channels x samples
    codes: np.ndarray  # int64, codebooks x frames: the audio tokens
    steps: int  # calls into the decoder, every window's prefill and steps
    windows: int  # decoder windows the track took (1 up to the model's context)
    text_encoding_s: float
    decoder_loop_s: float
    audio_decoding_s: float


class Backend(abc.ABC):
    """One loaded model variant on one device in one precision."""

    name: ClassVar[str]
    precisions: ClassVar[tuple[str, ...]]
    batches: bool = False  # several generations can share decoder steps (OwnLoopBackend.step_batch)

    sample_rate: int
    channels: int
    frame_rate: float
    num_codebooks: int
    pad_id: int
    pattern: DelayPattern
    parameters: int
    artifacts: Path | None = None  # where the backend's exported or compiled files live, if any
    kernel: str | None = None  # the native library's build that runs the step (amx, avx512vnni, ...), if any

    @abc.abstractmethod
    def __init__(self, checkpoint: Path, placement: Placement, cache_dir: Path) -> None:
        """Load ``checkpoint``; ``cache_dir`` is ``MODEL_CACHE_DIR`` (exports and compiled artefacts)."""

    def adopt(self, loaded: Loaded, own_loop: bool = False) -> None:
        """Take the model, processor and audio facts of a loaded checkpoint.

        ``own_loop`` backends run our decoder loop, which knows MusicGen's text-conditioned decoder only.
        """
        if own_loop and loaded.melody:
            raise UnknownBackendError(f"melody checkpoints run on backend=reference only, not {self.name}")
        self.model, self.processor = loaded.model, loaded.processor
        self.sample_rate, self.channels = loaded.sample_rate, loaded.channels
        self.frame_rate, self.num_codebooks = loaded.frame_rate, loaded.num_codebooks
        self.pad_id = loaded.pad_id
        self.pattern = DelayPattern(loaded.num_codebooks, loaded.channels)
        self.parameters = sum(p.numel() for p in loaded.model.parameters())
        if loaded.decoder_layers is not None:
            self.parameters += loaded.decoder_layers.parameters()

    def total_steps(self, windows: Sequence[Window]) -> int:
        """Calls into the decoder that ``windows`` take (a prefill counts as one)."""
        return sum(decoder_calls(self.pattern, window) for window in windows)

    def generate(
        self,
        params: GenerationParams,
        seed: int,
        windows: Sequence[Window],
        on_step: StepCallback,
        on_chunk: ChunkCallback | None = None,
        prompt_codes: torch.Tensor | None = None,
        on_audio: AudioCallback | None = None,
    ) -> BackendOutput:
        """Generate audio for ``params`` in ``windows`` with a generator seeded by ``seed``.

        ``prompt_codes`` ``[codebooks, P]`` (:meth:`encode_audio`) come first: the first window is
        prompted with them and the result's codes and audio start with them. ``on_chunk`` follows audio
        decoding where the backend decodes in chunks (not ``reference``). ``on_audio`` gets the audio
        as it is made: piece by piece while the loop runs on backends with our own loop, whole at the
        end on ``reference``.

        A backend defines this or :meth:`generate_steps`; each is the other driven by default.
        """
        return run_alone(
            self.generate_steps(params, seed, windows, on_step, on_chunk, prompt_codes, on_audio)
        )

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
        """:meth:`generate` as a generator of its decoder steps (:data:`GenerationSteps`).

        ``shared`` lets a window use the backend's own buffers (its fastest path alone, e.g. a CUDA
        graph); otherwise each window opens buffers of its own, so that its steps can be batched with
        other generations'. A backend that does not expose its steps runs whole here and yields none.
        """
        yield from ()
        return self.generate(params, seed, windows, on_step, on_chunk, prompt_codes, on_audio)

    def starting_codes(self, prompt_codes: torch.Tensor | None, device: torch.device) -> torch.Tensor:
        """The codes a generation starts from: the prompt's, or none."""
        if prompt_codes is None:
            return torch.empty((self.num_codebooks, 0), dtype=torch.long, device=device)
        return prompt_codes.to(device=device, dtype=torch.long)

    def encode_audio(self, audio: np.ndarray, sample_rate: int) -> torch.Tensor:
        """The model's codes ``[codebooks, frames]`` of audio ``[channels, samples]`` at ``sample_rate``."""
        from scipy.signal import resample_poly

        wav = np.asarray(audio, dtype=np.float32)
        wav = wav[None] if wav.ndim == 1 else wav
        if sample_rate != self.sample_rate:
            divisor = math.gcd(sample_rate, self.sample_rate)
            wav = resample_poly(wav, self.sample_rate // divisor, sample_rate // divisor, axis=-1)
        tensor = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))
        codec_device = next(self.model.audio_encoder.parameters())
        tensor = tensor.to(device=codec_device.device, dtype=codec_device.dtype)
        return encode_audio(self.model, tensor, self.channels).long()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the backend holds beyond Python references."""
