"""The decoder step captured in a CUDA graph: one launch per step instead of hundreds of kernels."""

from __future__ import annotations

import torch

from inference.musicgen.decoder import MusicgenDecoderStep
from inference.musicgen.loop import StepFn


class GraphedStep:
    """Captures ``step(tokens, position, static=True)`` once per guidance batch size (and number of rows
    attending to a text: 2 with a negative prompt) and replays it.

    The step reads only preallocated buffers (KV cache, text keys/values, mask), which requests
    overwrite in place, so one capture serves every request. The first request with a negative prompt
    reallocates the text buffers: the graphs captured before read the old ones and are dropped.
    """

    def __init__(self, step: MusicgenDecoderStep) -> None:
        self.step = step
        self._graphs: dict[
            tuple[int, int], tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor, torch.Tensor]
        ] = {}
        self._text_buffers = 0  # which allocation of the text keys/values the graphs read

    def prepare(self, guided: bool) -> StepFn:
        """The step function for a request whose ``start`` has run (it fixes the batch size)."""
        if self.step.text_buffers != self._text_buffers:  # not the address: a new buffer may reuse it
            self._graphs.clear()
            self._text_buffers = self.step.text_buffers
        key = (2 if guided else 1, self.step.cross_rows)
        if key not in self._graphs:
            self._graphs[key] = self._capture()
        graph, tokens, position, logits = self._graphs[key]

        def run(step_tokens: torch.Tensor, index: int) -> torch.Tensor:
            tokens.copy_(step_tokens, non_blocking=True)
            position.fill_(index)
            graph.replay()
            return logits

        return run

    def _capture(self) -> tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor, torch.Tensor]:
        device = self.step.device
        tokens = torch.zeros(self.step.num_codebooks, dtype=torch.long, device=device)
        position = torch.zeros((), dtype=torch.long, device=device)
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):  # warm-up outside the graph (allocations, library handles)
            for _ in range(2):
                self.step(tokens, position, static=True)
        torch.cuda.current_stream(device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            logits = self.step(tokens, position, static=True)
        return graph, tokens, position, logits
