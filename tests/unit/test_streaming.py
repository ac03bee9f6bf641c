"""Streaming: audio decoded piece by piece while the decoder runs equals the whole-clip decode."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from inference import Engine, EngineConfig, GenerationCancelled, GenerationParams
from inference.audio import DcFilter, StreamEncoder, remove_dc
from inference.backends.hf import load_musicgen
from inference.musicgen import codec
from inference.registry import resolve_checkpoint

BACKENDS = ["reference", "torch", "onnx", "native"]


@pytest.fixture(scope="module")
def model(model_cache_dir: Path):
    return load_musicgen(
        resolve_checkpoint("tiny-random", model_cache_dir), torch.float32, torch.device("cpu")
    ).model


def _codes(codebooks: int, frames: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 2048, (codebooks, frames), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("frames", "pushes", "channels"),
    [
        (1, [1], 1),
        (37, [5, 5, 27], 1),
        (300, [1] * 300, 1),  # a frame per decoder step, as the loop pushes them
        (700, [0, 3, 250, 1, 1, 445], 1),
        (120, [7] * 17 + [1], 2),
    ],
)
def test_pieces_put_together_are_the_whole_clip_decode(model, frames, pushes, channels) -> None:
    codes = _codes(4 * channels, frames, frames)
    whole = codec.decode_audio(model, codes, channels)
    decoder = codec.StreamingDecoder(model, channels)
    pieces, at = [], 0
    for count in pushes:
        pieces.append(decoder.push(codes[:, at : at + count]))
        at += count
    pieces.append(decoder.finish())
    streamed = torch.cat(pieces, dim=-1)
    assert streamed.shape == whole.shape == (channels, frames * 640)
    torch.testing.assert_close(streamed, whole, atol=1e-6, rtol=1e-5)
    if frames >= 300:  # audio comes out while the codes still arrive, not all at the end
        assert sum(piece.shape[-1] for piece in pieces[:-1]) > whole.shape[-1] // 2


def test_audio_lags_the_codes_by_the_margins_only(model) -> None:
    decoder = codec.StreamingDecoder(model, 1, min_frames=1)
    decoder.push(_codes(4, 2 * codec.STREAM_MARGIN_FRAMES, 0))
    assert decoder.emitted == 0
    piece = decoder.push(_codes(4, 1, 1))
    assert piece.shape[-1] == 640
    assert decoder.emitted == 1


def test_dc_filter_piece_by_piece_equals_the_whole_clip() -> None:
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((2, 50_000)) * 0.1 + 0.3).astype(np.float32)
    dc = DcFilter(32_000)
    pieces = [dc(audio[:, start : start + 777]) for start in range(0, audio.shape[-1], 777)]
    np.testing.assert_array_equal(np.concatenate(pieces, axis=-1), remove_dc(audio, 32_000))


@pytest.mark.parametrize("channels", [1, 2])
def test_the_mp3_stream_is_playable_as_it_grows(channels: int) -> None:
    rate = 32_000
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(3 * rate) / rate)).astype(np.float32)
    audio = np.stack([tone] * channels)
    encoder = StreamEncoder(rate, channels)
    parts = [encoder.write(audio[:, start : start + 4000]) for start in range(0, audio.shape[-1], 4000)]
    assert sum(len(part) for part in parts[:3]) > 0  # bytes to send long before the end
    stream = b"".join(parts) + encoder.close()
    assert stream[:2] == b"\xff\xfb"  # an MPEG-1 layer III frame, no container to wait for
    decoded, decoded_rate = sf.read(io.BytesIO(stream), dtype="float32", always_2d=True)
    assert decoded_rate == rate
    assert decoded.shape[1] == channels
    # MP3 adds the encoder's delay and pads the last frame: at most a few frames more, never less.
    assert audio.shape[-1] <= decoded.shape[0] <= audio.shape[-1] + 4 * 1152
    reference = tone[rate // 2 : rate]  # the encoder's delay is a few thousand samples at most
    lags = [np.dot(decoded[rate // 2 + lag : rate + lag, 0], reference) for lag in range(4 * 1152)]
    lag = int(np.argmax(lags))
    body = decoded[rate // 2 + lag : rate + lag, 0]
    assert np.corrcoef(body, reference)[0, 1] > 0.99


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request, model_cache_dir: Path):
    engine = Engine.load(
        EngineConfig(model="tiny-random", backend=request.param, device="cpu", cache_dir=str(model_cache_dir))
    )
    yield engine
    engine.unload()


def test_the_stream_is_the_result_on_every_backend(engine: Engine) -> None:
    # 40 s takes two windows; the stream must carry across the window boundary.
    params = GenerationParams("lo-fi beat", duration=40.0, seed=5, temperature=0.0)
    pieces: list[np.ndarray] = []
    result = engine.generate(params, on_audio=pieces.append)
    streamed = np.concatenate(pieces, axis=-1)
    assert result.windows == 2
    np.testing.assert_array_equal(streamed, result.audio)
    assert streamed.shape == (1, 40 * result.sample_rate)
    plain = engine.generate(params)
    np.testing.assert_allclose(result.audio, plain.audio, atol=1e-5)
    if engine.info()["backend"] != "reference":  # our own loop decodes as it goes
        assert len(pieces) > 10


def test_a_continuation_streams_from_its_beginning(engine: Engine) -> None:
    rate = engine.info()["sample_rate"]
    prompt = (0.3 * np.sin(2 * np.pi * 220 * np.arange(rate * 3) / rate)).astype(np.float32)[None]
    params = GenerationParams(
        "more", duration=6.0, seed=1, prompt_audio=prompt, prompt_sample_rate=rate, temperature=0.0
    )
    pieces: list[np.ndarray] = []
    result = engine.generate(params, on_audio=pieces.append)
    np.testing.assert_array_equal(np.concatenate(pieces, axis=-1), result.audio)
    assert result.audio.shape[-1] == 6 * rate


def test_a_raising_audio_callback_stops_the_generation(model_cache_dir: Path) -> None:
    engine = Engine.load(
        EngineConfig(model="tiny-random", backend="torch", device="cpu", cache_dir=str(model_cache_dir))
    )
    steps: list[int] = []

    def stop(_: np.ndarray) -> None:
        raise GenerationCancelled("the listener left")

    with pytest.raises(GenerationCancelled):
        engine.generate(
            GenerationParams("x", duration=20.0, seed=0),
            on_progress=lambda p: steps.append(p.step),
            on_audio=stop,
        )
    assert max(steps) < engine.windows(20.0)[0].frames  # stopped in the loop, not after it
    engine.unload()
