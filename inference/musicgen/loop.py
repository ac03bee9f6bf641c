"""The decode loop: one decoder step per column of the delayed token sequence."""

from __future__ import annotations

from collections.abc import Callable

import torch

from inference.musicgen.pattern import DelayPattern
from inference.musicgen.sampling import SamplingConfig, guide, select

StepFn = Callable[[torch.Tensor, int], torch.Tensor]
"""``logits [batch, codebooks, vocab] = step(tokens [codebooks], position)``."""


def decode(
    step: StepFn,
    pattern: DelayPattern,
    steps: int,
    sampling: SamplingConfig,
    generator: torch.Generator | None,
    pad_id: int,
    device: torch.device,
    on_step: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Run ``steps`` decoder steps; return the token sequence ``[codebooks, steps + 1]``.

    Column 0 is the start token; each step reads column ``t`` and writes column ``t + 1``, keeping
    the pad token where the delay pattern has no real token. Nothing here waits for the device.
    ``on_step`` gets ``(0, steps)`` before the first step (the text is encoded by then), then
    ``(t, steps)`` after step ``t``.
    """
    sequence = torch.full((pattern.num_codebooks, steps + 1), pad_id, dtype=torch.long, device=device)
    valid = pattern.valid_mask(steps, device)
    pad = torch.tensor(pad_id, device=device)
    if on_step is not None:
        on_step(0, steps)
    for t in range(steps):
        logits = step(sequence[:, t], t)
        scores = guide(logits, sampling.cfg_coef) if sampling.guided else logits[0]
        sequence[:, t + 1] = torch.where(valid[:, t + 1], select(scores, sampling, generator), pad)
        if on_step is not None:
            on_step(t + 1, steps)
    return sequence
