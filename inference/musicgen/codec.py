"""Audio from tokens: EnCodec's decoder, run in time chunks after its last recurrent layer.

EnCodec's decoder is a convolution, an LSTM, then a stack of upsampling convolutions (640 samples
per frame at 32 kHz). Decoded whole, a 30 s clip holds several ~250 MB activations at once and streams
them through memory; decoded in chunks of a few seconds, the upsampling stack's working set stays
small. The LSTM's state spans the whole clip, so everything up to it runs over all frames; the
stack after it only sees a few frames on either side of a sample (its receptive field), so each
chunk is decoded with a margin of frames on both sides that is cut away afterwards. The result is
the whole-clip decode, up to float rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

CHUNK_FRAMES = 250  # 5 s at 50 frames per second
MARGIN_FRAMES = 8  # the upsampling stack's receptive field is under 2 frames either side

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
    states = _run(layers[:split], codec.quantizer.decode(codes[:, None]))  # [1, dim, frames]
    upsample = layers[split:]
    frames = states.shape[-1]
    hop = math.prod(codec.config.upsampling_ratios)
    pieces = []
    for start, end in spans:
        first, last = max(0, start - MARGIN_FRAMES), min(frames, end + MARGIN_FRAMES)
        audio = _run(upsample, states[..., first:last])
        pieces.append(audio[..., (start - first) * hop : (end - first) * hop])
        chunk_done()
    return torch.cat(pieces, dim=-1)[0]


def _has_lstm(module: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.LSTM) for m in module.modules())


def _run(layers, states: torch.Tensor) -> torch.Tensor:
    for layer in layers:
        states = layer(states)
    return states
