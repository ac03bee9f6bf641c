"""Audio files on disk: one `{AUDIO_DIR}/{generation_id}.wav` per finished generation.

An uploaded audio file to continue waits beside them as `{generation_id}.prompt.flac` while its job is
queued or running (so a queued job survives a restart); it goes when the job finishes.

Ids are checked against a strict pattern before any path is built, so no id reaches outside AUDIO_DIR.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import soundfile as sf

from inference import encode, normalize, write_audio

ID_PATTERN = re.compile(r"[0-9a-f]{32}")
# What `inference.audio.write_audio` leaves when the process dies mid-write: `.{id}.wav.XXXX.part`
# (or `.{id}.prompt.flac.XXXX.part`).
PARTIAL_FILE = re.compile(r"\.[0-9a-f]{32}(\.wav|\.prompt\.flac)\..+\.part")
PROMPT_SUFFIX = ".prompt.flac"
PROMPT_FILE = re.compile(r"([0-9a-f]{32})\.prompt\.flac")
WAV_HEADER_BYTES = 44
SLACK_BYTES = 1 << 20

log = logging.getLogger("app.storage")


def new_generation_id() -> str:
    """A fresh id: 32 lower-case hex digits (a uuid4)."""
    return uuid.uuid4().hex


def is_valid_id(value: str) -> bool:
    """Whether `value` has the shape of a generation id (and so is safe in a file name)."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class StoredAudio:
    """What the file on disk holds."""

    path: Path
    size_bytes: int
    duration: float
    sample_rate: int
    channels: int

    @property
    def size_mb(self) -> float:
        return self.size_bytes / (1024 * 1024)


@dataclass(frozen=True, slots=True)
class StorageSpace:
    """Free space where the audio goes, against what the longest track needs."""

    free_bytes: int
    needed_bytes: int
    writable: bool

    @property
    def ok(self) -> bool:
        return self.writable and self.free_bytes >= self.needed_bytes


@dataclass(frozen=True, slots=True)
class AudioPeaks:
    """A file's waveform, downsampled: `lows[i]`/`highs[i]` bound the samples of slice i."""

    duration: float
    sample_rate: int
    channels: int
    lows: list[float]
    highs: list[float]


