"""music_generations.windows: how many decoder windows a track took (1 up to the model's context).

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


def downgrade() -> None:
    with op.batch_alter_table("music_generations") as batch:
        batch.drop_column("windows")
