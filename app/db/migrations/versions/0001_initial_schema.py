"""Initial schema: the seed's four tables plus the job columns of music_generations.

Revision ID: 0001
Revises:
Create Date: 2025-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, DateTimeUTC(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("username", sa.String(50), nullable=False),
        sa.Column("email", sa.String(100), nullable=True),
        _timestamp("created_at"),
        sa.Column("preferred_device", sa.String(20), server_default="auto", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "music_generations",
        sa.Column("id", ID, nullable=False),
        sa.Column("generation_id", sa.String(100), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("device", sa.String(50), nullable=False),
        sa.Column("precision", sa.String(20), nullable=False),
        sa.Column("generation_time", sa.Float(), server_default="0", nullable=False),
        sa.Column("realtime_factor", sa.Float(), server_default="0", nullable=False),
        sa.Column("file_path", sa.String(500), nullable=True),
        sa.Column("audio_url", sa.String(500), nullable=True),
        sa.Column("file_size_mb", sa.Float(), server_default="0", nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), server_default="0", nullable=False),
        sa.Column("play_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("download_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_favorited", sa.Boolean(), server_default=sa.false(), nullable=False),
        _timestamp("last_played", nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at", nullable=True),
        sa.Column("duration_requested", sa.Float(), nullable=False),
        sa.Column("top_k", sa.Integer(), nullable=False),
        sa.Column("top_p", sa.Float(), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=False),
        sa.Column("cfg_coef", sa.Float(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("backend", sa.String(50), nullable=False),
        sa.Column("error_type", sa.String(50), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("progress_step", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress_eta_s", sa.Float(), nullable=True),
        _timestamp("started_at", nullable=True),
        _timestamp("finished_at", nullable=True),
        sa.Column("user_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_music_generations_user_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_music_generations"),
        sa.UniqueConstraint("generation_id", name="uq_music_generations_generation_id"),
    )
    op.create_index("ix_music_generations_created_at", "music_generations", ["created_at"])
    op.create_index("ix_music_generations_status_created_at", "music_generations", ["status", "created_at"])
    op.create_index("ix_music_generations_play_count", "music_generations", ["play_count", "created_at"])
    op.create_index("ix_music_generations_user_id", "music_generations", ["user_id"])
    _create_search_index()
    op.create_table(
        "usage_stats",
        sa.Column("id", ID, nullable=False),
        _timestamp("date"),
        sa.Column("total_generations", sa.Integer(), server_default="0", nullable=False),
        sa.Column("successful_generations", sa.Integer(), server_default="0", nullable=False),
        sa.Column("avg_generation_time", sa.Float(), server_default="0", nullable=False),
        sa.Column("failed_generations", sa.Integer(), server_default="0", nullable=False),
        sa.Column("canceled_generations", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_generation_time", sa.Float(), server_default="0", nullable=False),
        sa.Column("total_audio_seconds", sa.Float(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_usage_stats"),
        sa.UniqueConstraint("date", name="uq_usage_stats_date"),
    )
    op.create_table(
        "system_metrics",
        sa.Column("id", ID, nullable=False),
        _timestamp("timestamp"),
        sa.Column("cpu_usage", sa.Float(), nullable=True),
        sa.Column("memory_usage", sa.Float(), nullable=True),
        sa.Column("gpu_usage", sa.Float(), nullable=True),
        sa.Column("gpu_memory_usage", sa.Float(), nullable=True),
        sa.Column("queue_depth", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_system_metrics"),
    )
    op.create_index("ix_system_metrics_timestamp", "system_metrics", ["timestamp"])


def _create_search_index() -> None:
    """`GET /search` runs lower(prompt) LIKE '%term%': a trigram index on PostgreSQL if pg_trgm exists."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _ensure_pg_trgm(bind):
        op.execute(
            "CREATE INDEX ix_music_generations_prompt_lower ON music_generations "
            "USING gin (lower(prompt) gin_trgm_ops)"
        )
    else:
        op.create_index("ix_music_generations_prompt_lower", "music_generations", [sa.text("lower(prompt)")])


def _ensure_pg_trgm(bind: sa.Connection) -> bool:
    installed = bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
    if installed:
        return True
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
    if not available:
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:  # no privilege to create extensions: a plain index will do
        return False
    return True


def downgrade() -> None:
    op.drop_table("system_metrics")
    op.drop_table("usage_stats")
    op.drop_index("ix_music_generations_prompt_lower", table_name="music_generations")
    op.drop_table("music_generations")
    op.drop_table("users")
