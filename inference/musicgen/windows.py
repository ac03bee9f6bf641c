"""Long tracks in windows of the model's context, as AudioCraft generates them.

MusicGen was trained on a context of 30 s. A longer track is made window by window: the first window
generates up to the context; each next one is prompted with the last ``context - stride`` seconds of
tokens (positions starting again at 0) and generates ``stride`` seconds more, so that every token is
generated with a context the model knows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Window:
    """One decoder pass: ``prompt`` frames known (fed as a prefill), ``frames`` in all."""

    prompt: int
    frames: int

    @property
    def new(self) -> int:
        """Frames this window generates."""
        return self.frames - self.prompt


def plan_windows(total: int, context: int, stride: int, prompt: int = 0) -> list[Window]:
    """The windows that make ``total`` frames, ``context`` at most each, advancing ``stride`` frames.

    ``prompt`` frames are given before the first window (continuation): they count in ``total`` and
    are its prompt (the last ``context - stride`` of them when there are more, as for any window).
    """
    if not 0 < stride <= context:
        raise ValueError(f"stride ({stride} frames) must be within the context ({context} frames)")
    if not 0 <= prompt < total:
        raise ValueError(f"the prompt ({prompt} frames) must be shorter than the track ({total} frames)")
    overlap = context - stride
    windows: list[Window] = []
    done = prompt
    known = prompt if prompt < context else overlap
    while done < total:
        frames = min(known + total - done, context)
        windows.append(Window(known, frames))
        done += frames - known
        known = overlap
    return windows


def frames_for(seconds: float, frame_rate: float) -> int:
    """Frames that hold ``seconds`` of audio."""
    return math.ceil(seconds * frame_rate - 1e-9)
