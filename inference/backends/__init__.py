"""Backends compute the same function; ``reference`` is transformers' own ``generate``."""

from __future__ import annotations

from inference.backends.base import Backend, StepCallback
from inference.errors import UnknownBackendError
from inference.musicgen.codec import ChunkCallback

BACKENDS = ("reference", "torch", "onnx", "native")


def backend_class(name: str) -> type[Backend]:
    """The class implementing backend ``name``."""
    if name == "reference":
        from inference.backends.reference import ReferenceBackend

        return ReferenceBackend
    if name == "torch":
        from inference.backends.torch_backend import TorchBackend

        return TorchBackend
    if name == "onnx":
        try:
            from inference.backends.onnx_backend import OnnxBackend
        except ImportError as exc:
            raise UnknownBackendError(
                f"the onnx backend needs the onnx extra ({exc.name} is missing): "
                "pip install 'music-genie[onnx]'"
            ) from exc

        return OnnxBackend
    if name == "native":
        from inference.backends.native_backend import NativeBackend

        return NativeBackend
    raise UnknownBackendError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "ChunkCallback", "StepCallback", "backend_class"]
