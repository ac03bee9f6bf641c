"""MusicGen's decoder as one step function over our own weights and a preallocated KV cache.

Built from a transformers ``MusicgenForConditionalGeneration``: the weights are taken over (q/k/v
fused, lm heads stacked) and the step is plain torch, so it can run eagerly, under ``torch.compile``
or captured in a CUDA graph. Both halves of classifier-free guidance travel as one batch of two, so
each step reads the weights once. The unconditional half has all-zero (masked) text states, which
makes its cross-attention output exactly zero: only the conditional row attends to the text.

With a negative prompt the unconditional half is conditioned on that text instead: both rows attend,
each to its own text, padded to the longer one's length and masked beyond its own (as MusicGen's
forward pads a batch of prompts). The text keys/values of that second row are allocated on the first
such request; without one, the step runs exactly as before (row 0 only, bit for bit).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from inference.musicgen.linear import Linear, make_linear


@dataclass
class _Layer:
    self_ln: tuple[torch.Tensor, torch.Tensor]
    qkv: Linear
    self_out: Linear
    cross_ln: tuple[torch.Tensor, torch.Tensor]
    cross_q: Linear
    cross_kv: Linear
    cross_out: Linear
    ffn_ln: tuple[torch.Tensor, torch.Tensor]
    fc1: Linear
    fc2: Linear


class MusicgenDecoderStep:
    """``logits = step(tokens, position)`` with self-attention keys/values cached in place.

    ``tokens`` is ``[num_codebooks]`` (the same input for both guidance halves); ``logits`` is
    ``[batch, num_codebooks, vocab]`` where batch is 2 with guidance (conditional first) and 1 without.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        device: torch.device,
        dtype: torch.dtype,
        weights: str = "float",
        max_steps: int = 1504,
        max_text: int = 512,
        fixed_cache: bool = False,
        consume: bool = False,
        layers: Iterable[torch.nn.Module] | None = None,
    ) -> None:
        """Take the decoder's weights from ``model`` (transformers' ``MusicgenForConditionalGeneration``).

        ``fixed_cache`` allocates the KV cache for ``max_steps`` once (CUDA graphs need fixed
        addresses); otherwise each request gets a cache of its own length. ``consume`` frees each of
        the model's decoder layers once copied, so loading never holds two copies of the weights.
        ``layers`` (e.g. :class:`~inference.backends.hf.DecoderLayers`) replaces the model's own.
        """
        decoder = model.decoder.model.decoder
        config = model.config.decoder
        self.device, self.dtype = device, dtype
        self.hidden = config.hidden_size
        self.heads = config.num_attention_heads
        self.head_dim = self.hidden // self.heads
        self.num_codebooks = config.num_codebooks
        self.vocab = config.vocab_size
        self.max_steps = max_steps
        if config.activation_function != "gelu":  # every released MusicGen decoder uses GELU
            raise ValueError(f"decoder activation {config.activation_function!r} is not supported")

        def tensor(t: torch.Tensor) -> torch.Tensor:
            return t.detach().to(device=device, dtype=dtype).contiguous()

        def linear(*parts: torch.nn.Linear) -> Linear:
            weight = torch.cat([p.weight.detach() for p in parts], dim=0)
            return make_linear(weight.to(device=device), dtype, weights)

        def ln(norm: torch.nn.LayerNorm) -> tuple[torch.Tensor, torch.Tensor]:
            return tensor(norm.weight), tensor(norm.bias)

        self.embed = tensor(torch.stack([e.weight for e in decoder.embed_tokens]))  # [K, V+1, H]
        positions = max(max_steps + 1, config.max_position_embeddings)
        self.positions = tensor(_sinusoids(positions, self.hidden))
        self.layers = []
        for index, layer in enumerate(decoder.layers if layers is None else layers):
            self.layers.append(self._layer(layer, linear, ln))
            if consume and layers is None:
                decoder.layers[index] = torch.nn.Identity()
        self.final_ln = ln(decoder.layer_norm)
        heads = model.decoder.lm_heads
        self.lm_heads = make_linear(torch.cat([h.weight.detach() for h in heads]).to(device), dtype, weights)
        self.max_text = max_text
        self.fixed_cache = fixed_cache
        self.cache = self._empty_cache(max_steps if fixed_cache else 0)
        # Preallocated once (per number of text rows): CUDA graphs capture these addresses, so requests
        # only write into them. Row 1 (a negative prompt's) is added by the first request that has one.
        self.cross: torch.Tensor | None = None
        self.cross_mask: torch.Tensor | None = None
        self.text_buffers = 0  # counts allocations of the two above (an address may come back)
        self._text_rows(1)
        self.text_len = 0
        self.batch = 2
        self.cross_rows = 1  # the rows that attend to a text: 2 with a negative prompt

    @staticmethod
    def _layer(layer: torch.nn.Module, linear, ln) -> _Layer:
        return _Layer(
            self_ln=ln(layer.self_attn_layer_norm),
            qkv=linear(layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj),
            self_out=linear(layer.self_attn.out_proj),
            cross_ln=ln(layer.encoder_attn_layer_norm),
            cross_q=linear(layer.encoder_attn.q_proj),
            cross_kv=linear(layer.encoder_attn.k_proj, layer.encoder_attn.v_proj),
            cross_out=linear(layer.encoder_attn.out_proj),
            ffn_ln=ln(layer.final_layer_norm),
            fc1=linear(layer.fc1),
            fc2=linear(layer.fc2),
        )

    def _empty_cache(self, steps: int) -> torch.Tensor:
        """Keys and values ``[layers, 2, batch 2, heads, steps + 1, head_dim]``, zeroed.

        Zeros, not garbage: the static path multiplies masked slots by zero weights, and 0 x NaN is NaN.
        """
        shape = (len(self.layers), 2, 2, self.heads, steps + 1, self.head_dim)
        return torch.zeros(shape, device=self.device, dtype=self.dtype)

    def _text_rows(self, rows: int) -> None:
        """Make room for ``rows`` rows of text keys/values ``[layers, 2, rows, heads, max_text, head_dim]``
        and additive masks ``[rows, 1, 1, max_text]`` (never fewer than there are)."""
        if self.cross is not None and self.cross.shape[2] >= rows:
            return
        self.cross = self.cross_mask = None  # free the old buffers first
        shape = (len(self.layers), 2, rows, self.heads, self.max_text, self.head_dim)
        self.cross = torch.zeros(shape, device=self.device, dtype=self.dtype)
        self.cross_mask = torch.zeros((rows, 1, 1, self.max_text), device=self.device, dtype=self.dtype)
        self.text_buffers += 1

    def start(
        self,
        text_states: torch.Tensor,
        text_mask: torch.Tensor,
        guided: bool,
        steps: int,
        negative: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        """Prepare for a request of ``steps`` steps: the text's cross-attention keys/values, a KV cache.

        ``text_states`` ``[1, T, H]`` are the projected, masked encoder states of the prompt and
        ``text_mask`` ``[1, T]`` its mask. ``negative`` (states and mask of a negative prompt, likewise)
        conditions the unconditional row: it needs ``guided``.
        """
        lengths = [text_states.shape[1]] + ([] if negative is None else [negative[0].shape[1]])
        if max(lengths) > self.max_text:
            raise ValueError(f"prompt of {max(lengths)} tokens exceeds {self.max_text}")
        if steps > self.max_steps:
            raise ValueError(f"{steps} steps exceed the {self.max_steps} this decoder was built for")
        if negative is not None and not guided:
            raise ValueError("a negative prompt conditions the unconditional half: it needs guidance")
        if not self.fixed_cache:
            self.cache = None  # free the last request's cache before allocating this one
            self.cache = self._empty_cache(steps)
        self.batch = 2 if guided else 1
        self.cross_rows = len(lengths)
        self._text_rows(self.cross_rows)
        # Both rows attend to the longer text's length; each row's mask hides what lies past its own.
        self.text_len = max(lengths)
        self._write_text(0, text_states, text_mask)
        if negative is not None:
            self._write_text(1, *negative)

    def _write_text(self, row: int, text_states: torch.Tensor, text_mask: torch.Tensor) -> None:
        """Text row ``row``'s keys/values and mask; zeros where it is padded to ``text_len`` (as MusicGen's
        forward pads a batch of prompts), so no stale keys of an earlier request sit in attended slots."""
        length = text_states.shape[1]
        states = text_states.to(device=self.device, dtype=self.dtype)
        for index, layer in enumerate(self.layers):
            k, v = layer.cross_kv(states).chunk(2, dim=-1)
            self.cross[index, 0, row : row + 1, :, :length] = self._split(k)
            self.cross[index, 1, row : row + 1, :, :length] = self._split(v)
            self.cross[index, :, row, :, length : self.text_len] = 0
        keep = torch.zeros(self.max_text, dtype=torch.bool, device=self.device)
        keep[:length] = text_mask[0].to(self.device).bool()
        self.cross_mask[row].copy_(
            torch.zeros_like(self.cross_mask[row]).masked_fill(~keep, torch.finfo(self.dtype).min)
        )

    def __call__(
        self, tokens: torch.Tensor, position: int | torch.Tensor, static: bool = False
    ) -> torch.Tensor:
        """Logits for the token after ``tokens`` at sequence index ``position``.

        ``static`` attends over the whole preallocated cache with a mask (fixed shapes, for CUDA
        graphs and compilers); otherwise over the filled prefix only.
        """
        x = self.embed[torch.arange(self.num_codebooks, device=self.device), tokens].sum(0)
        x = (x + self.positions[position]).expand(self.batch, 1, self.hidden)
        if static:
            slots = torch.arange(self.cache.shape[4], device=self.device)
            self_mask = torch.zeros(slots.shape, device=self.device, dtype=self.dtype).masked_fill(
                slots > position, torch.finfo(self.dtype).min
            )[None, None, None, :]
        text = slice(None) if static else slice(0, self.text_len)
        rows = self.cross_rows
        cross_mask = self.cross_mask[:rows, ..., text]
        for index, layer in enumerate(self.layers):
            h = F.layer_norm(x, (self.hidden,), *layer.self_ln)
            q, k, v = (self._split(t) for t in layer.qkv(h).chunk(3, dim=-1))
            cache_k, cache_v = self.cache[index, 0, : self.batch], self.cache[index, 1, : self.batch]
            if static:
                cache_k.index_copy_(2, position.view(1), k)
                cache_v.index_copy_(2, position.view(1), v)
                att = F.scaled_dot_product_attention(q, cache_k, cache_v, attn_mask=self_mask)
            else:
                cache_k[:, :, position] = k[:, :, 0]
                cache_v[:, :, position] = v[:, :, 0]
                end = position + 1
                att = F.scaled_dot_product_attention(q, cache_k[:, :, :end], cache_v[:, :, :end])
            x = x + layer.self_out(self._merge(att))

            # Cross-attention: the conditional row only (the unconditional one adds exactly zero), or
            # both rows with a negative prompt.
            h = F.layer_norm(x[:rows], (self.hidden,), *layer.cross_ln)
            ck, cv = self.cross[index, 0, :rows, ..., text, :], self.cross[index, 1, :rows, ..., text, :]
            att = F.scaled_dot_product_attention(self._split(layer.cross_q(h)), ck, cv, attn_mask=cross_mask)
            cross = layer.cross_out(self._merge(att))
            x = torch.cat([x[:rows] + cross, x[rows:]]) if self.batch > rows else x + cross

            h = F.layer_norm(x, (self.hidden,), *layer.ffn_ln)
            x = x + layer.fc2(F.gelu(layer.fc1(h)))
        h = F.layer_norm(x, (self.hidden,), *self.final_ln)
        logits = self.lm_heads(h)  # [B, 1, K*V]
        return logits.view(self.batch, self.num_codebooks, self.vocab)

    def prefill(self, tokens: torch.Tensor) -> None:
        """Run positions ``0..P-1`` of a window's known columns ``tokens`` ``[num_codebooks, P]`` in one
        pass (causal attention among them): their keys/values go into the cache, as ``P`` steps would
        leave them."""
        count = tokens.shape[1]
        codebooks = torch.arange(self.num_codebooks, device=self.device)[:, None]
        x = self.embed[codebooks, tokens.to(self.device)].sum(0) + self.positions[:count]
        x = x.expand(self.batch, count, self.hidden)
        rows = self.cross_rows
        cross_mask = self.cross_mask[:rows, ..., : self.text_len]
        for index, layer in enumerate(self.layers):
            h = F.layer_norm(x, (self.hidden,), *layer.self_ln)
            q, k, v = (self._split(t) for t in layer.qkv(h).chunk(3, dim=-1))
            self._keep(index, k, v)
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + layer.self_out(self._merge(att))

            h = F.layer_norm(x[:rows], (self.hidden,), *layer.cross_ln)
            ck = self.cross[index, 0, :rows, ..., : self.text_len, :]
            cv = self.cross[index, 1, :rows, ..., : self.text_len, :]
            att = F.scaled_dot_product_attention(self._split(layer.cross_q(h)), ck, cv, attn_mask=cross_mask)
            cross = layer.cross_out(self._merge(att))
            x = torch.cat([x[:rows] + cross, x[rows:]]) if self.batch > rows else x + cross

            h = F.layer_norm(x, (self.hidden,), *layer.ffn_ln)
            x = x + layer.fc2(F.gelu(layer.fc1(h)))

    def _keep(self, index: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store a prefill's keys/values ``[batch, heads, P, head_dim]`` in cache slots ``0..P-1``."""
        count = keys.shape[2]
        self.cache[index, 0, : self.batch, :, :count] = keys
        self.cache[index, 1, : self.batch, :, :count] = values

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        """``[B, S, H]`` -> ``[B, heads, S, head_dim]``."""
        return t.view(t.shape[0], t.shape[1], self.heads, self.head_dim).transpose(1, 2)

    def _merge(self, t: torch.Tensor) -> torch.Tensor:
        return t.transpose(1, 2).reshape(t.shape[0], t.shape[2], self.hidden)


def _sinusoids(num_positions: int, dim: int) -> torch.Tensor:
    """MusicGen's (tensor2tensor's) sinusoidal table: cos first, then sin."""
    half = dim // 2
    scale = math.log(10000) / (half - 1)
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -scale)
    angles = torch.arange(num_positions, dtype=torch.float32)[:, None] * freqs[None, :]
    table = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)
    return F.pad(table, (0, dim % 2))
