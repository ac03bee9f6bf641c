"""Which variants (backend x precision) a benchmark runs, in which order."""

from __future__ import annotations

from collections.abc import Iterable

from inference.backends import BACKENDS
from inference.device import supported_precisions
from inference.tuning import Pair, parse_pair

REFERENCE = "reference"


def default_variants(device_type: str) -> list[Pair]:
    """Every backend x every precision the device supports, the reference first."""
    return ordered((backend, p) for backend in BACKENDS for p in supported_precisions(device_type))


def ordered(variants: Iterable[Pair]) -> list[Pair]:
    """Without duplicates, reference variants first (so every other variant has its ratio at once)."""
    unique = list(dict.fromkeys(variants))
    return [v for v in unique if v[0] == REFERENCE] + [v for v in unique if v[0] != REFERENCE]


def parse_variants(texts: Iterable[str]) -> list[Pair]:
    """`["reference:float32 torch:int8", "onnx:int8"]` (spaces or commas) -> ordered pairs."""
    return ordered(parse_pair(item) for text in texts for item in text.replace(",", " ").split())


def parse_durations(texts: Iterable[str]) -> list[float]:
    """`["5,10", "30"]` -> `[5.0, 10.0, 30.0]`; each above 0."""
    durations = [float(item) for text in texts for item in text.replace(",", " ").split()]
    if not durations or any(d <= 0 for d in durations):
        raise ValueError("durations must be seconds above 0")
    return list(dict.fromkeys(durations))


def parse_concurrency(texts: Iterable[str]) -> list[int]:
    """`["1 2", "4"]` -> `[1, 2, 4]`: tracks at once, each a whole number of at least 1 (sorted, unique)."""
    try:
        levels = [int(item) for text in texts for item in text.replace(",", " ").split()]
    except ValueError:
        raise ValueError("concurrency must be whole numbers of tracks, at least 1") from None
    if any(n < 1 for n in levels):
        raise ValueError("concurrency must be whole numbers of tracks, at least 1")
    return sorted(set(levels))
