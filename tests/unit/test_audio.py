"""Normalisation and encoding: every format round-trips through soundfile."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from inference import InvalidParameterError
from inference.audio import FORMATS, encode, integrated_loudness, normalize, remove_dc, write_audio

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


# Encodes 120 s of stereo noise in a child process, so that a crash in libsndfile fails the test
# instead of killing pytest. One `sf.write` of that much audio to OGG Vorbis segfaults (SIGSEGV).
_LONG_ENCODE = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np

    from inference.audio import encode, write_audio

    how, fmt, target, seconds = sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])
    audio = 0.1 * np.random.default_rng(0).standard_normal((2, int(seconds * 32_000)), dtype=np.float32)
    if how == "encode":
        target.write_bytes(encode(audio, 32_000, fmt))
    else:
        write_audio(target, audio, 32_000, fmt)
    """
)


def _encode_long_in_child(how: str, fmt: str, target: Path, seconds: float = 120.0) -> np.ndarray:
    proc = subprocess.run(
        [sys.executable, "-c", _LONG_ENCODE, how, fmt, str(target), str(seconds)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{fmt}: the encoder crashed (return code {proc.returncode}): {proc.stderr}"
    data, rate = sf.read(target, always_2d=True)
    assert rate == SR
    assert data.shape[1] == 2
    return data


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_two_minutes_of_stereo_encode_in_every_format(fmt: str, tmp_path: Path) -> None:
    data = _encode_long_in_child("encode", fmt, tmp_path / f"clip.{FORMATS[fmt].extension}")
    tolerance = SR // 10 if fmt == "mp3" else 0  # mp3 frames may pad the end
    assert abs(data.shape[0] - 120 * SR) <= tolerance
    assert np.abs(data).max() > 0.1


def test_write_audio_of_two_minutes_to_ogg(tmp_path: Path) -> None:
    target = tmp_path / "long.ogg"
    data = _encode_long_in_child("write", "ogg", target)
    assert sf.info(target).format == "OGG"
    assert data.shape[0] == 120 * SR


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


def sine(hz: float, seconds: float = 3.0, amplitude: float = 0.3) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_remove_dc_takes_the_offset_and_keeps_the_tone() -> None:
    tone_440 = sine(440)
    audio = np.stack([tone_440 + 0.4, tone_440 - 0.25])  # stereo, an offset per channel
    out = remove_dc(audio, SR)
    assert out.dtype == np.float32
    assert out.shape == audio.shape
    assert np.abs(out.mean(axis=-1)).max() < 1e-3
    assert rms(out[0]) == pytest.approx(rms(tone_440), rel=0.01)
    # Started in the steady state of the first sample: no thump at the start.
    assert np.abs(out[:, : SR // 10]).max() <= 0.3 * 1.1  # without that: 0.3 + 0.4


@pytest.mark.parametrize("hz", [30, 41.2, 60, 440, 4000])
def test_remove_dc_leaves_audible_tones_nearly_unchanged(hz: float) -> None:
    tone_hz = sine(hz)
    out = remove_dc(tone_hz, SR)[0]
    assert rms(out) == pytest.approx(rms(tone_hz), rel=0.01)
    spectrum_in, spectrum_out = np.abs(np.fft.rfft(tone_hz)), np.abs(np.fft.rfft(out))
    peak = int(np.argmax(spectrum_in))
    assert int(np.argmax(spectrum_out)) == peak
    assert spectrum_out[peak] == pytest.approx(spectrum_in[peak], rel=0.01)


def test_remove_dc_of_nothing() -> None:
    assert remove_dc(np.zeros((2, 0), np.float32), SR).shape == (2, 0)
    assert np.array_equal(remove_dc(np.zeros(100, np.float32), SR), np.zeros((1, 100), np.float32))
