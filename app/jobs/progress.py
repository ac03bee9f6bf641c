"""A job's progress: the engine's phases, then writing the file; 1.0 only once the file is on disk.

The engine reports the fraction of its own work (text, decoder loop, audio decoding) and the seconds
it has left. Writing the file (loudness normalisation, encoding, fsync) comes after; its cost is
learnt from the jobs before, per second of audio, so the fraction and ETA cover the whole job.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.db.models import QUEUED_PHASE, WRITING_PHASE
from inference import Progress

DEFAULT_WRITE_S_PER_AUDIO_S = 0.01
SMOOTHING = 0.3
ENGINE_SHARE_MAX = 0.999  # the engine's part of a job never reaches 1.0: the file is not on disk yet


@dataclass(frozen=True, slots=True)
class JobProgress:
    """Where a job is, as its followers and its row see it."""

    phase: str
    step: int
    total_steps: int
    fraction: float
    elapsed_s: float
    eta_s: float | None

    def row_fields(self) -> dict[str, object]:
        """The progress columns of the job's row."""
        return {
            "progress_phase": self.phase,
            "progress_step": self.step,
            "progress_total": self.total_steps,
            "progress_fraction": round(self.fraction, 4),
            "progress_eta_s": None if self.eta_s is None else round(self.eta_s, 3),
        }


def waiting() -> JobProgress:
    """A job in the queue."""
    return JobProgress(QUEUED_PHASE, 0, 0, 0.0, 0.0, None)


class ProgressTracker:
    """Turns engine progress into job progress, per running job; learns how long writing takes."""

    def __init__(self) -> None:
        self.write_s_per_audio_s = DEFAULT_WRITE_S_PER_AUDIO_S
        self._latest: dict[str, JobProgress] = {}
        self._audio_s: dict[str, float] = {}

    def begin(self, generation_id: str, audio_seconds: float) -> None:
        self._audio_s[generation_id] = audio_seconds
        self._latest.pop(generation_id, None)

    def latest(self, generation_id: str) -> JobProgress | None:
        return self._latest.get(generation_id)

    def end(self, generation_id: str) -> None:
        self._latest.pop(generation_id, None)
        self._audio_s.pop(generation_id, None)

    def _write_s(self, generation_id: str) -> float:
        return self.write_s_per_audio_s * self._audio_s.get(generation_id, 0.0)

    def engine(self, generation_id: str, progress: Progress) -> JobProgress:
        """The job's progress for an engine report: the engine's share of the job, never going back."""
        write_s = self._write_s(generation_id)
        engine_total = progress.elapsed_s + progress.eta_s
        share = engine_total / (engine_total + write_s) if engine_total + write_s > 0 else 1.0
        fraction = min(progress.fraction * share, ENGINE_SHARE_MAX)
        unknown = progress.eta_s == 0 and progress.fraction == 0  # an engine's very first report
        return self._keep(
            generation_id,
            JobProgress(
                progress.phase,
                progress.step,
                progress.total_steps,
                fraction,
                progress.elapsed_s,
                None if unknown else progress.eta_s + write_s,
            ),
        )

    def writing(self, generation_id: str) -> JobProgress:
        """The audio is decoded; the file is being written."""
        last = self._latest.get(generation_id) or JobProgress(WRITING_PHASE, 0, 0, 0.0, 0.0, None)
        return self._keep(
            generation_id,
            JobProgress(
                WRITING_PHASE,
                last.total_steps,
                last.total_steps,
                last.fraction,
                last.elapsed_s,
                self._write_s(generation_id),
            ),
        )

    def wrote(self, audio_seconds: float, seconds: float) -> None:
        """Learn from one file written: `seconds` for `audio_seconds` of audio."""
        if audio_seconds > 0:
            rate = seconds / audio_seconds
            self.write_s_per_audio_s += SMOOTHING * (rate - self.write_s_per_audio_s)

    def _keep(self, generation_id: str, progress: JobProgress) -> JobProgress:
        last = self._latest.get(generation_id)
        if last is not None and progress.fraction < last.fraction:
            progress = JobProgress(
                progress.phase,
                progress.step,
                progress.total_steps,
                last.fraction,
                progress.elapsed_s,
                progress.eta_s,
            )
        self._latest[generation_id] = progress
        return progress
