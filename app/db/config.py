"""The SQLAlchemy/advanced-alchemy configuration: one code path for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import event

from app.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def alchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    """Engine, sessions and migrations for `settings.database_url`."""
    if (path := settings.sqlite_path()) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine_kwargs: dict[str, Any] = {"echo": settings.database_echo}
    if settings.is_sqlite:
        engine_kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        engine_kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    config = SQLAlchemyAsyncConfig(
        connection_string=settings.database_url,
        engine_config=EngineConfig(**engine_kwargs),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit",
        set_default_exception_handler=False,
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS_DIR),
            script_config=str(MIGRATIONS_DIR / "alembic.ini"),
            version_table_name="alembic_versions",
        ),
    )
    if settings.is_sqlite:
        event.listen(config.get_engine().sync_engine, "connect", _sqlite_pragmas)
    return config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers, a busy timeout instead of 'database is locked', foreign keys on."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
