"""Dashboard figures and their charts (inline SVG, drawn on the server), and CSV export.

Everything is computed within the reviewer's regions, over reports filed in a date
range (WIB days): reports per day, by category, by platform, by province; the
median time from filing to the first reviewer decision; the share of closed cases
whose content was taken down. The CSV export of the same filtered view has one line
per report and nothing about reporters (no contact, no pseudonym, no description).
"""

from __future__ import annotations

import csv
import io
import logging
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.categories import label_for
from bot.dates import WIB
from bot.regions import get_region
from bot.store.models import Report, ReportLink, StatusChange
from bot.store.types import SYSTEM_ACTOR
from console.queries import case_status
from console.scope import Reviewer

logger = logging.getLogger(__name__)

MAX_DAYS = 366
EXPORT_FIELDS = ("ticket_code", "created_at", "status", "category", "region_code",
                 "region_name", "platforms", "case_ids", "known_date", "first_decision_at",
                 "outcome")
TAKEN_DOWN = "konten_diturunkan"


@dataclass(frozen=True)
class DashboardFilters:
    """The view: a range of filing days (WIB) and optional category/platform/region."""

    date_from: date
    date_to: date
    category: str | None = None
    platform: str | None = None
    region: str | None = None


@dataclass
class Figures:
    """What the dashboard shows."""

    total: int = 0
    per_day: list[tuple[date, int]] = field(default_factory=list)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_platform: list[tuple[str, int]] = field(default_factory=list)
    by_province: list[tuple[str, int]] = field(default_factory=list)
    median_hours_to_decision: float | None = None
    decided: int = 0
    cases_closed: int = 0
    cases_taken_down: int = 0

    @property
    def taken_down_share(self) -> float | None:
        """Share of closed ("selesai") cases whose content was taken down."""
        return self.cases_taken_down / self.cases_closed if self.cases_closed else None


@dataclass
class _Row:
    report: Report
    platforms: list[str] = field(default_factory=list)
    case_ids: list[int] = field(default_factory=list)
    first_decision_at: datetime | None = None
    outcome: str | None = None


def _rows(session: Session, reviewer: Reviewer, filters: DashboardFilters) -> list[_Row]:
    start = datetime.combine(filters.date_from, datetime.min.time(), WIB)
    end = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time(), WIB)
    query = (select(Report).where(reviewer.report_filter(), Report.created_at >= start,
                                  Report.created_at < end)
             .order_by(Report.created_at))
    if filters.category:
        query = query.where(Report.category == filters.category)
    if filters.region:
        query = query.where((Report.region_code == filters.region)
                            | Report.region_code.like(filters.region + ".%"))
    reports = {r.id: _Row(r) for r in session.scalars(query).all()}
    if not reports:
        return []
    ids = list(reports)
    for report_id, case_id, platform in session.execute(
            select(ReportLink.report_id, ReportLink.case_id, ReportLink.platform)
            .where(ReportLink.report_id.in_(ids)).order_by(ReportLink.id)).all():
        reports[report_id].case_ids.append(case_id)
        if platform not in reports[report_id].platforms:
            reports[report_id].platforms.append(platform)
    for report_id, changed_at, changed_by, old, outcome in session.execute(
            select(StatusChange.report_id, StatusChange.changed_at, StatusChange.changed_by,
                   StatusChange.old_status, StatusChange.outcome)
            .where(StatusChange.report_id.in_(ids)).order_by(StatusChange.id)).all():
        row = reports[report_id]
        if old is not None and changed_by != SYSTEM_ACTOR and row.first_decision_at is None:
            row.first_decision_at = changed_at
        if old is not None:
            row.outcome = outcome  # the latest change's outcome (None unless "selesai")
    rows = list(reports.values())
    if filters.platform:
        rows = [row for row in rows if filters.platform in row.platforms]
    return rows


