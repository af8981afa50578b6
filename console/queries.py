"""What reviewers read: the case queue, report and case details, within their regions.

Every function takes an open session and the `Reviewer`, and returns plain dicts
(datetimes stay datetimes; the API serialises them as ISO 8601). Reports outside a
pengawas's regions are never returned: a report they may not see is reported as
missing (None), exactly like one that does not exist.

Urgency (the queue's order): open cases first; among them the earliest handling
deadline, 7 days after the reporter learned of the content (`known_date`, else the
filing day; campaign-rules.md section 1), then more distinct reporters, then age.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from bot.categories import label_for
from bot.dates import WIB
from bot.decisions import decision_lists
from bot.privacy import attest_sender
from bot.status_labels import status_label
from bot.store.models import (
    Case,
    CaseAssignment,
    CaseNote,
    ConsoleUser,
    Evidence,
    LinkArchive,
    LinkCheck,
    ReferralBatch,
    ReferralCase,
    Report,
    ReportLink,
    StatusChange,
    VolunteerCode,
    is_screenshot_case,
)
from bot.store.tickets import normalize_ticket_code
from bot.store.types import STATUSES
from console.scope import Reviewer

logger = logging.getLogger(__name__)

#: Days from when the reporter learned of the content to the handling deadline.
HANDLING_DAYS = 7
OPEN_STATUSES = ("baru", "diproses", "diteruskan")
#: A case's status is that of its least advanced report, in this order.
_CASE_ORDER = ("baru", "diproses", "diteruskan", "selesai", "ditolak")
MAX_QUEUE = 300
MAX_SEARCH_CHARS = 200
_REGION_FILTER = re.compile(r"^\d{2}(?:\.\d{2})?$")


def case_status(statuses: list[str]) -> str:
    """The status shown for a case: that of its least advanced report."""
    return min(statuses, key=_CASE_ORDER.index) if statuses else "baru"


def reporter_label(reporter_key: str | None) -> str:
    """A short, keyed, non-reversible label for a reporter ("P-3FA9C1"), or "anonim"."""
    if not reporter_key:
        return "anonim"
    return "P-" + attest_sender("console-reporter-label", reporter_key)[:6].upper()


def online(check_status: str | None) -> bool | None:
    """True when the content was there, False when gone, None when unknown."""
    if check_status == "ok":
        return True
    if check_status == "not_found":
        return False
    return None


def start_day(known: date | None, created_at: datetime) -> date:
    """The day the 7-day handling period starts."""
    return known if known is not None else created_at.astimezone(WIB).date()


def deadline_of(known: date | None, created_at: datetime) -> date:
    """The handling deadline of a report."""
    return start_day(known, created_at) + timedelta(days=HANDLING_DAYS)


def _case_ids(session: Session, report_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    if report_ids:
        rows = session.execute(select(ReportLink.report_id, ReportLink.case_id)
                               .where(ReportLink.report_id.in_(report_ids))
                               .order_by(ReportLink.id)).all()
        for report_id, case_id in rows:
            found[report_id].append(case_id)
    return found


def _summary(row: Report, case_ids: list[int]) -> dict[str, Any]:
    return {"ticket_code": row.ticket_code, "status": row.status, "category": row.category,
            "region_code": row.region_code, "case_id": case_ids[0] if case_ids else None,
            "created_at": row.created_at}


def search_condition(q: str) -> Any:
    """Reports whose ticket code is `q`, or one of whose links contains `q`."""
    text = q.strip()[:MAX_SEARCH_CHARS]
    code = normalize_ticket_code(text)
    link = aliased(ReportLink)  # the queue's query has report_links in its FROM too
    link_match = select(link.id).where(
        link.report_id == Report.id,
        or_(link.original_url.contains(text, autoescape=True),
            link.canonical_url.contains(text, autoescape=True))).correlate(Report).exists()
    return or_(Report.ticket_code == code, link_match) if code else link_match


def list_reports(session: Session, reviewer: Reviewer, status: str | None = None,
                 region: str | None = None, q: str | None = None,
                 limit: int = 100) -> list[dict[str, Any]]:
    """Reports the reviewer may see, newest first, optionally filtered.

    `region` is a code prefix ("33" or "33.75"); callers validate `status` and
    `region` (ValueError here for malformed ones).
    """
    query = select(Report).where(reviewer.report_filter())
    if status:
        if status not in STATUSES:
            raise ValueError("unknown status")
        query = query.where(Report.status == status)
    if region:
        if not _REGION_FILTER.match(region):
            raise ValueError("malformed region")
        query = query.where(or_(Report.region_code == region,
                                Report.region_code.like(region + ".%")))
    if q and q.strip():
        query = query.where(search_condition(q))
    rows = session.scalars(query.order_by(Report.created_at.desc(), Report.id.desc())
                           .limit(max(1, min(limit, 500)))).all()
    case_ids = _case_ids(session, [row.id for row in rows])
    return [_summary(row, case_ids[row.id]) for row in rows]


def _latest_checks(session: Session, case_ids: list[int]) -> dict[tuple[int, str], LinkCheck]:
    latest: dict[tuple[int, str], LinkCheck] = {}
    if case_ids:
        for check in session.scalars(select(LinkCheck).where(LinkCheck.case_id.in_(case_ids))
                                     .order_by(LinkCheck.id)).all():
            latest[(check.case_id, check.url)] = check
    return latest


def _archives(session: Session, link_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The evidence archive of each report link (bot/archive): state, and for a stored
    WARC its id (download at /arsip/{id}), fetch time, size, SHA-256 and what it found."""
    found: dict[int, dict[str, Any]] = {}
    if link_ids:
        for item in session.scalars(select(LinkArchive)
                                    .where(LinkArchive.report_link_id.in_(link_ids))).all():
            done = item.state == "done"
            found[item.report_link_id] = {
                "id": item.id if done else None, "state": item.state,
                "sha256": item.sha256 if done else None,
                "fetched_at": item.fetched_at if done else None,
                "bytes": item.bytes if done else None,
                "final_url": item.final_url if done else None,
                "http_status": item.http_status if done else None,
                "page": json.loads(item.page_meta) if done and item.page_meta else {},
            }
    return found


