"""Database tables for reports (SQLAlchemy 1.4 declarative models).

Every timestamp is timezone-aware UTC in Python (`UTCDateTime`), stored as
`timestamptz` on PostgreSQL and as UTC text on SQLite. Constraint and index
names follow `NAMING_CONVENTION` so they are identical on both databases and
future migrations can refer to them. Any change here needs a new migration in
`migrations/versions/` (a test compares the migrated schema with these models).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from bot.store.types import CONSOLE_ROLES, INITIAL_STATUS, NOTIFICATION_STATES, STATUSES

logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base: Any = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

# Column sizes, shared with the store's input validation.
URL_LENGTH = 2048
KEY_LENGTH = 64
CHANNEL_LENGTH = 32
STATUS_LENGTH = 16
DECISION_LENGTH = 40
USER_NAME_LENGTH = 64
STATE_LENGTH = 16
ERROR_LENGTH = 200
CLAIM_LENGTH = 32
_STATUS_SQL = "(" + ", ".join(f"'{status}'" for status in STATUSES) + ")"
_STATE_SQL = "(" + ", ".join(f"'{state}'" for state in NOTIFICATION_STATES) + ")"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on every database."""

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Refuse naive datetimes; store UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware datetimes")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """SQLite returns naive UTC, PostgreSQL the session time zone: give UTC back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Reporter(Base):
    """A person behind a channel sender, known only by a keyed hash (`sender_key`)."""

    __tablename__ = "reporters"
    sender_key = Column(String(KEY_LENGTH), primary_key=True)
    channel = Column(String(CHANNEL_LENGTH), nullable=False)
    contact_encrypted = Column(Text, nullable=True)  # Fernet token, see bot.privacy
    consent_at = Column(UTCDateTime(), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    erased_at = Column(UTCDateTime(), nullable=True)  # the latest erasure request


class Case(Base):
    """One piece of online content (canonical URL), however many people report it."""

    __tablename__ = "cases"
    id = Column(Integer, primary_key=True)
    canonical_url = Column(String(URL_LENGTH), nullable=False)
    platform = Column(String(32), nullable=False)
    first_reported_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    report_count = Column(Integer, nullable=False, default=0)
    links = relationship("ReportLink", back_populates="case")

    __table_args__ = (
        UniqueConstraint("canonical_url"),
        CheckConstraint("report_count >= 0", name="report_count_not_negative"),
    )


class Report(Base):
    """One citizen report (laporan), identified to the reporter by its ticket code."""

    __tablename__ = "reports"
    id = Column(Integer, primary_key=True)
    ticket_code = Column(String(16), nullable=False)
    idempotency_key = Column(String(128), nullable=False)
    # NULL once the reporter has erased their data: the report itself is kept.
    reporter_key = Column(String(KEY_LENGTH),
                          ForeignKey("reporters.sender_key", ondelete="SET NULL"),
                          nullable=True)
    channel = Column(String(CHANNEL_LENGTH), nullable=False)
    category = Column(String(40), nullable=False)
    description = Column(Text, nullable=False)
    region_code = Column(String(16), nullable=True)
    region_name = Column(String(200), nullable=True)
    known_date = Column(Date, nullable=True)
    reported_party = Column(String(200), nullable=True)
    status = Column(String(STATUS_LENGTH), nullable=False, default=INITIAL_STATUS)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    # Set by the store at filing from the reporter's active taskforce membership
    # (never from the client): the report was filed by a volunteer with this code.
    volunteer_code_id = Column(Integer, ForeignKey("volunteer_codes.id"), nullable=True,
                               index=True)
    links = relationship("ReportLink", back_populates="report", order_by="ReportLink.id",
                         cascade="all, delete-orphan", passive_deletes=True)
    evidence = relationship("Evidence", back_populates="report", order_by="Evidence.id",
                            cascade="all, delete-orphan", passive_deletes=True)
    changes = relationship("StatusChange", back_populates="report", order_by="StatusChange.id",
                           cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        UniqueConstraint("ticket_code"),
        UniqueConstraint("idempotency_key"),
        CheckConstraint(f"status IN {_STATUS_SQL}", name="status_known"),
        # The daily cap counts a reporter's recent reports; status pages list them.
        Index("ix_reports_reporter_key_created_at", "reporter_key", "created_at"),
        # Reviewers' queues: reports by status, oldest first.
        Index("ix_reports_status_created_at", "status", "created_at"),
    )


class ReportLink(Base):
    """A link in a report, the case it belongs to, and what the link checker found."""

    __tablename__ = "report_links"
    id = Column(Integer, primary_key=True)
    report_id = Column(Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    original_url = Column(String(URL_LENGTH), nullable=False)
    canonical_url = Column(String(URL_LENGTH), nullable=False)
    platform = Column(String(32), nullable=False)
    check_status = Column(String(32), nullable=True)
    http_status = Column(Integer, nullable=True)
    page_title = Column(String(300), nullable=True)
    checked_at = Column(UTCDateTime(), nullable=True)
    report = relationship("Report", back_populates="links")
    case = relationship("Case", back_populates="links")

    # One row per case in a report (also serves look-ups by report_id).
    __table_args__ = (UniqueConstraint("report_id", "case_id"),)


#: The pHash of a screenshot: 32x32 bits as hex (bot/ocr/fingerprint.py).
PERCEPTUAL_HASH_LENGTH = 256
#: Cases of reports that carry no link, only a screenshot: `canonical_url` is this
#: prefix and the SHA-256 of the first such screenshot (never fetched, never a link).
SCREENSHOT_CASE_PREFIX = "screenshot:"


def is_screenshot_case(canonical_url: str | None) -> bool:
    """True for the case of a screenshot without any link."""
    return bool(canonical_url) and str(canonical_url).startswith(SCREENSHOT_CASE_PREFIX)


class Evidence(Base):
    """A file (screenshot, document) sent with a report; the file itself lives on disk.

    For a screenshot, the text read from it (`extracted_text`, shown to reviewers) and
    its perceptual hash (`perceptual_hash`) put screenshots of one post in one case.
    """

    __tablename__ = "evidence"
    id = Column(Integer, primary_key=True)
    report_id = Column(Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False,
                       index=True)
    kind = Column(String(32), nullable=False)
    mime_type = Column(String(255), nullable=False)
    size_bytes = Column(BigInteger, nullable=False)
    sha256 = Column(String(64), nullable=False)
    storage_path = Column(String(1024), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    extracted_text = Column(Text, nullable=True)
    perceptual_hash = Column(String(PERCEPTUAL_HASH_LENGTH), nullable=True)
    report = relationship("Report", back_populates="evidence")

    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size_not_negative"),)


class StatusChange(Base):
    """The audit trail: every status a report went through, who set it, when and why."""

    __tablename__ = "status_changes"
    id = Column(Integer, primary_key=True)
    report_id = Column(Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False,
                       index=True)
    old_status = Column(String(STATUS_LENGTH), nullable=True)  # NULL for the filing itself
    new_status = Column(String(STATUS_LENGTH), nullable=False)
    note = Column(Text, nullable=True)
    changed_by = Column(String(100), nullable=False)
    changed_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    # Where a report was forwarded ("diteruskan") and how it ended ("selesai"):
    # values of bot/resources/decisions.yml, checked by bot.decisions.
    destination = Column(String(DECISION_LENGTH), nullable=True)
    outcome = Column(String(DECISION_LENGTH), nullable=True)
    report = relationship("Report", back_populates="changes")

    __table_args__ = (CheckConstraint(f"new_status IN {_STATUS_SQL}", name="new_status_known"),)



# --- Reviewers' console (console/) ------------------------------------------------
#
# Accounts, API tokens and sessions of Bawaslu staff, the append-only audit log,
# case assignment and notes, link re-checks and takedown referral batches. Sessions
# live here (not in one process's memory) so that several console replicas share them.

_ROLE_SQL = "(" + ", ".join(f"'{role}'" for role in CONSOLE_ROLES) + ")"


class ConsoleUser(Base):
    """A reviewer account: role, regions (for pengawas), argon2 password hash, lockout."""

    __tablename__ = "console_users"
    id = Column(Integer, primary_key=True)
    name = Column(String(USER_NAME_LENGTH), nullable=False)
    role = Column(String(16), nullable=False)
    # Space-separated province ("33") or kabupaten/kota ("33.75") codes; "" for none.
    region_codes = Column(String(1000), nullable=False, default="")
    password_hash = Column(String(255), nullable=False)
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime(), nullable=True)
    disabled_at = Column(UTCDateTime(), nullable=True)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint(f"role IN {_ROLE_SQL}", name="role_known"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),
    )


class ApiToken(Base):
    """A bearer token of the JSON API; only its SHA-256 is stored (shown once at creation)."""

    __tablename__ = "console_api_tokens"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("console_users.id", ondelete="CASCADE"),
                     nullable=False, index=True)
    token_sha256 = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    last_used_at = Column(UTCDateTime(), nullable=True)
    revoked_at = Column(UTCDateTime(), nullable=True)

    __table_args__ = (UniqueConstraint("token_sha256"),)


