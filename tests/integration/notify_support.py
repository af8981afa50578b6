"""Shared helpers of the notification tests: reporters, reports, status changes, a clock."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select, text

from bot.privacy import sender_key
from bot.store import NewReport, NewReportLink, ReportStore
from bot.store.models import Notification

PHONE = "6281114141414"  # a WhatsApp id
CHAT_ID = 512345678  # a Telegram chat id
VIDEO = "https://www.tiktok.com/@akun/video/1"


def reporter(store: ReportStore, channel: str, contact: str | int | None,
             consent: bool = True) -> str:
    """A reporter on `channel` (keyed like the connectors do); consents with `contact`."""
    raw = contact if contact is not None else uuid.uuid4().hex
    key = sender_key("web" if channel == "webchat" else channel, str(raw))
    if consent:
        store.record_consent(key, channel, contact=str(contact) if contact is not None else None)
    return key


def file_report(store: ReportStore, key: str | None, channel: str) -> str:
    """File a report for `key` on `channel`; its ticket code."""
    return store.file_report(NewReport(
        idempotency_key=uuid.uuid4().hex, reporter_key=key, channel=channel, category="hoaks",
        description="video hoaks tentang paslon dua",
        links=[NewReportLink(VIDEO, VIDEO, "tiktok")]), daily_cap=0).ticket_code


def scalar(store: ReportStore, sql: str, **params: Any) -> Any:
    with store.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def rows(store: ReportStore, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params).all()]


def notices(store: ReportStore) -> list[tuple[Any, ...]]:
    """(channel, state, attempts, last_error) of every notice, oldest first."""
    return rows(store, "SELECT channel, state, attempts, last_error FROM notifications"
                       " ORDER BY id")


def next_attempts(store: ReportStore) -> list[datetime | None]:
    """When each notice is due next (timezone-aware), oldest notice first."""
    with store.engine.connect() as connection:
        return list(connection.execute(
            select(Notification.next_attempt_at).order_by(Notification.id)).scalars())


class Clock:
    """A settable UTC clock for the worker and the store (no test waits for real time)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
