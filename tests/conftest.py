"""Shared fixtures: one tiny-random model, built through the real preset code, for the whole session;
in-memory random decoders with production-shaped heads, built once per shape."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from inference import Engine, EngineConfig
from inference.random_models import random_decoder_model


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MODEL_CACHE_DIR for the session: the tiny-random preset is built here once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_engine(model_cache_dir: Path) -> Engine:
    """The tiny-random model on CPU in float32, reference backend (named: the default is ``auto``)."""
    config = EngineConfig(
        model="tiny-random", backend="reference", device="cpu", cache_dir=str(model_cache_dir)
    )
    engine = Engine.load(config)
    yield engine
    engine.unload()


def _fingerprint(model: torch.nn.Module) -> list[tuple[str, float]]:
    """The decoder's tensors (the part steps read; ``consume`` replaces its layers), summed."""
    with torch.no_grad():
        return [(name, t.abs().sum().item()) for name, t in model.decoder.state_dict().items()]


@pytest.fixture(scope="session")
def decoder_model() -> Callable[[int, int], torch.nn.Module]:
    """``decoder_model(width, heads)``: :func:`random_decoder_model` of that shape, built once for the
    session (a second or more each) and shared. Steps copy their weights from it and leave it as it was
    (``consume`` stays False); a test that changes it fails the next test that asks for it."""
    built: dict[tuple[int, int], tuple[torch.nn.Module, list]] = {}

    def get(width: int, heads: int) -> torch.nn.Module:
        if (width, heads) not in built:
            model = random_decoder_model(width, heads)
            built[width, heads] = model, _fingerprint(model)
        model, fingerprint = built[width, heads]
        assert _fingerprint(model) == fingerprint, f"a test changed the shared {width}-wide decoder model"
        return model

    return get


@pytest.fixture
def run_script(tmp_path: Path, model_cache_dir: Path) -> Callable[[str], list[str]]:
    """Run Python source in a fresh interpreter (``{cache}`` replaced by the model cache's path, quoted)
    and return its stdout's lines; it must exit with status 0."""

    def run(source: str) -> list[str]:
        script = tmp_path / "script.py"
        script.write_text(source.replace("{cache}", repr(str(model_cache_dir))))
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.splitlines()

    return run


class ThreadCounts(dict[str, list[int]]):
    """torch's thread count each time a wrapped callable ran, by name."""

    def wrap(self, name: str, method: Callable) -> Callable:
        self.setdefault(name, [])

        def run(*args, **kwargs):
            self[name].append(torch.get_num_threads())
            return method(*args, **kwargs)

        return run


@pytest.fixture
def thread_counts() -> ThreadCounts:
    """Wrap callables with ``thread_counts.wrap(name, f)``; read what each saw as ``thread_counts[name]``."""
    return ThreadCounts()
