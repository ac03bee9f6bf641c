"""torch modules shaped for ONNX export: text encoder (with cross keys/values), decoder step, decoder
prefill, EnCodec decoder.

The decoder step takes the KV cache as one input per layer, preallocated for the whole request and
attended with a mask, and returns only this step's keys/values: the caller writes them into the
cache, so no step copies or concatenates the cache. The prefill runs a window's known positions
``0..P-1`` in one pass and returns their keys/values the same way, for the caller to write into
slots ``0..P-1`` of a fresh cache that the step then continues from.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TextEncoder(nn.Module):
    """``(input_ids, attention_mask) -> cross_keys, cross_values`` ``[layers, 1, heads, T, head_dim]``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.encoder = model.text_encoder
        self.project = model.enc_to_dec_proj if hasattr(model, "enc_to_dec_proj") else nn.Identity()
        decoder = model.decoder.model.decoder
        self.heads = model.config.decoder.num_attention_heads
        self.keys = nn.ModuleList([layer.encoder_attn.k_proj for layer in decoder.layers])
        self.values = nn.ModuleList([layer.encoder_attn.v_proj for layer in decoder.layers])

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        states = self.project(states) * attention_mask[..., None].to(states.dtype)
        keys = torch.stack([_heads(k(states), self.heads) for k in self.keys])
        values = torch.stack([_heads(v(states), self.heads) for v in self.values])
        return keys, values


