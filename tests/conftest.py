"""Shared fixtures: one tiny-random model, built through the real preset code, for the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import Engine, EngineConfig


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
