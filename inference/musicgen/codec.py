"""Audio from tokens: EnCodec's decoder, run in time chunks after its last recurrent layer.

EnCodec's decoder is a convolution, an LSTM, then a stack of upsampling convolutions (640 samples
per frame at 32 kHz). Decoded whole, a 30 s clip holds several ~250 MB activations at once and streams
them through memory; decoded in chunks of a few seconds, the upsampling stack's working set stays
small. The LSTM's state spans the whole clip, so everything up to it runs over all frames; the
stack after it only sees a few frames on either side of a sample (its receptive field), so each
chunk is decoded with a margin of frames on both sides that is cut away afterwards. The result is
the whole-clip decode, up to float rounding.

:class:`StreamingDecoder` decodes the same way while the codes are still being generated: the
convolution before the LSTM and the stack after it each wait for a margin of frames to their right,
and the LSTM carries its state from one piece to the next, so the pieces put together are the
whole-clip decode, up to float rounding, at a delay of ``2 * STREAM_MARGIN_FRAMES`` frames.

On CPU the stack after the LSTM runs through :mod:`inference.musicgen.polyphase` (transposed
convolutions as polyphase convolutions, in cache-sized tiles, only the samples kept): the same sums in
another order, about twice as fast as transformers' modules. Elsewhere, or for a stack it does not
recognise, the modules run. The LSTM runs over weights oneDNN reordered once
(:class:`~inference.musicgen.packed.PackedLSTM`, the module's results bit for bit): the module
reorders its 64 MB of weights on every call, which a streamed decode makes 20 times per 10 s.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import TypeVar

import torch

from inference.musicgen import packed, polyphase

CHUNK_FRAMES = 250  # 5 s at 50 frames per second
MARGIN_FRAMES = 8  # the upsampling stack's receptive field is under 2 frames either side
# While streaming, every piece costs its margins again: the least that still covers the receptive
# fields (the 7-tap convolution before the LSTM reaches 3 frames; the stack after it, under 2).
STREAM_MARGIN_FRAMES = 3
# The upsampling stack through inference.musicgen.polyphase where it applies; False: always through
# transformers' modules (the reference the fast path is tested and benchmarked against).
FAST_UPSAMPLING = True

ChunkCallback = Callable[[int, int], None]
"""Called after each decoded chunk with (chunks done, chunks in all); may raise to stop decoding."""


@torch.inference_mode()
def decode_audio(
    model, codes: torch.Tensor, channels: int, on_chunk: ChunkCallback | None = None
) -> torch.Tensor:
    """EnCodec audio ``[channels, samples]`` from codes ``[codebooks, frames]`` (stereo interleaved)."""
    codec = model.audio_encoder
    streams = [codes] if channels == 1 else [codes[0::2], codes[1::2]]
    spans = _chunks(codes.shape[-1])
    total = len(streams) * len(spans)
    done = 0

    def chunk_done() -> None:
        nonlocal done
        done += 1
        if on_chunk is not None:
            on_chunk(done, total)

    return torch.cat([_decode(codec, stream, spans, chunk_done) for stream in streams])


@torch.inference_mode()
def encode_audio(model, audio: torch.Tensor, channels: int) -> torch.Tensor:
    """Codes ``[codebooks, frames]`` (stereo interleaved, as :func:`decode_audio` reads them) of audio
    ``[channels, samples]`` at the codec's rate; mono audio feeds both sides of a stereo model, and a
    mono model hears the mean of stereo audio."""
    codec = model.audio_encoder
    streams = [audio.mean(dim=0, keepdim=True)] if channels == 1 else [audio[0:1], audio[-1:]]
    codes = [codec.encode(stream[None], bandwidth=None).audio_codes[0, 0] for stream in streams]
    if channels == 1:
        return codes[0]
    return torch.stack(codes, dim=1).flatten(0, 1)  # left 0, right 0, left 1, right 1, ...


class StreamingDecoder:
    """EnCodec audio decoded piece by piece as frames of codes arrive (see the module docstring).

    :meth:`push` takes new frames ``[codebooks, n]`` and returns the audio ``[channels, samples]`` that
    is final by then (possibly none); :meth:`finish` returns the rest. Pushes shorter than
    ``min_frames`` of new audio are held back, so that each call into the codec is worth its margins.
    """

    def __init__(self, model, channels: int, min_frames: int = 25) -> None:
        self.codec = model.audio_encoder
        self.channels = channels
        self.min_frames = min_frames
        layers = list(self.codec.decoder.layers)
        recurrent = [i for i, layer in enumerate(layers) if _has_lstm(layer)]
        split = recurrent[-1] + 1 if recurrent else 0
        self._before = layers[: split - 1] if recurrent else []
        self._lstm = _recurrent(layers[split - 1].lstm) if recurrent else None
        self._upsample = _upsampler(self.codec, layers[split:])
        self.hop = math.prod(self.codec.config.upsampling_ratios)
        self._streams = [_Stream() for _ in range(channels)]
        self.frames = 0  # frames pushed
        self.emitted = 0  # frames whose audio has been returned
        weight = next(self.codec.parameters())
        # What a push too short to decode returns.
        self._no_audio = torch.zeros((channels, 0), dtype=weight.dtype, device=weight.device)

    @torch.inference_mode()
    def push(self, codes: torch.Tensor) -> torch.Tensor:
        """Audio ``[channels, samples]`` final once ``codes`` ``[codebooks, n]`` follow the frames before."""
        if codes.shape[-1]:
            streams = [codes] if self.channels == 1 else [codes[0::2], codes[1::2]]
            for stream, part in zip(self._streams, streams, strict=True):
                stream.pending.append(part)  # embedded once a piece is decoded: one lookup, not one a frame
            self.frames += codes.shape[-1]
        return self._decode(final=False)

    @torch.inference_mode()
    def finish(self) -> torch.Tensor:
        """The audio of the frames not returned yet: the whole clip is then decoded."""
        return self._decode(final=True)

    def _decode(self, final: bool) -> torch.Tensor:
        ready = self.frames if final else self.frames - 2 * STREAM_MARGIN_FRAMES
        if ready - self.emitted < (1 if final else self.min_frames):
            return self._no_audio
        audio = torch.cat([self._decode_stream(stream, final) for stream in self._streams])
        self.emitted += audio.shape[-1] // self.hop
        return audio

    def _decode_stream(self, stream: _Stream, final: bool) -> torch.Tensor:
        if stream.pending:
            codes = torch.cat(stream.pending, dim=-1)
            stream.embeddings.append(self.codec.quantizer.decode(codes[:, None]))
            stream.pending.clear()
        # Through the LSTM: every frame with STREAM_MARGIN_FRAMES to its right (all of them at the end).
        end = self.frames if final else self.frames - STREAM_MARGIN_FRAMES
        if end > stream.recurrent.end:
            start = stream.recurrent.end
            first = max(0, start - STREAM_MARGIN_FRAMES)
            states = _run(
                self._before, stream.embeddings.window(first, min(self.frames, end + STREAM_MARGIN_FRAMES))
            )
            states = states[..., start - first : end - first]
            if self._lstm is not None:
                states, stream.lstm_state = _residual_lstm(self._lstm, states, stream.lstm_state)
            stream.recurrent.append(states)
            stream.embeddings.keep_from(end - STREAM_MARGIN_FRAMES)
        # Through the upsampling stack: every frame with STREAM_MARGIN_FRAMES of LSTM output to its right.
        start, done = self.emitted, stream.recurrent.end
        end = done if final else done - STREAM_MARGIN_FRAMES
        first = max(0, start - STREAM_MARGIN_FRAMES)
        window = stream.recurrent.window(first, min(done, end + STREAM_MARGIN_FRAMES))
        audio = self._upsample(window, (start - first) * self.hop, (end - first) * self.hop)
        stream.recurrent.keep_from(end - STREAM_MARGIN_FRAMES)
        return audio[0]


class _Frames:
    """Frames ``[1, dim, n]`` of a growing sequence, from ``start`` to ``end``; older ones dropped."""

    def __init__(self) -> None:
        self.parts: list[torch.Tensor] = []
        self.start = 0
        self.end = 0

    def append(self, frames: torch.Tensor) -> None:
        self.parts.append(frames)
        self.end += frames.shape[-1]

    def window(self, first: int, last: int) -> torch.Tensor:
        """Frames ``first..last-1`` (``first >= start``)."""
        if len(self.parts) > 1:
            self.parts = [torch.cat(self.parts, dim=-1)]
        return self.parts[0][..., first - self.start : last - self.start]

    def keep_from(self, first: int) -> None:
        """Drop the frames before ``first``."""
        drop = first - self.start
        if drop > 0 and self.parts:
            whole = torch.cat(self.parts, dim=-1) if len(self.parts) > 1 else self.parts[0]
            self.parts = [whole[..., drop:]]
            self.start = first


class _Stream:
    """One channel's decoding state: its codes not yet embedded, code embeddings, LSTM state and outputs
    still needed."""

    def __init__(self) -> None:
        self.pending: list[torch.Tensor] = []
        self.embeddings = _Frames()
        self.recurrent = _Frames()
        self.lstm_state: tuple[torch.Tensor, torch.Tensor] | None = None


def _chunks(frames: int) -> list[tuple[int, int]]:
    """The (start, end) frames of each chunk: the whole clip when it is barely longer than one."""
    if frames <= CHUNK_FRAMES + 2 * MARGIN_FRAMES:
        return [(0, frames)]
    return [(start, min(frames, start + CHUNK_FRAMES)) for start in range(0, frames, CHUNK_FRAMES)]


def _decode(
    codec, codes: torch.Tensor, spans: list[tuple[int, int]], chunk_done: Callable[[], None]
) -> torch.Tensor:
    """One channel: codes ``[codebooks, frames]`` -> audio ``[1, frames * hop]``."""
    layers = list(codec.decoder.layers)
    recurrent = [i for i, layer in enumerate(layers) if _has_lstm(layer)]
    split = recurrent[-1] + 1 if recurrent else 0
    states = codec.quantizer.decode(codes[:, None])  # [1, dim, frames]
    if recurrent:  # the layers up to the LSTM, then the LSTM as EncodecLSTM runs it
        lstm = _recurrent(layers[split - 1].lstm)
        states, _ = _residual_lstm(lstm, _run(layers[: split - 1], states), None)
    upsample = _upsampler(codec, layers[split:])
    frames = states.shape[-1]
    hop = math.prod(codec.config.upsampling_ratios)
    pieces = []
    for start, end in spans:
        first, last = max(0, start - MARGIN_FRAMES), min(frames, end + MARGIN_FRAMES)
        pieces.append(upsample(states[..., first:last], (start - first) * hop, (end - first) * hop))
        chunk_done()
    return torch.cat(pieces, dim=-1)[0]


Upsampler = Callable[[torch.Tensor, int, int], torch.Tensor]
"""(states ``[1, dim, frames]``, first sample, end sample) -> those samples of the stack run on the states."""

Built = TypeVar("Built")

# What is built from a module's weights (a fast stack, a packed LSTM), per module, with the weights' key.
_built: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _kept(owner: torch.nn.Module, params: list[torch.Tensor], build: Callable[[], Built]) -> Built:
    """``build()``, kept for ``owner`` while ``params`` stay the same tensors at the same versions."""
    key = tuple((p.data_ptr(), p._version, p.dtype) for p in params)
    cached = _built.get(owner)
    if cached is None or cached[0] != key:
        cached = (key, build())
        _built[owner] = cached
    return cached[1]


def _upsampler(codec, layers: list[torch.nn.Module]) -> Upsampler:
    """The stack after the LSTM: :mod:`~inference.musicgen.polyphase` on CPU, else the modules."""
    fast = _fast_stack(codec.decoder, layers) if FAST_UPSAMPLING else None
    if fast is not None:
        return fast

    def modules(states: torch.Tensor, start: int, end: int) -> torch.Tensor:
        return _run(layers, states)[..., start:end]

    return modules


def _fast_stack(decoder: torch.nn.Module, layers: list[torch.nn.Module]) -> polyphase.UpsampleStack | None:
    params = [p for layer in layers for p in layer.parameters()]
    if not params or any(p.device.type != "cpu" or p.dtype not in polyphase.DTYPES for p in params):
        return None
    return _kept(decoder, params, lambda: polyphase.build(layers))


Recurrent = Callable[[torch.Tensor, packed.LstmState | None], tuple[torch.Tensor, packed.LstmState]]
"""An ``nn.LSTM`` or its :class:`~inference.musicgen.packed.PackedLSTM`: ``(inputs, state) -> (outputs,
state)``."""


def _recurrent(lstm: torch.nn.LSTM) -> Recurrent:
    """``lstm`` over weights packed once where oneDNN runs it (its results bit for bit), else itself."""
    return _kept(lstm, list(lstm.parameters()), lambda: packed.pack_lstm(lstm)) or lstm


def _residual_lstm(
    lstm: Recurrent, states: torch.Tensor, state: packed.LstmState | None
) -> tuple[torch.Tensor, packed.LstmState]:
    """EncodecLSTM's ``states + lstm(states)`` over states ``[1, dim, frames]``, from ``state`` on."""
    inputs = states.permute(2, 0, 1)
    outputs, state = lstm(inputs, state)
    return (outputs + inputs).permute(1, 2, 0), state


def _has_lstm(module: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.LSTM) for m in module.modules())


def _run(layers, states: torch.Tensor) -> torch.Tensor:
    for layer in layers:
        states = layer(states)
    return states
