"""Large buffers asked onto transparent huge pages (inference/native/pages.py)."""

from __future__ import annotations

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
