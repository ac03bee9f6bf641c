"""Text in: the prompt's T5 states as the decoder attends to them, on transformers' own modules."""

from __future__ import annotations

import torch


@torch.inference_mode()
def encode_text(
    model, processor, prompt: str, device: torch.device, max_tokens: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """Projected, masked T5 states ``[1, T, H]`` and the mask ``[1, T]``, as MusicGen's forward makes them."""
    inputs = processor(
        text=[prompt], padding=True, truncation=True, max_length=max_tokens, return_tensors="pt"
    )
    inputs = inputs.to(device)
    states = model.text_encoder(
        input_ids=inputs.input_ids, attention_mask=inputs.attention_mask
    ).last_hidden_state
    if model.text_encoder.config.hidden_size != model.config.decoder.hidden_size:
        states = model.enc_to_dec_proj(states)
    states = states * inputs.attention_mask[..., None]
    return states, inputs.attention_mask
