"""The loaded engines: the default variant (MODEL x BACKEND x DEVICE x PRECISION) and a few others.

Loading is slow, so it runs in a thread; the default variant loads in the background at start-up
while the service already answers. A reload builds the new engine before it retires the old one;
retiring waits for the engine's lock, so a generation in flight finishes first.

BACKEND or PRECISION `auto`: the engine tries the variants `musicgenie bench` recorded as fastest for
this model's architecture on the device (`rankings`), then a default order; the one that loads is
cached under its resolved name, and the `auto` request is remembered as an alias of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db.models import utcnow
from app.settings import Settings
from inference import (
    AUTO,
    BACKENDS,
    Engine,
    EngineConfig,
    EngineNotLoadedError,
    InferenceError,
    ModelUnavailableError,
    available_devices,
    backend_precisions,
    device_name,
    resolve_placement,
    supported_precisions,
)

log = logging.getLogger("app.engines")

DEFAULT_CPU_MAX_BATCH = 4
"""Four tracks per step: on 2 cores the native step of four tracks costs about 1.5 times one's
(benchmarks/README.md, "Many tracks at once")."""

Loader = Callable[[EngineConfig], Engine]
Unloader = Callable[[Engine], None]
Rankings = Callable[[str, str], Awaitable[tuple[tuple[str, str], ...]]]
"""(model, resolved device) -> recorded (backend, precision) pairs, fastest first."""


@dataclass(frozen=True, slots=True)
class Variant:
    """A resolved variant: the key of the engine cache."""

    model: str
    backend: str
    device: str
    precision: str

    @property
    def tuned(self) -> bool:
        """Backend or precision is still `auto`: the engine picks them when it loads."""
        return AUTO in (self.backend, self.precision)


def _unload(engine: Engine) -> None:
    engine.unload()


class EngineManager:
    """Loads, caches, reloads and retires engines; reports the model's status."""

    def __init__(
        self,
        settings: Settings,
        loader: Loader = Engine.load,
        unloader: Unloader = _unload,
        rankings: Rankings | None = None,
    ) -> None:
        self.model = settings.model
        self.backend = settings.backend
        self.device = settings.device
        self.precision = settings.precision
        self.cache_dir = str(settings.model_cache_dir)
        self.threads = settings.torch_threads
        self.window_stride_s = settings.window_stride_s
        self.capacity = settings.engine_cache_size
        self.max_batch = settings.max_batch
        self._loader = loader
        self._unloader = unloader
        self._rankings = rankings
        self._engines: OrderedDict[Variant, Engine] = OrderedDict()
        self._aliases: dict[Variant, Variant] = {}  # an `auto` request -> the variant it resolved to
        self._load_lock = asyncio.Lock()
        self._reload_lock = asyncio.Lock()
        self._startup: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self.status = "loading"
        self.error: str | None = None
        self.error_type: str | None = None
        self.default: Variant | None = None
        self.loaded_at: datetime | None = None
        self.reloading = False
        self._machine: list[dict[str, Any]] | None = None

    # --- resolution -------------------------------------------------------------------------

    def variant(self, device: str | None = None, precision: str | None = None) -> Variant:
        """Resolve a request's device/precision (None: the service's) against this machine.

        Raises the engine's errors (invalid_parameter, device_unavailable, unsupported_precision...).
        """
        request = self._request(self.model, self.backend, device or self.device, precision or self.precision)
        return self._known(request)

    def requested(self, device: str | None = None, precision: str | None = None) -> Variant:
        """A request's variant as asked (`auto` where it asks nothing), for a worker elsewhere to resolve
        against its machine and its model settings at the time."""
        return Variant(self.model, self.backend, device or AUTO, precision or AUTO)

    @property
    def current_backend(self) -> str:
        """The default variant's backend once loaded (BACKEND may say `auto`)."""
        return self.default.backend if self.default else self.backend

    @staticmethod
    def _request(model: str, backend: str, device: str, precision: str) -> Variant:
        """Check and resolve what can be resolved now; backend/precision may stay `auto`."""
        resolved, precision = resolve_placement(backend, device, precision)
        return Variant(model, backend, resolved, precision)

    def _known(self, request: Variant) -> Variant:
        """The loaded variant an `auto` request stands for, if known (else the request itself)."""
        if not request.tuned:
            return request
        if (alias := self._aliases.get(request)) is not None:
            return alias
        if request.backend == AUTO and request.precision != AUTO:  # any loaded backend will do
            matches = [
                v
                for v in self._engines
                if (v.model, v.device, v.precision) == (request.model, request.device, request.precision)
            ]
            if matches:
                return self.default if self.default in matches else matches[-1]
        return request

    def _max_batch(self, device: str) -> int:
        """MAX_BATCH, or its default for the device type."""
        if self.max_batch is not None:
            return self.max_batch
        return DEFAULT_CPU_MAX_BATCH if device == "cpu" else 1

    @property
    def batch_capacity(self) -> int:
        """Jobs the default engine generates at once (1 until it is loaded, or where it cannot batch)."""
        engine = self._engines.get(self.default) if self.default is not None else None
        return engine.batch_capacity if engine is not None and engine.loaded else 1

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Load the default variant in the background."""
        self._startup = asyncio.create_task(self._load_default(), name="engine-startup")

    async def wait_ready(self) -> None:
        """Wait for the start-up load to end (ready or error)."""
        if self._startup is not None:
            await asyncio.shield(self._startup)

    async def _load_default(self) -> None:
        self.status, self.error, self.error_type = "loading", None, None
        try:
            variant, _ = await self._load(self.variant())
        except InferenceError as exc:
            self.status, self.error, self.error_type = "error", str(exc), exc.error_type
            log.error("model %s could not be loaded: %s", self.model, exc)
            return
        except Exception as exc:
            self.status, self.error, self.error_type = "error", f"{type(exc).__name__}: {exc}", "load_failed"
            log.exception("model %s could not be loaded", self.model)
            return
        self.default = variant
        self.status = "ready"
        self.loaded_at = utcnow()
        log.info("model %s ready on %s (%s)", variant.model, variant.device, variant.precision)

    async def close(self) -> None:
        """Unload every engine (at shutdown)."""
        if self._startup is not None and not self._startup.done():
            self._startup.cancel()
        engines = list(self._engines.values())
        self._engines.clear()
        for engine in engines:
            await asyncio.to_thread(self._unloader, engine)
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    # --- use ---------------------------------------------------------------------------------

    async def get(self, device: str, precision: str) -> Engine:
        """The engine for a resolved device and precision of the current model, loading it if needed."""
        await self.wait_ready()
        request = Variant(self.model, self.backend, device, precision)
        if self.status == "error" and request == self._default_guess():
            raise ModelUnavailableError(self.error or f"model {self.model} is not available")
        engine = self._cached(self._known(request))
        if engine is not None:
            return engine
        async with self._load_lock:
            engine = self._cached(self._known(request))
            if engine is None:
                _, engine = await self._load(request)
        return engine

    def _cached(self, variant: Variant) -> Engine | None:
        engine = self._engines.get(variant)
        if engine is not None and not engine.loaded:
            del self._engines[variant]
            return None
        if engine is not None:
            self._engines.move_to_end(variant)
        return engine

    def _default_guess(self) -> Variant | None:
        try:
            return self.variant()
        except InferenceError:
            return None

    async def _build(self, request: Variant) -> tuple[Variant, Engine]:
        """Load a variant in a thread (an `auto` one with the recorded ranking); what it resolved to."""
        preferences = None
        if request.tuned:
            preferences = await self._rankings(request.model, request.device) if self._rankings else ()
        config = EngineConfig(
            model=request.model,
            backend=request.backend,
            device=request.device,
            precision=request.precision,
            cache_dir=self.cache_dir,
            threads=self.threads,
            preferences=preferences,
            window_stride_s=self.window_stride_s,
            max_batch=self._max_batch(request.device),
        )
        engine = await asyncio.to_thread(self._loader, config)
        if not request.tuned:
            return request, engine
        info = engine.info()
        resolved = Variant(request.model, info["backend"], info["device"], info["precision"])
        log.info(
            "%s %s/%s on %s: loaded %s:%s",
            request.model,
            request.backend,
            request.precision,
            request.device,
            resolved.backend,
            resolved.precision,
        )
        return resolved, engine

    async def _load(self, request: Variant) -> tuple[Variant, Engine]:
        variant, engine = await self._build(request)
        if request.tuned:
            self._aliases[request] = variant
        existing = self._cached(variant)
        if existing is not None and existing is not engine:  # `auto` landed on a variant already loaded
            self._retire(engine)
            return variant, existing
        self._engines[variant] = engine
        self._evict()
        return variant, engine

    def _evict(self) -> None:
        while len(self._engines) > self.capacity:
            victim = next((v for v in self._engines if v != self.default), None)
            if victim is None:
                return
            self._retire(self._engines.pop(victim))

    def _retire(self, engine: Engine) -> None:
        """Unload in a thread; the engine's lock makes this wait for a generation in flight."""
        task = asyncio.create_task(asyncio.to_thread(self._unloader, engine), name="engine-retire")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def reload(
        self,
        model: str | None = None,
        backend: str | None = None,
        device: str | None = None,
        precision: str | None = None,
    ) -> None:
        """Switch to another model/backend/device/precision; the old engines retire once idle.

        On failure the old engines stay in service (and the error is raised).
        """
        async with self._reload_lock:
            await self.wait_ready()
            model, backend = model or self.model, backend or self.backend
            device, precision = device or self.device, precision or self.precision
            request = self._request(model, backend, device, precision)
            self.reloading = True
            try:
                variant, engine = await self._build(request)
            finally:
                self.reloading = False
            async with self._load_lock:
                old = list(self._engines.values())
                self._engines = OrderedDict({variant: engine})
                self._aliases = {request: variant} if request.tuned else {}
                self.model, self.backend, self.device, self.precision = model, backend, device, precision
                self.default = variant
                self.status, self.error, self.error_type = "ready", None, None
                self.loaded_at = utcnow()
            for previous in old:
                if previous is not engine:
                    self._retire(previous)
            log.info("model reloaded: %s on %s (%s)", model, variant.device, variant.precision)

    def machine_devices(self) -> list[dict[str, Any]]:
        """Device types this machine has, best first, with their name and precisions (looked up once)."""
        if self._machine is None:
            devices = []
            for kind in available_devices():
                try:
                    name = device_name(kind)
                except Exception:  # a driver that cannot name its GPU still runs it
                    name = kind
                devices.append({"device": kind, "name": name, "precisions": supported_precisions(kind)})
            self._machine = devices
        return self._machine

    def devices(self) -> list[dict[str, Any]]:
        """What a generation may ask for here: each device with the precisions the backend runs on it."""
        allowed = None if self.backend == AUTO else set(backend_precisions(self.backend))
        return [
            {**entry, "precisions": [p for p in entry["precisions"] if allowed is None or p in allowed]}
            for entry in self.machine_devices()
        ]

    @staticmethod
    def backends() -> list[dict[str, Any]]:
        """The engine's backends and the precisions each implements."""
        return [{"backend": name, "precisions": list(backend_precisions(name))} for name in BACKENDS]

    def snapshot(self) -> dict[str, Any]:
        """What `GET /model/status` reports."""
        info: dict[str, Any] | None = None
        engine = self._engines.get(self.default) if self.default else None
        if engine is not None:
            try:
                info = engine.info()
            except EngineNotLoadedError:
                info = None
        return {
            "status": self.status,
            "model": self.model,
            "backend": self.current_backend,
            "device": self.default.device if self.default else self.device,
            "precision": self.default.precision if self.default else self.precision,
            "reloading": self.reloading,
            "error_type": self.error_type,
            "error": self.error,
            "loaded_at": self.loaded_at,
            "info": info,
            "loaded_variants": [
                {"model": v.model, "backend": v.backend, "device": v.device, "precision": v.precision}
                for v in self._engines
            ],
            "devices": self.devices(),
            "backends": self.backends(),
        }
