"""Next-token selection: classifier-free guidance, temperature, top-k / top-p, seeded sampling.

Everything stays on the device: sampling uses the exponential-race form of the categorical draw
(``argmax(p / E)`` with ``E ~ Exp(1)``), which needs no host synchronisation, unlike ``multinomial``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True, slots=True)
class SamplingConfig:
    """AudioCraft's semantics: ``top_p > 0`` replaces top-k; ``temperature == 0`` is greedy."""

    temperature: float = 1.0
    top_k: int = 250
    top_p: float = 0.0
    cfg_coef: float = 3.0

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    @property
    def guided(self) -> bool:
        return self.cfg_coef > 1


def guide(logits: torch.Tensor, cfg_coef: float) -> torch.Tensor:
    """Combine ``[2, ...]`` conditional/unconditional logits as transformers and AudioCraft do."""
    cond, uncond = logits[0].float(), logits[1].float()  # in half precision the difference loses bits
    return uncond + (cond - uncond) * cfg_coef


def select(logits: torch.Tensor, config: SamplingConfig, generator: torch.Generator | None) -> torch.Tensor:
    """Next token per row of ``logits`` ``[rows, vocab]``."""
    if config.greedy:
        return logits.argmax(dim=-1)
    scores = logits.float() / config.temperature
    if config.top_p > 0:
        return _sample_top_p(scores, config.top_p, generator)
    if 0 < config.top_k < scores.shape[-1]:
        values, indices = scores.topk(config.top_k, dim=-1)
        return indices.gather(-1, _race(values.softmax(-1), generator)).squeeze(-1)
    return _race(scores.softmax(-1), generator).squeeze(-1)


def _sample_top_p(scores: torch.Tensor, top_p: float, generator: torch.Generator | None) -> torch.Tensor:
    probs = scores.softmax(-1)
    sorted_probs, indices = probs.sort(dim=-1, descending=True)
    # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
    outside = sorted_probs.cumsum(-1) - sorted_probs > top_p
    sorted_probs = sorted_probs.masked_fill(outside, 0.0)
    return indices.gather(-1, _race(sorted_probs, generator)).squeeze(-1)


def _race(probs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Index drawn with probability proportional to ``probs``, shape ``[rows, 1]``."""
    noise = torch.empty_like(probs).exponential_(generator=generator)
    return (probs / noise).argmax(dim=-1, keepdim=True)
