"""Which cases a report's screenshots belong to: the same picture, or the same post.

A screenshot forwarded by many people, and screenshots of one post taken by
different people, should be one case for reviewers, also when some of those
reports carry the post's link and others only the picture. `matching_cases`
compares a new report's screenshots (perceptual hash and text read, bot/ocr)
with the most recent MATCH_WINDOW evidence rows that have either, and returns
the cases of the reports they match.

It runs in a read transaction before the filing's write transaction, so the
writer's lock is not held while texts are compared; two filings of the same new
picture at the same instant may therefore open two cases (a reviewer sees both).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.ocr.fingerprint import same_screenshot, same_text
from bot.store.models import Case, Evidence, ReportLink, is_screenshot_case
from bot.store.types import NewEvidence

logger = logging.getLogger(__name__)

#: Evidence rows (newest first) a new screenshot is compared with.
MATCH_WINDOW = 5000


@dataclass(frozen=True)
class MatchedCase:
    """A case a screenshot of the new report matched."""

    case_id: int
    canonical_url: str
    platform: str

    @property
    def screenshot_only(self) -> bool:
        """True when the case has no link (only screenshots)."""
        return is_screenshot_case(self.canonical_url)


def matching_cases(session: Session, evidence: Sequence[NewEvidence]) -> list[MatchedCase]:
    """The cases whose reports have a screenshot matching one of `evidence`, oldest first."""
    readable = [item for item in evidence if item.perceptual_hash or item.extracted_text]
    if not readable:
        return []
    rows = session.execute(
        select(Evidence.perceptual_hash, Evidence.extracted_text, Case.id,
               Case.canonical_url, Case.platform)
        .join(ReportLink, ReportLink.report_id == Evidence.report_id)
        .join(Case, Case.id == ReportLink.case_id)
        .where(or_(Evidence.perceptual_hash.is_not(None), Evidence.extracted_text.is_not(None)))
        .order_by(Evidence.id.desc())
        .limit(MATCH_WINDOW)
    ).all()
    found: dict[int, MatchedCase] = {}
    for row in rows:
        if row.id in found:
            continue
        for item in readable:
            if same_screenshot(item.perceptual_hash, row.perceptual_hash,
                               item.extracted_text, row.extracted_text) \
                    or same_text(item.extracted_text, row.extracted_text):
                found[row.id] = MatchedCase(int(row.id), row.canonical_url, row.platform)
                break
    if found:
        logger.info("Screenshots matched %d earlier case(s)", len(found))
    return sorted(found.values(), key=lambda match: match.case_id)
