"""Errors the engine raises; each carries a stable ``error_type`` that callers can show or map."""

from __future__ import annotations


class InferenceError(Exception):
    """Base class: ``error_type`` is stable, the message says what to do."""

    error_type = "inference_error"


class InvalidParameterError(InferenceError, ValueError):
    """A generation or engine parameter is out of bounds; ``field`` names it."""

    error_type = "invalid_parameter"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnknownModelError(InferenceError, ValueError):
    """The model name is neither a preset, a known checkpoint nor a local directory."""

    error_type = "unknown_model"


class ModelUnavailableError(InferenceError):
    """The model is known but its weights cannot be had here (offline, missing files)."""

    error_type = "model_unavailable"


class DeviceUnavailableError(InferenceError):
    """The requested device does not exist on this machine."""

    error_type = "device_unavailable"


class UnsupportedPrecisionError(InferenceError):
    """The precision cannot run (well) on the device or backend asked for."""

    error_type = "unsupported_precision"


class UnknownBackendError(InferenceError, ValueError):
    """The backend name is not one the engine has."""

    error_type = "unknown_backend"


class BackendUnavailableError(InferenceError):
    """The backend exists but cannot run on this machine (no C compiler, a CPU without AVX2...)."""

    error_type = "backend_unavailable"


class EngineNotLoadedError(InferenceError):
    """``generate`` was called on an engine that was unloaded."""

    error_type = "engine_not_loaded"


class GenerationCancelled(InferenceError):
    """The cancel event was set; generation stopped within one decoder step."""

    error_type = "canceled"
