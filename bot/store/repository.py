"""The report store: durable filing, idempotency, duplicate cases, status, erasure.

Methods are synchronous (SQLAlchemy); the action server calls them through
`asyncio.to_thread`. A report is committed before `file_report` returns, so the
citizen is told "filed" only for data that is on disk.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.db import make_engine, migrate
from bot.store.models import Case, Report, Reporter, ReportLink, StatusChange, utcnow
from bot.store.tickets import new_ticket_code, normalize_ticket_code
from bot.store.types import (
    DailyCapExceeded,
    FiledReport,
    InvalidTransition,
    NewReport,
    ReportNotFound,
    ReportStatus,
    StatusUpdate,
)

logger = logging.getLogger(__name__)

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "baru": frozenset({"diproses", "diteruskan", "selesai", "ditolak"}),
    "diproses": frozenset({"diteruskan", "selesai", "ditolak"}),
    "diteruskan": frozenset({"diproses", "selesai"}),
    "selesai": frozenset({"diproses"}),
    "ditolak": frozenset({"diproses"}),
}
CAP_WINDOW = timedelta(hours=24)
MAX_ATTEMPTS = 5


def _aware(moment: datetime) -> datetime:
    """SQLite drops the time zone; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class ReportStore:
    """All database access for reports; safe to share between threads."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        """The engine, created and migrated on first use."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    migrate(self.database_url)
                    self._engine = make_engine(self.database_url)
        return self._engine

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self._engine is not None:
            self._engine.dispose()

    # --- reporters -----------------------------------------------------------

    def record_consent(self, sender_key: str, channel: str, contact_encrypted: str | None = None
                       ) -> None:
        """Remember that this reporter agreed to the processing of their data."""
        with Session(self.engine) as session, session.begin():
            reporter = session.get(Reporter, sender_key)
            if reporter is None:
                reporter = Reporter(sender_key=sender_key, channel=channel)
                session.add(reporter)
            reporter.consent_at = utcnow()
            reporter.erased_at = None
            if contact_encrypted:
                reporter.contact_encrypted = contact_encrypted

    def has_consent(self, sender_key: str) -> bool:
        """True when the reporter has agreed and not erased their data since."""
        with Session(self.engine) as session:
            reporter = session.get(Reporter, sender_key)
            return bool(reporter and reporter.consent_at and not reporter.erased_at)

    def erase_reporter(self, sender_key: str) -> int:
        """Erase contact data and consent; keep the reports, anonymised. Returns their count."""
        with Session(self.engine) as session, session.begin():
            reporter = session.get(Reporter, sender_key)
            if reporter is not None:
                reporter.contact_encrypted = None
                reporter.consent_at = None
                reporter.erased_at = utcnow()
            result = session.execute(
                update(Report).where(Report.reporter_key == sender_key)
                .values(reporter_key=None)
            )
            return int(result.rowcount or 0)

    # --- filing --------------------------------------------------------------

    def count_recent(self, sender_key: str, now: datetime | None = None) -> int:
        """Reports filed by this sender in the last 24 hours."""
        since = (now or utcnow()) - CAP_WINDOW
        with Session(self.engine) as session:
            return int(session.scalar(
                select(func.count(Report.id)).where(
                    Report.reporter_key == sender_key, Report.created_at >= since
                )
            ) or 0)

    def file_report(self, report: NewReport, daily_cap: int | None = None) -> FiledReport:
        """Store a report durably and return its ticket code.

        The same idempotency key returns the report filed before (`created` is
        False). Links whose canonical URL was reported before join that case and
        are listed in `duplicate_links`. Raises DailyCapExceeded at the cap.
        """
        for attempt in range(MAX_ATTEMPTS):
            try:
                return self._file_once(report, daily_cap)
            except IntegrityError:
                # A concurrent submission with the same key, a case created in
                # between, or (very rarely) a ticket-code collision: look again.
                logger.info("Filing conflict, retrying (attempt %d)", attempt + 1)
        raise RuntimeError("could not file the report after several attempts")

    def _file_once(self, report: NewReport, daily_cap: int | None) -> FiledReport:
        with Session(self.engine) as session, session.begin():
            existing = session.scalar(
                select(Report).where(Report.idempotency_key == report.idempotency_key)
            )
            if existing is not None:
                return FiledReport(existing.ticket_code, created=False, duplicate_links=[])
            now = utcnow()
            if report.reporter_key:
                if daily_cap is not None:
                    recent = session.scalar(
                        select(func.count(Report.id)).where(
                            Report.reporter_key == report.reporter_key,
                            Report.created_at >= now - CAP_WINDOW,
                        )
                    ) or 0
                    if recent >= daily_cap:
                        raise DailyCapExceeded(f"{recent} reports in the last 24 hours")
                if session.get(Reporter, report.reporter_key) is None:
                    session.add(Reporter(sender_key=report.reporter_key, channel=report.channel))
            code = new_ticket_code()
            while session.scalar(select(Report.id).where(Report.ticket_code == code)):
                code = new_ticket_code()
            row = Report(
                ticket_code=code, idempotency_key=report.idempotency_key,
                reporter_key=report.reporter_key, channel=report.channel,
                category=report.category, description=report.description,
                region_code=report.region_code, region_name=report.region_name,
                known_date=report.known_date, reported_party=report.reported_party,
                status="baru", created_at=now, updated_at=now,
            )
            session.add(row)
            duplicates: list[str] = []
            seen: set[str] = set()
            for link in report.links:
                if link.canonical_url in seen:
                    continue
                seen.add(link.canonical_url)
                case = session.scalar(select(Case).where(Case.canonical_url == link.canonical_url))
                if case is None:
                    case = Case(canonical_url=link.canonical_url, platform=link.platform,
                                first_reported_at=now, report_count=0)
                    session.add(case)
                    session.flush()
                else:
                    duplicates.append(link.original_url)
                case.report_count = (case.report_count or 0) + 1
                row.links.append(ReportLink(
                    case_id=case.id, original_url=link.original_url,
                    canonical_url=link.canonical_url, platform=link.platform,
                    check_status=link.check_status, http_status=link.http_status,
                    page_title=link.page_title, checked_at=now,
                ))
            row.changes.append(StatusChange(old_status=None, new_status="baru",
                                            changed_by="sistem", changed_at=now))
        logger.info("Filed report %s with %d links", code, len(seen))
        return FiledReport(code, created=True, duplicate_links=duplicates)

    # --- status --------------------------------------------------------------

    def get_status(self, ticket_code: str, sender_key: str) -> ReportStatus | None:
        """The status of a report, only for the reporter who filed it."""
        code = normalize_ticket_code(ticket_code)
        if code is None or not sender_key:
            return None
        with Session(self.engine) as session:
            row = session.scalar(
                select(Report).where(Report.ticket_code == code,
                                     Report.reporter_key == sender_key)
            )
            if row is None:
                return None
            note = next((c.note for c in reversed(row.changes) if c.note), None)
            return ReportStatus(row.ticket_code, row.status, row.category,
                                _aware(row.created_at), _aware(row.updated_at), note)

    def list_reports(self, sender_key: str, limit: int = 10) -> list[ReportStatus]:
        """The reporter's newest reports."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(Report).where(Report.reporter_key == sender_key)
                .order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)
            ).all()
            return [ReportStatus(r.ticket_code, r.status, r.category, _aware(r.created_at),
                                 _aware(r.updated_at)) for r in rows]

    def update_status(self, ticket_code: str, new_status: str, changed_by: str,
                      note: str | None = None) -> StatusUpdate:
        """A reviewer's status change, audited; returns whom to notify."""
        code = normalize_ticket_code(ticket_code)
        with Session(self.engine) as session, session.begin():
            row = session.scalar(select(Report).where(Report.ticket_code == code)) if code else None
            if row is None:
                raise ReportNotFound(ticket_code)
            old = row.status
            if new_status not in ALLOWED_TRANSITIONS.get(old, frozenset()):
                raise InvalidTransition(f"{old} -> {new_status}")
            now = utcnow()
            row.status = new_status
            row.updated_at = now
            row.changes.append(StatusChange(old_status=old, new_status=new_status, note=note,
                                            changed_by=changed_by, changed_at=now))
            reporter = session.get(Reporter, row.reporter_key) if row.reporter_key else None
            return StatusUpdate(row.ticket_code, old, new_status, row.channel, row.reporter_key,
                                reporter.contact_encrypted if reporter else None)
