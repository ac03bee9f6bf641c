"""The decoder step run by the native library: our weights in per-row int8, one C call per step."""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Iterable
from pathlib import Path

import torch

from inference.musicgen.decoder import MusicgenDecoderStep
from inference.musicgen.linear import RowInt8Linear, cpu_has_bfloat16
from inference.native.build import NATIVE, NativeUnavailableError, load_library


def _ptr(t: torch.Tensor) -> ctypes.c_void_p:
    return ctypes.c_void_p(t.data_ptr())


class NativeDecoderStep(MusicgenDecoderStep):
    """``logits = step(tokens, position)`` with every layer in one call into ``musicgen_step.c``.

    Weights, caches and text keys/values are torch tensors laid out as in :class:`MusicgenDecoderStep`
    (which prepares them per request); the library only holds pointers to them. The returned logits
    are a view of a buffer the next step overwrites.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        cache_dir: Path,
        threads: int,
        max_steps: int,
        consume: bool = False,
        march: str = NATIVE,
        layers: Iterable[torch.nn.Module] | None = None,
    ) -> None:
        eps = float(model.decoder.model.decoder.layer_norm.eps)
        cpu = torch.device("cpu")
        super().__init__(
            model, cpu, torch.float32, "int8-rows", max_steps=max_steps, consume=consume, layers=layers
        )
        self.lib = load_library(cache_dir, march)
        ffn = self.layers[0].fc1.out_features
        outputs = self.num_codebooks * self.vocab
        handle = self.lib.mg_model_new(len(self.layers), self.hidden, self.heads, ffn, outputs, eps, threads)
        if not handle:
            raise NativeUnavailableError(
                "the native step needs hidden, ffn and vocabulary sizes that are multiples of 32 "
                f"(hidden {self.hidden}, ffn {ffn}, heads {self.heads})"
            )
        self.handle = handle
        self._release = weakref.finalize(self, self.lib.mg_model_free, ctypes.c_void_p(handle))
        for index, layer in enumerate(self.layers):
            parts: list[torch.Tensor] = [*layer.self_ln]
            for linear in (layer.qkv, layer.self_out):
                parts += self._quantized(linear)
            parts += [*layer.cross_ln]
            for linear in (layer.cross_q, layer.cross_out):
                parts += self._quantized(linear)
            parts += [*layer.ffn_ln]
            for linear in (layer.fc1, layer.fc2):
                parts += self._quantized(linear)
            self.lib.mg_set_layer(handle, index, *(_ptr(t) for t in parts))
        self.lib.mg_set_head(handle, *(_ptr(t) for t in (*self.final_ln, *self._quantized(self.lm_heads))))
        # The library now owns these matrices' bytes; torch reads them for a window's prefill only.
        offset = int(self.lib.mg_weight_offset())
        prefill_dtype = torch.bfloat16 if cpu_has_bfloat16() else torch.float32
        for layer in self.layers:
            for linear in (layer.qkv, layer.self_out, layer.cross_q, layer.cross_out, layer.fc1, layer.fc2):
                linear.offset, linear.compute_dtype = offset, prefill_dtype
        self.lm_heads.offset = offset
        self.lib.mg_set_embeddings(
            handle,
            _ptr(self.embed),
            self.num_codebooks,
            self.embed.shape[1],
            _ptr(self.positions),
            self.positions.shape[0],
        )
        self.logits = torch.empty(2, outputs)
        self._views = {b: self.logits[:b].view(b, self.num_codebooks, self.vocab) for b in (1, 2)}

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

    @staticmethod
    def _quantized(linear: object) -> list[torch.Tensor]:
        assert isinstance(linear, RowInt8Linear)
        return [linear.qweight, linear.scale]

    def start(
        self,
        text_states: torch.Tensor,
        text_mask: torch.Tensor,
        guided: bool,
        steps: int,
        negative: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        super().start(text_states, text_mask, guided, steps, negative)
        # The per-step call's arguments, fixed for the request (ctypes converts them once here); the
        # text buffers are taken after ``start``, which grows them for a first negative prompt.
        self._args = (
            _ptr(self.cache),
            _ptr(self.cache_scales),
            self.cache.shape[4],
            _ptr(self.cross),
            _ptr(self.cross_mask),
            self.cross.shape[2],
            self.cross_rows,
            self.max_text,
            self.text_len,
            _ptr(self.logits),
        )

    def __call__(
        self, tokens: torch.Tensor, position: int | torch.Tensor, static: bool = False
    ) -> torch.Tensor:
        if tokens.dtype != torch.long or not tokens.is_contiguous():
            tokens = tokens.to(torch.long).contiguous()
        position = int(position)
        if self.lib.mg_step(self.handle, tokens.data_ptr(), self.batch, position, *self._args) != 0:
            slots = self.cache.shape[4]
            raise RuntimeError(f"native step failed at position {position} ({slots} cache slots)")
        return self._views[self.batch]
