"""The reference backend: transformers' ``MusicgenForConditionalGeneration.generate``, the parity oracle."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from inference.backends.base import AudioCallback, Backend, BackendOutput, StepCallback
from inference.backends.hf import DecoderLayers, load_musicgen
from inference.device import Placement
from inference.errors import InvalidParameterError
from inference.musicgen.codec import ChunkCallback, decode_audio
from inference.musicgen.loop import decoder_calls
from inference.musicgen.windows import Window
from inference.types import GenerationParams


class _StepReporter(StoppingCriteria):
    """Hooks into generate's loop: called once per new token, never asks to stop by itself.

    Counts decoder calls as our loop does: the windows before, then this window's prefill (which
    transformers runs with its first token) and steps.
    """

    def __init__(self, before: int, window: Window, total: int, on_step: StepCallback) -> None:
        self.before = before + (1 if window.prompt else 0)
        self.known_columns = window.prompt + 1  # the start token and the prompt's frames
        self.total = total
        self.on_step = on_step
        self.last_step_at = time.perf_counter()
        self.sequence: torch.Tensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        self.last_step_at = time.perf_counter()
        self.sequence = input_ids
        self.on_step(self.before + input_ids.shape[-1] - self.known_columns, self.total)
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
        windows: Sequence[Window],
        on_step: StepCallback,
        on_chunk: ChunkCallback | None = None,
        prompt_codes: torch.Tensor | None = None,
        on_audio: AudioCallback | None = None,
    ) -> BackendOutput:
        """transformers' ``generate`` once per window, prompted with the window's known frames as
        ``decoder_input_ids`` (transformers prefills them and keeps them where the delay pattern puts
        them). One window's audio is transformers' own decode, inside ``generate``: ``on_chunk`` is not
        called; several windows' codes are decoded together afterwards (:func:`decode_audio`).
        ``on_audio`` gets the whole clip at the end: transformers decodes no earlier."""
        device = self.placement.torch_device
        started = time.perf_counter()
        inputs = self.processor(text=[params.prompt], padding=True, return_tensors="pt").to(device)
        total = self.total_steps(windows)
        codes = self.starting_codes(prompt_codes, device)
        done, encoded_at, audio = 0, None, None
        if params.negative_prompt is not None and params.cfg_coef <= 1:
            raise InvalidParameterError("negative_prompt", "needs cfg_coef above 1")
        if params.negative_prompt is not None and self.model.config.model_type == "musicgen_melody":
            raise InvalidParameterError("negative_prompt", "is not supported by melody checkpoints")
        self._on_encoded = lambda: on_step(0, total)
        try:
            if params.negative_prompt is not None:  # the texts are encoded here, once for every window
                inputs = self._with_negative(params.prompt, params.negative_prompt, device)
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed(seed)
                for window in windows:
                    steps = self.pattern.steps_for(window.frames)
                    reporter = _StepReporter(done, window, total, on_step)
                    prompt = {}
                    if window.prompt:
                        known = codes[:, codes.shape[-1] - window.prompt :]
                        start = torch.full(
                            (self.num_codebooks, 1), self.pad_id, dtype=torch.long, device=device
                        )
                        prompt["decoder_input_ids"] = torch.cat([start, known], dim=-1)
                    audio = self.model.generate(
                        **inputs,
                        **prompt,
                        **_sampling_kwargs(params),
                        max_new_tokens=steps - window.prompt,
                        stopping_criteria=StoppingCriteriaList([reporter]),
                    )
                    self._on_encoded = None  # the text is encoded again per window: reported once
                    encoded_at = encoded_at or self._encoder_done_at
                    new = self.pattern.undelay(reporter.sequence[: self.num_codebooks])[:, window.prompt :]
                    codes = torch.cat([codes, new], dim=-1)
                    done += decoder_calls(self.pattern, window)
        finally:
            self._on_encoded = None
        looped = time.perf_counter()
        if len(windows) > 1 or prompt_codes is not None:  # generate decoded the last window only
            audio = decode_audio(self.model, codes, self.channels, on_chunk)[None]
        finished = time.perf_counter()
        clip = audio[0].float().cpu().numpy()
        if on_audio is not None:
            on_audio(clip)
        encoded_at = encoded_at if encoded_at and encoded_at >= started else started
        last_step_at = reporter.last_step_at if len(windows) == 1 and prompt_codes is None else looped
        return BackendOutput(
            audio=clip,
            codes=codes.cpu().numpy(),
            steps=total,
            windows=len(windows),
            text_encoding_s=encoded_at - started,
            decoder_loop_s=last_step_at - encoded_at,
            audio_decoding_s=finished - last_step_at,
        )

    def _with_negative(self, prompt: str, negative: str, device: torch.device) -> dict[str, object]:
        """``generate``'s text inputs for guidance against ``negative``: the batch ``[prompt, negative]``
        encoded (padded, masked) as its unconditional half, where transformers would put zeros.

        ``generate`` then takes the prompt's ids for the batch size and the precomputed states as
        ``encoder_outputs``; its guidance splits the logits into the halves that AudioCraft does.
        """
        both = self.processor(text=[prompt, negative], padding=True, return_tensors="pt").to(device)
        states = self.model.text_encoder(
            input_ids=both.input_ids, attention_mask=both.attention_mask
        ).last_hidden_state
        return {
            "input_ids": both.input_ids[:1],
            "attention_mask": both.attention_mask,
            "encoder_outputs": (states,),
        }

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
