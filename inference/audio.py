"""DC removal, loudness/peak normalisation (AudioCraft's strategies) and encoding to wav/flac/ogg/mp3."""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from inference.errors import InvalidParameterError

STRATEGIES = ("peak", "loudness", "rms", "clip", "none")
WRITE_BLOCK_FRAMES = 65_536  # about 2 s at 32 kHz per call into the encoder
STREAM_MP3_COMPRESSION = 0.5  # libsndfile's 0 (best) to 1: about 160 kbit/s for stereo at 32 kHz
DC_CUTOFF_HZ = 10.0  # remove_dc's high-pass corner: below music's lowest notes (E1 is 41 Hz)


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """A container/codec pair as soundfile names it, with its file extension and media type."""

    name: str
    extension: str
    media_type: str
    sf_format: str
    subtype: str | None


FORMATS: dict[str, AudioFormat] = {
    fmt.name: fmt
    for fmt in (
        AudioFormat("wav", "wav", "audio/wav", "WAV", "PCM_16"),
        AudioFormat("wav-float", "wav", "audio/wav", "WAV", "FLOAT"),
        AudioFormat("flac", "flac", "audio/flac", "FLAC", "PCM_16"),
        AudioFormat("ogg", "ogg", "audio/ogg", "OGG", "VORBIS"),
        AudioFormat("mp3", "mp3", "audio/mpeg", "MP3", "MPEG_LAYER_III"),
    )
}


def audio_format(name: str) -> AudioFormat:
    """Look up a format by name (``wav``, ``wav-float``, ``flac``, ``ogg``, ``mp3``)."""
    try:
        return FORMATS[name.lower()]
    except KeyError:
        raise InvalidParameterError(
            "format", f"unknown format {name!r}; use one of {', '.join(FORMATS)}"
        ) from None


def normalize(
    audio: np.ndarray,
    sample_rate: int,
    strategy: str = "loudness",
    *,
    peak_headroom_db: float = 1.0,
    rms_headroom_db: float = 18.0,
    loudness_target_lufs: float = -14.0,
) -> np.ndarray:
    """Return a normalised float32 copy of ``audio`` (channels x samples), clipped to [-1, 1].

    ``peak`` scales the peak to ``-peak_headroom_db`` dBFS; ``rms`` scales the RMS to ``-rms_headroom_db``
    dBFS; ``loudness`` scales integrated loudness (ITU-R BS.1770, pyloudnorm) to ``loudness_target_lufs``;
    ``clip`` only clips; ``none`` returns the samples as they are.
    """
    if strategy not in STRATEGIES:
        raise InvalidParameterError(
            "strategy", f"unknown normalisation {strategy!r}; use one of {STRATEGIES}"
        )
    wav = np.asarray(audio, dtype=np.float32)
    if wav.ndim == 1:
        wav = wav[None, :]
    eps = 1e-8
    if strategy == "none":
        return wav.copy()
    if strategy == "peak":
        wav = wav / (np.abs(wav).max() + eps) * _db_to_gain(-peak_headroom_db)
    elif strategy == "rms":
        rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64))))
        wav = wav * (_db_to_gain(-rms_headroom_db) / (rms + eps))
    elif strategy == "loudness":
        wav = wav * _db_to_gain(loudness_target_lufs - integrated_loudness(wav, sample_rate))
    return np.clip(wav, -1.0, 1.0).astype(np.float32)


def remove_dc(audio: np.ndarray, sample_rate: int, cutoff_hz: float = DC_CUTOFF_HZ) -> np.ndarray:
    """Return ``audio`` (channels x samples, float32) without its DC offset and sub-audible drift.

    A causal 2nd-order Butterworth high-pass at ``cutoff_hz`` (-0.05 dB at 30 Hz for 10 Hz), started
    in the steady state of each channel's first sample, so a constant offset leaves no transient.
    Causal, so it can run on audio decoded piece by piece: see :class:`DcFilter`.
    """
    return DcFilter(sample_rate, cutoff_hz)(audio)


