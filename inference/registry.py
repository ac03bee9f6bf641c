"""Model presets and where their weights come from.

Three sources, one loading path (``from_pretrained`` on a directory in the Hugging Face format):

- random presets (``tiny-random``, ``small-random``, ...) are built here with a fixed seed and saved
  under ``<cache_dir>/presets/``; nothing is downloaded;
- a local directory holding a MusicGen checkpoint;
- a ``facebook/musicgen-*`` checkpoint from the Hugging Face cache under ``<cache_dir>/hub``, or the
  hub itself when it is reachable.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from inference.errors import ModelUnavailableError, UnknownModelError

DEFAULT_CACHE_DIR = Path(os.environ.get("MODEL_CACHE_DIR", "./models"))
PRESET_FORMAT_VERSION = 1
MAX_DURATION_S = 120.0  # the longest track a model is asked for (one call of generate)
CONTEXT_S = 30.0  # what MusicGen was trained on: longer tracks are made in windows of this length
WINDOW_STRIDE_S = 18.0  # how far each next window moves on (AudioCraft's default extend_stride)
_COMPLETE_MARKER = ".complete"
_HUB_FILES = ["*.json", "*.safetensors", "spiece.model", "*.txt"]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What the registry knows of one model name."""

    name: str
    description: str
    source: str  # "preset" | "hub"
    random_weights: bool = False
    max_duration: float = MAX_DURATION_S
    context_s: float = CONTEXT_S
    size: str = "small"


def _random(name: str, size: str, description: str) -> ModelSpec:
    return ModelSpec(name, description, "preset", random_weights=True, size=size)


PRESETS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _random(
            "tiny-random", "tiny", "A few MB of deterministic random weights: for tests and offline demos."
        ),
        _random(
            "small-random", "small", "musicgen-small's architecture with random weights: for benchmarks."
        ),
        _random("medium-random", "medium", "musicgen-medium's architecture with random weights: benchmarks."),
        _random("large-random", "large", "musicgen-large's architecture with random weights: benchmarks."),
    )
}

HUB_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("facebook/musicgen-small", "300M parameters, mono, text to music.", "hub", size="small"),
        ModelSpec("facebook/musicgen-medium", "1.5B parameters, mono, text to music.", "hub", size="medium"),
        ModelSpec("facebook/musicgen-large", "3.3B parameters, mono, text to music.", "hub", size="large"),
        ModelSpec("facebook/musicgen-melody", "1.5B, text (and melody) to music.", "hub", size="medium"),
        ModelSpec("facebook/musicgen-stereo-small", "300M parameters, stereo.", "hub", size="small"),
        ModelSpec("facebook/musicgen-stereo-medium", "1.5B parameters, stereo.", "hub", size="medium"),
        ModelSpec("facebook/musicgen-stereo-large", "3.3B parameters, stereo.", "hub", size="large"),
        ModelSpec(
            "facebook/musicgen-stereo-melody", "1.5B, stereo, text (and melody).", "hub", size="medium"
        ),
        ModelSpec("facebook/musicgen-stereo-melody-large", "3.3B, stereo, melody.", "hub", size="large"),
    )
}

_build_lock = threading.Lock()


def model_spec(name: str) -> ModelSpec:
    """The spec of a preset, a known hub checkpoint or a local checkpoint directory."""
    if name in PRESETS:
        return PRESETS[name]
    if name in HUB_MODELS:
        return HUB_MODELS[name]
    if _is_checkpoint_dir(Path(name)):
        return ModelSpec(name, "Local MusicGen checkpoint.", "local")
    known = ", ".join([*PRESETS, *HUB_MODELS])
    raise UnknownModelError(
        f"unknown model {name!r}: use a preset or checkpoint ({known}) or a local checkpoint directory"
    )


def list_models() -> list[ModelSpec]:
    """The presets and the known hub checkpoints."""
    return [*PRESETS.values(), *HUB_MODELS.values()]


