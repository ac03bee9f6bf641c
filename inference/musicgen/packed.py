"""Matrix products and LSTMs over weights reordered once for oneDNN, on CPU.

torch's CPU convolutions and LSTMs hand their weights to oneDNN as plain tensors, and oneDNN reorders
them into its blocked layout on every call. For EnCodec's largest weights (34 MB of float32 in its
first transposed convolution, 67 MB in its LSTM) that reorder costs more than the work itself whenever
a call covers few time steps, as every piece of a streamed decode does. Reordered once (oneDNN's
prepacked linear and LSTM layer, as ``torch.compile`` uses them on CPU), they cost only their work.
Where torch has no oneDNN, :func:`pack` and :func:`pack_lstm` return None and callers run the modules.
"""

from __future__ import annotations

import torch

LstmState = tuple[torch.Tensor, torch.Tensor]
"""``(h, c)``, each ``[layers, batch, hidden]``, as ``nn.LSTM`` takes and returns them."""
_LSTM_MODE = 2  # the mode mkldnn_rnn_layer reads as LSTM (cuDNN's numbering: RNN_RELU, RNN_TANH, LSTM, GRU)


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


class PackedLSTM:
    """A float32 CPU ``nn.LSTM`` (one direction, sequence first, with biases) over its weights reordered
    once: called as the module is, ``(inputs [steps, batch, in], state) -> (outputs, state)``, with the
    module's results bit for bit (the same oneDNN layer, minus its reorder of every weight on each
    call: a 25-step call of EnCodec's 2 x 1024 LSTM takes 10 ms instead of 30)."""

    def __init__(self, hidden: int, layers: list[tuple[torch.Tensor, ...]]) -> None:
        self.hidden = hidden
        self.layers = layers  # per layer: packed input weights, packed hidden weights, both biases

    def __call__(
        self, inputs: torch.Tensor, state: LstmState | None = None
    ) -> tuple[torch.Tensor, LstmState]:
        if state is None:
            zeros = inputs.new_zeros((len(self.layers), inputs.shape[1], self.hidden))
            state = (zeros, zeros)
        hs, cs = [], []
        x = inputs.contiguous()
        for index, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.layers):
            x, h, c, *_ = torch.ops.aten.mkldnn_rnn_layer(
                x, w_ih, w_hh, b_ih, b_hh, state[0][index], state[1][index],
                False, [], _LSTM_MODE, self.hidden, 1, True, False, False, False,
            )  # fmt: skip
            hs.append(h)
            cs.append(c)
        return x, (torch.stack(hs), torch.stack(cs))


def pack_lstm(lstm: torch.nn.LSTM) -> PackedLSTM | None:
    """``lstm`` over its weights reordered once, or None where this torch cannot (no oneDNN, another
    kind of LSTM, or results not bit for bit the module's on a probe)."""
    weights = list(lstm.parameters())
    if (
        lstm.bidirectional
        or lstm.batch_first
        or not lstm.bias
        or lstm.proj_size
        or any(w.device.type != "cpu" or w.dtype != torch.float32 for w in weights)
        or not torch.backends.mkldnn.is_available()
    ):
        return None
    layers = []
    try:
        with torch.inference_mode():
            for index in range(lstm.num_layers):
                w_ih, w_hh, b_ih, b_hh = (
                    getattr(lstm, f"{name}_l{index}").detach()
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                )
                packed_ih, packed_hh = torch.ops.mkldnn._reorder_mkldnn_rnn_layer_weight(
                    w_ih.contiguous(), w_hh.contiguous(), lstm.hidden_size, False, True, False
                )
                layers.append((packed_ih, packed_hh, b_ih, b_hh))
            packed = PackedLSTM(lstm.hidden_size, layers)
            # Private ops of torch's: checked once on this build and CPU, with a state carried in.
            probe = torch.linspace(-1.0, 1.0, 3 * lstm.input_size).view(3, 1, -1)
            first, state = lstm(probe[:2])
            want = (torch.cat([first, lstm(probe[2:], state)[0]]), lstm(probe)[1])
            first, state = packed(probe[:2])
            got = (torch.cat([first, packed(probe[2:], state)[0]]), packed(probe)[1])
            if not (torch.equal(got[0], want[0]) and all(map(torch.equal, got[1], want[1]))):
                return None
    except (AttributeError, RuntimeError):  # a torch without the ops
        return None
    return packed