def figures(session: Session, reviewer: Reviewer, filters: DashboardFilters) -> Figures:
    """The dashboard's numbers for the filtered view."""
    rows = _rows(session, reviewer, filters)
    result = Figures(total=len(rows))
    days = Counter(row.report.created_at.astimezone(WIB).date() for row in rows)
    span = min((filters.date_to - filters.date_from).days + 1, MAX_DAYS)
    result.per_day = [(filters.date_from + timedelta(days=i),
                       days.get(filters.date_from + timedelta(days=i), 0)) for i in range(span)]
    result.by_category = Counter(label_for(row.report.category) for row in rows).most_common()
    result.by_platform = Counter(p for row in rows for p in row.platforms).most_common()
    provinces: Counter[str] = Counter()
    for row in rows:
        code = (row.report.region_code or "")[:2]
        region = get_region(code) if code else None
        provinces[region.name if region else "Tanpa wilayah"] += 1
    result.by_province = provinces.most_common()
    waits = [(row.first_decision_at - row.report.created_at).total_seconds() / 3600
             for row in rows if row.first_decision_at is not None]
    result.decided = len(waits)
    result.median_hours_to_decision = statistics.median(waits) if waits else None
    by_case: dict[int, list[_Row]] = defaultdict(list)
    for row in rows:
        for case_id in row.case_ids:
            by_case[case_id].append(row)
    for members in by_case.values():
        if case_status([m.report.status for m in members]) == "selesai":
            result.cases_closed += 1
            if any(m.outcome == TAKEN_DOWN for m in members):
                result.cases_taken_down += 1
    return result


def export_csv(session: Session, reviewer: Reviewer, filters: DashboardFilters) -> tuple[str, int]:
    """The filtered view as CSV, one line per report (no reporter data); and its count."""
    rows = _rows(session, reviewer, filters)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    for row in rows:
        report = row.report
        values: dict[str, Any] = {
            "ticket_code": report.ticket_code,
            "created_at": report.created_at.isoformat(timespec="seconds"),
            "status": report.status, "category": report.category,
            "region_code": report.region_code or "", "region_name": report.region_name or "",
            "platforms": " ".join(row.platforms),
            "case_ids": " ".join(str(c) for c in row.case_ids),
            "known_date": report.known_date.isoformat() if report.known_date else "",
            "first_decision_at": (row.first_decision_at.isoformat(timespec="seconds")
                                  if row.first_decision_at else ""),
            "outcome": row.outcome or "",
        }
        writer.writerow([_cell(values[name]) for name in EXPORT_FIELDS])
    return buffer.getvalue(), len(rows)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- charts ------------------------------------------------------------------------

_BAR = "#1f6f8b"
_TEXT = "#1b1b1b"


def bar_chart(items: list[tuple[str, int]], title: str, limit: int = 12) -> Markup:
    """Horizontal bars with labels and values, as an accessible inline SVG."""
    shown = items[:limit]
    width, label_w, row_h = 560, 220, 22
    height = max(1, len(shown)) * row_h + 8
    top = max((value for _, value in shown), default=0) or 1
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    if not shown:
        parts.append(f'<text x="4" y="18" fill="{_TEXT}" font-size="13">Belum ada data</text>')
    for i, (label, value) in enumerate(shown):
        y = i * row_h + 4
        bar = int((width - label_w - 50) * value / top)
        text = str(label) if len(str(label)) <= 32 else str(label)[:31] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" fill="{_TEXT}" '
                     f'font-size="12">{escape(text)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{max(bar, 1)}" height="{row_h - 6}"'
                     f' fill="{_BAR}"/>')
        parts.append(f'<text x="{label_w + max(bar, 1) + 6}" y="{y + 15}" fill="{_TEXT}" '
                     f'font-size="12">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped


def column_chart(points: list[tuple[date, int]], title: str) -> Markup:
    """Reports per day as columns, with the first and last day labelled."""
    width, height, base = 560, 180, 150
    count = max(1, len(points))
    step = (width - 40) / count
    top = max((value for _, value in points), default=0) or 1
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<line x1="30" y1="{base}" x2="{width - 5}" y2="{base}" stroke="{_TEXT}"/>',
             f'<text x="2" y="14" fill="{_TEXT}" font-size="11">{top}</text>']
    for i, (day, value) in enumerate(points):
        h = int((base - 20) * value / top)
        x = 32 + i * step
        parts.append(f'<rect x="{x:.1f}" y="{base - h}" width="{max(step - 2, 1):.1f}" '
                     f'height="{h}" fill="{_BAR}"><title>{day.isoformat()}: {value}</title>'
                     "</rect>")
    if points:
        parts.append(f'<text x="30" y="{base + 18}" fill="{_TEXT}" font-size="11">'
                     f"{points[0][0].strftime('%d/%m')}</text>")
        parts.append(f'<text x="{width - 5}" y="{base + 18}" text-anchor="end" fill="{_TEXT}" '
                     f"font-size=\"11\">{points[-1][0].strftime('%d/%m')}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped
