"""EnCodec's upsampling stack run by hand on CPU: transposed convolutions as polyphase convolutions, in
time tiles that stay in cache.

The stack after the decoder's LSTM (ELU, transposed convolutions of stride 8, 5, 4, 4, residual blocks,
a last convolution) costs most of the decoding. Run as transformers' modules on CPU it loses time three
ways, which :class:`UpsampleStack` avoids:

- torch's CPU ``ConvTranspose1d`` misses oneDNN's fast path. A transposed convolution of stride ``s``
  and kernel ``k`` is ``s`` ordinary convolutions of ``ceil(k / s)`` taps over its input, one per
  output phase: one convolution of ``s * out_channels`` channels, whose outputs are then interleaved
  (output sample ``q * s + r`` is phase ``r`` at input step ``q``).
- The last layers run at the audio rate with few channels: a 5 s chunk makes activations of 22-44 MB,
  each a fresh allocation the kernel maps in page by page, streamed through memory.
  Here those layers run over tiles (16,384 audio samples in MusicGen's codec, plus the few samples of
  receptive field either side, computed twice), so that a tile's activations stay in cache and reuse
  freed memory. The last convolution, to one channel, runs as one product and a strided sum (oneDNN
  manages about 1 GMAC/s on a one-channel output).
- Only the samples asked for are computed: a chunk decoded with a margin of frames either side gets
  only its own samples and the receptive field around them (under 2 frames), not the whole margin.
- oneDNN reorders a convolution's weights into its blocked layout on every call: for the first
  transposed convolution (8.4M weights, 34 MB) that costs more than the product itself over a
  streamed piece's 30-odd input steps. A transposed convolution that large runs instead as one matrix
  product over weights reordered once, when the stack is built (:mod:`~inference.musicgen.packed`).

Every sample is the same sum of the same products as the modules compute (each layer's padding at the
signal's ends included), in another order: the result equals the modules' up to float rounding.
:func:`build` returns None for a stack it does not recognise (group norm, convolution shortcuts,
strided or grouped convolutions, circular padding): callers then run the modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from inference.musicgen import packed

# float32 only: in bfloat16 the stack ran 1.5x faster but 2x further from the float32 result than the
# modules' bfloat16 (rounding at other places); not taken.
DTYPES = (torch.float32,)
# How the stack is cut into stages and tiles (see _stages): values per tile of the widest activation
# (4 MB of float32), weights of a transposed convolution run over the whole range at once, input steps
# of a tiled stage's first transposed convolution per tile.
TILE_ELEMENTS = 1 << 20
WHOLE_WEIGHTS = 1 << 22
MIN_STEPS = 256
# Weights from which a transposed convolution runs as a product over prepacked weights (see above).
PACKED_WEIGHTS = 1 << 22


class _Op:
    """One layer over a window of a signal: input samples ``[start, start + n)`` of ``length``."""

    def out_length(self, length: int) -> int:
        return length

    def need(self, start: int, end: int, length: int) -> tuple[int, int]:
        """The input samples that output samples ``[start, end)`` read."""
        return start, end

    def run(self, x: torch.Tensor, start: int, length: int, owned: bool) -> tuple[torch.Tensor, int]:
        """Every output sample the window ``x`` determines, and the first one's index.

        ``owned``: ``x`` may be overwritten (no one else reads it).
        """
        raise NotImplementedError


class _Elu(_Op):
    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def run(self, x, start, length, owned):
        return (F.elu_(x, self.alpha) if owned else F.elu(x, self.alpha)), start


class _Conv(_Op):
    """Stride-1 convolution with ``left``/``right`` samples of ``mode`` padding at the signal's ends."""

    def __init__(self, weight, bias, dilation: int, left: int, right: int, mode: str) -> None:
        self.weight, self.bias, self.dilation = weight, bias, dilation
        self.left, self.right, self.mode = left, right, mode
        out_channels, _, kernel = weight.shape
        # A convolution to a few channels (the last one, to audio) is faster as one product to
        # kernel x channels rows, then shifted sums (oneDNN runs 1-channel outputs at ~1 GMAC/s).
        self.taps = weight.permute(2, 0, 1).reshape(kernel * out_channels, -1) if out_channels <= 2 else None

    def need(self, start, end, length):
        if length <= max(self.left, self.right):  # shorter than its padding: as the module does
            return 0, length
        first, last = max(0, start - self.left), min(length, end + self.right)
        if start < self.left and self.mode == "reflect":  # the samples reflected at the left end
            last = max(last, min(length, self.left - start + 1))
        if end + self.right > length and self.mode == "reflect":  # those reflected at the right end
            first = min(first, max(0, 2 * length - 1 - end - self.right))
        return first, last

    def run(self, x, start, length, owned):
        n = x.shape[-1]
        pad_left = self.left if start == 0 else 0
        pad_right = self.right if start + n == length else 0
        if pad_left or pad_right:
            x = _pad(x, pad_left, pad_right, self.mode)
        if self.taps is None:
            y = F.conv1d(x, self.weight, self.bias, dilation=self.dilation)
        else:
            y = self._few_channels(x)
        return y, start - pad_left + self.left

    def _few_channels(self, x: torch.Tensor) -> torch.Tensor:
        out_channels, _, kernel = self.weight.shape
        n = x.shape[-1]
        products = torch.matmul(self.taps, x[0])  # row k * out + o: tap k of channel o at every step
        steps = n - (kernel - 1) * self.dilation
        # y[o, t] = sum over k of products[k * out + o, t + k * dilation]: a strided view, summed over k.
        shifted = products.as_strided((kernel, out_channels, steps), (out_channels * n + self.dilation, n, 1))
        return (shifted.sum(0) + self.bias[:, None])[None]


