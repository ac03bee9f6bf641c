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

Several requests can share a step (:meth:`MusicgenDecoderStep.step_tracks`): each has its own
:class:`DecoderTrack` (KV cache, text keys/values, rows, position), and their rows go through every
projection together, so the weights are read once per step for all of them; only attention runs per
track. A track's logits then differ from its logits alone by the rounding of a larger matrix product
(float BLAS kernels and int8 activation scales may depend on the number of rows).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from inference.musicgen.linear import Linear, make_linear
from inference.sharing import Held, LiveMemo


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


@dataclass
class DecoderTrack:
    """One request's state in a decoder step.

    ``cache`` ``[layers, 2, rows, heads, slots, head_dim]`` holds its self-attention keys/values (int8
    with one scale per key or value row in ``cache_scales`` where the step quantises them); ``cross``
    ``[layers, 2, text rows, heads, text slots, head_dim]`` and ``cross_mask`` ``[text rows, 1, 1, text
    slots]`` its text's keys/values, of which the first ``text_len`` slots are attended. ``batch`` rows
    (2 with guidance) go through the step; the first ``cross_rows`` of them attend to a text.
    """

    cache: torch.Tensor
    cache_scales: torch.Tensor | None
    cross: torch.Tensor
    cross_mask: torch.Tensor
    text_len: int
    batch: int
    cross_rows: int
    text: Held[Any] | None = None  # the shared keys/values ``cross`` belongs to, kept while the track lives


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
        self.codebooks = torch.arange(self.num_codebooks, device=device)
        self.cache, self.cache_scales = self._empty_cache(max_steps if fixed_cache else 0)
        # Preallocated once (per number of text rows): CUDA graphs capture these addresses, so requests
        # only write into them. Row 1 (a negative prompt's) is added by the first request that has one.
        self.cross: torch.Tensor | None = None
        self.cross_mask: torch.Tensor | None = None
        self.text_buffers = 0  # counts allocations of the two above (an address may come back)
        self._texts: LiveMemo[DecoderTrack] = LiveMemo()  # open()'s text keys/values, by their texts
        self._text_rows(1)
        self.text_len = 0
        self.batch = 2
        self.cross_rows = 1  # the rows that attend to a text: 2 with a negative prompt
        self.track: DecoderTrack | None = None  # the request of :meth:`start`, in the buffers above
        self.steps = 0  # the steps of that request
        # The cache slots the static step attends (a graph's bucket, see GraphedStep); 0: all of them.
        self.static_slots = 0
        self._span_cache: dict[
            tuple[tuple[int, int], ...], tuple[list[slice], list[slice], torch.Tensor]
        ] = {}

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

    def _empty_cache(self, steps: int, rows: int = 2) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Keys and values ``[layers, 2, rows, heads, steps + 1, head_dim]``, zeroed, and their scales
        (None: this cache is not quantised).

        Zeros, not garbage: the static path multiplies masked slots by zero weights, and 0 x NaN is NaN.
        """
        shape = (len(self.layers), 2, rows, self.heads, steps + 1, self.head_dim)
        return torch.zeros(shape, device=self.device, dtype=self.dtype), None

    def _text_rows(self, rows: int) -> None:
        """Make room for ``rows`` rows of text keys/values ``[layers, 2, rows, heads, max_text, head_dim]``
        and additive masks ``[rows, 1, 1, max_text]`` (never fewer than there are)."""
        if self.cross is not None and self.cross.shape[2] >= rows:
            return
        self.cross = self.cross_mask = None  # free the old buffers first
        self.cross, self.cross_mask = self._empty_text(rows, self.max_text)
        self.text_buffers += 1

    def _empty_text(self, rows: int, slots: int) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (len(self.layers), 2, rows, self.heads, slots, self.head_dim)
        text = torch.zeros(shape, device=self.device, dtype=self.dtype)
        return text, torch.zeros((rows, 1, 1, slots), device=self.device, dtype=self.dtype)

    def _check(
        self, lengths: list[int], guided: bool, steps: int, negative: tuple[torch.Tensor, torch.Tensor] | None
    ) -> None:
        if max(lengths) > self.max_text:
            raise ValueError(f"prompt of {max(lengths)} tokens exceeds {self.max_text}")
        if steps > self.max_steps:
            raise ValueError(f"{steps} steps exceed the {self.max_steps} this decoder was built for")
        if negative is not None and not guided:
            raise ValueError("a negative prompt conditions the unconditional half: it needs guidance")

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
        conditions the unconditional row: it needs ``guided``. The request is :attr:`track`, in the
        step's own buffers (fixed addresses, for CUDA graphs); :meth:`open` makes one in its own.
        """
        lengths = [text_states.shape[1]] + ([] if negative is None else [negative[0].shape[1]])
        self._check(lengths, guided, steps, negative)
        if not self.fixed_cache:
            # Free the last request's cache (its track holds it too) before allocating this one.
            self.cache = self.cache_scales = self.track = None
            self.cache, self.cache_scales = self._empty_cache(steps)
        else:
            # Reused across requests: a value one request overflowed (inf, NaN) would reach every later
            # one through the masked slots (0 x NaN is NaN).
            self.cache.zero_()
        self.steps = steps
        self.batch = 2 if guided else 1
        self.cross_rows = len(lengths)
        self._text_rows(self.cross_rows)
        # Both rows attend to the longer text's length; each row's mask hides what lies past its own.
        self.text_len = max(lengths)
        track = DecoderTrack(
            self.cache,
            self.cache_scales,
            self.cross,
            self.cross_mask,
            self.text_len,
            self.batch,
            self.cross_rows,
        )
        self.track = self._attach(self._write_texts(track, text_states, text_mask, negative))

    def open(
        self,
        text_states: torch.Tensor,
        text_mask: torch.Tensor,
        guided: bool,
        steps: int,
        negative: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> DecoderTrack:
        """A request of ``steps`` steps (arguments as :meth:`start`) in buffers of its own, sized to it, so
        that it can share steps with others (:meth:`step_tracks`)."""
        lengths = [text_states.shape[1]] + ([] if negative is None else [negative[0].shape[1]])
        self._check(lengths, guided, steps, negative)
        batch = 2 if guided else 1
        sources = (text_states, text_mask, *(negative or ()))

        def text_keys_values() -> DecoderTrack:
            cross, cross_mask = self._empty_text(len(lengths), max(lengths))
            track = DecoderTrack(None, None, cross, cross_mask, max(lengths), batch, len(lengths))  # type: ignore[arg-type]
            return self._write_texts(track, text_states, text_mask, negative)

        # Tracks of the same texts at once (a prompt's variations) read one copy: the library and the
        # steps never write a text's keys/values.
        text = self._texts.get(tuple(map(id, sources)), text_keys_values, keep=sources)
        cache, scales = self._empty_cache(steps, batch)
        kv = text.value
        track = DecoderTrack(cache, scales, kv.cross, kv.cross_mask, kv.text_len, batch, len(lengths), text)
        return self._attach(track)

    def _attach(self, track: DecoderTrack) -> DecoderTrack:
        """What a subclass adds to a new track (a hook)."""
        return track

    def _write_texts(
        self,
        track: DecoderTrack,
        text_states: torch.Tensor,
        text_mask: torch.Tensor,
        negative: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> DecoderTrack:
        self._write_text(track, 0, text_states, text_mask)
        if negative is not None:
            self._write_text(track, 1, *negative)
        return track

    def _write_text(
        self, track: DecoderTrack, row: int, text_states: torch.Tensor, text_mask: torch.Tensor
    ) -> None:
        """Text row ``row``'s keys/values and mask; zeros where it is padded to ``text_len`` (as MusicGen's
        forward pads a batch of prompts), so no stale keys of an earlier request sit in attended slots."""
        length = text_states.shape[1]
        states = text_states.to(device=self.device, dtype=self.dtype)
        cross = track.cross
        for index, layer in enumerate(self.layers):
            k, v = layer.cross_kv(states).chunk(2, dim=-1)
            cross[index, 0, row : row + 1, :, :length] = self._split(k)
            cross[index, 1, row : row + 1, :, :length] = self._split(v)
            cross[index, :, row, :, length : track.text_len] = 0
        keep = torch.zeros(track.cross_mask.shape[-1], dtype=torch.bool, device=self.device)
        keep[:length] = text_mask[0].to(self.device).bool()
        mask = track.cross_mask[row]
        mask.copy_(torch.zeros_like(mask).masked_fill(~keep, torch.finfo(self.dtype).min))

    def __call__(
        self, tokens: torch.Tensor, position: int | torch.Tensor, static: bool = False
    ) -> torch.Tensor:
        """Logits for the token after ``tokens`` at sequence index ``position`` of the :meth:`start`
        request.

        ``static`` attends over the whole preallocated cache with a mask (fixed shapes, for CUDA
        graphs and compilers); otherwise over the filled prefix only.
        """
        if not static:
            return self.step_tracks([self.track], [tokens], [position])[0]
        # Nothing here may wait for the device (no .item(), no indexing by a tensor's value): a CUDA
        # graph captures this, and tests/unit/test_host_sync.py traces it for host syncs.
        position = torch.as_tensor(position, device=self.device).reshape(1)
        x = self.embed[self.codebooks, tokens].sum(0)
        x = (x + self.positions.index_select(0, position)).expand(self.batch, 1, self.hidden)
        slots = torch.arange(self.static_slots or self.cache.shape[4], device=self.device)
        self_mask = torch.zeros(slots.shape, device=self.device, dtype=self.dtype).masked_fill(
            slots > position, torch.finfo(self.dtype).min
        )[None, None, None, :]
        rows = self.cross_rows
        cross_mask = self.cross_mask[:rows]
        for index, layer in enumerate(self.layers):
            h = F.layer_norm(x, (self.hidden,), *layer.self_ln)
            q, k, v = (self._split(t) for t in layer.qkv(h).chunk(3, dim=-1))
            cache_k = self.cache[index, 0, : self.batch, :, : len(slots)]
            cache_v = self.cache[index, 1, : self.batch, :, : len(slots)]
            cache_k.index_copy_(2, position, k)
            cache_v.index_copy_(2, position, v)
            att = F.scaled_dot_product_attention(q, cache_k, cache_v, attn_mask=self_mask)
            x = x + layer.self_out(self._merge(att))

            # Cross-attention: the conditional row only (the unconditional one adds exactly zero), or
            # both rows with a negative prompt.
            h = F.layer_norm(x[:rows], (self.hidden,), *layer.cross_ln)
            ck, cv = self.cross[index, 0, :rows], self.cross[index, 1, :rows]
            att = F.scaled_dot_product_attention(self._split(layer.cross_q(h)), ck, cv, attn_mask=cross_mask)
            cross = layer.cross_out(self._merge(att))
            x = torch.cat([x[:rows] + cross, x[rows:]]) if self.batch > rows else x + cross

            h = F.layer_norm(x, (self.hidden,), *layer.ffn_ln)
            x = x + layer.fc2(F.gelu(layer.fc1(h)))
        h = F.layer_norm(x, (self.hidden,), *self.final_ln)
        logits = self.lm_heads(h)  # [B, 1, K*V]
        return logits.view(self.batch, self.num_codebooks, self.vocab)

    def step_tracks(
        self,
        tracks: Sequence[DecoderTrack],
        tokens: Sequence[torch.Tensor],
        positions: Sequence[int | torch.Tensor],
    ) -> list[torch.Tensor]:
        """One step of several requests at once: track ``i`` reads ``tokens[i]`` at ``positions[i]``.

        Returns each track's logits ``[batch, num_codebooks, vocab]``. Every projection runs once over
        all the tracks' rows; attention runs per track, over its own filled prefix.
        """
        spans, cross_spans, cross_index = self._spans(tracks)
        x = torch.cat(
            [
                (self.embed[self.codebooks, t].sum(0) + self.positions[p]).expand(track.batch, 1, self.hidden)
                for track, t, p in zip(tracks, tokens, positions, strict=True)
            ]
        )
        ends = [int(p) + 1 for p in positions]
        for index, layer in enumerate(self.layers):
            h = F.layer_norm(x, (self.hidden,), *layer.self_ln)
            qkv = layer.qkv(h)
            atts = []
            for track, rows, end in zip(tracks, spans, ends, strict=True):
                q, k, v = (self._split(t) for t in qkv[rows].chunk(3, dim=-1))
                cache_k, cache_v = track.cache[index, 0, : track.batch], track.cache[index, 1, : track.batch]
                cache_k[:, :, end - 1] = k[:, :, 0]
                cache_v[:, :, end - 1] = v[:, :, 0]
                atts.append(F.scaled_dot_product_attention(q, cache_k[:, :, :end], cache_v[:, :, :end]))
            x = x + layer.self_out(self._merge(torch.cat(atts)))

            # Cross-attention: each track's conditional row only (the unconditional one adds exactly
            # zero), or both rows with a negative prompt.
            h = F.layer_norm(x[cross_index], (self.hidden,), *layer.cross_ln)
            q = self._split(layer.cross_q(h))
            atts = []
            for track, rows in zip(tracks, cross_spans, strict=True):
                text = slice(0, track.text_len)
                ck = track.cross[index, 0, : track.cross_rows, :, text]
                cv = track.cross[index, 1, : track.cross_rows, :, text]
                mask = track.cross_mask[: track.cross_rows, ..., text]
                atts.append(F.scaled_dot_product_attention(q[rows], ck, cv, attn_mask=mask))
            x = x.index_add(0, cross_index, layer.cross_out(self._merge(torch.cat(atts))))

            h = F.layer_norm(x, (self.hidden,), *layer.ffn_ln)
            x = x + layer.fc2(F.gelu(layer.fc1(h)))
        h = F.layer_norm(x, (self.hidden,), *self.final_ln)
        logits = self.lm_heads(h)  # [rows, 1, K*V]
        return [logits[rows].view(-1, self.num_codebooks, self.vocab) for rows in spans]

    def _spans(self, tracks: Sequence[DecoderTrack]) -> tuple[list[slice], list[slice], torch.Tensor]:
        """Each track's rows among all, its rows among those attending to a text, and the latter's
        indices among all (made once per shape of batch: no tensor built in the loop)."""
        shape = tuple((track.batch, track.cross_rows) for track in tracks)
        spans = self._span_cache.get(shape)
        if spans is None:
            rows, cross_rows, cross_index = [], [], []
            start = cross_start = 0
            for batch, texted in shape:
                rows.append(slice(start, start + batch))
                cross_rows.append(slice(cross_start, cross_start + texted))
                cross_index += range(start, start + texted)
                start += batch
                cross_start += texted
            spans = rows, cross_rows, torch.tensor(cross_index, device=self.device)
            if len(self._span_cache) < 256:  # shapes of up to a few tracks: a handful in practice
                self._span_cache[shape] = spans
        return spans

    def prefill(self, tokens: torch.Tensor) -> None:
        """:meth:`prefill_track` of the :meth:`start` request."""
        self.prefill_track(self.track, tokens)

    def prefill_track(self, track: DecoderTrack, tokens: torch.Tensor) -> None:
        """Run positions ``0..P-1`` of a window's known columns ``tokens`` ``[num_codebooks, P]`` in one
        pass (causal attention among them): their keys/values go into the cache, as ``P`` steps would
        leave them."""
        count = tokens.shape[1]
        codebooks = self.codebooks[:, None]
        x = self.embed[codebooks, tokens.to(self.device)].sum(0) + self.positions[:count]
        x = x.expand(track.batch, count, self.hidden)
        rows = track.cross_rows
        text = slice(0, track.text_len)
        cross_mask = track.cross_mask[:rows, ..., text]
        for index, layer in enumerate(self.layers):
            h = F.layer_norm(x, (self.hidden,), *layer.self_ln)
            q, k, v = (self._split(t) for t in layer.qkv(h).chunk(3, dim=-1))
            self._keep(track, index, k, v)
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + layer.self_out(self._merge(att))

            h = F.layer_norm(x[:rows], (self.hidden,), *layer.cross_ln)
            ck = track.cross[index, 0, :rows, :, text]
            cv = track.cross[index, 1, :rows, :, text]
            att = F.scaled_dot_product_attention(self._split(layer.cross_q(h)), ck, cv, attn_mask=cross_mask)
            cross = layer.cross_out(self._merge(att))
            x = torch.cat([x[:rows] + cross, x[rows:]]) if track.batch > rows else x + cross

            h = F.layer_norm(x, (self.hidden,), *layer.ffn_ln)
            x = x + layer.fc2(F.gelu(layer.fc1(h)))

    def _keep(self, track: DecoderTrack, index: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store a prefill's keys/values ``[batch, heads, P, head_dim]`` in cache slots ``0..P-1``."""
        count = keys.shape[2]
        track.cache[index, 0, : track.batch, :, :count] = keys
        track.cache[index, 1, : track.batch, :, :count] = values

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
