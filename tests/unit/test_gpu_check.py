"""scripts/gpu-check's program, dry-run on CPU with tiny-random (the GPU run is the same code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks import gpu_check


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_it_says_no_gpu_is_present(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_check.main([str(tmp_path)]) == gpu_check.NO_GPU
    assert "no GPU present" in capsys.readouterr().err
    assert "no GPU present" in (tmp_path / "gpu-check.md").read_text()


def test_a_dry_run_on_cpu_checks_parity_and_times_every_variant_it_can(
    tmp_path: Path, model_cache_dir: Path
) -> None:
    args = ["--device", "cpu", "--models", "tiny-random", "--durations", "1", "--batches", "1", "2"]
    assert gpu_check.main([str(tmp_path), *args, "--cache-dir", str(model_cache_dir)]) == 0
    report = json.loads((tmp_path / "gpu-check.json").read_text())
    assert [p["precision"] for p in report["parity"]] == ["float32", "bfloat16", "float16"]
    assert report["parity"][0]["result"].startswith("1.0000 of")  # torch and reference agree greedily
    timed = {(t["backend"], t["precision"], t["tracks"]) for t in report["timings"]}
    assert timed == {("torch", "bfloat16", 1), ("torch", "bfloat16", 2)}
    assert all(t["realtime_factor"] > 0 for t in report["timings"])
    assert report["timings"][0]["first_audio_s"] is not None
    assert len(report["skipped"]) == 2  # float16 runs on CUDA only
