"""Normalisation and encoding: every format round-trips through soundfile."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from inference import InvalidParameterError
from inference.audio import FORMATS, encode, integrated_loudness, normalize, write_audio

SR = 32_000


def tone(seconds: float = 3.0, channels: int = 1, amplitude: float = 0.05) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(0)
    mono = amplitude * np.sin(2 * np.pi * 440 * t) + 0.2 * amplitude * rng.standard_normal(t.size)
    return np.stack([mono * (1 + c * 0.1) for c in range(channels)]).astype(np.float32)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("channels", [1, 2])
def test_every_format_round_trips(fmt: str, channels: int) -> None:
    audio = tone(channels=channels)
    data, rate = sf.read(io.BytesIO(encode(audio, SR, fmt)), always_2d=True)
    assert rate == SR
    assert data.shape == (audio.shape[1], channels)
    if fmt in {"wav", "wav-float", "flac"}:
        assert np.allclose(data.T, audio, atol=1e-4)
    else:  # lossy: still the same signal
        corr = np.corrcoef(data[:, 0], audio[0])[0, 1]
        assert corr > 0.9


def test_write_audio_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "clip.flac"
    write_audio(target, tone(), SR)
    assert sf.info(target).format == "FLAC"
    assert sf.info(target).frames == 3 * SR
    assert os.listdir(target.parent) == ["clip.flac"]


def test_write_audio_failure_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "clip.wav"
    write_audio(target, tone(), SR)
    before = target.read_bytes()
    with pytest.raises(Exception):  # noqa: B017, PT011 - soundfile's own error type
        write_audio(target, tone(), -1)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["clip.wav"]


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError) as info:
        encode(tone(), SR, "aiff")
    assert info.value.field == "format"
    with pytest.raises(InvalidParameterError):
        write_audio(tmp_path / "x.xyz", tone(), SR)


@pytest.mark.parametrize("target", [-14.0, -23.0])
@pytest.mark.parametrize("amplitude", [0.005, 0.3])
def test_loudness_normalisation_hits_its_target(target: float, amplitude: float) -> None:
    out = normalize(tone(amplitude=amplitude), SR, "loudness", loudness_target_lufs=target)
    assert integrated_loudness(out, SR) == pytest.approx(target, abs=0.5)


def test_peak_rms_clip_and_none() -> None:
    audio = tone(amplitude=0.1)
    peak = normalize(audio, SR, "peak", peak_headroom_db=1.0)
    assert np.abs(peak).max() == pytest.approx(10 ** (-1 / 20), rel=1e-4)
    rms = normalize(audio, SR, "rms", rms_headroom_db=20.0)
    assert np.sqrt(np.mean(rms**2)) == pytest.approx(0.1, rel=1e-3)
    loud = audio * 30
    assert np.abs(normalize(loud, SR, "clip")).max() <= 1.0
    assert np.array_equal(normalize(audio, SR, "none"), audio)
    assert normalize(audio[0], SR, "peak").shape == (1, audio.shape[1])


def test_silence_does_not_explode() -> None:
    silence = np.zeros((1, SR), dtype=np.float32)
    for strategy in ("peak", "rms", "loudness"):
        out = normalize(silence, SR, strategy)
        assert np.isfinite(out).all()
        assert np.abs(out).max() <= 1.0


def test_unknown_strategy() -> None:
    with pytest.raises(InvalidParameterError):
        normalize(tone(), SR, "compress")
