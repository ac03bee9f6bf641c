"""Music Genie's MusicGen inference engine; usable without the web service.

>>> from inference import Engine, EngineConfig, GenerationParams
>>> engine = Engine.load(EngineConfig(model="tiny-random"))
>>> result = engine.generate(GenerationParams("lo-fi beat with warm piano, 90 bpm", duration=5, seed=7))
"""

from inference.audio import StreamEncoder
from inference.device import DEVICES, PRECISIONS
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
from inference.registry import CONTEXT_S, MAX_DURATION_S, WINDOW_STRIDE_S
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
    "CONTEXT_S",
    "DEVICES",
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
    "ModelUnavailableError",
    "Progress",
    "ProgressCallback",
    "StreamEncoder",
    "Timings",
    "UnknownBackendError",
    "UnknownModelError",
    "UnsupportedPrecisionError",
    "__version__",
]
