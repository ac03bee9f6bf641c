"""MusicGen's codebook delay pattern.

Codebook ``k`` runs ``delay(k)`` steps behind the first (``k`` for mono; stereo interleaves left and
right codebooks, so ``k // 2``). Column 0 of the token sequence is the start token for every codebook;
a codebook's column ``j`` holds a real token only for ``delay < j <= steps - span + 1 + delay``, where
``span`` is the number of codebooks per channel. Everywhere else it holds the pad/start token.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True, slots=True)
class DelayPattern:
    """The pattern for ``num_codebooks`` codebooks over ``channels`` interleaved channels."""

    num_codebooks: int
    channels: int = 1

    @property
    def span(self) -> int:
        """Codebooks per channel: the extra steps the last codebook needs."""
        return self.num_codebooks // self.channels

    def delays(self) -> list[int]:
        return [k // self.channels for k in range(self.num_codebooks)]

    def steps_for(self, frames: int) -> int:
        """Decoder steps that produce ``frames`` complete frames."""
        return frames + self.span - 1

    def frames_for(self, steps: int) -> int:
        return steps - self.span + 1

    def valid_mask(self, steps: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Bool ``[num_codebooks, steps + 1]``: where sequence column ``j`` holds a real token."""
        columns = torch.arange(steps + 1, device=device)[None, :]
        delay = torch.tensor(self.delays(), device=device)[:, None]
        last = steps - self.span + 1 + delay
        return (columns > delay) & (columns <= last)

    def delayed(self, codes: torch.Tensor, sequence: torch.Tensor) -> torch.Tensor:
        """Write frames ``codes`` ``[num_codebooks, P]`` into their columns of ``sequence``; where (bool)."""
        known = torch.zeros(sequence.shape, dtype=torch.bool, device=sequence.device)
        for k, delay in enumerate(self.delays()):
            end = min(1 + delay + codes.shape[-1], sequence.shape[-1])
            if end > 1 + delay:
                sequence[k, 1 + delay : end] = codes[k, : end - 1 - delay]
                known[k, 1 + delay : end] = True
        return known

    def undelay(self, sequence: torch.Tensor) -> torch.Tensor:
        """Codes ``[num_codebooks, frames]`` from a token sequence ``[num_codebooks, steps + 1]``."""
        frames = self.frames_for(sequence.shape[-1] - 1)
        rows = [sequence[k, 1 + d : 1 + d + frames] for k, d in enumerate(self.delays())]
        return torch.stack(rows)