class _ConvTranspose(_Op):
    """Transposed convolution of stride ``s``, trimmed by ``left``/``right`` samples, as ``s`` phases."""

    def __init__(self, weight, bias, stride: int, left: int, right: int) -> None:
        in_channels, out_channels, kernel = weight.shape
        self.stride, self.left, self.right = stride, left, right
        self.taps = math.ceil(kernel / stride)
        self.in_channels, self.out_channels = in_channels, out_channels
        # Phase r of output step q: sum over j of W[:, :, j * s + r]^T x[q - j]; as a convolution over
        # x its tap t (reading x[q - taps + 1 + t]) is j = taps - 1 - t. Channels: phase-major.
        padded = F.pad(weight, (0, self.taps * stride - kernel))  # [in, out, taps * s]
        phases = padded.reshape(in_channels, out_channels, self.taps, stride).flip(2)  # [in, out, t, r]
        self.weight = phases.permute(3, 1, 0, 2).reshape(stride * out_channels, in_channels, self.taps)
        self.weight = self.weight.contiguous()
        self.weights = self.weight.numel()
        self.bias = bias.repeat(stride)
        # Large: [s * out, taps * in] (column t * in + c is channel c at tap t), reordered once for oneDNN.
        large = self.weights >= PACKED_WEIGHTS
        self.packed_weight = (
            packed.pack(self.weight.permute(0, 2, 1).reshape(stride * out_channels, -1)) if large else None
        )
        if self.packed_weight is not None:
            self.weight = None  # the packed copy replaces it

    def out_length(self, length):
        return length * self.stride

    def need(self, start, end, length):
        first = (start + self.left) // self.stride - (self.taps - 1)
        last = (end - 1 + self.left) // self.stride + 1
        return max(0, first), min(length, last)

    def run(self, x, start, length, owned):
        n = x.shape[-1]
        zeros = self.taps - 1
        pad_left = zeros if start == 0 else 0
        pad_right = zeros if start + n == length else 0
        if pad_left or pad_right:
            x = F.pad(x, (pad_left, pad_right))
        first_q = start - pad_left + zeros
        if self.packed_weight is None:
            phases = F.conv1d(x, self.weight, self.bias)  # [1, s * out, steps], step i is q = first_q + i
            steps = phases.shape[-1]
            y = phases.view(self.stride, self.out_channels, steps).permute(1, 2, 0)
        else:
            phases = self._product(x)  # [steps, s * out]
            steps = phases.shape[0]
            y = phases.view(steps, self.stride, self.out_channels).permute(2, 0, 1)
        y = y.reshape(1, self.out_channels, steps * self.stride)
        # Full (untrimmed) sample q * s + r is output sample q * s + r - left; keep 0 .. length * s.
        first = first_q * self.stride - self.left
        cut_left = max(0, -first)
        cut_right = max(0, first + y.shape[-1] - length * self.stride)
        if cut_left or cut_right:
            y = y[..., cut_left : y.shape[-1] - cut_right]
        return y, first + cut_left

    def _product(self, x: torch.Tensor) -> torch.Tensor:
        """The phases ``[steps, s * out]`` of input ``x`` ``[1, in, n]``: each step's ``taps`` input columns
        side by side, times the packed weights."""
        steps = x.shape[-1] - self.taps + 1
        rows = x[0].t()  # [n, in]
        windows = torch.cat([rows[t : t + steps] for t in range(self.taps)], dim=1)
        return packed.product(windows, self.packed_weight, self.bias)


