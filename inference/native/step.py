"""The decoder step run by the native library: our weights in per-row int8, one C call per step."""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Iterable

import torch

from inference.musicgen.decoder import MusicgenDecoderStep
from inference.musicgen.linear import RowInt8Linear, cpu_has_bfloat16
from inference.native.library import (
    WEIGHTS_OFFSET_128,
    Config,
    Layer,
    Matrix,
    NativeUnavailableError,
    Norm,
    Track,
    Weights,
    load_library,
)


def _address(t: torch.Tensor) -> int:
    return t.data_ptr()


def _norm(pair: tuple[torch.Tensor, torch.Tensor]) -> Norm:
    return Norm(_address(pair[0]), _address(pair[1]))


def _matrix(linear: object) -> Matrix:
    assert isinstance(linear, RowInt8Linear)
    return Matrix(_address(linear.qweight), _address(linear.scale), linear.out_features, linear.in_features)


class NativeDecoderStep(MusicgenDecoderStep):
    """``logits = step(tokens, position)`` with every layer in one call into the native library.

    Weights, caches and text keys/values are torch tensors laid out as in :class:`MusicgenDecoderStep`
    (which prepares them per request); the library borrows them (see ``csrc/musicgen_step.h``). The
    weights' bytes are stored the way the loaded build reads them (:meth:`RowInt8Linear.encode`). The
    returned logits are a view of a buffer the next step overwrites.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        threads: int,
        max_steps: int,
        consume: bool = False,
        variant: str | None = None,
        layers: Iterable[torch.nn.Module] | None = None,
    ) -> None:
        eps = float(model.decoder.model.decoder.layer_norm.eps)
        super().__init__(
            model,
            torch.device("cpu"),
            torch.float32,
            "int8-rows",
            max_steps=max_steps,
            consume=consume,
            layers=layers,
        )
        self.lib = load_library(variant)
        self.variant = self.lib.mg_variant().decode()
        offset = 128 if self.lib.mg_weight_encoding() == WEIGHTS_OFFSET_128 else 0
        prefill_dtype = torch.bfloat16 if cpu_has_bfloat16() else torch.float32
        linears = [self.lm_heads]
        for layer in self.layers:
            linears += [layer.qkv, layer.self_out, layer.cross_q, layer.cross_out, layer.fc1, layer.fc2]
        for linear in linears:
            assert isinstance(linear, RowInt8Linear)
            linear.encode(offset)
            linear.compute_dtype = prefill_dtype  # torch reads them for a window's prefill only
        self._layer_structs = (Layer * len(self.layers))(
            *(
                Layer(
                    _norm(layer.self_ln),
                    _matrix(layer.qkv),
                    _matrix(layer.self_out),
                    _norm(layer.cross_ln),
                    _matrix(layer.cross_q),
                    _matrix(layer.cross_out),
                    _norm(layer.ffn_ln),
                    _matrix(layer.fc1),
                    _matrix(layer.fc2),
                )
                for layer in self.layers
            )
        )
        weights = Weights(
            self._layer_structs,
            _norm(self.final_ln),
            _matrix(self.lm_heads),
            _address(self.embed),
            _address(self.positions),
        )
        ffn = self.layers[0].fc1.out_features
        config = Config(
            len(self.layers),
            self.hidden,
            self.heads,
            ffn,
            self.num_codebooks,
            self.embed.shape[1],
            self.positions.shape[0],
            eps,
            threads,
        )
        handle = ctypes.c_void_p()
        status = self.lib.mg_model_new(ctypes.byref(config), ctypes.byref(weights), ctypes.byref(handle))
        if status != 0:
            raise NativeUnavailableError(
                f"the native step cannot run this model (status {status}): it needs hidden, ffn and "
                f"output sizes that are multiples of 32 and heads a multiple of 8 wide (hidden "
                f"{self.hidden}, ffn {ffn}, heads {self.heads})"
            )
        self.handle = handle.value
        self._release = weakref.finalize(self, self.lib.mg_model_free, ctypes.c_void_p(self.handle))
        outputs = self.num_codebooks * self.vocab
        self.logits = torch.empty(2, outputs)
        self._views = {b: self.logits[:b].view(b, self.num_codebooks, self.vocab) for b in (1, 2)}
        self._track = Track()

    @property
    def threads(self) -> int:
        return int(self.lib.mg_model_threads(self.handle))

    def _empty_cache(self, steps: int) -> torch.Tensor:
        """The self-attention cache in int8, one scale per key or value row (``cache_scales``)."""
        shape = (len(self.layers), 2, 2, self.heads, steps + 1, self.head_dim)
        self.cache_scales = torch.zeros(shape[:-1])
        return torch.zeros(shape, dtype=torch.int8)

    def prefill(self, tokens: torch.Tensor) -> None:
        """The window's known columns in one torch pass (on the step's threads; the pool sleeps)."""
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            super().prefill(tokens)
        finally:
            torch.set_num_threads(threads)

    def _keep(self, index: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """A prefill's keys/values into the int8 cache, one scale per row, as the C step stores them."""
        count = keys.shape[2]
        for kind, rows in enumerate((keys, values)):
            peak = rows.abs().amax(dim=-1)
            scale = peak / 127
            inverse = torch.where(peak > 0, 127 / peak, torch.zeros_like(peak))
            quantized = torch.round(rows * inverse[..., None]).clamp(-127, 127).to(torch.int8)
            self.cache[index, kind, : self.batch, :, :count] = quantized
            self.cache_scales[index, kind, : self.batch, :, :count] = scale

    def start(
        self,
        text_states: torch.Tensor,
        text_mask: torch.Tensor,
        guided: bool,
        steps: int,
        negative: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        super().start(text_states, text_mask, guided, steps, negative)
        # The request's track; the text buffers are taken after ``start``, which grows them for a first
        # negative prompt. Each step sets the tokens and position.
        self._track = Track(
            tokens=None,
            position=0,
            rows=self.batch,
            text_rows=self.cross_rows,
            cache=_address(self.cache),
            cache_scales=_address(self.cache_scales),
            slots=self.cache.shape[4],
            text=_address(self.cross),
            text_mask=_address(self.cross_mask),
            text_batch=self.cross.shape[2],
            max_text=self.max_text,
            text_len=self.text_len,
            logits=_address(self.logits),
        )

    def __call__(
        self, tokens: torch.Tensor, position: int | torch.Tensor, static: bool = False
    ) -> torch.Tensor:
        if tokens.dtype != torch.long or not tokens.is_contiguous():
            tokens = tokens.to(torch.long).contiguous()
        track = self._track
        track.tokens = tokens.data_ptr()
        track.position = int(position)
        if self.lib.mg_step(self.handle, ctypes.byref(track), 1) != 0:
            slots = self.cache.shape[4]
            raise RuntimeError(f"native step failed at position {track.position} ({slots} cache slots)")
        return self._views[self.batch]
