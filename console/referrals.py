"""Takedown referrals: batches of cases sent to one platform, as CSV and JSON.

A koordinator selects cases of one platform (TikTok, Meta, X, YouTube, ...: the
destinations of bot/resources/decisions.yml that list link platforms) and makes a
batch; its rows carry the URL, the platform's post id, the category, the legal basis
(`legal_basis` of the category in categories.yml), a short reason and the ticket
codes, never anything about the reporters. When the batch has gone out, the sending
time and the platform's reference are recorded. Without a batch, the export lists
the platform's open cases not yet in any batch (a draft).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.categories import get_category, label_for
from bot.decisions import Choice, decision_lists
from bot.store.models import Case, ReferralBatch, ReferralCase, Report, ReportLink, utcnow
from bot.store.types import CaseNotFound
from console import audit
from console.queries import OPEN_STATUSES, case_status
from console.scope import Reviewer
from console.store import ConsoleStore, NotAllowed

logger = logging.getLogger(__name__)

CSV_FIELDS = ("url", "platform_post_id", "category", "legal_basis", "reason", "ticket_codes",
              "case_id", "reports", "first_reported_at")
MAX_BATCH_CASES = 500
MAX_REFERENCE_CHARS = 200
_POST_ID_PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    "tiktok": (re.compile(r"/(?:video|photo)/(\d{1,30})"),),
    "x": (re.compile(r"/status(?:es)?/(\d{1,30})"),),
    "instagram": (re.compile(r"/(?:p|reel|reels|tv)/([A-Za-z0-9_-]{1,64})"),),
    "threads": (re.compile(r"/post/([A-Za-z0-9_-]{1,64})"),),
    "facebook": (re.compile(r"/(?:posts|videos|reel|permalink)/([A-Za-z0-9_.-]{1,64})"),),
    "telegram": (re.compile(r"^/([A-Za-z0-9_]{1,64}/\d{1,20})"),),
}


class ReferralError(ValueError):
    """A referral that cannot be made (`code`: "unknown_platform", "empty", ...)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class AlreadyDone(ReferralError):
    """A case already referred to this platform, or a batch already marked sent (409)."""


def referral_platform(value: str) -> Choice:
    """The takedown destination named `value` (ReferralError when it is none)."""
    choice = decision_lists().destination(value)
    if choice is None or not choice.platforms:
        raise ReferralError("unknown_platform")
    return choice


def platform_post_id(url: str, platform: str) -> str:
    """The platform's id of the post in a canonical URL ("" when it has none)."""
    parts = urlsplit(url)
    if platform == "youtube":
        return (parse_qs(parts.query).get("v") or [""])[0][:64]
    if platform == "facebook":
        query = parse_qs(parts.query)
        for key in ("story_fbid", "fbid", "v"):
            if query.get(key):
                return query[key][0][:64]
    for pattern in _POST_ID_PATTERNS.get(platform, ()):
        match = pattern.search(parts.path)
        if match:
            return match.group(1)
    return ""


def _cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@dataclass(frozen=True)
class ReferralRow:
    """One case in a referral."""

    url: str
    platform_post_id: str
    category: str
    legal_basis: str
    reason: str
    ticket_codes: str
    case_id: int
    reports: int
    first_reported_at: str


def _rows(session: Session, cases: list[Case]) -> list[ReferralRow]:
    rows = []
    for case in cases:
        reports = session.scalars(
            select(Report).join(ReportLink, ReportLink.report_id == Report.id)
            .where(ReportLink.case_id == case.id).order_by(Report.id)).all()
        categories = sorted({r.category for r in reports})
        bases = [get_category(c).legal_basis for c in categories if get_category(c)]
        labels = [label_for(c) for c in categories]
        reason = (f"Dugaan {', '.join(labels).lower()} pada konten pemilu; "
                  f"dilaporkan {len(reports)} kali oleh warga")
        rows.append(ReferralRow(
            url=case.canonical_url, platform_post_id=platform_post_id(case.canonical_url,
                                                                      case.platform),
            category="; ".join(labels), legal_basis="; ".join(dict.fromkeys(b for b in bases if b)),
            reason=reason, ticket_codes=" ".join(r.ticket_code for r in reports),
            case_id=case.id, reports=len(reports),
            first_reported_at=case.first_reported_at.isoformat(timespec="seconds")))
    return rows


def candidate_cases(session: Session, platform: Choice) -> list[Case]:
    """Open cases on the platform that are in no batch for it yet, oldest first."""
    referred = select(ReferralCase.case_id).join(
        ReferralBatch, ReferralBatch.id == ReferralCase.batch_id
    ).where(ReferralBatch.platform == platform.value)
    cases = session.scalars(select(Case).where(Case.platform.in_(platform.platforms),
                                               Case.id.not_in(referred))
                            .order_by(Case.first_reported_at, Case.id)).all()
    open_cases = []
    for case in cases:
        statuses = session.scalars(
            select(Report.status).join(ReportLink, ReportLink.report_id == Report.id)
            .where(ReportLink.case_id == case.id)).all()
        if statuses and case_status(list(statuses)) in OPEN_STATUSES:
            open_cases.append(case)
    return open_cases


def _require_koordinator(reviewer: Reviewer) -> None:
    if not reviewer.is_koordinator:
        raise NotAllowed("only a koordinator makes referrals")