class DecoderStep(nn.Module):
    """One decoder step over a masked, preallocated cache; see the module docstring.

    Inputs: ``tokens [K]``, ``position []``, ``cross_mask [R, 1, 1, T]`` (additive), then per layer
    ``past_key``/``past_value`` ``[B, heads, S, head_dim]`` and ``cross_key``/``cross_value``
    ``[R, heads, T, head_dim]``. Outputs: ``logits [B, K, V]`` and this step's ``keys``/``values``
    ``[layers, B, heads, 1, head_dim]``.
    Only cache slots before ``position`` are attended; the current token's key/value come from this step.
    The first ``R`` rows attend to their text: ``R`` is 1 (the conditional row; the unconditional one
    would add exactly zero) or, with a negative prompt, 2 (both texts padded to one length ``T``).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        decoder = model.decoder.model.decoder
        config = model.config.decoder
        self.layers = decoder.layers
        self.embed = nn.ModuleList(decoder.embed_tokens)
        self.norm = decoder.layer_norm
        # One matrix for q, k and v, and one for the four lm heads: fewer, larger MatMuls (and one
        # activation quantisation instead of three in int8).
        self.qkv = nn.ParameterList(
            nn.Parameter(
                torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]).detach(), requires_grad=False
            )
            for a in (layer.self_attn for layer in decoder.layers)
        )
        self.lm_heads = nn.Parameter(
            torch.cat([head.weight for head in model.decoder.lm_heads]).detach(), requires_grad=False
        )
        self.heads = config.num_attention_heads
        self.hidden = config.hidden_size
        self.num_codebooks = config.num_codebooks
        self.vocab = config.vocab_size
        self.register_buffer("positions", decoder.embed_positions.weights.detach().clone(), persistent=False)

    def forward(
        self, tokens: torch.Tensor, position: torch.Tensor, cross_mask: torch.Tensor, *caches: torch.Tensor
    ):
        count = len(self.layers)
        past_keys, past_values = caches[:count], caches[count : 2 * count]
        cross_keys, cross_values = caches[2 * count : 3 * count], caches[3 * count :]
        batch, rows = past_keys[0].shape[0], cross_keys[0].shape[0]
        x = sum(self.embed[k](tokens[k]) for k in range(self.num_codebooks))
        x = (x + self.positions[position]).reshape(1, 1, self.hidden).expand(batch, 1, self.hidden)
        slots = torch.arange(past_keys[0].shape[2], device=tokens.device)
        past_mask = torch.where(slots < position, 0.0, float("-inf")).to(x.dtype)
        new_keys, new_values = [], []
        for index, layer in enumerate(self.layers):
            attn = layer.self_attn
            h = layer.self_attn_layer_norm(x)
            q, k, v = (_heads(t, self.heads) for t in F.linear(h, self.qkv[index]).chunk(3, dim=-1))
            new_keys.append(k)
            new_values.append(v)
            x = x + attn.out_proj(
                _merge(_attend_with_new(q, past_keys[index], past_values[index], k, v, past_mask))
            )

            cross = layer.encoder_attn
            h = layer.encoder_attn_layer_norm(x[:rows])
            q = _heads(cross.q_proj(h), self.heads)
            att = F.scaled_dot_product_attention(
                q, cross_keys[index], cross_values[index], attn_mask=cross_mask
            )
            out = cross.out_proj(_merge(att))
            # Rows past R do not attend to a text: they add exactly zero.
            x = x + F.pad(out, (0, 0, 0, 0, 0, batch - rows))

            h = layer.final_layer_norm(x)
            x = x + layer.fc2(F.gelu(layer.fc1(h)))
        h = self.norm(x)
        logits = F.linear(h[:, 0], self.lm_heads).reshape(batch, self.num_codebooks, self.vocab)
        return logits, torch.stack(new_keys), torch.stack(new_values)


class DecoderPrefill(DecoderStep):
    """Positions ``0..P-1`` in one pass, causal self-attention among them; the step's weights.

    Inputs: ``tokens [K, P]``, ``rows [B]`` (one entry per batch row, only its length is read: 2 with
    guidance, else 1), ``cross_mask [R, 1, 1, T]`` and per layer ``cross_key``/``cross_value``
    ``[R, heads, T, head_dim]``, as the step takes them. Outputs: ``keys``/``values``
    ``[layers, B, heads, P, head_dim]``, what ``P`` steps would have written into the cache (to float
    rounding). No logits: the step at ``P`` is the first to sample, and the last layer's attention
    output and MLP are not computed (nothing kept depends on them).
    """

    def forward(
        self, tokens: torch.Tensor, rows: torch.Tensor, cross_mask: torch.Tensor, *text: torch.Tensor
    ):
        count = len(self.layers)
        cross_keys, cross_values = text[:count], text[count:]
        batch, attending, length = rows.shape[0], cross_keys[0].shape[0], tokens.shape[1]
        x = sum(self.embed[k](tokens[k]) for k in range(self.num_codebooks))  # [P, hidden]
        x = (x + self.positions[:length]).reshape(1, length, self.hidden).expand(batch, length, self.hidden)
        keys, values = [], []
        for index, layer in enumerate(self.layers):
            attn = layer.self_attn
            h = layer.self_attn_layer_norm(x)
            q, k, v = (_heads(t, self.heads) for t in F.linear(h, self.qkv[index]).chunk(3, dim=-1))
            keys.append(k)
            values.append(v)
            if index == count - 1:
                break
            x = x + attn.out_proj(_merge(F.scaled_dot_product_attention(q, k, v, is_causal=True)))

            cross = layer.encoder_attn
            h = layer.encoder_attn_layer_norm(x[:attending])
            q = _heads(cross.q_proj(h), self.heads)
            att = F.scaled_dot_product_attention(
                q, cross_keys[index], cross_values[index], attn_mask=cross_mask
            )
            x = x + F.pad(cross.out_proj(_merge(att)), (0, 0, 0, 0, 0, batch - attending))

            h = layer.final_layer_norm(x)
            x = x + layer.fc2(F.gelu(layer.fc1(h)))
        return torch.stack(keys), torch.stack(values)


class AudioDecoder(nn.Module):
    """EnCodec: ``codes [1, 1, K, frames] -> audio [1, 1, samples]``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.codec = model.audio_encoder

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        embeddings = self.codec.quantizer.decode(codes[0].transpose(0, 1))
        return self.codec.decoder(embeddings)


def _heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    batch, length, hidden = t.shape
    return t.reshape(batch, length, heads, hidden // heads).transpose(1, 2)


def _merge(t: torch.Tensor) -> torch.Tensor:
    batch, heads, length, dim = t.shape
    return t.transpose(1, 2).reshape(batch, length, heads * dim)


def _attend_with_new(q, past_k, past_v, k, v, past_mask):
    """Softmax attention over the cache (masked) and this step's key, without concatenating the cache."""
    scale = q.shape[-1] ** -0.5
    past_scores = (q @ past_k.transpose(-1, -2)) * scale + past_mask  # [B, H, 1, S]
    new_score = (q * k).sum(-1, keepdim=True) * scale  # [B, H, 1, 1]
    weights = torch.cat([past_scores, new_score], dim=-1).softmax(-1)
    return weights[..., :-1] @ past_v + weights[..., -1:] * v
