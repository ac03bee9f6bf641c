"""``python -m inference`` as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from inference import EngineConfig
from inference.cli import _parser
from inference.registry import resolve_checkpoint


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
    assert "(auto, auto, auto)" in proc.stderr
    used = re.search(r" on cpu/(\w+)/(\w+): ", proc.stdout)
    assert used, proc.stdout
    assert used.group(2) != "reference", "the default backend is auto: the fastest that loads, not the oracle"


def test_cli_and_engine_config_default_to_the_auto_backend() -> None:
    assert EngineConfig().backend == "auto"
    assert _parser().parse_args(["generate", "piano"]).backend == "auto"


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


def fake_hub_download(hub: Path, repo_id: str, files: list[str]) -> None:
    """A checkpoint in the Hugging Face cache layout, as `hf download --cache-dir` leaves it."""
    repo, commit = hub / f"models--{repo_id.replace('/', '--')}", "0123456789abcdef" * 2 + "01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name in files:
        (snapshot / name).write_text("{}")


def test_info_says_which_models_load_offline(tmp_path: Path, model_cache_dir: Path) -> None:
    cache = tmp_path / "models"
    fake_hub_download(cache / "hub", "facebook/musicgen-small", ["config.json", "model.safetensors"])
    fake_hub_download(cache / "hub", "facebook/musicgen-medium", ["config.json"])  # weights never came
    local, missing = resolve_checkpoint("tiny-random", model_cache_dir), tmp_path / "no-such-checkpoint"
    args = ["info", "--json", "--cache-dir", str(cache), "--model", str(local), "--model", str(missing)]
    proc = run_cli(*args, cwd=tmp_path, cache=tmp_path / "elsewhere")
    assert proc.returncode == 0, proc.stderr
    models = json.loads(proc.stdout)["models"]
    offline = {name: entry["offline"] for name, entry in models.items()}
    assert offline["tiny-random"] is offline["small-random"] is True  # presets are built here
    assert offline["facebook/musicgen-small"] is True
    assert offline["facebook/musicgen-medium"] is False
    assert offline["facebook/musicgen-large"] is False
    assert offline[str(local)] is True
    assert offline[str(missing)] is False
    assert models["tiny-random"]["source"] == "preset"
    assert models["facebook/musicgen-small"]["source"] == "hub"
    assert models[str(local)]["source"] == "local"

    # Without --cache-dir: MODEL_CACHE_DIR, in the table.
    proc = run_cli("info", cwd=tmp_path, cache=cache)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line.startswith("  ")}
    assert rows["tiny-random"].split()[1] == "offline"
    assert rows["facebook/musicgen-small"].split()[1] == "offline"
    assert "hub only" in rows["facebook/musicgen-medium"]


def test_export_writes_onnx_files_with_a_manifest(tmp_path: Path, model_cache_dir: Path) -> None:
    proc = run_cli(
        "export", "--model", "tiny-random", "--precision", "int8", cwd=tmp_path, cache=model_cache_dir
    )
    assert proc.returncode == 0, proc.stderr
    directory = Path(proc.stdout.splitlines()[0])
    assert (directory / "manifest.json").is_file()
    assert "decoder_step.onnx" in proc.stdout
    assert "text_encoder.onnx" in proc.stdout
