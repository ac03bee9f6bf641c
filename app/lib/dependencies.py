"""Collaborators built once by `create_app` (settings, the job runtime), injected into handlers by name."""

from __future__ import annotations

from typing import TypeVar

from litestar.di import Provide

T = TypeVar("T")


def constant(value: T) -> Provide:
    """A dependency that is always `value`."""

    def provide() -> T:
        return value

    return Provide(provide, use_cache=True, sync_to_thread=False)
