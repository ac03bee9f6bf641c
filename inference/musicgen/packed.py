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
    try:
        return torch.ops.mkldnn._reorder_linear_weight(weight.detach().contiguous())
    except (AttributeError, RuntimeError):  # a torch without the op
        return None


def product(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ weight.T + bias`` for ``x`` ``[rows, in]`` and a weight from :func:`pack`."""
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), packed, bias, "none", [], "")
