"""Start-up on a database nobody migrated: SQLite (the embedded default) is migrated; PostgreSQL is
refused with the command to run."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from app.asgi import create_app
from app.db.config import DatabaseNotMigratedError, current_revision, head_revision
from app.settings import Settings
from tests.integration.conftest import PG_SERVER, running


def settings_for(url: str, tmp_path: Path, model_cache_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        audio_dir=tmp_path / "audio",
        model_cache_dir=model_cache_dir,
        model="tiny-random",
        backend="reference",
        device="cpu",
        precision="float32",
        admin_api_key="k",
    )


async def test_a_new_sqlite_file_is_migrated_at_start_up(tmp_path: Path, model_cache_dir: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'musicgenie.db'}"
    app = create_app(settings_for(url, tmp_path, model_cache_dir))
    async with running(app):
        assert await current_revision(url) == head_revision()


@pytest.mark.postgres
async def test_an_unmigrated_postgresql_database_is_refused_with_the_command(
    tmp_path: Path, model_cache_dir: Path, postgres_database: str
) -> None:
    import asyncpg

    server = PG_SERVER.replace("postgresql+asyncpg://", "postgresql://")
    name = f"musicgenie_empty_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{server.rsplit('/', 1)[0]}/{name}"
        app = create_app(settings_for(url, tmp_path, model_cache_dir))
        with pytest.raises(BaseExceptionGroup) as failure:  # from the lifespan's task group
            async with running(app):
                pass
        assert failure.group_contains(DatabaseNotMigratedError, match="run `musicgenie database upgrade`")
        assert await current_revision(Settings(database_url=url).database_url) is None  # nothing touched
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