def _link(link: ReportLink, latest: dict[tuple[int, str], LinkCheck],
          archives: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    check = latest.get((link.case_id, link.original_url))
    status = check.check_status if check is not None else link.check_status
    return {"url": link.original_url, "canonical_url": link.canonical_url,
            "platform": link.platform, "case_id": link.case_id, "online": online(status),
            "check_status": status,
            "http_status": check.http_status if check is not None else link.http_status,
            "page_title": check.page_title if check is not None else link.page_title,
            "checked_at": check.checked_at if check is not None else link.checked_at,
            "rechecked": check is not None,
            # The row of a report without any link (its case is its screenshot).
            "no_link": is_screenshot_case(link.original_url),
            "archive": (archives or {}).get(link.id)}


def _history(session: Session, report_ids: list[int]) -> list[dict[str, Any]]:
    if not report_ids:
        return []
    rows = session.execute(
        select(StatusChange, Report.ticket_code).join(Report, Report.id == StatusChange.report_id)
        .where(StatusChange.report_id.in_(report_ids)).order_by(StatusChange.id)).all()
    lists = decision_lists()
    history = []
    for change, ticket in rows:
        destination = lists.destination(change.destination)
        outcome = lists.outcome(change.outcome)
        history.append({
            "ticket_code": ticket, "old_status": change.old_status,
            "new_status": change.new_status, "changed_by": change.changed_by,
            "changed_at": change.changed_at, "note": change.note,
            "destination": change.destination, "outcome": change.outcome,
            "destination_label": destination.label if destination else None,
            "outcome_label": outcome.label if outcome else None,
        })
    return history


def _evidence(session: Session, report_id: int) -> list[dict[str, Any]]:
    """The report's files; `text` is what was read from a screenshot (None otherwise)."""
    return [{"id": item.id, "kind": item.kind, "mime_type": item.mime_type,
             "size_bytes": item.size_bytes, "text": item.extracted_text}
            for item in session.scalars(select(Evidence).where(Evidence.report_id == report_id)
                                        .order_by(Evidence.id)).all()]


def _report_body(session: Session, row: Report, latest: dict[tuple[int, str], LinkCheck]
                 ) -> dict[str, Any]:
    archives = _archives(session, [link.id for link in row.links])
    links = [_link(link, latest, archives) for link in row.links]
    return {
        "ticket_code": row.ticket_code, "status": row.status,
        "status_label": status_label(row.status), "category": row.category,
        "category_label": label_for(row.category), "region_code": row.region_code,
        "region_name": row.region_name, "description": row.description,
        "known_date": row.known_date, "reported_party": row.reported_party,
        "channel": row.channel, "reporter": reporter_label(row.reporter_key),
        "created_at": row.created_at, "updated_at": row.updated_at,
        "case_id": links[0]["case_id"] if links else None,
        "case_ids": [link["case_id"] for link in links], "links": links,
        "deadline": deadline_of(row.known_date, row.created_at),
        "evidence": _evidence(session, row.id),
        # Filed by a taskforce volunteer with this code (None otherwise).
        "volunteer_code": _volunteer_codes(session, {row.volunteer_code_id}).get(
            row.volunteer_code_id),
    }


def _volunteer_codes(session: Session, code_ids: set[int | None]) -> dict[int, str]:
    """Volunteer code ids -> the code text (the taskforce view shows the code)."""
    wanted = sorted(i for i in code_ids if i is not None)
    if not wanted:
        return {}
    return dict(session.execute(select(VolunteerCode.id, VolunteerCode.code)
                                .where(VolunteerCode.id.in_(wanted))).all())


def report_detail(session: Session, reviewer: Reviewer, ticket_code: str
                  ) -> dict[str, Any] | None:
    """Everything about one report (None when missing or outside the reviewer's regions)."""
    code = normalize_ticket_code(ticket_code)
    if code is None:
        return None
    row = session.scalar(select(Report).where(Report.ticket_code == code))
    if row is None or not reviewer.can_see_region(row.region_code):
        return None
    latest = _latest_checks(session, [link.case_id for link in row.links])
    body = _report_body(session, row, latest)
    body["history"] = _history(session, [row.id])
    return body


def visible_case_reports(session: Session, reviewer: Reviewer, case_id: int
                         ) -> tuple[Case | None, list[Report], int]:
    """The case, its reports the reviewer may see, and how many others it has."""
    case = session.get(Case, case_id)
    if case is None:
        return None, [], 0
    rows = session.scalars(select(Report).join(ReportLink, ReportLink.report_id == Report.id)
                           .where(ReportLink.case_id == case_id).order_by(Report.id)).all()
    visible = [row for row in rows if reviewer.can_see_region(row.region_code)]
    return case, visible, len(rows) - len(visible)


def case_detail(session: Session, reviewer: Reviewer, case_id: int) -> dict[str, Any] | None:
    """Everything about one case that the reviewer may see (None when they see nothing)."""
    case, rows, hidden = visible_case_reports(session, reviewer, case_id)
    if case is None or not rows:
        return None
    latest = _latest_checks(session, [case_id])
    reports = [_report_body(session, row, latest) for row in rows]
    links: dict[str, dict[str, Any]] = {}
    for report in reports:
        for link in report["links"]:
            if link["case_id"] == case_id:
                links.setdefault(link["url"], link)
    checks = session.scalars(select(LinkCheck).where(LinkCheck.case_id == case_id)
                             .order_by(LinkCheck.id.desc()).limit(50)).all()
    assignment = session.execute(
        select(CaseAssignment, ConsoleUser.name).join(ConsoleUser,
                                                      ConsoleUser.id == CaseAssignment.user_id)
        .where(CaseAssignment.case_id == case_id)).first()
    notes = session.scalars(select(CaseNote).where(CaseNote.case_id == case_id)
                            .order_by(CaseNote.id)).all()
    batches = session.execute(
        select(ReferralBatch).join(ReferralCase, ReferralCase.batch_id == ReferralBatch.id)
        .where(ReferralCase.case_id == case_id).order_by(ReferralBatch.id)).scalars().all()
    open_deadlines = [r["deadline"] for r in reports if r["status"] in OPEN_STATUSES]
    latest_by_url = {url: check.check_status for (_, url), check in latest.items()}
    return {
        "id": case.id, "canonical_url": case.canonical_url, "platform": case.platform,
        "no_link": is_screenshot_case(case.canonical_url),
        "status": case_status([r["status"] for r in reports]),
        "first_reported_at": case.first_reported_at, "report_count": case.report_count,
        "reports": reports, "hidden_reports": hidden, "links": list(links.values()),
        "reporters": len({r["reporter"] for r in reports if r["reporter"] != "anonim"})
                     + sum(1 for r in reports if r["reporter"] == "anonim"),
        "deadline": min(open_deadlines) if open_deadlines else None,
        "gone": bool(latest_by_url) and all(s == "not_found" for s in latest_by_url.values()),
        "checks": [{"url": c.url, "check_status": c.check_status, "online": online(c.check_status),
                    "http_status": c.http_status, "checked_by": c.checked_by,
                    "checked_at": c.checked_at} for c in checks],
        "assignee": assignment[1] if assignment else None,
        "assigned_by": assignment[0].assigned_by if assignment else None,
        "notes": [{"author": n.author, "text": n.text, "created_at": n.created_at}
                  for n in notes],
        "history": _history(session, [row.id for row in rows]),
        "referrals": [{"id": b.id, "platform": b.platform, "created_at": b.created_at,
                       "sent_at": b.sent_at, "platform_reference": b.platform_reference}
                      for b in batches],
    }


# --- the queue ---------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters (all optional; `status` "terbuka" = every open status)."""

    status: str | None = "terbuka"
    category: str | None = None
    platform: str | None = None
    region: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    assignee: str | None = None  # a user name, or "-" for unassigned
    q: str | None = None
    volunteer: bool = False  # the taskforce view: only reports filed by volunteers


@dataclass
class QueueItem:
    """One case in the queue."""

    case_id: int
    canonical_url: str
    platform: str
    status: str
    reports: int
    reporters: int
    categories: list[str]
    regions: list[str]
    tickets: list[str]
    first_reported_at: datetime
    deadline: date | None
    days_left: int | None
    assignee: str | None
    volunteer_codes: list[str] = field(default_factory=list)

    def urgency(self) -> tuple[Any, ...]:
        """Sort key: open first, earliest deadline, more reporters, older."""
        closed = self.status not in OPEN_STATUSES
        return (closed, self.deadline or date.max, -self.reporters, self.first_reported_at,
                self.case_id)


def queue(session: Session, reviewer: Reviewer, filters: QueueFilters, today: date,
          limit: int = MAX_QUEUE) -> list[QueueItem]:
    """The cases the reviewer may see that match the filters, most urgent first."""
    query = (select(ReportLink.case_id, Case.canonical_url, Case.platform,
                    Case.first_reported_at, Report.ticket_code, Report.status, Report.category,
                    Report.region_code, Report.known_date, Report.created_at,
                    Report.reporter_key, Report.volunteer_code_id)
             .join(Report, Report.id == ReportLink.report_id)
             .join(Case, Case.id == ReportLink.case_id)
             .where(reviewer.report_filter()))
    if filters.category:
        query = query.where(Report.category == filters.category)
    if filters.platform:
        query = query.where(Case.platform == filters.platform)
    if filters.region:
        if not _REGION_FILTER.match(filters.region):
            raise ValueError("malformed region")
        query = query.where(or_(Report.region_code == filters.region,
                                Report.region_code.like(filters.region + ".%")))
    if filters.date_from:
        query = query.where(Case.first_reported_at
                            >= datetime.combine(filters.date_from, datetime.min.time(), WIB))
    if filters.date_to:
        query = query.where(Case.first_reported_at < datetime.combine(
            filters.date_to + timedelta(days=1), datetime.min.time(), WIB))
    if filters.q and filters.q.strip():
        query = query.where(search_condition(filters.q))
    if filters.volunteer:
        query = query.where(Report.volunteer_code_id.is_not(None))
    assignees = dict(session.execute(
        select(CaseAssignment.case_id, ConsoleUser.name)
        .join(ConsoleUser, ConsoleUser.id == CaseAssignment.user_id)).all())
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(query).all():
        grouped[row.case_id].append(row)
    codes = _volunteer_codes(session, {row.volunteer_code_id
                                       for rows in grouped.values() for row in rows})
    items = []
    for case_id, rows in grouped.items():
        statuses = [row.status for row in rows]
        status = case_status(statuses)
        if filters.status == "terbuka" and status not in OPEN_STATUSES:
            continue
        if filters.status and filters.status != "terbuka" and status != filters.status:
            continue
        assignee = assignees.get(case_id)
        if filters.assignee == "-" and assignee is not None:
            continue
        if filters.assignee and filters.assignee != "-" and assignee != filters.assignee:
            continue
        open_rows = [row for row in rows if row.status in OPEN_STATUSES]
        deadline = min((deadline_of(r.known_date, r.created_at) for r in open_rows),
                       default=None)
        keys = {row.reporter_key for row in rows if row.reporter_key}
        first = rows[0]
        items.append(QueueItem(
            case_id=case_id, canonical_url=first.canonical_url, platform=first.platform,
            status=status, reports=len(rows),
            reporters=len(keys) + sum(1 for row in rows if not row.reporter_key),
            categories=sorted({row.category for row in rows}),
            regions=sorted({row.region_code for row in rows if row.region_code}),
            tickets=sorted(row.ticket_code for row in rows),
            first_reported_at=first.first_reported_at, deadline=deadline,
            days_left=(deadline - today).days if deadline else None, assignee=assignee,
            volunteer_codes=sorted({codes[row.volunteer_code_id] for row in rows
                                    if row.volunteer_code_id in codes})))
    items.sort(key=QueueItem.urgency)
    return items[:limit]


def visible_case(session: Session, reviewer: Reviewer, case_id: int) -> bool:
    """True when the reviewer may see at least one report of the case."""
    return session.scalar(
        select(ReportLink.id).join(Report, Report.id == ReportLink.report_id)
        .where(and_(ReportLink.case_id == case_id, reviewer.report_filter())).limit(1)
    ) is not None
