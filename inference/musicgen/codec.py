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

import torch

CHUNK_FRAMES = 250  # 5 s at 50 frames per second
MARGIN_FRAMES = 8  # the upsampling stack's receptive field is under 2 frames either side


@torch.inference_mode()
def decode_audio(model, codes: torch.Tensor, channels: int) -> torch.Tensor:
    """EnCodec audio ``[channels, samples]`` from codes ``[codebooks, frames]`` (stereo interleaved)."""
    codec = model.audio_encoder
    if channels == 1:
        return _decode(codec, codes)
    return torch.cat([_decode(codec, codes[0::2]), _decode(codec, codes[1::2])])


def _decode(codec, codes: torch.Tensor) -> torch.Tensor:
    """One channel: codes ``[codebooks, frames]`` -> audio ``[1, frames * hop]``."""
    layers = list(codec.decoder.layers)
    recurrent = [i for i, layer in enumerate(layers) if _has_lstm(layer)]
    split = recurrent[-1] + 1 if recurrent else 0
    states = _run(layers[:split], codec.quantizer.decode(codes[:, None]))  # [1, dim, frames]
    upsample = layers[split:]
    frames = states.shape[-1]
    hop = math.prod(codec.config.upsampling_ratios)
    if frames <= CHUNK_FRAMES + 2 * MARGIN_FRAMES:
        return _run(upsample, states)[0]
    pieces = []
    for start in range(0, frames, CHUNK_FRAMES):
        end = min(frames, start + CHUNK_FRAMES)
        first, last = max(0, start - MARGIN_FRAMES), min(frames, end + MARGIN_FRAMES)
        audio = _run(upsample, states[..., first:last])
        pieces.append(audio[..., (start - first) * hop : (end - first) * hop])
    return torch.cat(pieces, dim=-1)[0]


def _has_lstm(module: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.LSTM) for m in module.modules())


def _run(layers, states: torch.Tensor) -> torch.Tensor:
    for layer in layers:
        states = layer(states)
    return states
