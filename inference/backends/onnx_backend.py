"""The onnx backend: the exported text encoder, decoder step and decoder prefill on ONNX Runtime, our
decode loop around them.

Per request the KV cache is one array per layer, bound to the session (I/O binding) and rebound only
when it doubles; a step writes the tokens and position in place, runs, and copies this step's
keys/values into the cache. A window's known frames go through the prefill graph in one call (causal
attention among them), whose keys/values are copied into the cache's first slots. It runs on CPU, in
float32 or int8 (dynamically quantised weights, the prefill's as the step's). On
CUDA the torch backend (CUDA graphs) is the fast path; an onnx CUDA path would need device-resident
I/O binding, which is not built.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from inference.backends.base import WindowDecoder
from inference.backends.hf import load_musicgen
from inference.backends.own_loop import OwnLoopBackend
from inference.device import Placement
from inference.errors import DeviceUnavailableError
from inference.export import ExportedModel, ensure_exported


class OnnxBackend(OwnLoopBackend):
    """ONNX Runtime sessions for the text encoder and decoder step; EnCodec stays in torch."""

    name = "onnx"
    precisions = ("float32", "int8")

    def __init__(self, checkpoint: Path, placement: Placement, cache_dir: Path) -> None:
        self.placement = placement
        if placement.device_type != "cpu":
            raise DeviceUnavailableError(
                f"the onnx backend runs on CPU only; use backend=torch on {placement.device_type}"
            )
        loaded = load_musicgen(checkpoint, torch.float32, torch.device("cpu"))
        self.adopt(loaded, own_loop=True)
        self.exported: ExportedModel = ensure_exported(
            self.model, checkpoint, cache_dir, checkpoint.name, placement.precision
        )
        self.artifacts = self.exported.directory
        cpu = ["CPUExecutionProvider"]
        options = _session_options()
        self.text_session = ort.InferenceSession(str(self.exported.text_encoder), options, providers=cpu)
        self.step_session = ort.InferenceSession(str(self.exported.decoder_step), options, providers=cpu)
        # One long call per window: its threads need not spin-wait after it (they would take the
        # cores from the step's threads that run next).
        self.prefill_session = ort.InferenceSession(
            str(self.exported.decoder_prefill), _session_options(spin=False), providers=cpu
        )
        # The sessions hold the text encoder and decoder now; keep only EnCodec in torch.
        self.model.decoder = None
        self.model.text_encoder = None

    @property
    def loop_device(self) -> torch.device:
        return torch.device("cpu")

    def encode_text(self, prompt: str) -> tuple[np.ndarray, np.ndarray]:
        inputs = self.processor(text=[prompt], truncation=True, max_length=512, return_tensors="np")
        cross_keys, cross_values = self.text_session.run(
            None,
            {"input_ids": inputs["input_ids"].astype(np.int64), "attention_mask": inputs["attention_mask"]},
        )
        return cross_keys, cross_values

    def start_window(
        self,
        text: tuple[np.ndarray, np.ndarray],
        steps: int,
        guided: bool,
        negative: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> WindowDecoder:
        if negative is None:
            bound = _BoundStep(self, steps, 2 if guided else 1, *text)
        else:
            bound = _BoundStep(self, steps, 2, *_text_rows(text, negative))
        return WindowDecoder(bound, bound.prefill)

    def close(self) -> None:
        del self.text_session, self.step_session, self.prefill_session, self.model


MIN_SLOTS = 64


def _session_options(spin: bool = True) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _text_rows(
    text: tuple[np.ndarray, np.ndarray], negative: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The prompt's and the negative prompt's text keys/values ``[layers, 1, heads, T, head_dim]`` as
    one batch of two rows padded with zeros to the longer length, and the additive mask ``[2, 1, 1, T]``
    that hides each row's padding."""
    length = max(text[0].shape[3], negative[0].shape[3])
    mask = np.zeros((2, 1, 1, length), np.float32)
    rows: list[list[np.ndarray]] = [[], []]
    for row, (keys, values) in enumerate((text, negative)):
        pad = ((0, 0), (0, 0), (0, 0), (0, length - keys.shape[3]), (0, 0))
        rows[0].append(np.pad(keys, pad))
        rows[1].append(np.pad(values, pad))
        mask[row, ..., keys.shape[3] :] = np.finfo(np.float32).min
    return np.concatenate(rows[0], axis=1), np.concatenate(rows[1], axis=1), mask


