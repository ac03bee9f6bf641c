"""Why the runtime refuses a job: domain errors, each mapped to its HTTP answer in `app.lib.errors` alone.

`QueueFull` (app.jobs.queue) is the other refusal: no slot left for every track asked for.
"""

from __future__ import annotations


class JobRefused(Exception):
    """The runtime will not take this job; the message says why, in words a person can act on."""


class ShuttingDown(JobRefused):
    """Shutdown has begun: no new jobs; `retry_after` seconds, the next process may take it."""

    retry_after = 5

    def __init__(self) -> None:
        super().__init__("the service is shutting down; retry shortly")


class ModelUnavailable(JobRefused):
    """The engine failed to load: nothing can be generated until it is reloaded."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(f"the model cannot generate: {reason}")
        self.reason = reason


class InvalidJob(JobRefused):
    """A field of the request is out of bounds given the others or the stored data."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class NotFinished(JobRefused):
    """A generation's audio was asked for (to download, play or continue it) before it succeeded."""

    def __init__(self, generation_id: str, status: str) -> None:
        super().__init__(f"generation {generation_id} is {status}; audio exists only once it succeeded")
        self.generation_id = generation_id
        self.status = status


class AudioMissing(JobRefused):
    """A generation succeeded, but its audio is no longer on disk."""

    def __init__(self, generation_id: str) -> None:
        super().__init__(f"the audio of {generation_id} is no longer on disk")
        self.generation_id = generation_id


class UploadNotKept(JobRefused):
    """The uploaded audio to continue could not be stored."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(f"could not keep the uploaded audio: {exc}")


class ReloadFailed(JobRefused):
    """QUEUE=saq: a worker could not reload (it keeps its old model), or none answered."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
