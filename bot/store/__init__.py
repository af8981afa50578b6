"""Durable storage of reports (SQLite by default, PostgreSQL via DATABASE_URL).

The public API for actions, channels and reviewer tools::

    store = ReportStore(get_settings().database_url)     # lazy: no I/O until used
    filed = store.file_report(NewReport(...), daily_cap)  # -> FiledReport
    store.get_status(code, sender_key)                   # -> ReportStatus | None
    store.list_reports(sender_key, limit=10)             # -> list[ReportStatus]
    store.update_status(code, "diproses", "petugas-1", note="...")  # -> StatusUpdate
    store.update_case_status(case_id, "diteruskan", "petugas-1", destination="tiktok")
    #   (the reporter's notice is queued in the same transaction: bot/notify, docs/notifications.md)
    store.notification_states([code])                    # -> {code: [NotificationState]}
    store.record_consent(sender_key, channel, contact=None); store.has_consent(sender_key)
    store.erase_reporter(sender_key)                     # -> reports anonymised
"""

from bot.store.db import make_engine, migrate
from bot.store.repository import CAP_WINDOW, ReportStore
from bot.store.tickets import find_ticket_codes, new_ticket_code, normalize_ticket_code
from bot.store.types import (
    ALLOWED_TRANSITIONS,
    NOTIFICATION_STATES,
    STATUSES,
    CaseNotFound,
    DailyCapExceeded,
    FiledReport,
    IdempotencyConflict,
    InvalidTransition,
    NewEvidence,
    NewReport,
    NewReportLink,
    NotificationState,
    ReportNotFound,
    ReportStatus,
    StatusUpdate,
    StoreError,
)

__all__ = [
    "ALLOWED_TRANSITIONS", "CAP_WINDOW", "NOTIFICATION_STATES", "STATUSES", "CaseNotFound",
    "DailyCapExceeded", "FiledReport", "IdempotencyConflict", "InvalidTransition", "NewEvidence",
    "NewReport", "NewReportLink", "NotificationState", "ReportNotFound", "ReportStatus",
    "ReportStore", "StatusUpdate", "StoreError",
    "find_ticket_codes", "make_engine", "migrate", "new_ticket_code", "normalize_ticket_code",
]
