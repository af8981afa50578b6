"""Volunteer taskforces: codes, memberships, and the volunteer mark on reports.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01

Written to match bot/store/models.py `VolunteerCode`, `VolunteerMembership` and
`Report.volunteer_code_id` (names follow models.NAMING_CONVENTION, final with
`op.f()`; types spelled out so this script keeps its meaning when the models change).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create volunteer_codes and volunteer_memberships; add reports.volunteer_code_id."""
    op.create_table(
        "volunteer_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("region_code", sa.String(16), nullable=False),
        sa.Column("taskforce", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("revoked_at", _ts(), nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteer_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_volunteer_codes_code")),
    )
    op.create_table(
        "volunteer_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("sender_key", sa.String(64), nullable=False),
        sa.Column("joined_at", _ts(), nullable=False),
        sa.Column("left_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteer_memberships")),
        sa.ForeignKeyConstraint(
            ["code_id"], ["volunteer_codes.id"],
            name=op.f("fk_volunteer_memberships_code_id_volunteer_codes")),
    )
    op.create_index(op.f("ix_volunteer_memberships_code_id"), "volunteer_memberships",
                    ["code_id"])
    op.create_index(op.f("ix_volunteer_memberships_sender_key"), "volunteer_memberships",
                    ["sender_key"])
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("volunteer_code_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_reports_volunteer_code_id_volunteer_codes"),
                                 "volunteer_codes", ["volunteer_code_id"], ["id"])
        batch.create_index(op.f("ix_reports_volunteer_code_id"), ["volunteer_code_id"])


def downgrade() -> None:
    """Drop the volunteer mark and the taskforce tables."""
    with op.batch_alter_table("reports") as batch:
        batch.drop_index(op.f("ix_reports_volunteer_code_id"))
        batch.drop_constraint(op.f("fk_reports_volunteer_code_id_volunteer_codes"),
                              type_="foreignkey")
        batch.drop_column("volunteer_code_id")
    op.drop_index(op.f("ix_volunteer_memberships_sender_key"), "volunteer_memberships")
    op.drop_index(op.f("ix_volunteer_memberships_code_id"), "volunteer_memberships")
    op.drop_table("volunteer_memberships")
    op.drop_table("volunteer_codes")
