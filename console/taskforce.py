"""Volunteer taskforces (gugus tugas) for koordinators: codes and per-volunteer figures.

Issuing and revoking write their audit entry in the same transaction. Volunteers
appear only as the reporter label (`queries.reporter_label`, "P-" + 6 hex of a keyed
hash), the same one the case page shows, never as a sender key. A report counts as
a takedown when one of its status changes recorded the outcome "konten_diturunkan".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.store.models import Report, StatusChange, VolunteerCode, VolunteerMembership
from bot.store.volunteers import VolunteerCodeInfo
from console import audit
from console.queries import reporter_label
from console.scope import InvalidRegion, Reviewer, valid_region_codes
from console.store import ConsoleStore, NotAllowed

logger = logging.getLogger(__name__)

TAKEDOWN_OUTCOME = "konten_diturunkan"


class TaskforceError(Exception):
    """A request the koordinator can correct; `code` names its message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class VolunteerFigures:
    """One volunteer (by label) under one code: reports filed and takedowns."""

    label: str
    reports: int = 0
    takedowns: int = 0


@dataclass
class CodeFigures:
    """A code with its volunteers' figures."""

    code: VolunteerCodeInfo
    members: int
    reports: int
    takedowns: int
    volunteers: list[VolunteerFigures]


def _koordinator(reviewer: Reviewer) -> None:
    if not reviewer.is_koordinator:
        raise NotAllowed("koordinator only")


def issue_codes(store: ConsoleStore, reviewer: Reviewer, region: str, taskforce: str,
                count: int) -> list[VolunteerCodeInfo]:
    """Issue `count` codes for a region's taskforce (audited, without the codes)."""
    _koordinator(reviewer)
    try:
        (region_code,) = valid_region_codes([region])
    except (InvalidRegion, ValueError):
        raise TaskforceError("unknown_region") from None
    try:
        with store.write() as session:
            issued = store.issue_volunteer_codes(session, region_code, taskforce, reviewer.name,
                                                 count)
            audit.record(session, reviewer.name, "volunteer.issue", f"region:{region_code}",
                         taskforce=issued[0].taskforce, count=len(issued),
                         code_ids=[row.id for row in issued])
    except ValueError:
        raise TaskforceError("bad_taskforce") from None
    return issued


def revoke_code(store: ConsoleStore, reviewer: Reviewer, code_id: int) -> VolunteerCodeInfo:
    """Revoke a code (audited); TaskforceError("unknown_code") when there is none."""
    _koordinator(reviewer)
    with store.write() as session:
        info = store.revoke_volunteer_code(session, code_id, reviewer.name)
        if info is None:
            raise TaskforceError("unknown_code")
        audit.record(session, reviewer.name, "volunteer.revoke", f"volunteer_code:{code_id}",
                     region=info.region_code)
    return info


def figures(store: ConsoleStore, reviewer: Reviewer) -> list[CodeFigures]:
    """Every code, newest first, with members, reports, takedowns and per-volunteer rows."""
    _koordinator(reviewer)
    with store.read() as session:
        codes = store.volunteer_codes(session)
        members: dict[int, int] = {}
        for code_id, _key in session.execute(
                select(VolunteerMembership.code_id, VolunteerMembership.sender_key)
                .where(VolunteerMembership.left_at.is_(None)).distinct()).all():
            members[code_id] = members.get(code_id, 0) + 1
        taken_down = (select(StatusChange.id)
                      .where(StatusChange.report_id == Report.id,
                             StatusChange.outcome == TAKEDOWN_OUTCOME)
                      .correlate(Report).exists())
        rows = session.execute(
            select(Report.volunteer_code_id, Report.reporter_key, taken_down.label("gone"))
            .where(Report.volunteer_code_id.is_not(None))).all()
    per_code: dict[int, dict[str, VolunteerFigures]] = {}
    for code_id, reporter_key, gone in rows:
        label = reporter_label(reporter_key)
        entry = per_code.setdefault(code_id, {}).setdefault(label, VolunteerFigures(label))
        entry.reports += 1
        entry.takedowns += 1 if gone else 0
    result = []
    for code in codes:
        volunteers = sorted(per_code.get(code.id, {}).values(),
                            key=lambda v: (-v.reports, v.label))
        result.append(CodeFigures(
            code=code, members=0 if code.revoked_at else members.get(code.id, 0),
            reports=sum(v.reports for v in volunteers),
            takedowns=sum(v.takedowns for v in volunteers), volunteers=volunteers))
    return result


def code_labels(session: Any, code_ids: set[int]) -> dict[int, str]:
    """Code ids -> the code text, for the queue's taskforce view."""
    if not code_ids:
        return {}
    return dict(session.execute(select(VolunteerCode.id, VolunteerCode.code)
                                .where(VolunteerCode.id.in_(sorted(code_ids)))).all())
