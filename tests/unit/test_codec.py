"""EnCodec decoding in time chunks gives the whole-clip decode, with bounded activations."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inference.backends.hf import load_musicgen
from inference.musicgen import codec
from inference.registry import resolve_checkpoint


@pytest.fixture(scope="module")
def model(model_cache_dir: Path):
    return load_musicgen(
        resolve_checkpoint("tiny-random", model_cache_dir), torch.float32, torch.device("cpu")
    ).model


@pytest.mark.parametrize(
    "frames", [1, 37, codec.CHUNK_FRAMES + 2 * codec.MARGIN_FRAMES + 1, 3 * codec.CHUNK_FRAMES + 5]
)
def test_chunked_decode_matches_transformers_whole_clip_decode(model, frames: int) -> None:
    codes = torch.randint(0, 2048, (4, frames), generator=torch.Generator().manual_seed(frames))
    with torch.inference_mode():
        expected = model.audio_encoder.decode(codes[None, None], [None]).audio_values[0]
    actual = codec.decode_audio(model, codes, channels=1)
    assert actual.shape == expected.shape == (1, frames * 640)
    torch.testing.assert_close(actual, expected, atol=1e-6, rtol=1e-5)


def test_stereo_codes_interleave_left_and_right(model) -> None:
    codes = torch.randint(0, 2048, (8, 40), generator=torch.Generator().manual_seed(0))
    audio = codec.decode_audio(model, codes, channels=2)
    assert audio.shape == (2, 40 * 640)
    torch.testing.assert_close(audio[1:], codec.decode_audio(model, codes[1::2], channels=1))


@pytest.mark.parametrize(("frames", "channels", "chunks"), [(40, 1, 1), (40, 2, 2), (3 * 250 + 5, 2, 8)])
def test_each_decoded_chunk_is_reported(model, frames: int, channels: int, chunks: int) -> None:
    codes = torch.randint(0, 2048, (4 * channels, frames), generator=torch.Generator().manual_seed(1))
    seen: list[tuple[int, int]] = []
    audio = codec.decode_audio(
        model, codes, channels, on_chunk=lambda done, total: seen.append((done, total))
    )
    assert seen == [(i, chunks) for i in range(1, chunks + 1)]
    torch.testing.assert_close(audio, codec.decode_audio(model, codes, channels))


def test_a_raising_chunk_callback_stops_decoding(model) -> None:
    codes = torch.randint(0, 2048, (4, 3 * codec.CHUNK_FRAMES), generator=torch.Generator().manual_seed(2))
    seen: list[int] = []

    def stop_after_first(done: int, total: int) -> None:
        seen.append(done)
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        codec.decode_audio(model, codes, 1, on_chunk=stop_after_first)
    assert seen == [1]
