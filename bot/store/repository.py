"""The report store: durable filing, idempotency, duplicate cases, status, erasure.

Methods are synchronous; the action server calls them through `asyncio.to_thread`.
One `ReportStore` per database URL is meant to be shared by all threads: the
engine is created, and the schema migrated, on first use.

Decisions worth knowing:

- A report is committed (and, on SQLite, fsynced: WAL + synchronous=FULL) before
  `file_report` returns, so a citizen is only told "filed" for data on disk.
- Idempotency: the same `idempotency_key` returns the earlier report
  (`created=False`), also when two submissions race (the loser's unique-key
  violation is caught and the winner's report re-read).
- The daily cap counts the reporter's reports of the **last 24 hours** (a
  rolling window, independent of time zones and without a midnight reset that
  would allow twice the cap in a few minutes). Idempotent replays and anonymous
  reports are not counted against it. Reports anonymised by an erasure no
  longer count either.
- Concurrency: writes take SQLite's write lock at BEGIN; on PostgreSQL the
  reporter row is locked (`SELECT ... FOR UPDATE`) so the cap holds under
  concurrent submissions, case counters are incremented in SQL, and cases are
  locked in URL order to avoid deadlocks; deadlocks and unique-key races retry.
- Nothing personal is logged: no sender keys, contacts, descriptions or URLs.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.decisions import check_values
from bot.privacy import decrypt_contact, encrypt_contact
from bot.settings import get_settings
from bot.store.db import make_engine, make_session_factory, migrate, writer
from bot.store.models import (
    URL_LENGTH,
    Case,
    Evidence,
    Report,
    Reporter,
    ReportLink,
    StatusChange,
    utcnow,
)
from bot.store.tickets import new_ticket_code, normalize_ticket_code
from bot.store.types import (
    ALLOWED_TRANSITIONS,
    INITIAL_STATUS,
    STATUSES,
    SYSTEM_ACTOR,
    CaseNotFound,
    DailyCapExceeded,
    FiledReport,
    IdempotencyConflict,
    InvalidTransition,
    NewReport,
    ReportNotFound,
    ReportStatus,
    StatusUpdate,
)

logger = logging.getLogger(__name__)

CAP_WINDOW = timedelta(hours=24)
MAX_ATTEMPTS = 6  # filing attempts after unique-key races or deadlocks
MAX_CODE_DRAWS = 20  # ticket codes tried per attempt before giving up
MAX_LIST_LIMIT = 100
PAGE_TITLE_LENGTH = 300
# PostgreSQL errors after which the whole transaction can simply be run again.
_RETRYABLE_PGCODES = frozenset({"40001", "40P01"})  # serialization failure, deadlock

# Input limits (characters) mirroring the column sizes; longer input is refused
# with a ValueError naming the field (never its content).
_LIMITS: dict[str, int] = {
    "idempotency_key": 128, "reporter_key": 64, "channel": 32, "category": 40,
    "region_code": 16, "region_name": 200, "reported_party": 200,
}


def _check_length(name: str, value: str | None, limit: int, required: bool = False) -> None:
    if value is None or value == "":
        if required:
            raise ValueError(f"{name} is required")
        return
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")


def _validate(report: NewReport) -> None:
    """Refuse input the database would reject or silently accept differently."""
    for name, limit in _LIMITS.items():
        _check_length(name, getattr(report, name), limit,
                      required=name in ("idempotency_key", "channel", "category"))
    if report.description is None:
        raise ValueError("description is required")
    for link in report.links:
        _check_length("original_url", link.original_url, URL_LENGTH, required=True)
        _check_length("canonical_url", link.canonical_url, URL_LENGTH, required=True)
        _check_length("platform", link.platform, 32, required=True)
        _check_length("check_status", link.check_status, 32)
    for item in report.evidence:
        _check_length("evidence kind", item.kind, 32, required=True)
        _check_length("evidence mime_type", item.mime_type, 255, required=True)
        _check_length("evidence storage_path", item.storage_path, 1024, required=True)
        digest = item.sha256 or ""
        if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise ValueError("evidence sha256 must be a 64-character hex digest")
        if item.size_bytes < 0:
            raise ValueError("evidence size_bytes must not be negative")


def _clean_note(note: str | None) -> str | None:
    """A reviewer's note without surrounding blanks; None when empty."""
    return note.strip() if note and note.strip() else None


def _retryable(exc: OperationalError) -> bool:
    return getattr(exc.orig, "pgcode", None) in _RETRYABLE_PGCODES