def create_batch(store: ConsoleStore, reviewer: Reviewer, platform_value: str,
                 case_ids: list[int]) -> int:
    """A new batch of the given cases for a platform; returns its id."""
    _require_koordinator(reviewer)
    platform = referral_platform(platform_value)
    wanted = sorted(set(case_ids))
    if not wanted:
        raise ReferralError("empty")
    if len(wanted) > MAX_BATCH_CASES:
        raise ReferralError("too_many")
    with store.write() as session:
        cases = session.scalars(select(Case).where(Case.id.in_(wanted))).all()
        if len(cases) != len(wanted):
            raise CaseNotFound(sorted(set(wanted) - {c.id for c in cases})[0])
        if any(case.platform not in platform.platforms for case in cases):
            raise ReferralError("wrong_platform")
        already = session.scalars(
            select(ReferralCase.case_id).join(ReferralBatch,
                                              ReferralBatch.id == ReferralCase.batch_id)
            .where(ReferralBatch.platform == platform.value, ReferralCase.case_id.in_(wanted))
        ).all()
        if already:
            raise AlreadyDone("already_referred")
        batch = ReferralBatch(platform=platform.value, created_by=reviewer.name,
                              created_at=utcnow())
        session.add(batch)
        session.flush()
        for case_id in wanted:
            session.add(ReferralCase(batch_id=batch.id, case_id=case_id))
        audit.record(session, reviewer.name, "referral.create", f"referral:{batch.id}",
                     platform=platform.value, cases=wanted)
        return int(batch.id)


def mark_sent(store: ConsoleStore, reviewer: Reviewer, batch_id: int, reference: str) -> None:
    """Record that the batch went out, with the platform's reference for it."""
    _require_koordinator(reviewer)
    reference = " ".join((reference or "").split())
    if not reference:
        raise ReferralError("reference_required")
    if len(reference) > MAX_REFERENCE_CHARS:
        raise ReferralError("reference_too_long")
    with store.write() as session:
        batch = session.get(ReferralBatch, batch_id, with_for_update=True)
        if batch is None:
            raise ReferralError("unknown_batch")
        if batch.sent_at is not None:
            raise AlreadyDone("already_sent")
        batch.sent_at = utcnow()
        batch.platform_reference = reference
        audit.record(session, reviewer.name, "referral.sent", f"referral:{batch_id}",
                     platform=batch.platform)


@dataclass(frozen=True)
class Referral:
    """A batch (or the draft of open cases when `batch_id` is None) and its rows."""

    platform: str
    platform_label: str
    batch_id: int | None
    created_by: str | None
    created_at: datetime | None
    sent_at: datetime | None
    platform_reference: str | None
    rows: list[ReferralRow]

    def to_json(self) -> str:
        """The referral as a JSON document."""
        return json.dumps({
            "platform": self.platform, "platform_label": self.platform_label,
            "batch_id": self.batch_id, "created_by": self.created_by,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "platform_reference": self.platform_reference,
            "items": [asdict(row) for row in self.rows],
        }, ensure_ascii=False, indent=2)

    def to_csv(self) -> str:
        """The rows as CSV (header first; formula-like cells neutralised)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_FIELDS)
        for row in self.rows:
            values = asdict(row)
            writer.writerow([_cell(values[name]) for name in CSV_FIELDS])
        return buffer.getvalue()


def load_referral(store: ConsoleStore, reviewer: Reviewer, platform_value: str,
                  batch_id: int | None = None, export: bool = True) -> Referral:
    """A batch of the platform, or the draft of its open unreferred cases (audited export)."""
    _require_koordinator(reviewer)
    platform = referral_platform(platform_value)
    with store.write() as session:
        if batch_id is None:
            batch = None
            cases = candidate_cases(session, platform)
        else:
            batch = session.get(ReferralBatch, batch_id)
            if batch is None or batch.platform != platform.value:
                raise ReferralError("unknown_batch")
            cases = list(session.scalars(
                select(Case).join(ReferralCase, ReferralCase.case_id == Case.id)
                .where(ReferralCase.batch_id == batch_id).order_by(Case.id)).all())
        rows = _rows(session, cases)
        if export:
            audit.record(session, reviewer.name, "referral.export",
                         f"referral:{batch_id}" if batch_id else f"platform:{platform.value}",
                         platform=platform.value, cases=[row.case_id for row in rows])
    return Referral(platform.value, platform.label, batch.id if batch else None,
                    batch.created_by if batch else None, batch.created_at if batch else None,
                    batch.sent_at if batch else None,
                    batch.platform_reference if batch else None, rows)


def batches(store: ConsoleStore, reviewer: Reviewer) -> list[dict[str, Any]]:
    """Every batch, newest first, with its case count (for the referrals page)."""
    _require_koordinator(reviewer)
    with store.read() as session:
        found = session.scalars(select(ReferralBatch).order_by(ReferralBatch.id.desc())
                                .limit(200)).all()
        result = []
        for batch in found:
            count = len(session.scalars(select(ReferralCase.case_id)
                                        .where(ReferralCase.batch_id == batch.id)).all())
            result.append({"id": batch.id, "platform": batch.platform,
                           "created_by": batch.created_by, "created_at": batch.created_at,
                           "sent_at": batch.sent_at,
                           "platform_reference": batch.platform_reference, "cases": count})
        return result


def candidates(store: ConsoleStore, reviewer: Reviewer) -> dict[str, list[ReferralRow]]:
    """Per referral platform, the open cases not yet referred (not audited: no export)."""
    _require_koordinator(reviewer)
    with store.read() as session:
        return {choice.value: _rows(session, candidate_cases(session, choice))
                for choice in decision_lists().referral_platforms()}
