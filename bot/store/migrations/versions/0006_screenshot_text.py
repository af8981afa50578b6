"""Screenshots read: the text and perceptual hash of each evidence image.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Written to match bot/store/models.py `Evidence.extracted_text` and
`Evidence.perceptual_hash` (types spelled out so this script keeps its meaning
when the models change). Cases of reports without a link use the existing
`cases` table (`canonical_url` "screenshot:<sha256>"), so no other change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add evidence.extracted_text and evidence.perceptual_hash."""
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("extracted_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("perceptual_hash", sa.String(256), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("perceptual_hash")
        batch.drop_column("extracted_text")
