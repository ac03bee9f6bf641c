"""Loading a MusicGen checkpoint through transformers, shared by every backend."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True, slots=True)
class Loaded:
    """The transformers model and processor, and what they produce."""

    model: torch.nn.Module
    processor: object
    sample_rate: int
    channels: int
    frame_rate: float
    num_codebooks: int
    pad_id: int
    melody: bool


def load_musicgen(checkpoint: Path, dtype: torch.dtype, device: torch.device) -> Loaded:
    """``from_pretrained`` on a local checkpoint directory, in ``dtype`` on ``device``, in eval mode."""
    from transformers import (
        AutoProcessor,
        MusicgenForConditionalGeneration,
        MusicgenMelodyForConditionalGeneration,
    )

    config = json.loads((checkpoint / "config.json").read_text())
    melody = config.get("model_type") == "musicgen_melody"
    model_cls = MusicgenMelodyForConditionalGeneration if melody else MusicgenForConditionalGeneration
    model = model_cls.from_pretrained(checkpoint, dtype=dtype).to(device).eval()
    audio = model.config.audio_encoder
    decoder = model.config.decoder
    return Loaded(
        model=model,
        processor=AutoProcessor.from_pretrained(checkpoint),
        sample_rate=int(audio.sampling_rate),
        channels=int(decoder.audio_channels),
        frame_rate=float(audio.frame_rate),
        num_codebooks=int(decoder.num_codebooks),
        pad_id=int(model.generation_config.pad_token_id or decoder.pad_token_id),
        melody=melody,
    )
