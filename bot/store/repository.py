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
- Notifications (the outbox): every reviewer's status change adds its notice
  to `notifications` in the same transaction (`_enqueue_notification`), so the
  change and its notice commit together. Workers lease due notices
  (`claim_notifications`: a conditional UPDATE, and `FOR UPDATE SKIP LOCKED` on
  PostgreSQL), read the contact only when they send (`notice_recipient`) and
  record the outcome under their claim (`finish_notification`). Web widget
  notices wait as "queued" until the channel shows them (`take_inbox_notices`).
  See docs/notifications.md.
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

from sqlalchemy import delete, func, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.decisions import check_values
from bot.privacy import decrypt_contact, encrypt_contact
from bot.settings import get_settings
from bot.store.archives import enqueue_archives
from bot.store.db import make_engine, make_session_factory, migrate, writer
from bot.store.matching import MatchedCase, matching_cases
from bot.store.models import (
    ERROR_LENGTH,
    PERCEPTUAL_HASH_LENGTH,
    SCREENSHOT_CASE_PREFIX,
    URL_LENGTH,
    Case,
    Evidence,
    Notification,
    Report,
    Reporter,
    ReportLink,
    StatusChange,
    utcnow,
)
from bot.store.tickets import new_ticket_code, normalize_ticket_code
from bot.store.types import (
    ALLOWED_TRANSITIONS,
    INBOX_CHANNELS,
    INITIAL_STATUS,
    NOTIFIABLE_CHANNELS,
    NOTIFICATION_STATES,
    STATUSES,
    SYSTEM_ACTOR,
    CaseNotFound,
    ClaimedNotification,
    DailyCapExceeded,
    FiledReport,
    IdempotencyConflict,
    InvalidTransition,
    NewReport,
    NoticeContent,
    NoticeRecipient,
    NotificationState,
    ReportNotFound,
    ReportStatus,
    StatusUpdate,
)
from bot.store.volunteers import VolunteerStore, volunteer_code_for

logger = logging.getLogger(__name__)

CAP_WINDOW = timedelta(hours=24)
#: `report_links.check_status` of a report's row in a case its screenshot matched.
SCREENSHOT_MATCH = "screenshot_match"
#: `report_links.check_status` of the row of a report without any link.
NO_LINK = "no_link"
MAX_ATTEMPTS = 6  # filing attempts after unique-key races or deadlocks
MAX_CODE_DRAWS = 20  # ticket codes tried per attempt before giving up
MAX_LIST_LIMIT = 100
PAGE_TITLE_LENGTH = 300
CLAIM_BYTES = 16  # a claim token is 32 hex characters (models.CLAIM_LENGTH)
MAX_CLAIM = 500  # notices one worker may lease at once
MAX_INBOX_KEYS = 500  # reporters looked up per inbox query (bound parameters)
# Why a notice cannot be sent (`notifications.last_error`); never personal data.
CONTACT_ERASED = "contact erased"
NO_CONSENT = "no consent"
NO_CONTACT = "no contact"
UNREACHABLE_CHANNEL = "channel cannot be reached"
# States in which a notice has not reached the reporter yet.
_UNDELIVERED = ("pending", "queued")
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
        _check_length("evidence perceptual_hash", item.perceptual_hash, PERCEPTUAL_HASH_LENGTH)
    _check_length("screenshot_platform", report.screenshot_platform, 32)


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


