"""benchmark_runs: one row per timed generation of `musicgenie bench`.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "benchmark_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", sa.String(40), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("architecture", sa.String(50), nullable=False),
        sa.Column("backend", sa.String(50), nullable=False),
        sa.Column("precision", sa.String(20), nullable=False),
        sa.Column("device", sa.String(50), nullable=False),
        sa.Column("device_type", sa.String(20), nullable=False),
        sa.Column("device_name", sa.String(200), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=True),
        sa.Column("clip_seconds", sa.Float(), nullable=False),
        sa.Column("repeat", sa.Integer(), server_default="0", nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("realtime_factor", sa.Float(), nullable=False),
        sa.Column("ms_per_step", sa.Float(), nullable=False),
        sa.Column("generation_time", sa.Float(), nullable=False),
        sa.Column("load_time", sa.Float(), nullable=False),
        sa.Column("peak_memory_mb", sa.Float(), nullable=True),
        sa.Column("vs_reference", sa.Float(), nullable=True),
        sa.Column("vs_reference_float32", sa.Float(), nullable=True),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("host", sa.String(200), server_default="", nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_benchmark_runs"),
    )
    op.create_index("ix_benchmark_runs_run_id", "benchmark_runs", ["run_id"])
    op.create_index("ix_benchmark_runs_created_at", "benchmark_runs", ["created_at"])
    op.create_index(
        "ix_benchmark_runs_lookup", "benchmark_runs", ["architecture", "device_type", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("benchmark_runs")
