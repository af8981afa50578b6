"""Initial schema: reporters, cases, reports, links, evidence, status changes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written to match bot/store/models.py at this revision (constraint names follow
models.NAMING_CONVENTION; `op.f()` marks them final so the convention is not
applied a second time). Types are spelled out here rather than imported
from the models, so this script keeps meaning the same after models change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_STATUSES = "('baru', 'diproses', 'diteruskan', 'selesai', 'ditolak')"


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table of the report store."""
    op.create_table(
        "reporters",
        sa.Column("sender_key", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("contact_encrypted", sa.Text(), nullable=True),
        sa.Column("consent_at", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("erased_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("sender_key", name=op.f("pk_reporters")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canonical_url", sa.String(2048), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("first_reported_at", _ts(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("canonical_url", name=op.f("uq_cases_canonical_url")),
        sa.CheckConstraint("report_count >= 0", name=op.f("ck_cases_report_count_not_negative")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_code", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("reporter_key", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("region_code", sa.String(16), nullable=True),
        sa.Column("region_name", sa.String(200), nullable=True),
        sa.Column("known_date", sa.Date(), nullable=True),
        sa.Column("reported_party", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.ForeignKeyConstraint(["reporter_key"], ["reporters.sender_key"],
                                name=op.f("fk_reports_reporter_key_reporters"),
                                ondelete="SET NULL"),
        sa.UniqueConstraint("ticket_code", name=op.f("uq_reports_ticket_code")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_reports_idempotency_key")),
        sa.CheckConstraint(f"status IN {_STATUSES}", name=op.f("ck_reports_status_known")),
    )
    op.create_index(op.f("ix_reports_reporter_key_created_at"), "reports",
                    ["reporter_key", "created_at"])
    op.create_index(op.f("ix_reports_status_created_at"), "reports", ["status", "created_at"])
    op.create_table(
        "report_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("original_url", sa.String(2048), nullable=False),
        sa.Column("canonical_url", sa.String(2048), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("check_status", sa.String(32), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("page_title", sa.String(300), nullable=True),
        sa.Column("checked_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_links")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"],
                                name=op.f("fk_report_links_report_id_reports"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_report_links_case_id_cases")),
        sa.UniqueConstraint("report_id", "case_id", name=op.f("uq_report_links_report_id")),
    )
    op.create_index(op.f("ix_report_links_case_id"), "report_links", ["case_id"])
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("mime_type", sa.String(255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_path", sa.String(1024), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"],
                                name=op.f("fk_evidence_report_id_reports"), ondelete="CASCADE"),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_evidence_size_not_negative")),
    )
    op.create_index(op.f("ix_evidence_report_id"), "evidence", ["report_id"])
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("old_status", sa.String(16), nullable=True),
        sa.Column("new_status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("changed_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_changes")),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"],
                                name=op.f("fk_status_changes_report_id_reports"),
                                ondelete="CASCADE"),
        sa.CheckConstraint(f"new_status IN {_STATUSES}",
                           name=op.f("ck_status_changes_new_status_known")),
    )
    op.create_index(op.f("ix_status_changes_report_id"), "status_changes", ["report_id"])


def downgrade() -> None:
    """Drop every table of the report store (children first)."""
    for table in ("status_changes", "evidence", "report_links", "reports", "cases",
                  "reporters"):
        op.drop_table(table)
