"""Music Genie's MusicGen inference engine; usable without the web service.

>>> from inference import Engine, EngineConfig, GenerationParams
>>> engine = Engine.load(EngineConfig(model="tiny-random"))
>>> result = engine.generate(GenerationParams("lo-fi beat with warm piano, 90 bpm", duration=5, seed=7))

What this package exports is its public API, all that the service (app/) may use:

- the engine: :class:`Engine`, :class:`EngineConfig`, :class:`GenerationParams`, its results,
  progress, limits and errors;
- the vocabularies: :data:`BACKENDS`, :data:`DEVICES`, :data:`PRECISIONS` (``AUTO`` lets the engine
  choose), with :func:`backend_precisions`, :func:`available_devices`, :func:`supported_precisions` and
  :func:`device_name` to say what this machine and each backend offer, :func:`model_spec` for a model;
- :func:`resolve_placement`: the device and precision a variant loads on, resolved as the engine does;
- audio: :data:`FORMATS`, :func:`normalize`, :func:`encode`, :func:`write_audio`, :class:`StreamEncoder`.
"""

from inference.audio import FORMATS, StreamEncoder, encode, normalize, write_audio
from inference.backends import BACKENDS, backend_precisions
from inference.device import DEVICES, PRECISIONS, available_devices, device_name, supported_precisions
from inference.engine import AudioCallback, Engine, ProgressCallback
from inference.errors import (
    BackendUnavailableError,
    DeviceUnavailableError,
    EngineNotLoadedError,
    GenerationCancelled,
    InferenceError,
    InvalidParameterError,
    ModelUnavailableError,
    UnknownBackendError,
    UnknownModelError,
    UnsupportedPrecisionError,
)
from inference.registry import CONTEXT_S, MAX_DURATION_S, WINDOW_STRIDE_S, ModelSpec, model_spec
from inference.tuning import AUTO, resolve_placement
from inference.types import (
    MAX_PROMPT_CHARS,
    PHASES,
    EngineConfig,
    GenerationParams,
    GenerationResult,
    Progress,
    Timings,
)

__version__ = "0.1.0"

__all__ = [
    "AUTO",
    "BACKENDS",
    "CONTEXT_S",
    "DEVICES",
    "FORMATS",
    "MAX_DURATION_S",
    "MAX_PROMPT_CHARS",
    "PHASES",
    "PRECISIONS",
    "WINDOW_STRIDE_S",
    "AudioCallback",
    "BackendUnavailableError",
    "DeviceUnavailableError",
    "Engine",
    "EngineConfig",
    "EngineNotLoadedError",
    "GenerationCancelled",
    "GenerationParams",
    "GenerationResult",
    "InferenceError",
    "InvalidParameterError",
    "ModelSpec",
    "ModelUnavailableError",
    "Progress",
    "ProgressCallback",
    "StreamEncoder",
    "Timings",
    "UnknownBackendError",
    "UnknownModelError",
    "UnsupportedPrecisionError",
    "__version__",
    "available_devices",
    "backend_precisions",
    "device_name",
    "encode",
    "model_spec",
    "normalize",
    "resolve_placement",
    "supported_precisions",
    "write_audio",
]
