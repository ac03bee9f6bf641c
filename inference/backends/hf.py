"""Loading a MusicGen checkpoint through transformers, shared by every backend."""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from inference.native import pages

DECODER_LAYERS = "decoder.model.decoder.layers."


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
    decoder_layers: DecoderLayers | None = None  # set when the model was loaded without them


class DecoderLayers:
    """transformers' decoder layers read from the checkpoint one at a time, so that a backend converting
    them (to int8, say) never holds the whole float32 decoder."""

    def __init__(self, files: dict[str, Path], config: object, dtype: torch.dtype, count: int) -> None:
        self.files, self.config, self.dtype, self.count = files, config, dtype, count

    def parameters(self) -> int:
        """How many weights the layers hold, read from the files' headers."""
        from safetensors import safe_open

        total = 0
        for file in set(self.files.values()):
            with safe_open(str(file), "pt") as weights:
                for name in weights.keys():  # noqa: SIM118 - safe_open is not a mapping
                    if name.startswith(DECODER_LAYERS):
                        total += math.prod(weights.get_slice(name).get_shape())
        return total

    def __iter__(self) -> Iterator[torch.nn.Module]:
        from safetensors import safe_open
        from transformers.models.musicgen.modeling_musicgen import MusicgenDecoderLayer

        for index in range(self.count):
            prefix = f"{DECODER_LAYERS}{index}."
            names = [name for name in self.files if name.startswith(prefix)]
            state = {}
            for file in {self.files[name] for name in names}:
                with safe_open(str(file), "pt") as weights:
                    # Copied out of the file's mapping, which then closes: no file pages stay resident.
                    state |= {
                        n[len(prefix) :]: weights.get_tensor(n).clone()
                        for n in names
                        if self.files[n] == file
                    }
            with torch.device("meta"):
                layer = MusicgenDecoderLayer(self.config, layer_idx=index)
            layer.load_state_dict(state, strict=True, assign=True)
            del state
            yield layer.to(self.dtype).eval()
            del layer
            # The consumer has converted the layer: hand its float32 pages back to the OS now, or
            # the allocator's fragments add up to the whole decoder again.
            release_free_memory()


def release_free_memory() -> None:
    """Return freed memory to the OS: buffers kept for reuse (:func:`inference.native.pages.release_waiting`)
    and heap pages (glibc's ``malloc_trim``; nothing elsewhere)."""
    pages.release_waiting()
    with contextlib.suppress(OSError, AttributeError):  # no glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _weight_files(checkpoint: Path) -> dict[str, Path] | None:
    """Weight name -> safetensors file, or None when the checkpoint has no safetensors."""
    index = checkpoint / "model.safetensors.index.json"
    if index.exists():
        weight_map = json.loads(index.read_text())["weight_map"]
        return {name: checkpoint / file for name, file in weight_map.items()}
    single = checkpoint / "model.safetensors"
    if not single.exists():
        return None
    from safetensors import safe_open

    with safe_open(str(single), "pt") as weights:
        return dict.fromkeys(weights.keys(), single)


def load_musicgen(
    checkpoint: Path, dtype: torch.dtype, device: torch.device, decoder_layers: bool = True
) -> Loaded:
    """``from_pretrained`` on a local checkpoint directory, in ``dtype`` on ``device``, in eval mode.

    ``decoder_layers=False`` leaves the decoder's layers out of the model (an empty list) and returns
    them as :class:`DecoderLayers` to read one at a time, where the checkpoint has safetensors.
    """
    from transformers import (
        AutoProcessor,
        MusicgenForConditionalGeneration,
        MusicgenMelodyForConditionalGeneration,
    )

    config = json.loads((checkpoint / "config.json").read_text())
    melody = config.get("model_type") == "musicgen_melody"
    model_cls = MusicgenMelodyForConditionalGeneration if melody else MusicgenForConditionalGeneration
    files = None if decoder_layers or melody else _weight_files(checkpoint)
    layers = None
    if files is not None and any(name.startswith(DECODER_LAYERS) for name in files):
        model_config = model_cls.config_class.from_pretrained(checkpoint)
        count = model_config.decoder.num_hidden_layers
        model_config.decoder.num_hidden_layers = 0
        # The checkpoint's layer weights are left unused on purpose: hush transformers' warning.
        loader_log = logging.getLogger("transformers.modeling_utils")
        level = loader_log.level
        loader_log.setLevel(logging.ERROR)
        try:
            model = model_cls.from_pretrained(checkpoint, config=model_config, dtype=dtype).to(device).eval()
        finally:
            loader_log.setLevel(level)
        model.config.decoder.num_hidden_layers = count
        layers = DecoderLayers(files, model.config.decoder, dtype, count)
    else:
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
        decoder_layers=layers,
    )
