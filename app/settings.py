"""Every setting of the service, read from the environment (and a `.env` file) in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from inference import WINDOW_STRIDE_S

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/musicgenie.db"


class Settings(BaseSettings):
    """Service settings; each field is read from the environment variable of the same name, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        protected_namespaces=(),
    )

    # The seed's variables.
    audio_dir: Path = Field(Path("./data/audio"), description="Where finished audio files are stored.")
    model_cache_dir: Path = Field(Path("./models"), description="Where model weights are built or cached.")
    environment: Literal["development", "production", "test"] = "development"
    debug: bool = Field(False, description="Verbose logging (responses never carry tracebacks).")

    # Database.
    database_url: str = Field(DEFAULT_DATABASE_URL, description="SQLAlchemy URL: SQLite file or PostgreSQL.")
    database_echo: bool = False

    # Engine.
    model: str = Field("facebook/musicgen-small", description="Model preset, hub checkpoint or local dir.")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps.")
    precision: str = Field("auto", description="auto, float32, bfloat16, float16 or int8.")
    backend: str = Field(
        "auto", description="auto (fastest recorded by `musicgenie bench`), reference, torch, onnx, native."
    )
    engine_cache_size: int = Field(2, ge=1, le=8, description="Loaded model variants kept at once.")
    window_stride_s: float = Field(
        WINDOW_STRIDE_S,
        gt=0,
        description="Seconds each window of a long track moves on (the rest of the context is its prompt).",
    )
    torch_threads: int | None = Field(None, ge=1, description="CPU threads for torch (default: torch's).")
    max_batch: int | None = Field(
        None,
        ge=1,
        le=16,
        description=(
            "Jobs generated at once, sharing each decoder step (torch and native backends). Default: "
            "4 on CPU (benchmarks/README.md, many tracks per step), 1 on GPU (one job runs a CUDA graph)."
        ),
    )

    # Access.
    admin_api_key: SecretStr | None = Field(None, description="X-Admin-Key for admin endpoints.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:3000", "http://127.0.0.1:3000"],
        description="Comma-separated origins allowed by CORS.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated proxy addresses or networks whose X-Forwarded-For is believed.",
    )
    rate_limits_enabled: bool = True
    rate_limits: dict[str, int] = Field(
        default_factory=dict, description='Per-minute overrides as JSON, e.g. {"generate": 20}.'
    )

    # Jobs.
    queue_max_size: int = Field(16, ge=1, le=10_000, description="Jobs waiting at most; more get 429.")
    shutdown_grace_s: float = Field(30.0, ge=0, description="How long shutdown waits for the running job.")
    requeue_interrupted: bool = Field(False, description="Requeue jobs a crash left running (else fail).")
    metrics_interval_s: float = Field(60.0, gt=0, description="Seconds between system_metrics samples.")
    metrics_retention_days: int = Field(7, ge=1, description="Days of system_metrics kept.")

    # Scale-out: the queue backend and its workers.
    queue: Literal["local", "saq"] = Field(
        "local",
        description=(
            "local: the worker runs in the service process (SQLite or PostgreSQL). saq: jobs go through "
            "SAQ's PostgreSQL queue to `musicgenie worker` processes on any machine (needs PostgreSQL)."
        ),
    )
    embedded_worker: bool = Field(
        False, description="With QUEUE=saq: also run a worker (and load a model) in the service process."
    )
    worker_name: str | None = Field(
        None, description="How a worker names itself in records and /health (default: host:pid)."
    )
    worker_heartbeat_s: float = Field(
        15.0,
        ge=1,
        le=600,
        description=(
            "With QUEUE=saq (a worker's setting): a running job's heartbeat timeout. A worker killed mid-job "
            "has its job picked up (or failed, per REQUEUE_INTERRUPTED) within about 1.5x this + 5 s."
        ),
    )
    rate_limit_store: str | None = Field(
        None,
        description="A redis:// URL: rate-limit counters shared by every API process. Default: in memory.",
    )

    # Uploads.
    max_upload_mb: float = Field(
        20.0, gt=0, le=1024, description="Largest audio file POST /generate takes (MiB); 413 above."
    )

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async drivers."""
        for plain, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        return value

    @model_validator(mode="after")
    def _saq_needs_postgres(self) -> Settings:
        if self.queue == "saq" and self.is_sqlite:
            raise ValueError("QUEUE=saq needs a PostgreSQL DATABASE_URL (workers on other machines share it)")
        if self.rate_limit_store is not None and not self.rate_limit_store.startswith(
            ("redis://", "rediss://")
        ):
            raise ValueError("RATE_LIMIT_STORE must be a redis:// or rediss:// URL")
        return self

    @property
    def runs_worker(self) -> bool:
        """Whether this service process generates (always with QUEUE=local)."""
        return self.queue == "local" or self.embedded_worker

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite URL (None for in-memory or other databases)."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[-1].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
