"""The notification outbox: one notice per status change, sent by the worker.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Written to match bot/store/models.py `Notification` (constraint names follow
models.NAMING_CONVENTION, marked final with `op.f()`; types spelled out here so
this script keeps its meaning when the models change later).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_STATES = "('pending', 'sent', 'queued', 'failed', 'impossible')"


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the notifications table and its indexes."""
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("status_change_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _ts(), nullable=True),
        sa.Column("lease_until", _ts(), nullable=True),
        sa.Column("claimed_by", sa.String(32), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("sent_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"],
                                name=op.f("fk_notifications_report_id_reports"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_change_id"], ["status_changes.id"],
                                name=op.f("fk_notifications_status_change_id_status_changes"),
                                ondelete="CASCADE"),
        sa.UniqueConstraint("status_change_id",
                            name=op.f("uq_notifications_status_change_id")),
        sa.CheckConstraint(f"state IN {_STATES}", name=op.f("ck_notifications_state_known")),
        sa.CheckConstraint("attempts >= 0",
                           name=op.f("ck_notifications_attempts_not_negative")),
    )
    op.create_index(op.f("ix_notifications_report_id"), "notifications", ["report_id"])
    op.create_index(op.f("ix_notifications_state_next_attempt_at"), "notifications",
                    ["state", "next_attempt_at"])


def downgrade() -> None:
    """Drop the notifications table (its indexes go with it)."""
    op.drop_table("notifications")