class ReportStore(VolunteerStore):
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
        from the sender, is replaced by a random one). Notices not yet delivered
        become "impossible" (the outbox never holds a contact itself). The
        reports' content stays for the election supervisors; the erased reporter
        can no longer see them, and a later report starts without consent.
        """
        if not sender_key:
            return 0
        with self._write() as session:
            ids = session.scalars(
                select(Report.id).where(Report.reporter_key == sender_key).with_for_update()
            ).all()
            if ids:
                # Nobody is left to notify; a worker holding one of these notices
                # finds it no longer pending and does not send it.
                session.execute(
                    update(Notification)
                    .where(Notification.report_id.in_(ids),
                           Notification.state.in_(_UNDELIVERED))
                    .values(state="impossible", last_error=CONTACT_ERASED,
                            next_attempt_at=None, lease_until=None, claimed_by=None))
            for report_id in ids:
                session.execute(
                    update(Report).where(Report.id == report_id)
                    .values(reporter_key=None, idempotency_key="erased-" + secrets.token_hex(24)))
            session.execute(delete(Reporter).where(Reporter.sender_key == sender_key))
            self.forget_memberships(session, sender_key)
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
        with self._read() as session:
            matched = matching_cases(session, report.evidence)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self._file_once(report, cap, matched)
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

    def _file_once(self, report: NewReport, cap: int,
                   matched: list[MatchedCase] | None = None) -> FiledReport:
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
                # The volunteer mark: the store's own look-up, never the client's word.
                volunteer_code_id=volunteer_code_for(session, report.reporter_key),
            )
            session.add(row)
            session.flush()  # the unique idempotency key is claimed here

            # One link per canonical URL; cases locked in URL order (no deadlocks).
            firsts = {}
            for link in report.links:
                firsts.setdefault(link.canonical_url, link)
            known: set[str] = set()
            link_rows: list[ReportLink] = []
            for canonical in sorted(firsts):
                link = firsts[canonical]
                case_id, existed = self._join_case(session, canonical, link.platform, now)
                if existed:
                    known.add(canonical)
                link_rows.append(ReportLink(
                    report_id=row.id, case_id=case_id, original_url=link.original_url,
                    canonical_url=canonical, platform=link.platform,
                    check_status=link.check_status, http_status=link.http_status,
                    page_title=(link.page_title or "")[:PAGE_TITLE_LENGTH] or None,
                    checked_at=link.checked_at or (now if link.check_status else None),
                ))
                session.add(link_rows[-1])
            # The evidence archive's jobs, committed with the report (bot/archive).
            enqueue_archives(session, link_rows, now)
            joined = self._join_matched_cases(session, row.id, report, link_rows,
                                              matched or [], now)
            known.update(joined)
            for item in report.evidence:
                session.add(Evidence(
                    report_id=row.id, kind=item.kind, mime_type=item.mime_type,
                    size_bytes=item.size_bytes, sha256=item.sha256.lower(),
                    storage_path=item.storage_path, created_at=now,
                    extracted_text=item.extracted_text or None,
                    perceptual_hash=item.perceptual_hash or None))
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

    def _join_matched_cases(self, session: Session, report_id: int, report: NewReport,
                            link_rows: list[ReportLink], matched: list[MatchedCase],
                            now: datetime) -> set[str]:
        """Put the report in the cases its screenshots matched (one case for reviewers).

        - A report with links whose screenshot matched a case without a link moves
          that case's reports into its own first link's case (the link was missing).
        - A matched case the report is not in yet gets a row for this report, marked
          `check_status` "screenshot_match" (it carries no link of its own).
        - A report with neither a link nor a match opens a case without a link
          ("screenshot:<sha256>", the platform its screenshot showed).
        Returns the canonical URLs of the earlier cases it joined.
        """
        in_cases = {link.case_id for link in link_rows}
        joined: set[str] = set()
        target = link_rows[0].case_id if link_rows else None
        for match in matched:
            if match.case_id in in_cases:
                continue
            if match.screenshot_only and target is not None:
                self._move_case(session, match.case_id, target)
                continue
            session.execute(update(Case).where(Case.id == match.case_id)
                            .values(report_count=Case.report_count + 1))
            session.add(ReportLink(
                report_id=report_id, case_id=match.case_id, original_url=match.canonical_url,
                canonical_url=match.canonical_url, platform=match.platform,
                check_status=SCREENSHOT_MATCH))
            in_cases.add(match.case_id)
            joined.add(match.canonical_url)
            if target is None:
                target = match.case_id
        if not in_cases:
            image = next((item for item in report.evidence if item.kind == "image"), None)
            if image is not None:
                canonical = SCREENSHOT_CASE_PREFIX + image.sha256.lower()
                platform = report.screenshot_platform or "web"
                case_id, existed = self._join_case(session, canonical, platform, now)
                session.add(ReportLink(
                    report_id=report_id, case_id=case_id, original_url=canonical,
                    canonical_url=canonical, platform=platform, check_status=NO_LINK))
                if existed:
                    joined.add(canonical)
        return joined

    @staticmethod
    def _move_case(session: Session, source: int, target: int) -> None:
        """Move every report of the case `source` (a case without a link) into `target`."""
        rows = session.scalars(select(ReportLink).where(ReportLink.case_id == source)).all()
        already = set(session.scalars(select(ReportLink.report_id)
                                      .where(ReportLink.case_id == target)).all())
        moved = 0
        for link in rows:
            if link.report_id in already:
                session.delete(link)
                continue
            link.case_id = target
            link.check_status = SCREENSHOT_MATCH
            already.add(link.report_id)
            moved += 1
        session.execute(update(Case).where(Case.id == source).values(report_count=0))
        session.execute(update(Case).where(Case.id == target)
                        .values(report_count=Case.report_count + moved))
        logger.info("A case without a link joined a case with a link (%d report(s))", moved)

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

        def latest(column: Any) -> Any:
            """The latest value a reviewer recorded in `column` (where it went, how it ended)."""
            return (select(column).where(StatusChange.report_id == Report.id,
                                         column.is_not(None))
                    .order_by(StatusChange.id.desc()).limit(1)
                    .correlate(Report).scalar_subquery())

        return select(Report.ticket_code, Report.status, Report.category, Report.created_at,
                      Report.updated_at, latest_note.label("note"),
                      latest(StatusChange.destination).label("destination"),
                      latest(StatusChange.outcome).label("outcome"))

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
        values of bot/resources/decisions.yml (`bot.decisions.check_values`). The
        reporter's notice is queued in the same transaction (the outbox,
        `_enqueue_notification`); the notification worker sends it. Returns
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
        # The reporter's notice, committed with the change or not at all (the outbox).
        self._enqueue_notification(session, report_row, change)
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

    # --- notifications (the outbox) --------------------------------------------

    def _enqueue_notification(self, session: Session, report: Report,
                              change: StatusChange) -> Notification:
        """Add the notice announcing `change` to the report's reporter (same transaction).

        Call it right after the StatusChange row is flushed, inside the status
        change's transaction: both commit or neither does. The notice is
        "impossible" at once when nobody can be told (reporter erased or
        anonymous, no consent, a channel without outbound messages, no contact);
        web widget notices are "queued" for the channel to show; others are
        "pending" for the worker.
        """
        now = change.changed_at or utcnow()
        reason = self._why_not_notifiable(session, report)
        if reason is not None:
            state = "impossible"
        elif report.channel in INBOX_CHANNELS:
            state = "queued"
        else:
            state = "pending"
        notice = Notification(
            report_id=report.id, status_change_id=change.id, channel=report.channel,
            state=state, attempts=0, next_attempt_at=now if state == "pending" else None,
            last_error=reason, created_at=now)
        session.add(notice)
        logger.info("Report %s: notice %s%s", report.ticket_code, state,
                    f" ({reason})" if reason else "")
        return notice

    @staticmethod
    def _why_not_notifiable(session: Session, report: Report) -> str | None:
        """Why the report's reporter cannot be notified, or None when they can."""
        if report.reporter_key is None:
            return CONTACT_ERASED
        reporter = session.execute(
            select(Reporter.consent_at, Reporter.contact_encrypted)
            .where(Reporter.sender_key == report.reporter_key)).first()
        if reporter is None:
            return CONTACT_ERASED
        if reporter.consent_at is None:
            return NO_CONSENT
        if report.channel not in NOTIFIABLE_CHANNELS:
            return UNREACHABLE_CHANNEL
        # The web widget reaches the session by its pseudonym; the others need a contact.
        if report.channel not in INBOX_CHANNELS and not reporter.contact_encrypted:
            return NO_CONTACT
        return None

    @staticmethod
    def _notice_columns() -> list[Any]:
        """The columns of a notice's content; destination and outcome where the schema has
        them (status_changes gains them in a later migration), NULL otherwise."""
        columns: list[Any] = [Report.ticket_code, StatusChange.new_status, StatusChange.note]
        for name in ("destination", "outcome"):
            column = getattr(StatusChange, name, None)
            columns.append(column.label(name) if column is not None else null().label(name))
        return columns

    def notification_states(self, ticket_codes: list[str]) -> dict[str, list[NotificationState]]:
        """Per ticket code, whether each status change reached the reporter (oldest first).

        Every valid code asked for is a key (an empty list when it has no notices
        or does not exist); codes that are not ticket codes are left out.
        """
        codes = sorted({c for c in (normalize_ticket_code(t) for t in ticket_codes or []) if c})
        result: dict[str, list[NotificationState]] = {code: [] for code in codes}
        if not codes:
            return result
        with self._read() as session:
            rows = session.execute(
                select(Report.ticket_code, StatusChange.new_status, Notification.state,
                       Notification.attempts, Notification.last_error,
                       Notification.created_at, Notification.sent_at)
                .join(Report, Report.id == Notification.report_id)
                .join(StatusChange, StatusChange.id == Notification.status_change_id)
                .where(Report.ticket_code.in_(codes))
                .order_by(Notification.id)
            ).all()
        for row in rows:
            result[row.ticket_code].append(NotificationState(*row))
        return result

    def claim_notifications(self, limit: int = 20, lease_seconds: float = 300.0,
                            now: datetime | None = None) -> list[ClaimedNotification]:
        """Lease up to `limit` due notices for `lease_seconds`; oldest due first.

        A notice is due when it is pending, its next attempt time has come and
        no other worker holds a live lease on it. The lease is taken with a
        conditional UPDATE (state and lease checked again), on PostgreSQL after
        `SELECT ... FOR UPDATE SKIP LOCKED`, on SQLite under the write lock taken
        at BEGIN, so two workers never hold the same notice. The returned claim
        token must accompany `finish_notification`.
        """
        if limit <= 0 or lease_seconds <= 0:
            raise ValueError("limit and lease_seconds must be positive")
        now = now or utcnow()
        claim = secrets.token_hex(CLAIM_BYTES)
        lease_until = now + timedelta(seconds=lease_seconds)
        free = or_(Notification.lease_until.is_(None), Notification.lease_until <= now)
        with self._write() as session:
            due = session.scalars(
                select(Notification.id)
                .where(Notification.state == "pending", Notification.next_attempt_at <= now,
                       free)
                .order_by(Notification.next_attempt_at, Notification.id)
                .limit(min(limit, MAX_CLAIM))
                .with_for_update(skip_locked=True)
            ).all()
            taken = []
            for notice_id in due:
                result = session.execute(
                    update(Notification)
                    .where(Notification.id == notice_id, Notification.state == "pending", free)
                    .values(lease_until=lease_until, claimed_by=claim))
                if result.rowcount == 1:
                    taken.append(notice_id)
            if not taken:
                return []
            rows = session.execute(
                select(Notification.id, Notification.channel, Notification.attempts,
                       *self._notice_columns())
                .join(Report, Report.id == Notification.report_id)
                .join(StatusChange, StatusChange.id == Notification.status_change_id)
                .where(Notification.id.in_(taken))
                .order_by(Notification.next_attempt_at, Notification.id)
            ).all()
        return [ClaimedNotification(
            id=row.id, claim=claim, channel=row.channel, attempts=row.attempts,
            content=NoticeContent(row.ticket_code, row.new_status, row.note,
                                  row.destination, row.outcome),
            lease_until=lease_until)
            for row in rows]

    def notice_recipient(self, claimed: ClaimedNotification,
                         now: datetime | None = None) -> NoticeRecipient:
        """Whom a claimed notice goes to, read at the moment of sending.

        Checks again that the notice is still this worker's (lease, state) and
        that the reporter may still be told (not erased, consent, a contact).
        """
        now = now or utcnow()
        with self._read() as session:
            row = session.execute(
                select(Notification.state, Notification.claimed_by, Notification.lease_until,
                       Report.channel, Reporter.sender_key, Reporter.consent_at,
                       Reporter.contact_encrypted)
                .join(Report, Report.id == Notification.report_id)
                .outerjoin(Reporter, Reporter.sender_key == Report.reporter_key)
                .where(Notification.id == claimed.id)
            ).first()
        if (row is None or row.state != "pending" or row.claimed_by != claimed.claim
                or row.lease_until is None or row.lease_until <= now):
            return NoticeRecipient(claimed=False)
        if row.sender_key is None:
            return NoticeRecipient(refusal=CONTACT_ERASED)
        if row.consent_at is None:
            return NoticeRecipient(refusal=NO_CONSENT)
        if row.channel not in NOTIFIABLE_CHANNELS:
            return NoticeRecipient(refusal=UNREACHABLE_CHANNEL)
        if not row.contact_encrypted:
            return NoticeRecipient(refusal=NO_CONTACT)
        return NoticeRecipient(contact_encrypted=row.contact_encrypted)

    def finish_notification(self, claimed: ClaimedNotification, state: str, *,
                            error: str | None = None, retry_at: datetime | None = None,
                            attempted: bool = True, now: datetime | None = None) -> bool:
        """Record what became of a claimed notice and give up the lease.

        `state` "pending" with `retry_at` schedules another attempt. `attempted`
        False gives the notice back without counting an attempt (a worker
        stopping). Only the lease holder can record it: False (nothing written)
        when the lease was lost or the notice stopped waiting meanwhile.
        """
        if state not in NOTIFICATION_STATES:
            raise ValueError(f"unknown notification state {state!r}")
        if state == "pending" and retry_at is None:
            raise ValueError("a notice left pending needs retry_at")
        now = now or utcnow()
        values: dict[str, Any] = {
            "state": state, "lease_until": None, "claimed_by": None,
            "next_attempt_at": retry_at if state == "pending" else None,
        }
        if attempted or error is not None:  # a notice given back keeps its last error
            values["last_error"] = (error or "")[:ERROR_LENGTH] or None
        if attempted:
            values["attempts"] = claimed.attempts + 1
        if state == "sent":
            values["sent_at"] = now
        with self._write() as session:
            result = session.execute(
                update(Notification)
                .where(Notification.id == claimed.id, Notification.claimed_by == claimed.claim,
                       Notification.state == "pending")
                .values(**values))
            done = result.rowcount == 1
        if not done:
            logger.warning("Notice %d was no longer held by this worker; outcome %s not recorded",
                           claimed.id, state)
        return done

    def take_inbox_notices(self, sender_keys: Iterable[str], channel: str = "webchat",
                           now: datetime | None = None) -> dict[str, list[NoticeContent]]:
        """Take the queued notices of these reporters on `channel`, marking them sent.

        For a channel that shows notices itself when the person is connected
        (the web widget): the caller must deliver what it gets (oldest first, by
        sender key). Each notice is taken once, whichever process asks first
        (conditional UPDATE; `SKIP LOCKED` on PostgreSQL).
        """
        keys = sorted({key for key in sender_keys if key})
        found: dict[str, list[NoticeContent]] = {}
        if not keys:
            return found
        now = now or utcnow()
        for start in range(0, len(keys), MAX_INBOX_KEYS):
            chunk = keys[start:start + MAX_INBOX_KEYS]
            # Almost always nothing waits: find out with a read, not a write lock.
            with self._read() as session:
                waiting = session.scalar(
                    select(Notification.id)
                    .join(Report, Report.id == Notification.report_id)
                    .where(Notification.state == "queued", Notification.channel == channel,
                           Report.reporter_key.in_(chunk))
                    .limit(1))
            if waiting is None:
                continue
            with self._write() as session:
                rows = session.execute(
                    select(Notification.id, Report.reporter_key, *self._notice_columns())
                    .join(Report, Report.id == Notification.report_id)
                    .join(StatusChange, StatusChange.id == Notification.status_change_id)
                    .where(Notification.state == "queued", Notification.channel == channel,
                           Report.reporter_key.in_(chunk))
                    .order_by(Notification.id)
                    .with_for_update(of=Notification, skip_locked=True)
                ).all()
                for row in rows:
                    result = session.execute(
                        update(Notification)
                        .where(Notification.id == row.id, Notification.state == "queued")
                        .values(state="sent", sent_at=now, attempts=Notification.attempts + 1,
                                last_error=None))
                    if result.rowcount == 1:
                        found.setdefault(row.reporter_key, []).append(NoticeContent(
                            row.ticket_code, row.new_status, row.note, row.destination,
                            row.outcome))
        if found:
            logger.info("%d queued %s notice(s) taken for delivery",
                        sum(len(v) for v in found.values()), channel)
        return found