def _insert_ignoring_conflict(session: Session, table: Any, index_elements: list[str],
                              values: dict[str, Any]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL); returns rows inserted."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).values(**values).on_conflict_do_nothing(
        index_elements=index_elements)
    return int(session.execute(statement).rowcount or 0)


class ReportStore:
    """All database access for reports; one instance is safe to share between threads."""

    def __init__(self, database_url: str | None = None, *, auto_migrate: bool = True) -> None:
        self.database_url = database_url or get_settings().database_url
        self.auto_migrate = auto_migrate
        self._engine: Engine | None = None
        self._reads: sessionmaker | None = None
        self._writes: sessionmaker | None = None
        self._lock = threading.Lock()

    # --- plumbing ------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine, created (and the schema migrated) on first use."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    engine = make_engine(self.database_url)
                    if self.auto_migrate:
                        migrate(self.database_url, engine)
                    self._reads = make_session_factory(engine)
                    self._writes = make_session_factory(writer(engine))
                    self._engine = engine
        return self._engine

    @contextmanager
    def _read(self) -> Iterator[Session]:
        self.engine  # noqa: B018 - creates the session factories
        assert self._reads is not None
        with self._reads() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A session in a write transaction, committed on success, rolled back on error."""
        self.engine  # noqa: B018 - creates the session factories
        assert self._writes is not None
        with self._writes() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection (the store can still be used afterwards)."""
        if self._engine is not None:
            self._engine.dispose()

    # --- reporters -----------------------------------------------------------

    def record_consent(self, sender_key: str, channel: str, contact: str | None = None,
                       contact_token: str | None = None) -> None:
        """Record the reporter's consent to processing and how to reach them.

        `contact` (clear text) is stored encrypted; `contact_token` is a contact
        the channel already encrypted (`bot.privacy.encrypt_contact`), stored as
        is once it is known to decrypt with the configured keys. Without either,
        a contact stored earlier is kept.
        """
        _check_length("sender_key", sender_key, 64, required=True)
        _check_length("channel", channel, 32, required=True)
        token = encrypt_contact(contact) if contact else None
        if token is None and contact_token:
            if decrypt_contact(contact_token) is not None:
                token = contact_token
            else:
                logger.warning("Ignoring a contact token that does not decrypt")
        now = utcnow()
        with self._write() as session:
            _insert_ignoring_conflict(session, Reporter.__table__, ["sender_key"], {
                "sender_key": sender_key, "channel": channel, "created_at": now})
            values: dict[str, Any] = {"consent_at": now}
            if token is not None:
                values["contact_encrypted"] = token
            session.execute(update(Reporter).where(Reporter.sender_key == sender_key)
                            .values(**values))
        logger.info("Consent recorded (contact %s)", "stored" if token else "not given")

    def has_consent(self, sender_key: str) -> bool:
        """True when the reporter consented and has not erased their data since."""
        if not sender_key:
            return False
        with self._read() as session:
            consent_at = session.scalar(
                select(Reporter.consent_at).where(Reporter.sender_key == sender_key))
            return consent_at is not None

    def erase_reporter(self, sender_key: str) -> int:
        """Erase the reporter's data; keep their reports, anonymised. Returns how many.

        Deletes the reporter (the pseudonym, the encrypted contact, the consent)
        and unlinks every report (reporter_key NULL; the idempotency key, derived
        from the sender, is replaced by a random one). The reports' content stays
        for the election supervisors; the erased reporter can no longer see them,
        and a later report starts without consent.
        """
        if not sender_key:
            return 0
        with self._write() as session:
            ids = session.scalars(
                select(Report.id).where(Report.reporter_key == sender_key).with_for_update()
            ).all()
            for report_id in ids:
                session.execute(
                    update(Report).where(Report.id == report_id)
                    .values(reporter_key=None, idempotency_key="erased-" + secrets.token_hex(24)))
            session.execute(delete(Reporter).where(Reporter.sender_key == sender_key))
        logger.info("Reporter data erased; %d reports anonymised", len(ids))
        return len(ids)

    def evidence_in_use(self, sha256s: Iterable[str] | None = None) -> set[str]:
        """The hashes of evidence files some report refers to (among `sha256s`, or all)."""
        wanted = None if sha256s is None else sorted(set(sha256s))
        if wanted == []:
            return set()
        with self._read() as session:
            query = select(Evidence.sha256).distinct()
            if wanted is not None:
                query = query.where(Evidence.sha256.in_(wanted))
            return set(session.scalars(query).all())

    # --- filing --------------------------------------------------------------

    def count_recent(self, sender_key: str, now: datetime | None = None) -> int:
        """How many reports this sender filed in the last 24 hours (the daily cap window)."""
        with self._read() as session:
            return self._count_recent(session, sender_key, now or utcnow())

    @staticmethod
    def _count_recent(session: Session, sender_key: str, now: datetime) -> int:
        return int(session.scalar(
            select(func.count(Report.id)).where(
                Report.reporter_key == sender_key, Report.created_at > now - CAP_WINDOW)
        ) or 0)

    def file_report(self, report: NewReport, daily_cap: int | None = None) -> FiledReport:
        """Store a report durably (one transaction, committed) and return its ticket code.

        The same idempotency key returns the report filed before (`created` is
        False). Links whose canonical URL was reported before join that case and
        are listed in `duplicate_links`. `daily_cap` defaults to the configured
        DAILY_REPORT_CAP; 0 or less disables it. Raises DailyCapExceeded at the
        cap, IdempotencyConflict if the key belongs to another reporter's report,
        ValueError for input that does not fit the schema.
        """
        _validate(report)
        cap = get_settings().daily_report_cap if daily_cap is None else daily_cap
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self._file_once(report, cap)
            except IntegrityError:
                # A concurrent submission with the same key, a case or reporter
                # created in between, or a ticket-code collision: run again.
                if attempt == MAX_ATTEMPTS:
                    raise
                logger.info("Filing conflict, retrying (attempt %d)", attempt)
            except OperationalError as exc:
                if not _retryable(exc) or attempt == MAX_ATTEMPTS:
                    raise
                logger.info("Filing deadlock or serialization failure, retrying (attempt %d)",
                            attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _file_once(self, report: NewReport, cap: int) -> FiledReport:
        with self._write() as session:
            existing = session.scalar(
                select(Report).where(Report.idempotency_key == report.idempotency_key))
            if existing is not None:
                return self._replay(session, existing, report)
            now = utcnow()
            if report.reporter_key:
                self._lock_reporter(session, report.reporter_key, report.channel, now)
                if cap > 0:
                    count = self._count_recent(session, report.reporter_key, now)
                    if count >= cap:
                        raise DailyCapExceeded(cap=cap, count=count)
            row = Report(
                ticket_code=self._unused_ticket_code(session),
                idempotency_key=report.idempotency_key, reporter_key=report.reporter_key,
                channel=report.channel, category=report.category,
                description=report.description, region_code=report.region_code or None,
                region_name=report.region_name or None, known_date=report.known_date,
                reported_party=report.reported_party or None, status=INITIAL_STATUS,
                created_at=now, updated_at=now,
            )
            session.add(row)
            session.flush()  # the unique idempotency key is claimed here

            # One link per canonical URL; cases locked in URL order (no deadlocks).
            firsts = {}
            for link in report.links:
                firsts.setdefault(link.canonical_url, link)
            known: set[str] = set()
            for canonical in sorted(firsts):
                link = firsts[canonical]
                case_id, existed = self._join_case(session, canonical, link.platform, now)
                if existed:
                    known.add(canonical)
                session.add(ReportLink(
                    report_id=row.id, case_id=case_id, original_url=link.original_url,
                    canonical_url=canonical, platform=link.platform,
                    check_status=link.check_status, http_status=link.http_status,
                    page_title=(link.page_title or "")[:PAGE_TITLE_LENGTH] or None,
                    checked_at=link.checked_at or (now if link.check_status else None),
                ))
            for item in report.evidence:
                session.add(Evidence(
                    report_id=row.id, kind=item.kind, mime_type=item.mime_type,
                    size_bytes=item.size_bytes, sha256=item.sha256.lower(),
                    storage_path=item.storage_path, created_at=now))
            session.add(StatusChange(report_id=row.id, old_status=None,
                                     new_status=INITIAL_STATUS, changed_by=SYSTEM_ACTOR,
                                     changed_at=now))
            code = row.ticket_code
        duplicates = [firsts[c].original_url for c in firsts if c in known]
        logger.info("Filed report %s (%d links, %d already reported, %d evidence files)",
                    code, len(firsts), len(duplicates), len(report.evidence))
        return FiledReport(code, created=True, duplicate_links=duplicates)

    def _replay(self, session: Session, existing: Report, report: NewReport) -> FiledReport:
        """The answer for an idempotency key that was filed before."""
        if existing.reporter_key is not None and existing.reporter_key != report.reporter_key:
            logger.warning("Idempotency key reused by another reporter; refused")
            raise IdempotencyConflict("idempotency key already used by another reporter")
        # Links whose case already had a report before this one, as answered the first time.
        other = aliased(ReportLink)
        earlier = (select(other.id)
                   .where(other.case_id == ReportLink.case_id, other.report_id < existing.id)
                   .exists())
        rows = session.execute(
            select(ReportLink.original_url, ReportLink.canonical_url, earlier.label("earlier"))
            .where(ReportLink.report_id == existing.id).order_by(ReportLink.id)
        ).all()
        submitted = {link.canonical_url: i for i, link in enumerate(report.links)}
        rows.sort(key=lambda r: submitted.get(r.canonical_url, len(submitted)))
        duplicates = [r.original_url for r in rows if r.earlier]
        logger.info("Report %s was already filed with this idempotency key",
                    existing.ticket_code)
        return FiledReport(existing.ticket_code, created=False, duplicate_links=duplicates)

    @staticmethod
    def _lock_reporter(session: Session, sender_key: str, channel: str, now: datetime) -> None:
        """Create the reporter row if needed and lock it until commit (serialises the cap)."""
        _insert_ignoring_conflict(session, Reporter.__table__, ["sender_key"], {
            "sender_key": sender_key, "channel": channel, "created_at": now})
        session.execute(select(Reporter.sender_key).where(Reporter.sender_key == sender_key)
                        .with_for_update())

    @staticmethod
    def _join_case(session: Session, canonical_url: str, platform: str,
                   now: datetime) -> tuple[int, bool]:
        """The case id for a canonical URL and whether it existed; counts this report."""
        inserted = _insert_ignoring_conflict(session, Case.__table__, ["canonical_url"], {
            "canonical_url": canonical_url, "platform": platform,
            "first_reported_at": now, "report_count": 1})
        if not inserted:
            session.execute(update(Case).where(Case.canonical_url == canonical_url)
                            .values(report_count=Case.report_count + 1))
        case_id = session.scalar(select(Case.id).where(Case.canonical_url == canonical_url))
        if case_id is None:  # pragma: no cover - the row was just inserted or updated
            raise RuntimeError("case row vanished during filing")
        return int(case_id), not inserted

    @staticmethod
    def _unused_ticket_code(session: Session) -> str:
        for _ in range(MAX_CODE_DRAWS):
            code = new_ticket_code()
            if session.scalar(select(Report.id).where(Report.ticket_code == code)) is None:
                return code
            logger.warning("Ticket code collision, drawing another")
        raise RuntimeError("no unused ticket code found; the code space may be nearly full")

    # --- status --------------------------------------------------------------

    @staticmethod
    def _status_query() -> Any:
        latest_note = (select(StatusChange.note)
                       .where(StatusChange.report_id == Report.id)
                       .order_by(StatusChange.id.desc()).limit(1)
                       .correlate(Report).scalar_subquery())
        return select(Report.ticket_code, Report.status, Report.category, Report.created_at,
                      Report.updated_at, latest_note.label("note"))

    def get_status(self, ticket_code: str, sender_key: str) -> ReportStatus | None:
        """The status of a report, only for the reporter who filed it.

        Anyone else (another sender, another channel, an erased reporter) gets
        None, exactly as for a code that does not exist.
        """
        code = normalize_ticket_code(ticket_code)
        if code is None or not sender_key:
            return None
        with self._read() as session:
            row = session.execute(self._status_query().where(
                Report.ticket_code == code, Report.reporter_key == sender_key)).first()
        return ReportStatus(*row) if row is not None else None

    def list_reports(self, sender_key: str, limit: int = 10) -> list[ReportStatus]:
        """The reporter's newest reports first (at most `limit`, capped at 100)."""
        if not sender_key or limit <= 0:
            return []
        with self._read() as session:
            rows = session.execute(
                self._status_query().where(Report.reporter_key == sender_key)
                .order_by(Report.created_at.desc(), Report.id.desc())
                .limit(min(limit, MAX_LIST_LIMIT))
            ).all()
        return [ReportStatus(*row) for row in rows]

    def update_status(self, ticket_code: str, new_status: str, changed_by: str,
                      note: str | None = None, destination: str | None = None,
                      outcome: str | None = None) -> StatusUpdate:
        """A reviewer's status change, validated against ALLOWED_TRANSITIONS and audited.

        `destination` (where a report is forwarded) and `outcome` (how it ended) are
        values of bot/resources/decisions.yml (`bot.decisions.check_values`). Returns
        what is needed to notify the reporter (channel, sender key, and the contact,
        decrypted only by `StatusUpdate.decrypt_contact()`). Raises ReportNotFound,
        InvalidTransition, DecisionError (a ValueError) for a destination or outcome
        that does not fit, or ValueError for a missing reviewer.
        """
        _check_length("changed_by", changed_by, 100, required=True)
        if new_status not in STATUSES:
            raise InvalidTransition("?", new_status)
        code = normalize_ticket_code(ticket_code)
        if code is None:
            raise ReportNotFound(ticket_code)
        note = _clean_note(note)
        check_values(new_status, destination, outcome)
        with self._write() as session:
            row = self._locked_report(session, code)
            change = self._change_status(session, row, new_status, changed_by, note,
                                         destination, outcome)
            result = self._status_update(session, row, change)
        logger.info("Report %s: %s -> %s", code, change.old_status, new_status)
        return result

    def update_case_status(self, case_id: int, new_status: str, changed_by: str,
                           note: str | None = None, destination: str | None = None,
                           outcome: str | None = None) -> list[StatusUpdate]:
        """Change every report of a case at once (one transaction), like `update_status`.

        Reports already in `new_status` are left as they are; if any other report
        cannot make the transition, nothing changes (InvalidTransition). Returns one
        StatusUpdate per report changed. Raises CaseNotFound for an unknown case.
        """
        _check_length("changed_by", changed_by, 100, required=True)
        if new_status not in STATUSES:
            raise InvalidTransition("?", new_status)
        note = _clean_note(note)
        check_values(new_status, destination, outcome)
        with self._write() as session:
            if session.get(Case, case_id) is None:
                raise CaseNotFound(case_id)
            rows = session.scalars(
                select(Report).join(ReportLink, ReportLink.report_id == Report.id)
                .where(ReportLink.case_id == case_id).order_by(Report.id)
                .with_for_update(of=Report)
            ).all()
            targets = [row for row in rows if row.status != new_status]
            if not targets:
                raise InvalidTransition(new_status, new_status)
            for row in targets:
                if new_status not in ALLOWED_TRANSITIONS.get(row.status, frozenset()):
                    raise InvalidTransition(row.status, new_status)
            results = []
            for row in targets:
                change = self._change_status(session, row, new_status, changed_by, note,
                                             destination, outcome)
                results.append(self._status_update(session, row, change))
        logger.info("Case %d: %d reports -> %s", case_id, len(results), new_status)
        return results

    @staticmethod
    def _locked_report(session: Session, code: str) -> Report:
        """The report with this (normalised) ticket code, locked until commit."""
        row = session.scalar(select(Report).where(Report.ticket_code == code).with_for_update())
        if row is None:
            raise ReportNotFound(code)
        return row

    def _change_status(self, session: Session, report_row: Report, new_status: str,
                       changed_by: str, note: str | None, destination: str | None,
                       outcome: str | None) -> StatusChange:
        """THE one place a report's status changes: checks the workflow, writes the
        StatusChange row (flushed) and updates the report, in the caller's transaction."""
        old = report_row.status
        if new_status not in ALLOWED_TRANSITIONS.get(old, frozenset()):
            raise InvalidTransition(old, new_status)
        check_values(new_status, destination, outcome)
        now = utcnow()
        change = StatusChange(report_id=report_row.id, old_status=old, new_status=new_status,
                              note=note, changed_by=changed_by, changed_at=now,
                              destination=destination, outcome=outcome)
        session.add(change)
        session.flush()
        report_row.status = new_status
        report_row.updated_at = now
        return change

    @staticmethod
    def _status_update(session: Session, report_row: Report,
                       change: StatusChange) -> StatusUpdate:
        """What a change means for notifying the report's reporter."""
        contact = None
        if report_row.reporter_key is not None:
            contact = session.scalar(select(Reporter.contact_encrypted)
                                     .where(Reporter.sender_key == report_row.reporter_key))
        return StatusUpdate(
            ticket_code=report_row.ticket_code, old_status=change.old_status or "",
            new_status=change.new_status, changed_at=change.changed_at, note=change.note,
            channel=report_row.channel, sender_key=report_row.reporter_key,
            contact_encrypted=contact, destination=change.destination,
            outcome=change.outcome)

    def status_history(self, ticket_code: str) -> list[tuple[str | None, str, str, datetime]]:
        """The audit trail of a report for reviewers: (old, new, changed_by, changed_at)."""
        code = normalize_ticket_code(ticket_code)
        if code is None:
            raise ReportNotFound(ticket_code)
        with self._read() as session:
            report_id = session.scalar(select(Report.id).where(Report.ticket_code == code))
            if report_id is None:
                raise ReportNotFound(code)
            rows = session.execute(
                select(StatusChange.old_status, StatusChange.new_status,
                       StatusChange.changed_by, StatusChange.changed_at)
                .where(StatusChange.report_id == report_id).order_by(StatusChange.id)
            ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]
