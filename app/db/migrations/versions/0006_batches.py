"""music_generations: the batch a generation was asked in (`batch_id`: the variations of one request);
benchmark_runs: how many tracks ran at once (`tracks`; their aggregate realtime factor).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("music_generations") as batch:
        batch.add_column(sa.Column("batch_id", sa.String(length=100), nullable=True))
        batch.create_index("ix_music_generations_batch_id", ["batch_id"])
    with op.batch_alter_table("benchmark_runs") as batch:
        batch.add_column(sa.Column("tracks", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("benchmark_runs") as batch:
        batch.drop_column("tracks")
    with op.batch_alter_table("music_generations") as batch:
        batch.drop_index("ix_music_generations_batch_id")
        batch.drop_column("batch_id")
