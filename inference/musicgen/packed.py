"""Matrix products over weights reordered once for oneDNN, on CPU.

torch's CPU convolutions hand their weights to oneDNN as plain tensors, and oneDNN reorders them into
its blocked layout on every call. For EnCodec's largest weights (34 MB of float32) that reorder costs
more than the work itself whenever a call covers few time steps, as every piece of a streamed decode
does. Reordered once (oneDNN's prepacked linear, as ``torch.compile`` uses it on CPU), they cost only
their product. Where torch has no oneDNN, :func:`pack` returns None and callers run convolutions.
"""

from __future__ import annotations

import torch


def pack(weight: torch.Tensor) -> torch.Tensor | None:
    """``weight`` ``[out, in]`` (float32, CPU) reordered for :func:`product`, or None where this torch
    cannot."""
    if (
        weight.device.type != "cpu"
        or weight.dtype != torch.float32
        or not torch.backends.mkldnn.is_available()
    ):
        return None
    weight = weight.detach().contiguous()
    try:
        packed = torch.ops.mkldnn._reorder_linear_weight(weight)
        # Private ops of torch's: checked once on this build and CPU before they are trusted.
        probe = torch.linspace(-1.0, 1.0, 2 * weight.shape[1]).view(2, -1)
        if not torch.allclose(product(probe, packed, None), probe @ weight.T, rtol=1e-4, atol=1e-4):
            return None
    except (AttributeError, RuntimeError):  # a torch without the ops
        return None
    return packed


def product(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ weight.T + bias`` for ``x`` ``[rows, in]`` and a weight from :func:`pack`."""
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), packed, bias, "none", [], "")
