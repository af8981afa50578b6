"""Volunteer taskforces in the report store: codes, memberships, the mark on reports.

A mixin of `ReportStore` (it uses the store's `_read()` / `_write()` sessions).

- Codes are issued per region by a koordinator (`issue_volunteer_codes`) and can be
  revoked (`revoke_volunteer_code`); a revoked code admits nobody and its members'
  later reports are no longer marked (reports filed before keep their mark).
- A sender joins with a code (`join_taskforce`): one active membership per sender
  (joining another code ends the previous one); `leave_taskforce` ends it. Two joins
  of one sender racing on PostgreSQL could leave two open rows; the latest joined
  one counts everywhere (`volunteer_code_for`) and leaving ends both.
- `volunteer_code_for(session, sender_key)` is what filing uses to mark a report:
  the sender's active membership of an unrevoked code, decided by the store at
  filing, never by the client.
- An unknown code and a revoked one give the same answer (`JoinResult.INVALID`), so
  the answer never tells which codes exist.
- Nothing here logs a code or a sender key.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.models import VolunteerCode, VolunteerMembership, utcnow
from bot.store.volunteer_codes import new_volunteer_code

logger = logging.getLogger(__name__)

MAX_CODES_PER_ISSUE = 100
TASKFORCE_NAME_LENGTH = 200
MAX_CODE_DRAWS = 20


class JoinResult(enum.Enum):
    """What became of a request to join a taskforce."""

    JOINED = "joined"
    ALREADY = "already"  # already an active member with this code
    INVALID = "invalid"  # unknown or revoked: deliberately the same


@dataclass(frozen=True)
class Joined:
    """The outcome of `join_taskforce`; `taskforce` and `region_code` only when joined."""

    result: JoinResult
    taskforce: str | None = None
    region_code: str | None = None


@dataclass(frozen=True)
class VolunteerCodeInfo:
    """A code as the console lists it."""

    id: int
    code: str
    region_code: str
    taskforce: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None


def _info(row: VolunteerCode) -> VolunteerCodeInfo:
    return VolunteerCodeInfo(row.id, row.code, row.region_code, row.taskforce, row.created_by,
                             row.created_at, row.revoked_at, row.revoked_by)


def volunteer_code_for(session: Session, sender_key: str | None) -> int | None:
    """The id of the code the sender is an active member of (unrevoked), else None."""
    if not sender_key:
        return None
    return session.scalar(
        select(VolunteerMembership.code_id)
        .join(VolunteerCode, VolunteerCode.id == VolunteerMembership.code_id)
        .where(VolunteerMembership.sender_key == sender_key,
               VolunteerMembership.left_at.is_(None), VolunteerCode.revoked_at.is_(None))
        .order_by(VolunteerMembership.joined_at.desc(), VolunteerMembership.id.desc())
        .limit(1))


class VolunteerStore:
    """Taskforce methods of the report store (mixed into `ReportStore`)."""

    def issue_volunteer_codes(self, session: Session, region_code: str, taskforce: str,
                              created_by: str, count: int = 1) -> list[VolunteerCodeInfo]:
        """Add `count` new codes for a region's taskforce in the caller's transaction.

        The caller (the console) validates the region and writes the audit entry in
        the same session. Raises ValueError for an empty or over-long name or count.
        """
        name = " ".join((taskforce or "").split())
        if not name or len(name) > TASKFORCE_NAME_LENGTH:
            raise ValueError("taskforce name must be 1 to 200 characters")
        if not 1 <= count <= MAX_CODES_PER_ISSUE:
            raise ValueError(f"count must be 1 to {MAX_CODES_PER_ISSUE}")
        now = utcnow()
        rows = []
        for _ in range(count):
            row = VolunteerCode(code=self._unused_volunteer_code(session), region_code=region_code,
                                taskforce=name, created_by=created_by, created_at=now)
            session.add(row)
            session.flush()
            rows.append(_info(row))
        logger.info("Issued %d volunteer codes", count)
        return rows

    @staticmethod
    def _unused_volunteer_code(session: Session) -> str:
        for _ in range(MAX_CODE_DRAWS):
            code = new_volunteer_code()
            if session.scalar(select(VolunteerCode.id).where(VolunteerCode.code == code)) is None:
                return code
        raise RuntimeError("no unused volunteer code found")

    @staticmethod
    def revoke_volunteer_code(session: Session, code_id: int, revoked_by: str
                              ) -> VolunteerCodeInfo | None:
        """Revoke a code in the caller's transaction; None when there is no such code.
        Revoking twice keeps the first revocation."""
        row = session.get(VolunteerCode, code_id)
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            row.revoked_by = revoked_by
            session.flush()
        return _info(row)

    @staticmethod
    def volunteer_codes(session: Session, region_prefixes: tuple[str, ...] | None = None
                        ) -> list[VolunteerCodeInfo]:
        """Every code (or those of the given region prefixes), newest first."""
        rows = session.scalars(select(VolunteerCode).order_by(VolunteerCode.id.desc())).all()
        if region_prefixes is not None:
            rows = [r for r in rows if any(r.region_code == p or r.region_code.startswith(p + ".")
                                           for p in region_prefixes)]
        return [_info(row) for row in rows]

    def join_taskforce(self, sender_key: str, code: str) -> Joined:
        """Make the sender a member of the code's taskforce (ending any other membership).

        `code` must already be canonical (`bot.store.volunteer_codes`). An unknown and a
        revoked code both give `JoinResult.INVALID`.
        """
        if not sender_key or len(sender_key) > 64:
            raise ValueError("sender_key is required")
        for attempt in (1, 2):
            try:
                return self._join_once(sender_key, code)
            except IntegrityError:  # pragma: no cover - a code deleted in between
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _join_once(self, sender_key: str, code: str) -> Joined:
        with self._write() as session:  # type: ignore[operator]
            row = session.scalar(select(VolunteerCode).where(VolunteerCode.code == code))
            if row is None or row.revoked_at is not None:
                logger.info("A volunteer code was refused")
                return Joined(JoinResult.INVALID)
            current = volunteer_code_for(session, sender_key)
            if current == row.id:
                return Joined(JoinResult.ALREADY, row.taskforce, row.region_code)
            now = utcnow()
            session.execute(update(VolunteerMembership)
                            .where(VolunteerMembership.sender_key == sender_key,
                                   VolunteerMembership.left_at.is_(None))
                            .values(left_at=now))
            session.add(VolunteerMembership(code_id=row.id, sender_key=sender_key,
                                            joined_at=now))
            logger.info("A sender joined a taskforce")
            return Joined(JoinResult.JOINED, row.taskforce, row.region_code)

    def leave_taskforce(self, sender_key: str) -> bool:
        """End the sender's memberships; False when they had none."""
        if not sender_key:
            return False
        with self._write() as session:  # type: ignore[operator]
            ended = session.execute(update(VolunteerMembership)
                                    .where(VolunteerMembership.sender_key == sender_key,
                                           VolunteerMembership.left_at.is_(None))
                                    .values(left_at=utcnow())).rowcount
        logger.info("A sender left a taskforce (%d memberships ended)", ended or 0)
        return bool(ended)

    def volunteer_code_of(self, sender_key: str) -> int | None:
        """The id of the sender's active (unrevoked) code, else None."""
        with self._read() as session:  # type: ignore[operator]
            return volunteer_code_for(session, sender_key)

    @staticmethod
    def forget_memberships(session: Session, sender_key: str) -> None:
        """Delete the sender's memberships (erasure): their reports keep the code's mark."""
        session.execute(VolunteerMembership.__table__.delete()
                        .where(VolunteerMembership.sender_key == sender_key))
