"""Durable storage of reports (SQLite by default, PostgreSQL via DATABASE_URL)."""

from bot.store.repository import ALLOWED_TRANSITIONS, ReportStore
from bot.store.tickets import find_ticket_codes, new_ticket_code, normalize_ticket_code
from bot.store.types import (
    DailyCapExceeded,
    FiledReport,
    InvalidTransition,
    NewReport,
    NewReportLink,
    ReportNotFound,
    ReportStatus,
    StatusUpdate,
)

__all__ = [
    "ALLOWED_TRANSITIONS", "DailyCapExceeded", "FiledReport", "InvalidTransition", "NewReport",
    "NewReportLink", "ReportNotFound", "ReportStatus", "ReportStore", "StatusUpdate",
    "find_ticket_codes", "new_ticket_code", "normalize_ticket_code",
]
