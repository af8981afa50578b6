"""The console's access to the reports database: a `ReportStore` with reviewer decisions.

`ConsoleStore` is the report store (same engine, same migrations) plus:

- `read()` / `write()`: sessions for the console's own queries (`console.queries`,
  `console.accounts`, ...), a write transaction being committed on success;
- `decide_report` / `decide_case`: a reviewer's status change, checked against the
  reviewer's regions and the decision rules (`bot.decisions.check_decision`), made
  through `ReportStore._change_status` and written to the audit log **in the same
  transaction**, so no decision exists without its audit entry.

Methods are synchronous; the web layer calls them through `asyncio.to_thread`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.decisions import DecisionError, check_decision, decision_lists
from bot.store.models import Case, LinkCheck, Report, ReportLink
from bot.store.repository import ReportStore
from bot.store.tickets import normalize_ticket_code
from bot.store.types import (
    ALLOWED_TRANSITIONS,
    STATUSES,
    CaseNotFound,
    InvalidTransition,
    ReportNotFound,
    StatusUpdate,
)
from console import audit
from console.scope import Reviewer

logger = logging.getLogger(__name__)


class NotAllowed(Exception):
    """The reviewer's role does not allow this (HTTP 403)."""


class NoTakedownEvidence(DecisionError):
    """"Konten diturunkan" without a re-check that found the content gone."""

    def __init__(self) -> None:
        super().__init__("no_takedown_evidence", "outcome")


def case_is_gone(session: Session, case_id: int) -> bool:
    """True when the latest re-check of every link of the case found it gone."""
    rows = session.execute(
        select(LinkCheck.url, LinkCheck.check_status).where(LinkCheck.case_id == case_id)
        .order_by(LinkCheck.id)
    ).all()
    latest: dict[str, str] = {}
    for url, status in rows:
        latest[url] = status
    return bool(latest) and all(status == "not_found" for status in latest.values())


class ConsoleStore(ReportStore):
    """The report store as the console uses it (see the module docstring)."""

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a write transaction, committed on success."""
        with self._write() as session:
            yield session

    # --- decisions -----------------------------------------------------------

    @staticmethod
    def _check(reviewer: Reviewer, new_status: str, note: str | None,
               destination: str | None, outcome: str | None) -> str | None:
        if not reviewer.reads_reports:
            raise NotAllowed("admins do not decide on reports")
        if new_status not in STATUSES:
            raise InvalidTransition("?", new_status)
        note = note.strip() if note and note.strip() else None
        check_decision(new_status, note, destination, outcome)
        return note

    @staticmethod
    def _check_evidence(session: Session, case_ids: list[int], outcome: str | None) -> None:
        choice = decision_lists().outcome(outcome)
        if choice is not None and choice.needs_gone_link:
            if not case_ids or not all(case_is_gone(session, case_id) for case_id in case_ids):
                raise NoTakedownEvidence()

    def decide_report(self, reviewer: Reviewer, ticket_code: str, new_status: str,
                      note: str | None = None, destination: str | None = None,
                      outcome: str | None = None) -> StatusUpdate:
        """A reviewer's decision on one report (ReportNotFound outside their regions)."""
        note = self._check(reviewer, new_status, note, destination, outcome)
        code = normalize_ticket_code(ticket_code)
        if code is None:
            raise ReportNotFound(ticket_code)
        with self._write() as session:
            row = self._locked_report(session, code)
            if not reviewer.can_see_region(row.region_code):
                raise ReportNotFound(code)
            case_ids = list(session.scalars(
                select(ReportLink.case_id).where(ReportLink.report_id == row.id)).all())
            self._check_evidence(session, case_ids, outcome)
            change = self._change_status(session, row, new_status, reviewer.name, note,
                                         destination, outcome)
            audit.record(session, reviewer.name, "report.status", code,
                         old=change.old_status, new=new_status, destination=destination,
                         outcome=outcome, note=bool(note))
            result = self._status_update(session, row, change)
        logger.info("Report %s: %s -> %s by a reviewer", code, result.old_status, new_status)
        return result

    def decide_case(self, reviewer: Reviewer, case_id: int, new_status: str,
                    note: str | None = None, destination: str | None = None,
                    outcome: str | None = None) -> list[StatusUpdate]:
        """A decision on every report of a case, all or nothing.

        A pengawas may decide for a whole case only when every report of it is in
        their regions (NotAllowed otherwise); CaseNotFound when they see none of it.
        """
        note = self._check(reviewer, new_status, note, destination, outcome)
        with self._write() as session:
            if session.get(Case, case_id) is None:
                raise CaseNotFound(case_id)
            rows = session.scalars(
                select(Report).join(ReportLink, ReportLink.report_id == Report.id)
                .where(ReportLink.case_id == case_id).order_by(Report.id)
                .with_for_update(of=Report)
            ).all()
            visible = [row for row in rows if reviewer.can_see_region(row.region_code)]
            if not visible:
                raise CaseNotFound(case_id)
            if len(visible) != len(rows):
                raise NotAllowed("the case has reports outside the reviewer's regions")
            targets = [row for row in rows if row.status != new_status]
            if not targets:
                raise InvalidTransition(new_status, new_status)
            for row in targets:
                if new_status not in ALLOWED_TRANSITIONS.get(row.status, frozenset()):
                    raise InvalidTransition(row.status, new_status)
            self._check_evidence(session, [case_id], outcome)
            results = []
            for row in targets:
                change = self._change_status(session, row, new_status, reviewer.name, note,
                                             destination, outcome)
                results.append(self._status_update(session, row, change))
            audit.record(session, reviewer.name, "case.status", f"case:{case_id}",
                         new=new_status, destination=destination, outcome=outcome,
                         note=bool(note), tickets=[r.ticket_code for r in results])
        logger.info("Case %d: %d reports -> %s by a reviewer", case_id, len(results),
                    new_status)
        return results

    def audit(self, actor: str, action: str, target: str | None = None,
              **detail: Any) -> None:
        """Write one audit entry in its own transaction (views, exports)."""
        with self._write() as session:
            audit.record(session, actor, action, target, **detail)
