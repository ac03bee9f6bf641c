"""``python -m inference`` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import soundfile as sf


def run_cli(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODEL_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "inference", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_generate_writes_a_playable_file_of_the_requested_length(
    tmp_path: Path, model_cache_dir: Path
) -> None:
    out = tmp_path / "out.mp3"
    args = ["generate", "lo-fi beat with warm piano, 90 bpm", "--model", "tiny-random", "--duration", "5"]
    proc = run_cli(
        *args, "--seed", "7", "--format", "mp3", "--output", str(out), cwd=tmp_path, cache=model_cache_dir
    )
    assert proc.returncode == 0, proc.stderr
    info = sf.info(out)
    assert info.format == "MP3"
    assert info.samplerate == 32_000
    assert abs(info.duration - 5.0) <= 0.02
    assert "realtime factor" in proc.stdout
    assert "seed 7" in proc.stdout
    assert "random weights" in proc.stderr


def test_generate_reports_bad_input_without_a_traceback(tmp_path: Path, model_cache_dir: Path) -> None:
    proc = run_cli("generate", "piano", "--duration", "-1", cwd=tmp_path, cache=model_cache_dir)
    assert proc.returncode == 2
    assert "invalid_parameter" in proc.stderr
    assert "duration" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_info_lists_devices_and_models(tmp_path: Path, model_cache_dir: Path) -> None:
    proc = run_cli("info", "--json", cwd=tmp_path, cache=model_cache_dir)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert "cpu" in data["devices"]
    assert "float32" in data["devices"]["cpu"]["precisions"]
    assert "tiny-random" in data["models"]
    assert "reference" in data["backends"]


def test_export_writes_onnx_files_with_a_manifest(tmp_path: Path, model_cache_dir: Path) -> None:
    proc = run_cli(
        "export", "--model", "tiny-random", "--precision", "int8", cwd=tmp_path, cache=model_cache_dir
    )
    assert proc.returncode == 0, proc.stderr
    directory = Path(proc.stdout.splitlines()[0])
    assert (directory / "manifest.json").is_file()
    assert "decoder_step.onnx" in proc.stdout
    assert "text_encoder.onnx" in proc.stdout
