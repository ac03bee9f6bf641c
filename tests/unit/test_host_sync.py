"""The static decoder step (what a CUDA graph captures) must never wait for the device.

A CUDA graph cannot capture a host sync (``.item()``, indexing by a tensor's value, ``nonzero``), and
outside a graph each one stalls the GPU's queue. The step runs on CPU here under a dispatch trace that
records every aten call, so a sync shows without a GPU.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from inference.backends.hf import load_musicgen
from inference.musicgen.conditioning import encode_text
from inference.musicgen.decoder import MusicgenDecoderStep
from inference.musicgen.graph import slot_bucket
from inference.registry import resolve_checkpoint

CPU = torch.device("cpu")
SYNCS = {"item", "_local_scalar_dense", "nonzero", "is_nonzero", "equal"}


class _Trace(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


@pytest.fixture(scope="module")
def started(model_cache_dir: Path) -> MusicgenDecoderStep:
    loaded = load_musicgen(resolve_checkpoint("tiny-random", model_cache_dir), torch.float32, CPU)
    step = MusicgenDecoderStep(loaded.model, CPU, torch.float32, max_steps=40, fixed_cache=True)
    step.start(*encode_text(loaded.model, loaded.processor, "lo-fi piano", CPU), guided=True, steps=12)
    return step


@pytest.mark.parametrize("slots", [0, 16])
def test_the_static_step_never_waits_for_the_device(started: MusicgenDecoderStep, slots: int) -> None:
    tokens, position = torch.zeros(started.num_codebooks, dtype=torch.long), torch.tensor(5)
    started.static_slots = slots
    try:
        with torch.inference_mode(), _Trace() as trace:
            logits = started(tokens, position, static=True)
    finally:
        started.static_slots = 0
    assert trace.ops, "the trace saw nothing"
    assert not SYNCS & set(trace.ops), sorted(SYNCS & set(trace.ops))
    assert torch.isfinite(logits).all()


def test_a_bucket_attends_what_the_whole_cache_does(
    started: MusicgenDecoderStep, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slots past the request's steps are masked: a graph over a bucket of them reads only the bucket
    and gives the same logits."""
    sequence = torch.randint(0, 2048, (started.num_codebooks, 6), generator=torch.Generator().manual_seed(0))
    attention = torch.nn.functional.scaled_dot_product_attention
    keys: dict[int, set[int]] = {0: set(), 16: set()}
    outputs = {}
    for slots in (0, 16):

        def spy(q, k, *args, slots=slots, **kwargs):
            keys[slots].add(k.shape[-2])
            return attention(q, k, *args, **kwargs)

        monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
        started.static_slots = slots
        try:
            with torch.inference_mode():
                outputs[slots] = [
                    started(sequence[:, t], torch.tensor(t), static=True).clone() for t in range(6)
                ]
        finally:
            started.static_slots = 0
    whole = started.cache.shape[4]
    assert keys[0] >= {whole}
    assert 16 not in keys[0]
    assert keys[16] >= {16}
    assert whole not in keys[16]
    for all_slots, bucket in zip(outputs[0], outputs[16], strict=True):
        torch.testing.assert_close(bucket, all_slots, rtol=1e-5, atol=1e-5)


def test_slot_buckets() -> None:
    assert slot_bucket(12, 6009) == 256
    assert slot_bucket(255, 6009) == 256
    assert slot_bucket(256, 6009) == 512
    assert slot_bucket(1500, 6009) == 2048
    assert slot_bucket(6008, 6009) == 6009
    assert slot_bucket(12, 40) == 40
