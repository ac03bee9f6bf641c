"""The native backend: our decode loop around a decoder step written in C for the CPU (AVX2).

Every decoder layer of a step runs in one call into the native library (``inference/native/csrc``):
int8 weights (one scale per row, VNNI where the CPU has it), activations quantised per row, an int8
KV cache, attention over the filled prefix, the work split over its own threads. The library is built
with the project, one build per instruction set, and the best one this CPU runs is loaded. Text
encoding, sampling and EnCodec stay in torch.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import torch

from inference.backends.hf import load_musicgen
from inference.backends.torch_backend import TorchBackend
from inference.device import Placement
from inference.errors import DeviceUnavailableError
from inference.native.step import NativeDecoderStep


class NativeBackend(TorchBackend):
    """The torch backend's loop with :class:`NativeDecoderStep` as the step; CPU, int8 only."""

    name = "native"
    precisions = ("int8",)

    def __init__(self, checkpoint: Path, placement: Placement, cache_dir: Path) -> None:
        self.placement = placement
        if placement.device_type != "cpu":
            raise DeviceUnavailableError(
                f"the native backend runs on CPU only; use backend=torch on {placement.device_type}"
            )
        loaded = load_musicgen(checkpoint, torch.float32, placement.torch_device, decoder_layers=False)
        self.adopt(loaded, own_loop=True)
        self.artifacts = None
        self.step = NativeDecoderStep(
            self.model,
            torch.get_num_threads(),
            max_steps=self.window_steps,
            consume=True,
            layers=loaded.decoder_layers,
        )
        self.kernel = self.step.variant
        self.model.decoder = None
        self.graphed = None
        self._loops, self._threads, self._loops_lock = 0, torch.get_num_threads(), threading.Lock()

    @contextlib.contextmanager
    def loop_context(self) -> Iterator[None]:
        """torch on one thread while the step's own threads run: idle torch workers spin on its cores.

        Generations sharing steps enter and leave in any order: the first in sets it, the last out
        restores it.
        """
        with self._loops_lock:
            if not self._loops:
                self._threads = torch.get_num_threads()
                torch.set_num_threads(1)
            self._loops += 1
        try:
            yield
        finally:
            with self._loops_lock:
                self._loops -= 1
                if not self._loops:
                    torch.set_num_threads(self._threads)

    @contextlib.contextmanager
    def all_threads_context(self) -> Iterator[None]:
        """torch on every thread for work between steps (a window's text keys/values, EnCodec), even while
        other generations' loops hold it to one: their steps wait meanwhile (they share this thread), so
        the native pool is idle."""
        with self._loops_lock:
            threads = torch.get_num_threads()
            if self._loops:
                torch.set_num_threads(self._threads)
        try:
            yield
        finally:
            torch.set_num_threads(threads)
