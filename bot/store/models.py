"""Database tables for reports (SQLAlchemy 1.4 declarative models)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base, relationship

logger = logging.getLogger(__name__)

Base = declarative_base()

STATUSES = ("baru", "diproses", "diteruskan", "selesai", "ditolak")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class Reporter(Base):
    """A person behind a channel sender, known only by a keyed hash."""

    __tablename__ = "reporters"
    sender_key = Column(String(64), primary_key=True)
    channel = Column(String(32), nullable=False)
    contact_encrypted = Column(Text, nullable=True)
    consent_at = Column(DateTime(timezone=True), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    erased_at = Column(DateTime(timezone=True), nullable=True)


class Case(Base):
    """One piece of online content (canonical URL), however many people report it."""

    __tablename__ = "cases"
    id = Column(Integer, primary_key=True)
    canonical_url = Column(String(2048), nullable=False, unique=True)
    platform = Column(String(32), nullable=False)
    first_reported_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    report_count = Column(Integer, nullable=False, default=0)


class Report(Base):
    """One citizen report (laporan), identified to the reporter by its ticket code."""

    __tablename__ = "reports"
    id = Column(Integer, primary_key=True)
    ticket_code = Column(String(16), nullable=False, unique=True)
    idempotency_key = Column(String(128), nullable=False, unique=True)
    reporter_key = Column(String(64), ForeignKey("reporters.sender_key"), nullable=True)
    channel = Column(String(32), nullable=False)
    category = Column(String(40), nullable=False)
    description = Column(Text, nullable=False)
    region_code = Column(String(16), nullable=True)
    region_name = Column(String(200), nullable=True)
    known_date = Column(Date, nullable=True)
    reported_party = Column(String(200), nullable=True)
    status = Column(String(16), nullable=False, default="baru")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    links = relationship("ReportLink", back_populates="report", cascade="all, delete-orphan")
    changes = relationship("StatusChange", back_populates="report",
                           order_by="StatusChange.id", cascade="all, delete-orphan")

    __table_args__ = (Index("ix_reports_reporter_created", "reporter_key", "created_at"),)


class ReportLink(Base):
    """A link in a report and what the link checker found."""

    __tablename__ = "report_links"
    id = Column(Integer, primary_key=True)
    report_id = Column(Integer, ForeignKey("reports.id"), nullable=False, index=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    original_url = Column(String(2048), nullable=False)
    canonical_url = Column(String(2048), nullable=False)
    platform = Column(String(32), nullable=False)
    check_status = Column(String(32), nullable=True)
    http_status = Column(Integer, nullable=True)
    page_title = Column(String(300), nullable=True)
    checked_at = Column(DateTime(timezone=True), nullable=True)
    report = relationship("Report", back_populates="links")


class Evidence(Base):
    """A file (screenshot, document) sent with a report."""

    __tablename__ = "evidence"
    id = Column(Integer, primary_key=True)
    report_id = Column(Integer, ForeignKey("reports.id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    mime_type = Column(String(100), nullable=False)
    size_bytes = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    storage_path = Column(String(500), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class StatusChange(Base):
    """The audit trail of status changes made by reviewers."""

    __tablename__ = "status_changes"
    id = Column(Integer, primary_key=True)
    report_id = Column(Integer, ForeignKey("reports.id"), nullable=False, index=True)
    old_status = Column(String(16), nullable=True)
    new_status = Column(String(16), nullable=False)
    note = Column(Text, nullable=True)
    changed_by = Column(String(100), nullable=False)
    changed_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    report = relationship("Report", back_populates="changes")


__all__ = ["Base", "Case", "Evidence", "Report", "ReportLink", "Reporter", "StatusChange",
           "STATUSES", "utcnow"]