def available_offline(name: str, cache_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``name`` loads here without the hub; looks at the disk only, never the network.

    Presets are built locally; a local checkpoint directory loads when it exists (a path that does not
    raises :class:`UnknownModelError`, as any unknown name does); a hub checkpoint only when its config
    and weights are already in ``<cache_dir>/hub``.
    """
    spec = model_spec(name)
    if spec.source != "hub":
        return True
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    return _cached_snapshot(name, cache / "hub") is not None


def resolve_checkpoint(
    name: str, cache_dir: str | os.PathLike[str] | None = None, hub_timeout_s: float = 5.0
) -> Path:
    """Return a local directory with the model's config, weights and processor files.

    Builds random presets on first use; takes hub checkpoints from the cache, or downloads them when
    the hub answers within ``hub_timeout_s``. Raises :class:`ModelUnavailableError` otherwise.
    """
    spec = model_spec(name)
    cache = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    if spec.source == "preset":
        return _ensure_preset(spec, cache)
    if spec.source == "local":
        return Path(name)
    return _hub_snapshot(name, cache / "hub", hub_timeout_s)


def _is_checkpoint_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file()


def _ensure_preset(spec: ModelSpec, cache: Path) -> Path:
    target = cache / "presets" / f"{spec.name}-v{PRESET_FORMAT_VERSION}"
    if (target / _COMPLETE_MARKER).exists():
        return target
    from inference.random_models import build_random_checkpoint

    with _build_lock:
        if (target / _COMPLETE_MARKER).exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        # Build beside the target and rename: a crash never leaves half a checkpoint behind.
        staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=target.parent))
        try:
            build_random_checkpoint(spec.size, staging)
            (staging / _COMPLETE_MARKER).write_text(spec.name)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _cached_snapshot(repo_id: str, hub_cache: Path) -> Path | None:
    """The cached snapshot of ``repo_id`` when it holds a config and weights, else None (no network)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        path = Path(
            snapshot_download(repo_id, cache_dir=hub_cache, local_files_only=True, allow_patterns=_HUB_FILES)
        )
    except LocalEntryNotFoundError:
        return None
    return path if (path / "config.json").is_file() and any(path.glob("*.safetensors")) else None


def _hub_snapshot(repo_id: str, hub_cache: Path, timeout_s: float) -> Path:
    from huggingface_hub import snapshot_download

    cached = _cached_snapshot(repo_id, hub_cache)
    if cached is not None:
        return cached
    how = (
        f"download it on a connected machine (`hf download {repo_id} --cache-dir {hub_cache}`) and copy "
        f"{hub_cache} here, set MODEL to a local checkpoint directory, or use MODEL=tiny-random for an "
        "offline demo"
    )
    if _truthy(os.environ.get("HF_HUB_OFFLINE")):
        raise ModelUnavailableError(f"{repo_id} is not in {hub_cache} and HF_HUB_OFFLINE is set: {how}")
    problem = _hub_unreachable(repo_id, timeout_s)
    if problem:
        raise ModelUnavailableError(
            f"{repo_id} is not in {hub_cache} and the Hugging Face hub is unreachable ({problem}): {how}"
        )
    try:
        return Path(
            snapshot_download(repo_id, cache_dir=hub_cache, allow_patterns=_HUB_FILES, etag_timeout=timeout_s)
        )
    except Exception as exc:  # network errors come in many types; all mean the same to the user
        raise ModelUnavailableError(f"downloading {repo_id} failed ({exc}): {how}") from exc


def _hub_unreachable(repo_id: str, timeout_s: float) -> str | None:
    """A short reason when the hub does not answer an HTTP request for the repo in time, else None."""
    import urllib.error
    import urllib.request

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    url = f"{endpoint}/api/models/{repo_id}"
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s):
                outcome.append(None)
        except urllib.error.HTTPError as exc:  # the hub answered: let the download say what is wrong
            outcome.append(None if exc.code < 500 else f"{url}: HTTP {exc.code}")
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            outcome.append(f"{urlparse(url).netloc}: {reason}")

    # Name resolution ignores socket timeouts, hence the thread with its own deadline.
    thread = threading.Thread(target=probe, daemon=True, name="hub-probe")
    thread.start()
    thread.join(timeout_s)
    return outcome[0] if outcome else f"{urlparse(url).netloc}: no answer within {timeout_s:g} s"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}
