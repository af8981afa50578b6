"""The evidence archive: one WARC job per report link, queued with the report.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Written to match bot/store/models.py `LinkArchive` (constraint names follow
models.NAMING_CONVENTION, marked final with `op.f()`; types spelled out here).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_STATES = "('pending', 'done', 'failed')"


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the link_archives table and its indexes."""
    op.create_table(
        "link_archives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_link_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _ts(), nullable=True),
        sa.Column("lease_until", _ts(), nullable=True),
        sa.Column("claimed_by", sa.String(32), nullable=True),
        sa.Column("fetched_at", _ts(), nullable=True),
        sa.Column("final_url", sa.String(2048), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(1024), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=True),
        sa.Column("page_meta", sa.Text(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_archives")),
        sa.ForeignKeyConstraint(["report_link_id"], ["report_links.id"],
                                name=op.f("fk_link_archives_report_link_id_report_links"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_link_archives_case_id_cases")),
        sa.UniqueConstraint("report_link_id", name=op.f("uq_link_archives_report_link_id")),
        sa.CheckConstraint(f"state IN {_STATES}", name=op.f("ck_link_archives_state_known")),
        sa.CheckConstraint("attempts >= 0",
                           name=op.f("ck_link_archives_attempts_not_negative")),
    )
    op.create_index(op.f("ix_link_archives_case_id"), "link_archives", ["case_id"])
    op.create_index(op.f("ix_link_archives_state_next_attempt_at"), "link_archives",
                    ["state", "next_attempt_at"])


def downgrade() -> None:
    """Drop the link_archives table (its indexes go with it)."""
    op.drop_table("link_archives")
