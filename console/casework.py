"""Work on a case besides decisions: assignment, notes, link re-checks, contact reveal.

Synchronous functions on a `ConsoleStore` (the web layer runs them in threads),
except `recheck_case`, which checks links over the network with the SSRF-safe
`bot.link_checker.LinkChecker` and stores the results. Each writes the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.link_checker import LinkChecker
from bot.privacy import decrypt_contact
from bot.store.models import (
    CaseAssignment,
    CaseNote,
    ConsoleUser,
    LinkCheck,
    Report,
    Reporter,
    ReportLink,
    is_screenshot_case,
    utcnow,
)
from bot.store.tickets import normalize_ticket_code
from bot.store.types import CaseNotFound, ReportNotFound
from console import audit
from console.queries import visible_case, visible_case_reports
from console.scope import KOORDINATOR, PENGAWAS, Reviewer
from console.store import ConsoleStore, NotAllowed

logger = logging.getLogger(__name__)

MAX_NOTE_CHARS = 4000
MIN_REASON_CHARS = 10
MAX_REASON_CHARS = 500
#: Links re-checked per case at most (one per distinct URL reporters sent).
MAX_RECHECK_LINKS = 20


class CaseworkError(ValueError):
    """Bad input (`code`: "note_empty", "reason_too_short", "unknown_user", ...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _require_visible(session: Session, reviewer: Reviewer, case_id: int) -> None:
    if not reviewer.reads_reports:
        raise NotAllowed("admins do not work on cases")
    if not visible_case(session, reviewer, case_id):
        raise CaseNotFound(case_id)


def assign(store: ConsoleStore, reviewer: Reviewer, case_id: int, user_name: str | None
           ) -> None:
    """A koordinator gives the case to a reviewer (None or "" takes it away)."""
    if not reviewer.is_koordinator:
        raise NotAllowed("only a koordinator assigns cases")
    with store.write() as session:
        _require_visible(session, reviewer, case_id)
        current = session.get(CaseAssignment, case_id)
        if not user_name:
            if current is not None:
                session.delete(current)
            audit.record(session, reviewer.name, "case.unassign", f"case:{case_id}")
            return
        user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == user_name))
        if user is None or user.disabled_at is not None or user.role not in (
                PENGAWAS, KOORDINATOR):
            raise CaseworkError("unknown_user")
        now = utcnow()
        if current is None:
            session.add(CaseAssignment(case_id=case_id, user_id=user.id,
                                       assigned_by=reviewer.name, assigned_at=now))
        else:
            current.user_id, current.assigned_by, current.assigned_at = (
                user.id, reviewer.name, now)
        audit.record(session, reviewer.name, "case.assign", f"case:{case_id}",
                     assignee=user.name)


def add_note(store: ConsoleStore, reviewer: Reviewer, case_id: int, text: str) -> None:
    """A working note on the case (internal; never sent to reporters)."""
    text = (text or "").strip()
    if not text:
        raise CaseworkError("note_empty")
    if len(text) > MAX_NOTE_CHARS:
        raise CaseworkError("note_too_long")
    with store.write() as session:
        _require_visible(session, reviewer, case_id)
        session.add(CaseNote(case_id=case_id, author=reviewer.name, text=text,
                             created_at=utcnow()))
        audit.record(session, reviewer.name, "case.note", f"case:{case_id}")


def reveal_contact(store: ConsoleStore, reviewer: Reviewer, ticket_code: str, reason: str
                   ) -> str | None:
    """A koordinator's audited look at a reporter's contact (None when erased or absent).

    The reason is required and audited (the contact itself never is); this is the
    only place outside notification sending where a contact is decrypted.
    """
    if not reviewer.is_koordinator:
        raise NotAllowed("only a koordinator may reveal a contact")
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON_CHARS:
        raise CaseworkError("reason_too_short")
    if len(reason) > MAX_REASON_CHARS:
        raise CaseworkError("reason_too_long")
    code = normalize_ticket_code(ticket_code)
    if code is None:
        raise ReportNotFound(ticket_code)
    with store.write() as session:
        row = session.scalar(select(Report).where(Report.ticket_code == code))
        if row is None:
            raise ReportNotFound(code)
        token = None
        if row.reporter_key is not None:
            token = session.scalar(select(Reporter.contact_encrypted)
                                   .where(Reporter.sender_key == row.reporter_key))
        audit.record(session, reviewer.name, "contact.reveal", code, reason=reason,
                     channel=row.channel, available=token is not None)
    return decrypt_contact(token) if token else None


# --- link re-checks --------------------------------------------------------------------


@dataclass(frozen=True)
class RecheckResult:
    """What a re-check found per URL."""

    url: str
    check_status: str
    http_status: int | None


def _recheck_urls(store: ConsoleStore, reviewer: Reviewer, case_id: int) -> list[str]:
    with store.read() as session:
        if not reviewer.reads_reports:
            raise NotAllowed("admins do not work on cases")
        case, rows, _hidden = visible_case_reports(session, reviewer, case_id)
        if case is None or not rows:
            raise CaseNotFound(case_id)
        urls = session.scalars(
            select(ReportLink.original_url).where(ReportLink.case_id == case_id)
            .where(ReportLink.report_id.in_([row.id for row in rows]))
            .order_by(ReportLink.id)).all()
    # A case without a link ("screenshot:<sha256>") has nothing to fetch.
    links = [url for url in dict.fromkeys(urls) if not is_screenshot_case(url)]
    return links[:MAX_RECHECK_LINKS]


def _store_checks(store: ConsoleStore, reviewer: Reviewer, case_id: int,
                  results: list[RecheckResult], titles: list[str | None]) -> None:
    now = utcnow()
    with store.write() as session:
        for result, title in zip(results, titles, strict=True):
            session.add(LinkCheck(case_id=case_id, url=result.url,
                                  check_status=result.check_status,
                                  http_status=result.http_status,
                                  page_title=(title or "")[:300] or None,
                                  checked_by=reviewer.name, checked_at=now))
        audit.record(session, reviewer.name, "case.recheck", f"case:{case_id}",
                     results=[r.check_status for r in results])


async def recheck_case(store: ConsoleStore, reviewer: Reviewer, case_id: int,
                       checker_factory: Callable[[], LinkChecker] = LinkChecker
                       ) -> list[RecheckResult]:
    """Check the case's links now (SSRF-safe checker) and store what was found."""
    urls = await asyncio.to_thread(_recheck_urls, store, reviewer, case_id)
    async with checker_factory() as checker:
        checked = await checker.check_many(urls)
    results = [RecheckResult(url, result.status, result.http_status)
               for url, result in zip(urls, checked, strict=True)]
    await asyncio.to_thread(_store_checks, store, reviewer, case_id, results,
                            [result.page_title for result in checked])
    logger.info("Case %d re-checked: %s", case_id, [r.check_status for r in results])
    return results
