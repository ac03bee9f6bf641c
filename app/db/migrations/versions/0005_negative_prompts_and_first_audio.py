"""music_generations: the negative prompt guidance steers away from (`negative_prompt`);
benchmark_runs: seconds from a generation's start to its first streamed audio (`first_audio_s`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("music_generations") as batch:
        batch.add_column(sa.Column("negative_prompt", sa.Text(), nullable=True))
    with op.batch_alter_table("benchmark_runs") as batch:
        batch.add_column(sa.Column("first_audio_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("benchmark_runs") as batch:
        batch.drop_column("first_audio_s")
    with op.batch_alter_table("music_generations") as batch:
        batch.drop_column("negative_prompt")
