"""Work that generations running at the same time share: computed by the first, reused by the rest.

Variations of one prompt (and any tracks of the same prompt that overlap in time) need the same text
encoding and the same cross-attention keys/values; :class:`LiveMemo` computes each once. It keeps a
value only while something holds it, so nothing stays in memory after the last generation using it
ends, and a later request computes it afresh (as a request alone always has).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

V = TypeVar("V")


@dataclass(eq=False)
class Held(Generic[V]):
    """A shared value; it stays shared while this object is referenced. ``keep`` holds what its key was
    made from (object ids stay unique while their objects live)."""

    value: V
    keep: Any = None


class LiveMemo(Generic[V]):
    """``key -> value`` for values some holder still references (see the module docstring)."""

    def __init__(self) -> None:
        self._live: weakref.WeakValueDictionary[Hashable, Held[V]] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], V], keep: Any = None) -> Held[V]:
        """The live value for ``key``, or ``make()``'s, which others then share while it is held; ``keep``
        is stored with a new value (what an identity-based key refers to)."""
        with self._lock:
            held = self._live.get(key)
        if held is not None:
            return held
        fresh = Held(make(), keep)  # outside the lock: two first users may both compute, one wins
        with self._lock:
            return self._live.setdefault(key, fresh)

    def __len__(self) -> int:
        return len(self._live)
