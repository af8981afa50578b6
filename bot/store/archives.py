"""The evidence archive's jobs in the database (`link_archives`): queue, lease, finish.

`enqueue_archives` runs inside the filing transaction, so every filed link has
its job as soon as the citizen has a ticket code. Archive workers (possibly in
several processes or replicas) lease due jobs with a conditional UPDATE (and
`FOR UPDATE SKIP LOCKED` on PostgreSQL), as the notification outbox does, and
record the outcome under their claim. A worker that dies leaves a lease that
simply runs out; the job is then taken again.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.store.models import ERROR_LENGTH, LinkArchive, ReportLink, utcnow

logger = logging.getLogger(__name__)

CLAIM_BYTES = 16
MAX_CLAIM = 50


@dataclass(frozen=True)
class ArchiveJob:
    """A leased archive job: which link to fetch, under which claim, until when."""

    id: int
    claim: str
    url: str
    attempts: int
    lease_until: datetime


@dataclass(frozen=True)
class ArchiveOutcome:
    """What an attempt produced: a stored WARC ("done") or an error."""

    state: str  # "done", "failed", or "pending" (try again at retry_at)
    fetched_at: datetime | None = None
    final_url: str | None = None
    http_status: int | None = None
    path: str | None = None
    size: int | None = None
    sha256: str | None = None
    payload_sha256: str | None = None
    page_meta: dict[str, str] | None = None
    error: str | None = None
    retry_at: datetime | None = None


def enqueue_archives(session: Session, links: Sequence[ReportLink], now: datetime) -> None:
    """Queue one pending archive job per link (call inside the filing transaction)."""
    if not links:
        return
    session.flush()  # the links' ids
    for link in links:
        session.add(LinkArchive(report_link_id=link.id, case_id=link.case_id, state="pending",
                                attempts=0, next_attempt_at=now, created_at=now))


class ArchiveQueue:
    """Lease and finish archive jobs on a `ReportStore` (synchronous; call in a thread)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def has_due(self, now: datetime | None = None) -> bool:
        """True when some job is due now (a plain read: no write lock when idle)."""
        now = now or utcnow()
        with self.store._read() as session:  # noqa: SLF001 - same package
            return session.scalar(select(LinkArchive.id).where(*self._due(now)).limit(1)) \
                is not None

    @staticmethod
    def _due(now: datetime) -> tuple[Any, ...]:
        free = or_(LinkArchive.lease_until.is_(None), LinkArchive.lease_until <= now)
        return (LinkArchive.state == "pending", LinkArchive.next_attempt_at <= now, free)

    def claim(self, limit: int, lease_seconds: float, now: datetime | None = None
              ) -> list[ArchiveJob]:
        """Lease up to `limit` due jobs for `lease_seconds`, oldest first."""
        if limit <= 0 or lease_seconds <= 0:
            raise ValueError("limit and lease_seconds must be positive")
        now = now or utcnow()
        claim = secrets.token_hex(CLAIM_BYTES)
        lease_until = now + timedelta(seconds=lease_seconds)
        with self.store._write() as session:  # noqa: SLF001 - same package
            due = session.scalars(
                select(LinkArchive.id).where(*self._due(now))
                .order_by(LinkArchive.next_attempt_at, LinkArchive.id)
                .limit(min(limit, MAX_CLAIM)).with_for_update(skip_locked=True)).all()
            taken = []
            for job_id in due:
                result = session.execute(
                    update(LinkArchive).where(LinkArchive.id == job_id, *self._due(now))
                    .values(lease_until=lease_until, claimed_by=claim))
                if result.rowcount == 1:
                    taken.append(job_id)
            if not taken:
                return []
            rows = session.execute(
                select(LinkArchive.id, LinkArchive.attempts, ReportLink.original_url)
                .join(ReportLink, ReportLink.id == LinkArchive.report_link_id)
                .where(LinkArchive.id.in_(taken)).order_by(LinkArchive.id)).all()
        return [ArchiveJob(row.id, claim, row.original_url, row.attempts, lease_until)
                for row in rows]

    def finish(self, job: ArchiveJob, outcome: ArchiveOutcome, *, attempted: bool = True,
               now: datetime | None = None) -> bool:
        """Record an attempt's outcome and give up the lease (only the holder can)."""
        if outcome.state not in ("done", "failed", "pending"):
            raise ValueError(f"unknown archive state {outcome.state!r}")
        if outcome.state == "pending" and outcome.retry_at is None:
            raise ValueError("a job left pending needs retry_at")
        values: dict[str, Any] = {
            "state": outcome.state, "lease_until": None, "claimed_by": None,
            "next_attempt_at": outcome.retry_at if outcome.state == "pending" else None,
        }
        if attempted:
            values["attempts"] = job.attempts + 1
            values["last_error"] = (outcome.error or "")[:ERROR_LENGTH] or None
        if outcome.state == "done":
            values.update(
                fetched_at=outcome.fetched_at, final_url=(outcome.final_url or "")[:2048] or None,
                http_status=outcome.http_status, path=outcome.path, bytes=outcome.size,
                sha256=outcome.sha256, payload_sha256=outcome.payload_sha256,
                page_meta=json.dumps(outcome.page_meta or {}, ensure_ascii=False))
        with self.store._write() as session:  # noqa: SLF001 - same package
            result = session.execute(
                update(LinkArchive).where(LinkArchive.id == job.id,
                                          LinkArchive.claimed_by == job.claim,
                                          LinkArchive.state == "pending")
                .values(**values))
            done = result.rowcount == 1
        if not done:
            logger.warning("Archive job %d was no longer held by this worker", job.id)
        return done
