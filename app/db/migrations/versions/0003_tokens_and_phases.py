"""music_generations: the creator's token (its hash) and the progress phase and fraction.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("music_generations") as batch:
        batch.add_column(sa.Column("token_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("progress_phase", sa.String(20), server_default="queued", nullable=False))
        batch.add_column(sa.Column("progress_fraction", sa.Float(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("music_generations") as batch:
        batch.drop_column("progress_fraction")
        batch.drop_column("progress_phase")
        batch.drop_column("token_hash")