class AudioStorage:
    """Reads and writes the audio of generations under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, generation_id: str) -> Path:
        """The file of a generation; ValueError for anything that is not an id."""
        if not is_valid_id(generation_id):
            raise ValueError(f"not a generation id: {generation_id!r}")
        path = self.root / f"{generation_id}.wav"
        if path.parent != self.root:  # belt and braces: the pattern already rules this out
            raise ValueError(f"not a generation id: {generation_id!r}")
        return path

    def prompt_path_for(self, generation_id: str) -> Path:
        """The uploaded audio a generation continues (while its job waits or runs)."""
        return self.path_for(generation_id).with_name(f"{generation_id}{PROMPT_SUFFIX}")

    def save_prompt(self, generation_id: str, audio: np.ndarray, sample_rate: int) -> Path:
        """Keep an upload to continue (float ``[channels, samples]``) as FLAC, written atomically."""
        self.ensure()
        return write_audio(self.prompt_path_for(generation_id), audio, sample_rate, "flac")

    def read_prompt(self, generation_id: str) -> tuple[np.ndarray, int]:
        """The stored upload of a generation, float32 ``[channels, samples]``, and its rate.

        FileNotFoundError when it is gone.
        """
        path = self.prompt_path_for(generation_id)
        if not path.is_file():
            raise FileNotFoundError(f"no uploaded audio for {generation_id}")
        data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.T), sample_rate

    def delete_prompt(self, generation_id: str) -> bool:
        """Remove the stored upload of a generation; False when there was none."""
        try:
            self.prompt_path_for(generation_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def remove_prompts(self, keep: Collection[str]) -> int:
        """Delete the stored uploads of every generation but `keep` (at start-up: the queued jobs)."""
        if not self.root.is_dir():
            return 0
        removed = 0
        for path in self.root.iterdir():
            match = PROMPT_FILE.fullmatch(path.name)
            if match and match.group(1) not in keep and path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("removed %d uploaded audio file(s) of finished or deleted jobs", removed)
        return removed

    def exists(self, generation_id: str) -> bool:
        return is_valid_id(generation_id) and self.path_for(generation_id).is_file()

    def save(self, generation_id: str, audio: np.ndarray, sample_rate: int) -> StoredAudio:
        """Loudness-normalise to -14 LUFS and write atomically as 16-bit WAV; describe the real file."""
        path = self.path_for(generation_id)
        self.ensure()
        write_audio(path, normalize(audio, sample_rate, "loudness"), sample_rate, "wav")
        return self.describe(generation_id)

    def describe(self, generation_id: str) -> StoredAudio:
        path = self.path_for(generation_id)
        info = sf.info(str(path))
        return StoredAudio(
            path, path.stat().st_size, info.frames / info.samplerate, info.samplerate, info.channels
        )

    def read_end(self, generation_id: str, seconds: float) -> tuple[np.ndarray, int]:
        """The last ``seconds`` of a generation's audio, float32 ``[channels, samples]``, and its rate.

        FileNotFoundError when the file is gone (libsndfile would say so with a RuntimeError of its own).
        """
        path = self.path_for(generation_id)
        if not path.is_file():
            raise FileNotFoundError(f"no audio file for {generation_id}")
        with sf.SoundFile(str(path)) as audio:
            frames = min(audio.frames, round(seconds * audio.samplerate))
            audio.seek(audio.frames - frames)
            data = audio.read(frames, dtype="float32", always_2d=True)
            return np.ascontiguousarray(data.T), audio.samplerate

    def read_as(self, generation_id: str, fmt: str) -> bytes:
        """The audio transcoded to `fmt` (wav, flac, ogg, mp3)."""
        path = self.path_for(generation_id)
        if fmt == "wav":
            return path.read_bytes()
        data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
        return encode(data.T, sample_rate, fmt)

    def peaks(self, generation_id: str, count: int) -> AudioPeaks:
        """The lowest and highest sample (over all channels) in each of `count` equal slices of the file.

        A file shorter than `count` samples gives one slice per sample.
        """
        data, sample_rate = sf.read(str(self.path_for(generation_id)), dtype="float32", always_2d=True)
        frames, channels = data.shape
        if frames == 0:
            return AudioPeaks(0.0, sample_rate, channels, [], [])
        slices = max(1, min(count, frames))
        starts = (np.arange(slices, dtype=np.int64) * frames) // slices
        lows = np.minimum.reduceat(data.min(axis=1), starts)
        highs = np.maximum.reduceat(data.max(axis=1), starts)
        return AudioPeaks(
            frames / sample_rate,
            sample_rate,
            channels,
            np.round(lows, 4).astype(float).tolist(),
            np.round(highs, 4).astype(float).tolist(),
        )

    def remove_partial_files(self) -> int:
        """Delete the half-written files a killed process left (at start-up, before any job runs)."""
        if not self.root.is_dir():
            return 0
        removed = 0
        for path in self.root.iterdir():
            if PARTIAL_FILE.fullmatch(path.name) and path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.warning("removed %d half-written audio file(s) left by a previous run", removed)
        return removed

    def space(self, seconds: float, sample_rate: int, channels: int) -> StorageSpace:
        """Whether AUDIO_DIR can take `seconds` of audio now (as 16-bit WAV)."""
        needed = WAV_HEADER_BYTES + int(seconds * sample_rate) * channels * 2 + SLACK_BYTES
        directory = self.root if self.root.is_dir() else self.root.parent
        try:
            free = shutil.disk_usage(directory).free
        except OSError:
            free = 0
        writable = os.access(directory, os.W_OK | os.X_OK)
        return StorageSpace(free_bytes=free, needed_bytes=needed, writable=writable)

    def delete(self, generation_id: str) -> bool:
        """Remove the file (and any upload it continued); False when there was no file."""
        path = self.path_for(generation_id)
        self.delete_prompt(generation_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def usage(self) -> tuple[int, int]:
        """(files, bytes) of the audio files stored."""
        if not self.root.is_dir():
            return 0, 0
        files = [p for p in self.root.glob("*.wav") if p.is_file()]
        return len(files), sum(p.stat().st_size for p in files)


def download_filename(prompt: str, generation_id: str, extension: str) -> str:
    """A readable file name from the prompt: its letters and digits (any script), lower case, and dashes.

    Nothing else survives (no spaces, punctuation, path separators, control or direction marks);
    `content_disposition` also gives an ASCII form for clients that cannot take this one.
    """
    words = re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", prompt).lower())
    slug = "-".join(words)[:48].strip("-") or "music"
    return f"musicgenie-{slug}-{generation_id[:8]}.{extension}"


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A header value that cannot be broken by the name: a quoted ASCII name (accents dropped, other
    characters replaced) plus the name itself in RFC 5987's `filename*`, which clients prefer."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    safe = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._-]", "_", ascii_name))
    return f"{disposition}; filename=\"{safe}\"; filename*=UTF-8''{quote(filename, safe='')}"
