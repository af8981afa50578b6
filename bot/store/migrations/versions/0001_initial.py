"""Initial schema: reporters, cases, reports, links, evidence, status changes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reporters",
        sa.Column("sender_key", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("contact_encrypted", sa.Text(), nullable=True),
        sa.Column("consent_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("erased_at", TS, nullable=True),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("canonical_url", sa.String(2048), nullable=False, unique=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("first_reported_at", TS, nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_code", sa.String(16), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
        sa.Column("reporter_key", sa.String(64), sa.ForeignKey("reporters.sender_key"),
                  nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("region_code", sa.String(16), nullable=True),
        sa.Column("region_name", sa.String(200), nullable=True),
        sa.Column("known_date", sa.Date(), nullable=True),
        sa.Column("reported_party", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_reports_reporter_created", "reports", ["reporter_key", "created_at"])
    op.create_table(
        "report_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("reports.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("original_url", sa.String(2048), nullable=False),
        sa.Column("canonical_url", sa.String(2048), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("check_status", sa.String(32), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("page_title", sa.String(300), nullable=True),
        sa.Column("checked_at", TS, nullable=True),
    )
    op.create_index("ix_report_links_report_id", "report_links", ["report_id"])
    op.create_index("ix_report_links_case_id", "report_links", ["case_id"])
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("reports.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mime_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_path", sa.String(500), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_evidence_report_id", "evidence", ["report_id"])
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("reports.id"), nullable=False),
        sa.Column("old_status", sa.String(16), nullable=True),
        sa.Column("new_status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
    )
    op.create_index("ix_status_changes_report_id", "status_changes", ["report_id"])


def downgrade() -> None:
    for table in ("status_changes", "evidence", "report_links", "reports", "cases",
                  "reporters"):
        op.drop_table(table)