class _Residual(_Op):
    """``x + inner(x)``."""

    def __init__(self, inner: list[_Op]) -> None:
        self.inner = inner

    def need(self, start, end, length):
        for op in reversed(self.inner):
            start, end = op.need(start, end, length)
        return start, end

    def run(self, x, start, length, owned):
        y, at = x, start
        for i, op in enumerate(self.inner):
            y, at = op.run(y, at, length, owned=i > 0)
        return y.add_(x[..., at - start : at - start + y.shape[-1]]), at


def _pad(x: torch.Tensor, left: int, right: int, mode: str) -> torch.Tensor:
    """As transformers' ``EncodecConv1d._pad1d``: a signal shorter than its reflection gets zeros first."""
    if mode != "reflect":
        return F.pad(x, (left, right), mode)
    length = x.shape[-1]
    extra = max(left, right) - length + 1 if length <= max(left, right) else 0
    if extra:
        x = F.pad(x, (0, extra))
    padded = F.pad(x, (left, right), mode)
    return padded[..., : padded.shape[-1] - extra]


@dataclass
class _Stage:
    ops: list[_Op]
    tile: int | None  # output samples per tile; None: the whole range at once


class UpsampleStack:
    """The decoder's layers after its LSTM, run over ranges of their output (see the module docstring)."""

    def __init__(self, stages: list[_Stage], hop: int) -> None:
        self.stages = stages
        self.hop = hop

    def __call__(
        self, states: torch.Tensor, start: int | None = None, end: int | None = None
    ) -> torch.Tensor:
        """Audio samples ``[start, end)`` (default: all) of the stack run on ``states`` ``[1, dim, frames]``
        as the modules would run it on that window: ``[1, channels, end - start]``."""
        ops = [op for stage in self.stages for op in stage.ops]
        lengths = [states.shape[-1]]
        for op in ops:
            lengths.append(op.out_length(lengths[-1]))
        start = 0 if start is None else start
        end = lengths[-1] if end is None else end
        if not 0 <= start <= end <= lengths[-1]:
            raise ValueError(f"samples {start}..{end} of {lengths[-1]}")
        if start == end:
            return self(states, 0, 1)[..., :0]
        # The range each layer's output needs, last layer first.
        ranges = [(start, end)]
        for op, length in zip(reversed(ops), reversed(lengths[:-1]), strict=True):
            ranges.append(op.need(*ranges[-1], length))
        ranges.reverse()
        first, last = ranges[0]
        x, at = states[..., first:last], first
        layer = 0
        for stage in self.stages:
            count = len(stage.ops)
            x, at = self._stage(stage, x, at, lengths[layer : layer + count + 1], ranges[layer + count])
            layer += count
        return x

    @staticmethod
    def _stage(
        stage: _Stage, x: torch.Tensor, at: int, lengths: list[int], wanted: tuple[int, int]
    ) -> tuple[torch.Tensor, int]:
        """The stage's output samples ``wanted`` from its input ``x`` (samples ``at`` onwards)."""
        start, end = wanted
        tile = stage.tile or end - start
        out = None
        for tile_start in range(start, end, tile):
            tile_end = min(end, tile_start + tile)
            # The input range of the tile, through the stage's layers backwards.
            needs = [(tile_start, tile_end)]
            for op, length in zip(reversed(stage.ops), reversed(lengths[:-1]), strict=True):
                needs.append(op.need(*needs[-1], length))
            first, last = needs[-1]
            y, y_at = x[..., first - at : last - at], first
            for i, op in enumerate(stage.ops):
                y, y_at = op.run(y, y_at, lengths[i], owned=i > 0)
            y = y[..., tile_start - y_at : tile_end - y_at]
            if tile_start == start and tile_end == end:
                return y, start
            if out is None:
                out = y.new_empty((*y.shape[:-1], end - start))
            out[..., tile_start - start : tile_end - start] = y
        return out, start