class _BoundStep:
    """One request's decoder-step calls with every buffer bound once; see the module docstring."""

    def __init__(
        self,
        backend: OnnxBackend,
        steps: int,
        batch: int,
        cross_keys: np.ndarray,
        cross_values: np.ndarray,
        cross_mask: np.ndarray | None = None,
    ) -> None:
        """``cross_keys``/``cross_values`` ``[layers, R, heads, T, head_dim]``: the text rows that attend
        (R = 1, or 2 with a negative prompt), ``cross_mask`` ``[R, 1, 1, T]`` (None: nothing hidden)."""
        exported = backend.exported
        self.steps = steps
        self.layers = exported.layers
        self.keys = np.zeros((exported.layers, batch, exported.heads, 0, exported.head_dim), dtype=np.float32)
        self.values = np.zeros_like(self.keys)
        self.tokens = np.zeros(exported.num_codebooks, dtype=np.int64)
        self.position = np.zeros((), dtype=np.int64)
        if cross_mask is None:
            cross_mask = np.zeros((cross_keys.shape[1], 1, 1, cross_keys.shape[3]), dtype=np.float32)
        self.logits = np.zeros(
            (batch, exported.num_codebooks, backend.model.config.decoder.vocab_size), np.float32
        )
        self.new_keys = np.zeros((exported.layers, batch, exported.heads, 1, exported.head_dim), np.float32)
        self.new_values = np.zeros_like(self.new_keys)
        self.session = backend.step_session
        self.prefill_session = backend.prefill_session
        self.binding = self.session.io_binding()
        feeds = {"tokens": self.tokens, "position": self.position, "cross_mask": cross_mask}
        for i in range(exported.layers):
            feeds |= {
                f"cross_key_{i}": np.ascontiguousarray(cross_keys[i]),
                f"cross_value_{i}": np.ascontiguousarray(cross_values[i]),
            }
        self._pinned = feeds  # OrtValues below share these arrays' memory: keep them alive
        for name, array in feeds.items():
            self._bind(name, array)
        for name, array in (("logits", self.logits), ("keys", self.new_keys), ("values", self.new_values)):
            self.binding.bind_ortvalue_output(name, ort.OrtValue.ortvalue_from_numpy(array))
        self._grow(min(MIN_SLOTS, steps + 1))

    def _bind(self, name: str, array: np.ndarray) -> None:
        self.binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array))

    def _grow(self, slots: int) -> None:
        """Double the cache's slots (copying what is filled) and bind the new arrays.

        The step attends every slot it is given (masked past the position), so the cache grows with
        the position instead of being allocated for the whole clip: a step reads at most twice the
        filled prefix.
        """
        filled = self.keys.shape[3]
        shape = (*self.keys.shape[:3], slots, self.keys.shape[4])
        keys, values = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
        keys[:, :, :, :filled], values[:, :, :, :filled] = self.keys, self.values
        self.keys, self.values = keys, values
        for i in range(self.layers):
            self._bind(f"past_key_{i}", self.keys[i])
            self._bind(f"past_value_{i}", self.values[i])

    def __call__(self, tokens: torch.Tensor, position: int) -> torch.Tensor:
        if position >= self.keys.shape[3]:
            self._grow(min(2 * self.keys.shape[3], self.steps + 1))
        self.tokens[:] = tokens.numpy()
        self.position[...] = position
        self.session.run_with_iobinding(self.binding)
        self.keys[:, :, :, position] = self.new_keys[:, :, :, 0]
        self.values[:, :, :, position] = self.new_values[:, :, :, 0]
        return torch.from_numpy(self.logits)

    def prefill(self, tokens: torch.Tensor) -> None:
        """Positions ``0..P-1`` of ``tokens`` ``[num_codebooks, P]`` in one call of the prefill graph:
        their keys/values go into cache slots ``0..P-1``, as ``P`` steps leave them (to float rounding).
        """
        count = tokens.shape[1]
        if count == 1:  # the prefill graph takes two positions or more; one is a step
            self(tokens[:, 0], 0)
            return
        slots = self.keys.shape[3]
        while slots < count:  # the size P steps would have grown the cache to
            slots = min(2 * slots, self.steps + 1)
        if slots != self.keys.shape[3]:
            self._grow(slots)
        layers, batch, heads, _, head_dim = self.keys.shape
        keys = np.empty((layers, batch, heads, count, head_dim), np.float32)
        values = np.empty_like(keys)
        feeds = {
            "tokens": np.ascontiguousarray(tokens.numpy(), dtype=np.int64),
            "rows": np.zeros(batch, np.int64),  # only its length is read: the batch
            **{name: array for name, array in self._pinned.items() if name.startswith("cross_")},
        }
        binding = self.prefill_session.io_binding()
        for name, array in feeds.items():
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array))
        binding.bind_ortvalue_output("keys", ort.OrtValue.ortvalue_from_numpy(keys))
        binding.bind_ortvalue_output("values", ort.OrtValue.ortvalue_from_numpy(values))
        self.prefill_session.run_with_iobinding(binding)
        self.keys[:, :, :, :count] = keys
        self.values[:, :, :, :count] = values
