"""The decode loop: one decoder step per column of the delayed token sequence.

A window may start from known frames (the end of the window before, or a prompt's codes): their
columns of the delayed sequence are fed in one prefill pass, and wherever the delay pattern puts a
known token in a later column, it is kept instead of the sampled one.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import torch

from inference.musicgen.pattern import DelayPattern
from inference.musicgen.sampling import SamplingConfig, guide, select
from inference.musicgen.windows import Window

StepFn = Callable[[torch.Tensor, int], torch.Tensor]
"""``logits [batch, codebooks, vocab] = step(tokens [codebooks], position)``."""
PrefillFn = Callable[[torch.Tensor], None]
"""``prefill(tokens [codebooks, P])``: run positions ``0..P-1`` and keep their keys/values."""
TokensFn = Callable[[torch.Tensor, int], None]
"""``on_tokens(sequence, steps_done)``: after each step, the sequence with its first ``steps_done + 1``
columns final."""
Steps = Generator[tuple[torch.Tensor, int], torch.Tensor, torch.Tensor]
"""A decode loop that yields each step's ``(tokens, position)``, is sent that step's logits back, and
returns the token sequence: whoever drives it decides how steps run (alone, or batched with others)."""


def drive(steps: Steps, step: StepFn) -> torch.Tensor:
    """Run a decode loop with every step computed by ``step``; return its sequence."""
    try:
        tokens, position = next(steps)
        while True:
            tokens, position = steps.send(step(tokens, position))
    except StopIteration as done:
        return done.value


def decode_steps(
    pattern: DelayPattern,
    steps: int,
    sampling: SamplingConfig,
    generator: torch.Generator | None,
    pad_id: int,
    device: torch.device,
    on_step: Callable[[int, int], None] | None = None,
    prompt: torch.Tensor | None = None,
    prefill: PrefillFn | None = None,
    on_tokens: TokensFn | None = None,
) -> Steps:
    """Run ``steps`` decoder steps; return the token sequence ``[codebooks, steps + 1]``.

    Column 0 is the start token; each step reads column ``t`` and writes column ``t + 1``, keeping
    the pad token where the delay pattern has no real token. ``prompt`` ``[codebooks, P]`` holds the
    window's first ``P`` frames: columns ``0..P-1`` go through ``prefill`` (step by step without one),
    and the loop starts at column ``P``. Nothing here waits for the device. Each step is yielded as
    ``(tokens, position)`` and its logits ``[batch, codebooks, vocab]`` are sent back.

    ``on_step`` gets ``(0, n)`` before the first step (the text is encoded by then), then ``(i, n)``
    after the ``i``-th of the ``n`` calls into the decoder (the prefill counts as one). ``on_tokens``
    follows the sequence as it fills (streaming).
    """
    sequence = torch.full((pattern.num_codebooks, steps + 1), pad_id, dtype=torch.long, device=device)
    valid = pattern.valid_mask(steps, device)
    known = torch.zeros_like(valid)
    first = 0
    if prompt is not None and prompt.shape[-1] > 0:
        first = prompt.shape[-1]
        known = pattern.delayed(prompt.to(device), sequence) & valid
    pad = torch.tensor(pad_id, device=device)
    calls = steps - first + (1 if first else 0)  # decoder_calls of the window
    done = 0
    if on_step is not None:
        on_step(0, calls)
    if first:
        if prefill is not None:
            prefill(sequence[:, :first])
        else:
            for t in range(first):
                yield sequence[:, t], t
        done = 1
        if on_step is not None:
            on_step(done, calls)
    for t in range(first, steps):
        logits = yield sequence[:, t], t
        scores = guide(logits, sampling.cfg_coef) if sampling.guided else logits[0]
        chosen = select(scores, sampling, generator)
        column = torch.where(known[:, t + 1], sequence[:, t + 1], chosen)
        sequence[:, t + 1] = torch.where(valid[:, t + 1], column, pad)
        if on_tokens is not None:
            on_tokens(sequence, t + 1)
        done += 1
        if on_step is not None:
            on_step(done, calls)
    return sequence


def decoder_calls(pattern: DelayPattern, window: Window) -> int:
    """Calls into the decoder for one window: a prefill of its prompt (if any), then one per step."""
    steps = pattern.steps_for(window.frames)
    return steps - window.prompt + (1 if window.prompt else 0)
