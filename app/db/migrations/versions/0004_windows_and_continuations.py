"""music_generations: how many decoder windows a track took (1 up to the model's context), and the
track a continuation extends (`parent_id`) with how much of its end is the prompt (`prompt_seconds`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("music_generations") as batch:
        batch.add_column(sa.Column("windows", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("parent_id", sa.String(100), nullable=True))
        batch.add_column(sa.Column("prompt_seconds", sa.Float(), nullable=True))
        batch.create_index("ix_music_generations_parent_id", ["parent_id"])


def downgrade() -> None:
    with op.batch_alter_table("music_generations") as batch:
        batch.drop_index("ix_music_generations_parent_id")
        batch.drop_column("prompt_seconds")
        batch.drop_column("parent_id")
        batch.drop_column("windows")
