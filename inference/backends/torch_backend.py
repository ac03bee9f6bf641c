"""The torch backend: our own decode loop over transformers' weights.

CPU: float32, bfloat16, or int8 decoder weights (fbgemm dynamic quantisation). CUDA: float16 or
bfloat16 with the decoder step captured in a CUDA graph (fixed shapes, the cache attended with a
mask), so one step is one graph launch and nothing waits for the GPU until the audio is decoded.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import torch

from inference.backends.base import Backend, BackendOutput, StepCallback
from inference.backends.hf import load_musicgen
from inference.device import Placement
from inference.musicgen.codec import ChunkCallback, decode_audio
from inference.musicgen.conditioning import encode_text
from inference.musicgen.decoder import MusicgenDecoderStep
from inference.musicgen.graph import GraphedStep
from inference.musicgen.loop import decode
from inference.musicgen.sampling import SamplingConfig
from inference.types import GenerationParams

MAX_STEPS = 120 * 50 + 8  # 120 s at 50 frames per second, plus the delay pattern's tail


class TorchBackend(Backend):
    """Our decode loop in torch; the parity oracle is the reference backend."""

    name = "torch"
    precisions = ("float32", "bfloat16", "float16", "int8")

    def __init__(self, checkpoint: Path, placement: Placement, cache_dir: Path) -> None:
        self.placement = placement
        device = placement.torch_device
        int8 = placement.precision == "int8"
        # int8 keeps the text encoder and codec in float32; only decoder weights are quantised.
        dtype = torch.float32 if int8 else placement.dtype
        loaded = load_musicgen(checkpoint, dtype, device, decoder_layers=False)
        self.adopt(loaded, own_loop=True)
        cuda = placement.device_type == "cuda"
        self.step = MusicgenDecoderStep(
            self.model,
            device,
            placement.dtype,
            weights="int8" if int8 else "float",
            max_steps=MAX_STEPS,
            fixed_cache=cuda,
            consume=True,
            layers=loaded.decoder_layers,
        )
        # Our step owns the decoder weights now; transformers' copy would only double the memory.
        self.model.decoder = None
        self.graphed = GraphedStep(self.step) if cuda else None

    @torch.inference_mode()
    def generate(
        self,
        params: GenerationParams,
        seed: int,
        on_step: StepCallback,
        on_chunk: ChunkCallback | None = None,
    ) -> BackendOutput:
        device = self.placement.torch_device
        started = time.perf_counter()
        sampling = SamplingConfig(params.temperature, params.top_k, params.top_p, params.cfg_coef)
        states, mask = encode_text(self.model, self.processor, params.prompt, device)
        steps = self.total_steps(params.duration)
        self.step.start(states, mask, guided=sampling.guided, steps=steps)
        encoded = time.perf_counter()
        generator = torch.Generator(device=device).manual_seed(seed)
        step_fn = self.graphed.prepare(guided=sampling.guided) if self.graphed else self.step
        with self.loop_context():
            sequence = decode(step_fn, self.pattern, steps, sampling, generator, self.pad_id, device, on_step)
        codes = self.pattern.undelay(sequence)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        looped = time.perf_counter()
        audio = decode_audio(self.model, codes, self.channels, on_chunk)
        audio_np = audio.float().cpu().numpy()
        return BackendOutput(
            audio=audio_np,
            codes=codes.cpu().numpy(),
            steps=steps,
            text_encoding_s=encoded - started,
            decoder_loop_s=looped - encoded,
            audio_decoding_s=time.perf_counter() - looped,
        )

    def loop_context(self) -> contextlib.AbstractContextManager[None]:
        """Entered around the decode loop (a hook for subclasses)."""
        return contextlib.nullcontext()

    def close(self) -> None:
        del self.model, self.step, self.graphed
        if self.placement.device_type == "cuda":
            torch.cuda.empty_cache()
