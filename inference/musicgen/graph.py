"""The decoder step captured in a CUDA graph: one launch per step instead of hundreds of kernels."""

from __future__ import annotations

import logging

import torch

from inference.musicgen.decoder import MusicgenDecoderStep
from inference.musicgen.loop import StepFn

log = logging.getLogger(__name__)

# A graph attends to a fixed number of cache slots; a request uses the smallest bucket that holds its
# steps, so a 5 s clip does not read a 30 s window's cache every step.
SMALLEST_BUCKET = 256

_Graph = tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor, torch.Tensor]


def slot_bucket(steps: int, slots: int) -> int:
    """The cache slots a request of ``steps`` steps attends: a power of two from 256, at most ``slots``."""
    bucket = SMALLEST_BUCKET
    while bucket < steps + 1:
        bucket *= 2
    return min(bucket, slots)


class GraphedStep:
    """Captures ``step(tokens, position, static=True)`` once per guidance batch size, number of rows
    attending to a text (2 with a negative prompt) and cache bucket (:func:`slot_bucket`), and replays it.

    The step reads only preallocated buffers (KV cache, text keys/values, mask), which requests
    overwrite in place, so one capture serves every request of its key. The first request with a
    negative prompt reallocates the text buffers: the graphs captured before read the old ones and are
    dropped. A capture that fails (a driver or memory error) falls back to the eager step for that key.
    """

    def __init__(self, step: MusicgenDecoderStep) -> None:
        self.step = step
        self._graphs: dict[tuple[int, int, int], _Graph | None] = {}
        self._text_buffers = 0  # which allocation of the text keys/values the graphs read

    def prepare(self, guided: bool) -> StepFn:
        """The step function for a request whose ``start`` has run (it fixes the batch size and steps)."""
        if self.step.text_buffers != self._text_buffers:  # not the address: a new buffer may reuse it
            self._graphs.clear()
            self._text_buffers = self.step.text_buffers
        slots = slot_bucket(self.step.steps, self.step.cache.shape[4])
        key = (2 if guided else 1, self.step.cross_rows, slots)
        if key not in self._graphs:
            self.step.static_slots = slots
            try:
                self._graphs[key] = self._capture()
            except RuntimeError as exc:
                log.warning("CUDA graph capture failed for %s, stepping eagerly: %s", key, exc)
                self._graphs[key] = None
            finally:
                self.step.static_slots = 0
        captured = self._graphs[key]
        if captured is None:
            return self.step
        graph, tokens, position, logits = captured

        def run(step_tokens: torch.Tensor, index: int) -> torch.Tensor:
            tokens.copy_(step_tokens, non_blocking=True)
            position.fill_(index)
            graph.replay()
            return logits

        return run

    def _capture(self) -> _Graph:
        device = self.step.device
        with torch.cuda.device(device):  # cuda:N records on N's streams, not on the current device's
            tokens = torch.zeros(self.step.num_codebooks, dtype=torch.long, device=device)
            position = torch.zeros((), dtype=torch.long, device=device)
            side = torch.cuda.Stream(device)
            side.wait_stream(torch.cuda.current_stream(device))
            with torch.cuda.stream(side):  # warm-up outside the graph (allocations, library handles)
                for _ in range(2):
                    self.step(tokens, position, static=True)
            torch.cuda.current_stream(device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            # thread_local: a model loading in another thread does not break (or join) this capture.
            with torch.cuda.graph(graph, stream=side, capture_error_mode="thread_local"):
                logits = self.step(tokens, position, static=True)
            torch.cuda.current_stream(device).wait_stream(side)
        return graph, tokens, position, logits
