"""The reference backend: transformers' ``MusicgenForConditionalGeneration.generate``, the parity oracle."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from inference.backends.base import Backend, BackendOutput, StepCallback
from inference.backends.hf import DecoderLayers, load_musicgen
from inference.device import Placement
from inference.musicgen.codec import ChunkCallback
from inference.types import GenerationParams


class _StepReporter(StoppingCriteria):
    """Hooks into generate's loop: called once per new token, never asks to stop by itself."""

    def __init__(self, prompt_length: int, total: int, on_step: StepCallback) -> None:
        self.prompt_length = prompt_length
        self.total = total
        self.on_step = on_step
        self.last_step_at = time.perf_counter()
        self.sequence: torch.Tensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        self.last_step_at = time.perf_counter()
        self.sequence = input_ids
        self.on_step(input_ids.shape[-1] - self.prompt_length, self.total)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


class ReferenceBackend(Backend):
    """Plain transformers: every request runs ``generate`` with sampling and guidance as asked."""

    name = "reference"
    precisions = ("float32", "bfloat16", "float16", "int8")

    def __init__(self, checkpoint: Path, placement: Placement, cache_dir: Path) -> None:
        self.placement = placement
        int8 = placement.precision == "int8"
        # int8 reads the decoder's layers one at a time and quantises each as it comes: the float32
        # decoder is never in memory whole.
        loaded = load_musicgen(checkpoint, placement.dtype, placement.torch_device, decoder_layers=not int8)
        self.adopt(loaded)
        if int8:
            _quantize_decoder_int8(self.model, loaded.decoder_layers)
        self._encoder_done_at = 0.0
        self._on_encoded: Callable[[], None] | None = None
        self.model.text_encoder.register_forward_hook(self._mark_encoder_done)

    def _mark_encoder_done(self, *_: object) -> None:
        self._encoder_done_at = time.perf_counter()
        if self._on_encoded is not None:
            self._on_encoded()

    @torch.inference_mode()
    def generate(
        self,
        params: GenerationParams,
        seed: int,
        on_step: StepCallback,
        on_chunk: ChunkCallback | None = None,
    ) -> BackendOutput:
        """transformers decodes the audio whole, inside ``generate``: ``on_chunk`` is never called."""
        device = self.placement.torch_device
        started = time.perf_counter()
        inputs = self.processor(text=[params.prompt], padding=True, return_tensors="pt").to(device)
        total = self.total_steps(params.duration)
        reporter = _StepReporter(prompt_length=1, total=total, on_step=on_step)
        self._on_encoded = lambda: on_step(0, total)
        try:
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed(seed)
                audio = self.model.generate(
                    **inputs,
                    **_sampling_kwargs(params),
                    max_new_tokens=total,
                    stopping_criteria=StoppingCriteriaList([reporter]),
                )
        finally:
            self._on_encoded = None
        finished = time.perf_counter()
        encoded_at = self._encoder_done_at if self._encoder_done_at >= started else started
        return BackendOutput(
            audio=audio[0].float().cpu().numpy(),
            codes=self.pattern.undelay(reporter.sequence).cpu().numpy(),
            steps=total,
            text_encoding_s=encoded_at - started,
            decoder_loop_s=reporter.last_step_at - encoded_at,
            audio_decoding_s=finished - reporter.last_step_at,
        )

    def close(self) -> None:
        del self.model
        if self.placement.device_type == "cuda":
            torch.cuda.empty_cache()


def _sampling_kwargs(params: GenerationParams) -> dict[str, object]:
    """AudioCraft's semantics on transformers' knobs: top_p > 0 replaces top-k; temperature 0 is greedy.

    Disabled knobs get their neutral values (not None, which would fall back to the checkpoint's).
    """
    guidance = params.cfg_coef if params.cfg_coef > 1 else 1.0
    if params.temperature == 0:
        return {"guidance_scale": guidance, "do_sample": False, "top_k": 0, "top_p": 1.0, "temperature": 1.0}
    nucleus = params.top_p > 0
    return {
        "guidance_scale": guidance,
        "do_sample": True,
        "temperature": params.temperature,
        "top_k": 0 if nucleus else params.top_k,
        "top_p": params.top_p if nucleus else 1.0,
    }


def _quantize_decoder_int8(model: torch.nn.Module, layers: DecoderLayers | None) -> None:
    """Dynamic int8 weights for the decoder's linear layers (the loop that dominates on CPU).

    ``layers``, when the model was loaded without them, are quantised one by one and put in place.
    """
    from torch.ao.quantization import quantize_dynamic

    def quantize(module: torch.nn.Module) -> torch.nn.Module:
        return quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if layers is not None:
            model.decoder.model.decoder.layers = torch.nn.ModuleList(quantize(layer) for layer in layers)
        quantize(model.decoder)