class ConsoleSession(Base):
    """A logged-in browser: the SHA-256 of the cookie's random id, its CSRF token, activity."""

    __tablename__ = "console_sessions"
    id_sha256 = Column(String(64), primary_key=True)
    user_id = Column(Integer, ForeignKey("console_users.id", ondelete="CASCADE"),
                     nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class LoginFailure(Base):
    """A failed login from one client (a keyed hash of its address), for throttling."""

    __tablename__ = "console_login_failures"
    id = Column(Integer, primary_key=True)
    client_hash = Column(String(64), nullable=False)
    at = Column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (Index("ix_console_login_failures_client_hash_at", "client_hash", "at"),)


class AuditEntry(Base):
    """Who viewed, exported, decided or revealed what, when. Append-only: database
    triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL); no code edits it.
    `detail` is a JSON object and never holds contact data."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    actor = Column(String(USER_NAME_LENGTH), nullable=False)
    action = Column(String(40), nullable=False)
    target = Column(String(200), nullable=True)
    detail = Column(Text, nullable=False, default="{}")


#: The statements making audit_log append-only, per dialect; the migration runs the
#: same ones, and `create_all` (tests' reference schemas) gets them through events.
AUDIT_LOG_TRIGGERS: dict[str, tuple[str, ...]] = {
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
for _dialect, _statements in AUDIT_LOG_TRIGGERS.items():
    for _statement in _statements:
        event.listen(AuditEntry.__table__, "after_create",
                     DDL(_statement).execute_if(dialect=_dialect))


class CaseAssignment(Base):
    """The reviewer a koordinator gave a case to (one at a time)."""

    __tablename__ = "case_assignments"
    case_id = Column(Integer, ForeignKey("cases.id"), primary_key=True)
    user_id = Column(Integer, ForeignKey("console_users.id"), nullable=False, index=True)
    assigned_by = Column(String(USER_NAME_LENGTH), nullable=False)
    assigned_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class CaseNote(Base):
    """A reviewer's working note on a case (internal, never sent to reporters)."""

    __tablename__ = "case_notes"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    author = Column(String(USER_NAME_LENGTH), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class LinkCheck(Base):
    """A re-check of a case's link asked for by a reviewer (the filing-time check stays
    on report_links); a link found gone is the evidence for "konten diturunkan"."""

    __tablename__ = "case_link_checks"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    url = Column(String(URL_LENGTH), nullable=False)
    check_status = Column(String(32), nullable=False)
    http_status = Column(Integer, nullable=True)
    page_title = Column(String(300), nullable=True)
    checked_by = Column(String(USER_NAME_LENGTH), nullable=False)
    checked_at = Column(UTCDateTime(), nullable=False, default=utcnow)


class ReferralBatch(Base):
    """A takedown request to one platform: which cases, when sent, the platform's reference."""

    __tablename__ = "referral_batches"
    id = Column(Integer, primary_key=True)
    platform = Column(String(32), nullable=False)
    created_by = Column(String(USER_NAME_LENGTH), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at = Column(UTCDateTime(), nullable=True)
    platform_reference = Column(String(200), nullable=True)


class ReferralCase(Base):
    """A case in a referral batch."""

    __tablename__ = "referral_batch_cases"
    batch_id = Column(Integer, ForeignKey("referral_batches.id", ondelete="CASCADE"),
                      primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), primary_key=True, index=True)


class Notification(Base):
    """The outbox: one notice per status change, to the reporter, on their channel.

    Written in the status change's own transaction, so a change is never
    committed without its notice (nor a notice without its change). It holds no
    contact: the worker reads the reporter's (encrypted) contact when it sends,
    so an erasure leaves nothing here to erase. A worker leases a row
    (`lease_until`, `claimed_by`) before sending it; see bot/notify/worker.py.
    """

    __tablename__ = "notifications"
    id = Column(Integer, primary_key=True)
    report_id = Column(Integer, ForeignKey("reports.id", ondelete="CASCADE"), nullable=False,
                       index=True)
    status_change_id = Column(Integer, ForeignKey("status_changes.id", ondelete="CASCADE"),
                              nullable=False)
    channel = Column(String(CHANNEL_LENGTH), nullable=False)
    state = Column(String(STATE_LENGTH), nullable=False, default="pending")
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime(), nullable=True)  # NULL: not waiting to be sent
    lease_until = Column(UTCDateTime(), nullable=True)  # a worker is sending it until then
    claimed_by = Column(String(CLAIM_LENGTH), nullable=True)  # that worker's claim token
    last_error = Column(String(ERROR_LENGTH), nullable=True)  # short, never personal data
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    sent_at = Column(UTCDateTime(), nullable=True)

    __table_args__ = (
        UniqueConstraint("status_change_id"),
        CheckConstraint(f"state IN {_STATE_SQL}", name="state_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The workers' "what is due now" look-up.
        Index("ix_notifications_state_next_attempt_at", "state", "next_attempt_at"),
    )


# --- Volunteer taskforces (gugus tugas) -----------------------------------------------
#
# A koordinator issues codes for a region's taskforce; a verified sender who sends a
# valid code in chat becomes a member (by sender key only); reports they file while a
# member carry the code (reports.volunteer_code_id). See bot/store/volunteers.py.


class VolunteerCode(Base):
    """A taskforce's volunteer code ("RLW-4MZ8KD") for one region; revocable.

    The code itself is stored (not a hash): koordinators hand it out again and see it
    on the taskforce view, and it grants nothing but a mark on one's own reports."""

    __tablename__ = "volunteer_codes"
    id = Column(Integer, primary_key=True)
    code = Column(String(16), nullable=False)
    region_code = Column(String(16), nullable=False)
    taskforce = Column(String(200), nullable=False)
    created_by = Column(String(USER_NAME_LENGTH), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    revoked_at = Column(UTCDateTime(), nullable=True)
    revoked_by = Column(String(USER_NAME_LENGTH), nullable=True)

    __table_args__ = (UniqueConstraint("code"),)


class VolunteerMembership(Base):
    """A sender (pseudonymous key, never shown) in a taskforce, from joined_at to left_at."""

    __tablename__ = "volunteer_memberships"
    id = Column(Integer, primary_key=True)
    code_id = Column(Integer, ForeignKey("volunteer_codes.id"), nullable=False, index=True)
    sender_key = Column(String(KEY_LENGTH), nullable=False, index=True)
    joined_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    left_at = Column(UTCDateTime(), nullable=True)

# --- Evidence archive (bot/archive) --------------------------------------------------

ARCHIVE_STATES = ("pending", "done", "failed")
_ARCHIVE_STATE_SQL = "(" + ", ".join(f"'{state}'" for state in ARCHIVE_STATES) + ")"


class LinkArchive(Base):
    """The archive of one report link fetched at report time: a WARC file under var/.

    Queued ("pending") in the filing transaction (`ReportStore.file_report`), so a
    crash never loses the job; an archive worker leases it (`lease_until`,
    `claimed_by`), fetches with the SSRF-safe link checker and records the file
    ("done": path, size, SHA-256) or why it could not ("failed"). See bot/archive.
    """

    __tablename__ = "link_archives"
    id = Column(Integer, primary_key=True)
    report_link_id = Column(Integer, ForeignKey("report_links.id", ondelete="CASCADE"),
                            nullable=False)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    state = Column(String(STATE_LENGTH), nullable=False, default="pending")
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime(), nullable=True)  # NULL: not waiting
    lease_until = Column(UTCDateTime(), nullable=True)
    claimed_by = Column(String(CLAIM_LENGTH), nullable=True)
    fetched_at = Column(UTCDateTime(), nullable=True)
    final_url = Column(String(URL_LENGTH), nullable=True)
    http_status = Column(Integer, nullable=True)
    # The WARC file: path relative to var/, its size and SHA-256 (what a reviewer
    # downloads and can verify); payload_sha256 is the final page's body as received.
    path = Column(String(1024), nullable=True)
    bytes = Column(BigInteger, nullable=True)
    sha256 = Column(String(64), nullable=True)
    payload_sha256 = Column(String(64), nullable=True)
    page_meta = Column(Text, nullable=True)  # JSON: the page's title, description, ...
    last_error = Column(String(ERROR_LENGTH), nullable=True)  # short, never personal data
    created_at = Column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("report_link_id"),
        CheckConstraint(f"state IN {_ARCHIVE_STATE_SQL}", name="state_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_link_archives_state_next_attempt_at", "state", "next_attempt_at"),
    )


__all__ = [
    "ARCHIVE_STATES", "LinkArchive",
    "ApiToken", "AuditEntry", "AUDIT_LOG_TRIGGERS", "Base", "Case", "CaseAssignment", "CaseNote",
    "ConsoleSession", "ConsoleUser", "Evidence", "LinkCheck", "LoginFailure", "NAMING_CONVENTION",
    "Notification", "ReferralBatch", "ReferralCase", "Report", "ReportLink", "Reporter",
    "StatusChange", "UTCDateTime", "VolunteerCode", "VolunteerMembership", "utcnow",
    "PERCEPTUAL_HASH_LENGTH", "SCREENSHOT_CASE_PREFIX", "is_screenshot_case",
]
