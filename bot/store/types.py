"""Plain data passed in and out of the report store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class NewReportLink:
    """A link of a report to be filed, with what the link checker found."""

    original_url: str
    canonical_url: str
    platform: str
    check_status: str | None = None
    http_status: int | None = None
    page_title: str | None = None


@dataclass(frozen=True)
class NewReport:
    """A complete report, ready to be filed."""

    idempotency_key: str
    reporter_key: str | None
    channel: str
    category: str
    description: str
    links: list[NewReportLink] = field(default_factory=list)
    region_code: str | None = None
    region_name: str | None = None
    known_date: date | None = None
    reported_party: str | None = None


@dataclass(frozen=True)
class FiledReport:
    """The result of filing: the ticket code and which links were already known."""

    ticket_code: str
    created: bool
    duplicate_links: list[str]


@dataclass(frozen=True)
class ReportStatus:
    """What a reporter may see about their own report."""

    ticket_code: str
    status: str
    category: str
    created_at: datetime
    updated_at: datetime
    note: str | None = None


@dataclass(frozen=True)
class StatusUpdate:
    """A reviewer's status change and whom to notify about it."""

    ticket_code: str
    old_status: str
    new_status: str
    channel: str
    reporter_key: str | None
    contact_encrypted: str | None


class DailyCapExceeded(Exception):
    """The sender has reached the configured number of new reports per day."""


class InvalidTransition(ValueError):
    """A status change that the review workflow does not allow."""


class ReportNotFound(LookupError):
    """No report has this ticket code."""
