"""Reviewers' console: accounts, tokens, sessions, audit log, cases' work, referrals.

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-01

Adds the console's tables (see the "Reviewers' console" section of
bot/store/models.py), the `destination` and `outcome` of status changes, and the
triggers that make `audit_log` append-only on SQLite and PostgreSQL (the same
statements as `models.AUDIT_LOG_TRIGGERS`, spelled out here so this script keeps
its meaning when the models change).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ROLES = "('pengawas', 'koordinator', 'admin')"

_TRIGGERS = {
    "sqlite": (
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ),
    "postgresql": (
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ),
}
_DROP_TRIGGERS = {
    "sqlite": ("DROP TRIGGER IF EXISTS audit_log_no_update",
               "DROP TRIGGER IF EXISTS audit_log_no_delete"),
    "postgresql": ("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log",
                   "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
                   "DROP FUNCTION IF EXISTS audit_log_append_only()"),
}


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the console's tables and add destination/outcome to status changes."""
    with op.batch_alter_table("status_changes") as batch:
        batch.add_column(sa.Column("destination", sa.String(40), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(40), nullable=True))

    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("region_codes", sa.String(1000), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", _ts(), nullable=True),
        sa.Column("disabled_at", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_users")),
        sa.UniqueConstraint("name", name=op.f("uq_console_users_name")),
        sa.CheckConstraint(f"role IN {_ROLES}", name=op.f("ck_console_users_role_known")),
        sa.CheckConstraint("failed_logins >= 0",
                           name=op.f("ck_console_users_failed_logins_not_negative")),
    )
    op.create_table(
        "console_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("last_used_at", _ts(), nullable=True),
        sa.Column("revoked_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_api_tokens")),
        sa.ForeignKeyConstraint(["user_id"], ["console_users.id"],
                                name=op.f("fk_console_api_tokens_user_id_console_users"),
                                ondelete="CASCADE"),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_console_api_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_console_api_tokens_user_id"), "console_api_tokens", ["user_id"])
    op.create_table(
        "console_sessions",
        sa.Column("id_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("last_seen_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_console_sessions")),
        sa.ForeignKeyConstraint(["user_id"], ["console_users.id"],
                                name=op.f("fk_console_sessions_user_id_console_users"),
                                ondelete="CASCADE"),
    )
    op.create_index(op.f("ix_console_sessions_user_id"), "console_sessions", ["user_id"])
    op.create_table(
        "console_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_hash", sa.String(64), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_login_failures")),
    )
    op.create_index(op.f("ix_console_login_failures_client_hash_at"), "console_login_failures",
                    ["client_hash", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    for statement in _TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.create_table(
        "case_assignments",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_assignments")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_assignments_case_id_cases")),
        sa.ForeignKeyConstraint(["user_id"], ["console_users.id"],
                                name=op.f("fk_case_assignments_user_id_console_users")),
    )
    op.create_index(op.f("ix_case_assignments_user_id"), "case_assignments", ["user_id"])
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_notes_case_id_cases")),
    )
    op.create_index(op.f("ix_case_notes_case_id"), "case_notes", ["case_id"])
    op.create_table(
        "case_link_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("check_status", sa.String(32), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("page_title", sa.String(300), nullable=True),
        sa.Column("checked_by", sa.String(64), nullable=False),
        sa.Column("checked_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_link_checks")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_link_checks_case_id_cases")),
    )
    op.create_index(op.f("ix_case_link_checks_case_id"), "case_link_checks", ["case_id"])
    op.create_table(
        "referral_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("sent_at", _ts(), nullable=True),
        sa.Column("platform_reference", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_batches")),
    )
    op.create_table(
        "referral_batch_cases",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "case_id", name=op.f("pk_referral_batch_cases")),
        sa.ForeignKeyConstraint(["batch_id"], ["referral_batches.id"],
                                name=op.f("fk_referral_batch_cases_batch_id_referral_batches"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_referral_batch_cases_case_id_cases")),
    )
    op.create_index(op.f("ix_referral_batch_cases_case_id"), "referral_batch_cases",
                    ["case_id"])


def downgrade() -> None:
    """Drop the console's tables (children first) and the status changes' new columns."""
    for statement in _DROP_TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    for table in ("referral_batch_cases", "referral_batches", "case_link_checks", "case_notes",
                  "case_assignments", "audit_log", "console_login_failures",
                  "console_sessions", "console_api_tokens", "console_users"):
        op.drop_table(table)
    with op.batch_alter_table("status_changes") as batch:
        batch.drop_column("outcome")
        batch.drop_column("destination")
