"""The SQLAlchemy/advanced-alchemy configuration: one code path for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from advanced_alchemy.alembic.commands import AlembicCommands
from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_versions"
UPGRADE_COMMAND = "musicgenie database upgrade"
SQLITE_BUSY_TIMEOUT_MS = 30_000

log = logging.getLogger("app.db")


class DatabaseNotMigratedError(RuntimeError):
    """The database's schema is older (or newer) than this code's."""


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
            version_table_name=VERSION_TABLE,
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


def head_revision() -> str:
    """The newest migration this code has."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


async def current_revision(url: str) -> str | None:
    """The migration the database is at; None for a database that was never migrated."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalar()
    except (OperationalError, ProgrammingError, DBAPIError) as exc:
        if "does not exist" in str(exc) or "no such table" in str(exc):
            return None
        raise
    finally:
        await engine.dispose()


async def ensure_schema(settings: Settings) -> None:
    """At start-up: migrate the embedded SQLite database; a PostgreSQL one must have been migrated.

    Raises DatabaseNotMigratedError, which says the command to run, for a PostgreSQL database that is
    behind (or ahead of) this code.
    """
    head, current = head_revision(), await current_revision(settings.database_url)
    if current == head:
        return
    if settings.is_sqlite:
        log.info("migrating the SQLite database from %s to %s", current or "nothing", head)
        # Alembic runs an event loop of its own: give it a thread.
        await asyncio.to_thread(AlembicCommands(alchemy_config(settings)).upgrade)
        return
    message = (
        f"the database is at migration {current or '(none: never migrated)'}, this code needs {head}: "
        f"run `{UPGRADE_COMMAND}` with the same DATABASE_URL, then start again"
    )
    log.error(message)
    raise DatabaseNotMigratedError(message)
