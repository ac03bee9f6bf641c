"""Large buffers asked onto transparent huge pages (inference/native/pages.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from inference.native import pages

MB = 2**20
THP = Path("/sys/kernel/mm/transparent_hugepage")


@pytest.mark.parametrize(("shape", "dtype"), [((5 * MB,), torch.int8), ((3, 7, MB // 2), torch.float32)])
def test_a_large_buffer_starts_on_a_huge_page_and_is_advised_whole(shape, dtype) -> None:
    t = pages.zeros(shape, dtype)
    assert (t.shape, t.dtype, t.is_contiguous()) == (torch.Size(shape), dtype, True)
    assert t.data_ptr() % pages.HUGE_PAGE == 0
    assert not t.any()
    t.fill_(1)  # every byte is ours to write
    size = t.numel() * t.element_size()
    if THP.exists():  # a kernel built without huge pages refuses the advice: plain memory, as documented
        assert pages.advise(t) == size // pages.HUGE_PAGE * pages.HUGE_PAGE


def test_small_buffers_and_a_disabled_switch_are_plain_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    small = pages.zeros((1000,), torch.float32)
    assert small.shape == (1000,)
    assert not small.any()
    assert pages.advise(small) == 0  # no whole 2 MB page inside
    monkeypatch.setattr(pages, "ENABLED", False)
    big = pages.zeros((4 * MB,), torch.int8)
    assert big.shape == (4 * MB,)
    assert not big.any()
    assert pages.advise(big) == 0


def test_a_recycled_buffer_comes_back_zeroed_only_once_its_tensor_is_gone() -> None:
    """A cache's memory is reused by the next track that fits in it, zeroed, and never while in use."""
    recycler = pages.Recycler(idle_s=60)
    shape = (3, MB)
    first = recycler.zeros(shape, torch.int8)
    first.fill_(7)
    address = first.data_ptr()
    while_in_use = recycler.zeros(shape, torch.int8)
    assert while_in_use.data_ptr() != address  # the first is still someone's
    del first
    assert recycler.held_bytes == 3 * MB
    too_big = recycler.zeros((4, MB), torch.int8)
    assert too_big.data_ptr() != address  # it does not fit in the waiting one
    again = recycler.zeros((2, MB // 4), torch.float32)  # another shape that fits
    assert again.data_ptr() == address
    assert recycler.held_bytes == 0
    assert (again.shape, again.dtype) == (torch.Size((2, MB // 4)), torch.float32)
    assert not again.any()


def test_recycled_buffers_go_back_to_the_os_when_idle_or_released() -> None:
    recycler = pages.Recycler(idle_s=0.3)
    buffer = recycler.zeros((2 * MB,), torch.int8)
    del buffer
    assert recycler.held_bytes == 2 * MB
    deadline = time.monotonic() + 10
    while recycler.held_bytes and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recycler.held_bytes == 0
    kept = pages.Recycler(idle_s=60)
    buffer = kept.zeros((2 * MB,), torch.int8)
    del buffer
    assert kept.held_bytes == 2 * MB
    pages.release_waiting()  # what the benchmarks call before measuring memory
    assert kept.held_bytes == 0