def build(layers) -> UpsampleStack | None:
    """The fast form of EnCodec decoder ``layers`` (the ones after the LSTM) on CPU, or None."""
    from transformers.models.encodec.modeling_encodec import (
        EncodecConv1d,
        EncodecConvTranspose1d,
        EncodecResnetBlock,
    )

    def conv(module) -> _Op | None:
        if not isinstance(module, EncodecConv1d) or module.norm_type != "weight_norm":
            return None
        inner = module.conv
        if inner.stride[0] != 1 or inner.groups != 1 or module.pad_mode == "circular":
            return None
        total = (inner.kernel_size[0] - 1) * inner.dilation[0]
        right = 0 if module.causal else total // 2
        weight = inner.weight.detach().contiguous()
        return _Conv(weight, _bias(inner), inner.dilation[0], total - right, right, module.pad_mode)

    def transposed(module) -> _Op | None:
        if not isinstance(module, EncodecConvTranspose1d) or module.norm_type != "weight_norm":
            return None
        inner = module.conv
        if inner.groups != 1 or inner.dilation[0] != 1 or inner.padding[0] or inner.output_padding[0]:
            return None
        stride, kernel = inner.stride[0], inner.kernel_size[0]
        total = kernel - stride
        right = math.ceil(total * module.trim_right_ratio) if module.causal else total // 2
        return _ConvTranspose(inner.weight.detach(), _bias(inner), stride, total - right, right)

    def elu(module) -> _Op | None:
        return _Elu(float(module.alpha)) if isinstance(module, torch.nn.ELU) else None

    def block(module) -> _Op | None:
        if not isinstance(module, EncodecResnetBlock) or not isinstance(module.shortcut, torch.nn.Identity):
            return None
        inner = [elu(m) or conv(m) for m in module.block]
        return None if any(op is None for op in inner) else _Residual(inner)

    with torch.no_grad():
        ops = [elu(m) or conv(m) or transposed(m) or block(m) for m in layers]
    if not ops or any(op is None for op in ops):
        return None
    hop = math.prod(op.stride for op in ops if isinstance(op, _ConvTranspose))
    return UpsampleStack(_stages(ops), hop)


def _bias(conv: torch.nn.Module) -> torch.Tensor:
    if conv.bias is not None:
        return conv.bias.detach()
    return conv.weight.new_zeros(conv.out_channels)


def _stages(ops: list[_Op]) -> list[_Stage]:
    """The stack in stages, one per upsampling level (the ELU and transposed convolution that enter it,
    the layers up to the next one) or a run of consecutive levels.

    A level whose transposed convolution has ``WHOLE_WEIGHTS`` weights or more runs over the whole range
    at once (its weights would be read again for every tile). The others run in tiles of about
    ``TILE_ELEMENTS`` values of their widest activation; consecutive levels share a stage (no whole-range
    activation between them) while a tile still gives the stage's first transposed convolution
    ``MIN_STEPS`` input steps.
    """
    levels: list[list[_Op]] = [[]]
    for i, op in enumerate(ops):
        enters = isinstance(op, _ConvTranspose) and not (i > 0 and isinstance(ops[i - 1], _Elu))
        enters = enters or (
            isinstance(op, _Elu) and i + 1 < len(ops) and isinstance(ops[i + 1], _ConvTranspose)
        )
        if enters and any(isinstance(o, _ConvTranspose) for o in levels[-1]):
            levels.append([])
        levels[-1].append(op)
    stages: list[_Stage] = []
    for level in levels:
        if any(isinstance(op, _ConvTranspose) and op.weights >= WHOLE_WEIGHTS for op in level):
            stages.append(_Stage(level, None))
            continue
        if stages and stages[-1].tile is not None:
            merged = stages[-1].ops + level
            tile = _tile(merged)
            if tile // math.prod(op.stride for op in merged if isinstance(op, _ConvTranspose)) >= MIN_STEPS:
                stages[-1] = _Stage(merged, tile)
                continue
        stages.append(_Stage(level, _tile(level)))
    return stages


def _tile(ops: list[_Op]) -> int:
    """Output samples per tile: ``TILE_ELEMENTS`` over the most values any layer holds per output sample."""
    widest, rate = 1.0, 1  # rate: output samples per sample of the current layer
    for op in reversed(ops):
        if isinstance(op, _Conv):
            widest = max(widest, op.weight.shape[0] / rate, op.weight.shape[1] / rate)
        elif isinstance(op, _ConvTranspose):
            widest = max(widest, op.out_channels / rate)
            rate *= op.stride
            widest = max(widest, op.in_channels / rate)
        elif isinstance(op, _Residual):
            widest = max(widest, _tile_width(op) / rate)
    return max(1, int(TILE_ELEMENTS / widest))


def _tile_width(op: _Residual) -> int:
    return max(max(o.weight.shape[:2]) for o in op.inner if isinstance(o, _Conv))
