"""Backends compute the same function; ``reference`` is transformers' own ``generate``.

:data:`REGISTRY` is the one list of backends: name -> ``"module:Class"``, imported on first use (so
importing this package imports neither onnxruntime nor a backend's other dependencies). A new backend
is a module with a :class:`Backend` subclass (its ``name`` and ``precisions``) plus one line here.
"""

from __future__ import annotations

import importlib

from inference.backends.base import Backend, StepCallback
from inference.errors import UnknownBackendError
from inference.musicgen.codec import ChunkCallback

REGISTRY: dict[str, str] = {
    "reference": "inference.backends.reference:ReferenceBackend",
    "torch": "inference.backends.torch_backend:TorchBackend",
    "onnx": "inference.backends.onnx_backend:OnnxBackend",
    "native": "inference.backends.native_backend:NativeBackend",
}

# The pip extra that brings a backend's third-party imports, where they are not base dependencies.
EXTRAS: dict[str, str] = {"onnx": "onnx"}

BACKENDS: tuple[str, ...] = tuple(REGISTRY)


def backend_class(name: str) -> type[Backend]:
    """The class implementing backend ``name`` (imported now).

    Raises :class:`UnknownBackendError` for a name not in :data:`REGISTRY`, and for a backend whose
    third-party dependencies are not installed (saying which module is missing and what to install).
    """
    target = REGISTRY.get(name) if isinstance(name, str) else None
    if target is None:
        raise UnknownBackendError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = exc.name or ""
        if missing == "inference" or missing.startswith("inference."):
            raise  # our own code is broken: not a missing extra
        extra = EXTRAS.get(name)
        hint = f"pip install 'music-genie[{extra}]'" if extra else f"install {missing or 'it'}"
        needs = f"the {extra} extra" if extra else "a package that is not installed"
        raise UnknownBackendError(
            f"the {name} backend needs {needs} ({missing or exc} is missing): {hint}"
        ) from exc
    return getattr(module, class_name)


def backend_precisions(name: str) -> tuple[str, ...]:
    """The precisions backend ``name`` implements (raises as :func:`backend_class` does)."""
    return backend_class(name).precisions


__all__ = [
    "BACKENDS",
    "EXTRAS",
    "REGISTRY",
    "Backend",
    "ChunkCallback",
    "StepCallback",
    "backend_class",
    "backend_precisions",
]
