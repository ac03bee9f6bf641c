"""``backend="auto"`` / ``precision="auto"``: pick the fastest variant that loads on the device.

Candidates are the measured ranking (``EngineConfig.preferences``, fastest first, e.g. from recorded
benchmarks), then :data:`DEFAULT_ORDER` for the device type, then every other backend x precision
the device supports; an explicit backend or precision filters them. The first that loads wins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from inference import device as devices
from inference.backends import BACKENDS, backend_class
from inference.backends.base import Backend
from inference.errors import InferenceError, ModelUnavailableError, UnsupportedPrecisionError
from inference.types import EngineConfig

log = logging.getLogger("inference.tuning")

AUTO = "auto"
Pair = tuple[str, str]  # (backend, precision)

# What to try when nothing is recorded yet, fastest first by what we measured (benchmarks/README.md)
# or expect. On CPU native:int8 (our C step, built with the project per instruction set) leads; where
# only its portable scalar build runs (no AVX2, or ARM) it comes after torch:int8 (see `default_order`),
# and where none is installed it is skipped; torch:int8 follows (faster than onnx:int8 on the Intel machine,
# about as fast on the AMD one, and no multi-minute export on a first start). `musicgenie bench`
# records what is fastest here, and auto then picks that.
DEFAULT_ORDER: dict[str, tuple[Pair, ...]] = {
    "cpu": (
        ("native", "int8"),
        ("torch", "int8"),
        ("onnx", "int8"),
        ("torch", "bfloat16"),
        ("reference", "float32"),
    ),
    "cuda": (("torch", "bfloat16"), ("torch", "float16"), ("reference", "float16")),
    "mps": (("torch", "float16"), ("reference", "float16"), ("reference", "float32")),
}


def default_order(device_type: str) -> tuple[Pair, ...]:
    """:data:`DEFAULT_ORDER` for ``device_type``, with native:int8 after torch:int8 on a CPU where only
    the native step's scalar build runs (it is several times slower than its SIMD builds)."""
    order = DEFAULT_ORDER.get(device_type, ())
    if device_type != "cpu" or _native_has_simd():
        return order
    native, torch_int8 = ("native", "int8"), ("torch", "int8")
    rest = [pair for pair in order if pair != native]
    return (*rest[: rest.index(torch_int8) + 1], native, *rest[rest.index(torch_int8) + 1 :])


def _native_has_simd() -> bool:
    from inference.native.library import NativeUnavailableError, runnable_variants

    try:
        return any(variant != "portable" for variant in runnable_variants())
    except (NativeUnavailableError, OSError):
        return False


def parse_pair(text: str) -> Pair:
    """``"torch:int8"`` -> ``("torch", "int8")``."""
    backend, sep, precision = text.strip().lower().partition(":")
    if not sep or not backend or not precision:
        raise ValueError(f"{text!r} is not backend:precision (e.g. torch:int8)")
    return backend, precision


def is_tuned(config: EngineConfig) -> bool:
    """Whether the engine chooses among candidates: backend ``auto``, or precision ``auto`` with a ranking.

    Precision ``auto`` with an explicit backend and no ``preferences`` keeps the device's preferred
    precision (:func:`inference.device.resolve_precision`).
    """
    precision = (config.precision or AUTO).strip().lower()
    return config.backend == AUTO or (precision == AUTO and config.preferences is not None)


def candidates(
    device_type: str,
    backend: str = AUTO,
    precision: str = AUTO,
    preferences: Iterable[Pair] | None = None,
) -> list[Pair]:
    """Ranked (backend, precision) pairs to try on ``device_type``, without duplicates."""
    supported = devices.supported_precisions(device_type)
    every = [(b, p) for b in BACKENDS for p in supported]
    ranked = [*(preferences or ()), *default_order(device_type), *every]
    out: list[Pair] = []
    for pair in ranked:
        b, p = pair
        if pair in out or p not in supported:
            continue
        if backend != AUTO and b != backend:
            continue
        if precision != AUTO and p != precision:
            continue
        out.append(pair)
    return out


