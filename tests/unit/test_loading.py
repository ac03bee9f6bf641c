"""Model, device and precision resolution, and how loading fails."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path

import pytest
import torch

from inference import (
    DeviceUnavailableError,
    Engine,
    EngineConfig,
    InvalidParameterError,
    ModelUnavailableError,
    UnknownBackendError,
    UnknownModelError,
    UnsupportedPrecisionError,
)
from inference import device as devices
from inference.registry import model_spec, resolve_checkpoint


def test_tiny_random_is_saved_in_the_hugging_face_format(model_cache_dir: Path, tiny_engine: Engine) -> None:
    path = resolve_checkpoint("tiny-random", model_cache_dir)
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json"} <= names
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == "musicgen"
    assert sum(p.stat().st_size for p in path.iterdir()) < 20 * 1024 * 1024
    # A second resolve reuses the build: same files, untouched.
    mtime = (path / "model.safetensors").stat().st_mtime_ns
    assert resolve_checkpoint("tiny-random", model_cache_dir) == path
    assert (path / "model.safetensors").stat().st_mtime_ns == mtime


def test_tiny_random_is_deterministic_across_builds(tmp_path: Path, model_cache_dir: Path) -> None:
    from safetensors.torch import load_file

    fresh = resolve_checkpoint("tiny-random", tmp_path)
    cached = resolve_checkpoint("tiny-random", model_cache_dir)
    a, b = load_file(fresh / "model.safetensors"), load_file(cached / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_local_checkpoint_directory_loads(model_cache_dir: Path, tiny_engine: Engine) -> None:
    path = resolve_checkpoint("tiny-random", model_cache_dir)
    assert model_spec(str(path)).source == "local"
    engine = Engine.load(EngineConfig(model=str(path), backend="reference"))
    try:
        assert engine.info()["sample_rate"] == 32_000
    finally:
        engine.unload()


def test_unknown_model() -> None:
    with pytest.raises(UnknownModelError, match="unknown model 'no-such-model'"):
        Engine.load(EngineConfig(model="no-such-model"))


@pytest.fixture
def silent_hub(monkeypatch: pytest.MonkeyPatch):
    """A hub endpoint on loopback that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    yield
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.usefixtures("silent_hub")
def test_absent_hub_model_fails_fast_with_instructions(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as info:
        Engine.load(EngineConfig(model="facebook/musicgen-small", cache_dir=str(tmp_path), hub_timeout_s=2))
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert "facebook/musicgen-small" in message
    assert "unreachable" in message
    assert "tiny-random" in message
    assert info.value.error_type == "model_unavailable"


def test_absent_hub_model_offline_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        Engine.load(EngineConfig(model="facebook/musicgen-stereo-small", cache_dir=str(tmp_path)))
    assert time.monotonic() - started < 10


def test_unknown_backend() -> None:
    with pytest.raises(UnknownBackendError):
        Engine.load(EngineConfig(backend="tensorrt"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_machine_without_it() -> None:
    with pytest.raises(DeviceUnavailableError, match="CUDA"):
        Engine.load(EngineConfig(device="cuda"))
    with pytest.raises(DeviceUnavailableError):
        devices.resolve_device("cuda:1")


def test_unknown_device_and_precision() -> None:
    with pytest.raises(InvalidParameterError) as info:
        devices.resolve_device("tpu")
    assert info.value.field == "device"
    with pytest.raises(InvalidParameterError) as info:
        devices.resolve_precision("float8", "cpu")
    assert info.value.field == "precision"


def test_auto_device_and_precision() -> None:
    resolved = devices.resolve("auto", "auto")
    assert resolved.device == devices.available_devices()[0] or resolved.device.startswith("cuda")
    if resolved.device_type == "cpu":
        assert resolved.precision == "float32"
    else:
        assert resolved.precision in {"bfloat16", "float16"}


def test_float16_is_refused_on_cpu() -> None:
    with pytest.raises(UnsupportedPrecisionError, match="float16 is not available on cpu"):
        devices.resolve_precision("float16", "cpu")


def test_backend_precisions_limit_the_choice() -> None:
    with pytest.raises(UnsupportedPrecisionError):
        devices.resolve_precision("int8", "cpu", backend_precisions=("float32", "bfloat16"))
    assert devices.resolve_precision("auto", "cpu", backend_precisions=("bfloat16",)) == "bfloat16"


def test_int8_is_cpu_only() -> None:
    assert "int8" not in devices.supported_precisions("cuda")
    assert "int8" in devices.supported_precisions("cpu")
