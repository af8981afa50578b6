"""Who may see what: reviewers, their roles, and the regions a pengawas is limited to.

A pengawas sees a report when its region code starts with one of their codes (a
province "33" covers "33.75"); a koordinator sees every report; an admin manages
accounts and sees no report at all. Reports without a region are for koordinators.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import false, or_, true
from sqlalchemy.sql.elements import ColumnElement

from bot.regions import get_region
from bot.store.models import Report
from bot.store.types import CONSOLE_ROLES

logger = logging.getLogger(__name__)

PENGAWAS, KOORDINATOR, ADMIN = CONSOLE_ROLES
_REGION_CODE = re.compile(r"^\d{2}(?:\.\d{2})?$")


class InvalidRegion(ValueError):
    """A region code that is not a province or kabupaten/kota of the Kemendagri list."""


def valid_region_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """The codes, checked against the region list, deduplicated and sorted.

    Accepted: a province ("33") or a kabupaten/kota ("33.75"). Raises InvalidRegion
    naming the first unknown code.
    """
    found: set[str] = set()
    for raw in codes:
        code = str(raw).strip()
        region = get_region(code) if _REGION_CODE.match(code) else None
        if region is None:
            raise InvalidRegion(code)
        found.add(code)
    return tuple(sorted(found))


@dataclass(frozen=True)
class Reviewer:
    """A logged-in console user, as every handler sees them."""

    id: int
    name: str
    role: str
    regions: tuple[str, ...] = ()

    @property
    def reads_reports(self) -> bool:
        """Pengawas and koordinators work on reports; admins do not."""
        return self.role in (PENGAWAS, KOORDINATOR)

    @property
    def is_koordinator(self) -> bool:
        """All regions, assignments, exports, contact reveals."""
        return self.role == KOORDINATOR

    @property
    def is_admin(self) -> bool:
        """Accounts and the audit log only."""
        return self.role == ADMIN

    def can_see_region(self, region_code: str | None) -> bool:
        """True when a report with this region code is visible to the reviewer."""
        if self.role == KOORDINATOR:
            return True
        if self.role != PENGAWAS or not region_code:
            return False
        return any(region_code == code or region_code.startswith(code + ".")
                   for code in self.regions)

    def report_filter(self) -> ColumnElement:
        """The SQL condition on `reports` matching what `can_see_region` allows."""
        if self.role == KOORDINATOR:
            return true()
        if self.role != PENGAWAS or not self.regions:
            return false()
        # Codes are digits and dots only (valid_region_codes): no LIKE wildcards.
        return or_(*(or_(Report.region_code == code, Report.region_code.like(code + ".%"))
                     for code in self.regions))