class DcFilter:
    """:func:`remove_dc` piece by piece: the pieces filtered in order equal the whole clip filtered."""

    def __init__(self, sample_rate: int, cutoff_hz: float = DC_CUTOFF_HZ) -> None:
        from scipy import signal

        self._sos = signal.butter(2, cutoff_hz, btype="highpass", fs=sample_rate, output="sos")
        self._state: np.ndarray | None = None  # sections x channels x 2, once the first sample is seen

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        """The next piece ``[channels, samples]``, filtered (float32)."""
        from scipy import signal

        wav = np.asarray(audio, dtype=np.float64)
        if wav.ndim == 1:
            wav = wav[None, :]
        if wav.shape[-1] == 0:
            return wav.astype(np.float32)
        if self._state is None:
            self._state = signal.sosfilt_zi(self._sos)[:, None, :] * wav[None, :, :1]
        filtered, self._state = signal.sosfilt(self._sos, wav, axis=-1, zi=self._state)
        return filtered.astype(np.float32)


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS; clips shorter than the 400 ms gating block are measured whole."""
    import pyloudnorm

    wav = np.asarray(audio, dtype=np.float64)
    if wav.ndim == 1:
        wav = wav[None, :]
    block = min(0.4, wav.shape[-1] / sample_rate)
    loudness = pyloudnorm.Meter(sample_rate, block_size=block).integrated_loudness(wav.T)
    return float(loudness) if np.isfinite(loudness) else -70.0


def encode(audio: np.ndarray, sample_rate: int, fmt: str = "wav") -> bytes:
    """Encode float audio (channels x samples) to the bytes of a file in ``fmt``."""
    buffer = io.BytesIO()
    _write(buffer, audio, sample_rate, audio_format(fmt))
    return buffer.getvalue()


def write_audio(
    path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int, fmt: str | None = None
) -> Path:
    """Write ``audio`` to ``path`` atomically: a reader sees no file or the whole file.

    ``fmt`` defaults to the path's extension.
    """
    target = Path(path)
    spec = audio_format(fmt or target.suffix.lstrip(".") or "wav")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            _write(handle, audio, sample_rate, spec)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def read_audio(source: str | os.PathLike[str] | BinaryIO) -> tuple[np.ndarray, int]:
    """Float32 samples ``[channels, samples]`` and the sample rate of a wav, flac, ogg or mp3 file.

    Raises :class:`InvalidParameterError` (field ``prompt_audio``) for anything soundfile cannot read.
    """
    import soundfile as sf  # here, not at import: the engine runs without it (scripts/gpu-check)

    try:
        data, sample_rate = sf.read(source, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise InvalidParameterError(
            "prompt_audio", f"not a readable wav, flac, ogg or mp3 file: {exc}"
        ) from None
    return np.ascontiguousarray(data.T), int(sample_rate)


class StreamEncoder:
    """Encodes audio piece by piece into a file that can be sent while it grows (MP3 by default).

    :meth:`write` returns the bytes the encoder has produced so far, :meth:`close` the last ones.
    Whatever the encoder writes back over bytes already handed out when it closes (the MP3 header's
    frame count) is left out: a player reading the stream as it comes does not need it. MP3 is
    encoded at a constant bitrate, so that a reader can tell the length from the size without it.
    """

    def __init__(self, sample_rate: int, channels: int, fmt: str = "mp3") -> None:
        self.format = spec = audio_format(fmt)
        self._sink = _GrowingFile()
        constant = {"compression_level": STREAM_MP3_COMPRESSION, "bitrate_mode": "CONSTANT"}
        import soundfile as sf

        self._file = sf.SoundFile(
            self._sink,
            "w",
            sample_rate,
            channels,
            spec.subtype,
            format=spec.sf_format,
            **(constant if spec.name == "mp3" else {}),
        )

    def write(self, audio: np.ndarray) -> bytes:
        """Encode ``audio`` ``[channels, samples]``; the new bytes of the file (possibly none)."""
        data = _interleaved(audio)
        for start in range(0, data.shape[0], WRITE_BLOCK_FRAMES):
            self._file.write(data[start : start + WRITE_BLOCK_FRAMES])
        return self._sink.take()

    def close(self) -> bytes:
        """Flush the encoder: the file's last bytes."""
        if not self._file.closed:
            self._file.close()
        return self._sink.take()


class _GrowingFile:
    """A write-only file for libsndfile that hands its bytes out as they come (see StreamEncoder)."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._position = 0
        self._sent = 0  # bytes written at the end of the file so far

    def write(self, data: bytes) -> int:
        if self._position == self._sent:
            self._pending += data
            self._sent += len(data)
        self._position += len(data)  # a rewrite of bytes already sent is dropped
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._sent}[whence]
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        return b""

    def take(self) -> bytes:
        data, self._pending = bytes(self._pending), bytearray()
        return data


def _interleaved(audio: np.ndarray) -> np.ndarray:
    """Samples x channels in [-1, 1], as soundfile writes them (encoders other than float WAV clip)."""
    wav = np.asarray(audio, dtype=np.float32)
    if wav.ndim == 1:
        wav = wav[None, :]
    return np.ascontiguousarray(np.clip(wav, -1.0, 1.0).T)


def _write(handle: BinaryIO, audio: np.ndarray, sample_rate: int, spec: AudioFormat) -> None:
    """Encode in blocks of :data:`WRITE_BLOCK_FRAMES`: libsndfile's Vorbis encoder overflows its stack
    (a segfault) when one write hands it more than about a minute of audio."""
    data = _interleaved(audio)
    import soundfile as sf

    with sf.SoundFile(handle, "w", sample_rate, data.shape[1], spec.subtype, format=spec.sf_format) as out:
        for start in range(0, data.shape[0], WRITE_BLOCK_FRAMES):
            out.write(data[start : start + WRITE_BLOCK_FRAMES])


def _db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))