def resolve_placement(backend: str, device: str, precision: str) -> tuple[str, str]:
    """The (device, precision) that ``backend``/``device``/``precision`` loads on, as far as it is known
    before loading: the device resolved (``auto`` -> ``cuda:0``...), an explicit precision checked against
    it and, for an explicit backend, against what that backend implements. An ``auto`` precision stays
    ``auto``: the engine picks it among :func:`candidates` when it loads (with ``preferences``, see
    :func:`is_tuned`).

    Raises the engine's errors for a bad device, an unknown backend or an impossible precision.
    """
    precision = (precision or AUTO).strip().lower()
    if backend != AUTO and precision != AUTO:
        placement = devices.resolve(device, precision, backend_class(backend).precisions)
        return placement.device, placement.precision
    resolved = devices.resolve_device(device)
    implemented = None if backend == AUTO else backend_class(backend).precisions
    if precision != AUTO:
        precision = devices.resolve_precision(precision, resolved, implemented)
    return resolved, precision


@dataclass(frozen=True, slots=True)
class Choice:
    """One candidate resolved against the device: its backend class and placement."""

    backend_cls: type[Backend]
    placement: devices.Placement


@dataclass(slots=True)
class Selection:
    """What was chosen and what was skipped (with the reason) on the way."""

    backend: Backend
    placement: devices.Placement
    skipped: list[str] = field(default_factory=list)


def choices(config: EngineConfig) -> list[Choice]:
    """The candidates of ``config`` resolved against this machine (one when nothing is ``auto``).

    Raises the engine's errors for a bad device, an unknown backend or an impossible precision.
    """
    if not is_tuned(config):
        cls = backend_class(config.backend)
        return [Choice(cls, devices.resolve(config.device, config.precision, cls.precisions))]
    device, precision = resolve_placement(config.backend, config.device, config.precision)
    device_type = device.split(":", 1)[0]
    found = []
    for backend, chosen in candidates(device_type, config.backend, precision, config.preferences):
        try:
            cls = backend_class(backend)
        except InferenceError:  # not built into this install (e.g. onnx without onnxruntime)
            continue
        if chosen in cls.precisions:
            found.append(Choice(cls, devices.Placement(device, chosen)))
    if not found:
        raise UnsupportedPrecisionError(
            f"no backend runs {config.backend}/{precision} on {device_type}; "
            f"precisions here: {', '.join(devices.supported_precisions(device_type))}"
        )
    return found


def load_first(options: Sequence[Choice], checkpoint: Path, cache_dir: Path) -> Selection:
    """Load the first option that loads.

    A single option raises its own engine error; anything else a checkpoint makes a loader raise (a cut
    short config, missing weights) becomes :class:`ModelUnavailableError` naming the checkpoint.
    """
    if len(options) == 1:
        only = options[0]
        try:
            return Selection(only.backend_cls(checkpoint, only.placement, cache_dir), only.placement)
        except InferenceError:
            raise
        except Exception as exc:
            label = f"{only.backend_cls.name}:{only.placement.precision}"
            raise ModelUnavailableError(
                f"{label} could not load {checkpoint}: {type(exc).__name__}: {exc}"[:2000]
            ) from exc
    skipped: list[str] = []
    for option in options:
        label = f"{option.backend_cls.name}:{option.placement.precision}"
        try:
            backend = option.backend_cls(checkpoint, option.placement, cache_dir)
        except Exception as exc:  # a variant that cannot load here is skipped, with its reason
            skipped.append(f"{label}: {type(exc).__name__}: {exc}"[:300])
            log.info("auto: skipped %s", skipped[-1])
            continue
        if skipped:
            log.info("auto: chose %s on %s after skipping %d", label, option.placement.device, len(skipped))
        return Selection(backend, option.placement, skipped)
    raise ModelUnavailableError(f"no backend could load {checkpoint} here: " + "; ".join(skipped))
