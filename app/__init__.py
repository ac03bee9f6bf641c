"""Music Genie's web service: the Litestar app that puts the inference engine behind a REST API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("music-genie")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"
