"""The torch backend: our own decode loop over transformers' weights.

CPU: float32, bfloat16, or int8 decoder weights (fbgemm dynamic quantisation). CUDA: float16 or
bfloat16 with the decoder step captured in a CUDA graph (fixed shapes, the cache attended with a
mask), so one step is one graph launch and nothing waits for the GPU until the audio is decoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from inference.backends.base import StepCall, WindowDecoder
from inference.backends.hf import load_musicgen
from inference.backends.own_loop import OwnLoopBackend
from inference.device import Placement
from inference.musicgen.conditioning import encode_text
from inference.musicgen.decoder import MusicgenDecoderStep
from inference.musicgen.graph import GraphedStep


class TorchBackend(OwnLoopBackend):
    """Our decode loop in torch; the parity oracle is the reference backend."""

    name = "torch"
    precisions = ("float32", "bfloat16", "float16", "int8")
    batches = True

    def __init__(self, checkpoint: Path, placement: Placement, cache_dir: Path) -> None:
        self.placement = placement
        device = placement.torch_device
        int8 = placement.precision == "int8"
        # int8 keeps the text encoder and codec in float32; only decoder weights are quantised.
        dtype = torch.float32 if int8 else placement.dtype
        loaded = load_musicgen(checkpoint, dtype, device, decoder_layers=False)
        cuda = placement.device_type == "cuda"
        if cuda and dtype != torch.float32:
            # EnCodec in float32 on the GPU: half-precision activations overflow, and it is a small share.
            loaded.model.audio_encoder.float()
        self.adopt(loaded, own_loop=True)
        self.step = MusicgenDecoderStep(
            self.model,
            device,
            placement.dtype,
            weights="int8" if int8 else "float",
            max_steps=self.window_steps,
            fixed_cache=cuda,
            consume=True,
            layers=loaded.decoder_layers,
        )
        # Our step owns the decoder weights now; transformers' copy would only double the memory.
        self.model.decoder = None
        self.graphed = GraphedStep(self.step) if cuda else None

    def encode_text(self, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
        return encode_text(self.model, self.processor, prompt, self.placement.torch_device)

    def start_window(
        self,
        text: tuple[torch.Tensor, torch.Tensor],
        steps: int,
        guided: bool,
        negative: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> WindowDecoder:
        states, mask = text
        self.step.start(states, mask, guided=guided, steps=steps, negative=negative)
        step_fn = self.graphed.prepare(guided=guided) if self.graphed else self.step
        return WindowDecoder(step_fn, self.step.prefill)

    def open_window(
        self,
        text: tuple[torch.Tensor, torch.Tensor],
        steps: int,
        guided: bool,
        negative: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> WindowDecoder:
        states, mask = text
        track = self.step.open(states, mask, guided=guided, steps=steps, negative=negative)
        step = self.step

        def step_fn(tokens: torch.Tensor, position: int) -> torch.Tensor:
            return step.step_tracks([track], [tokens], [position])[0]

        return WindowDecoder(step_fn, lambda tokens: step.prefill_track(track, tokens), track)

    def step_batch(self, calls: Sequence[StepCall]) -> list[torch.Tensor]:
        """Every call's rows through one step (eager, CUDA included: the graphs serve one request)."""
        if len(calls) == 1 or any(call.decoder.track is None for call in calls):
            return super().step_batch(calls)
        tracks = [call.decoder.track for call in calls]
        return self.step.step_tracks(tracks, [c.tokens for c in calls], [c.position for c in calls])

    def close(self) -> None:
        del self.model, self.step, self.graphed
        if self.placement.device_type == "cuda":
            torch.cuda.empty_cache()
