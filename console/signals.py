"""Coordinated-report signals: does a burst of reports on one case look organised?

Many new senders reporting one URL within a short window can be genuine outrage or
a campaign to get lawful content taken down; one sender filing many reports against
one account can be a diligent monitor or a vendetta. These signals help reviewers
tell which. They are computed from the reports database alone (reports, their
reporters' first contact), over every report of a case, and they only inform: no
report is rejected, hidden or changed because of them.

Per case (`CaseSignals`, thresholds and wording in console/resources/signals.yml):

- `distinct_reporters`: reporters of the case; a report without a reporter key
  (erased reporter, or anonymous) counts as one more distinct, unknown reporter.
- the burst: the busiest window of `burst.window_minutes`; `reports_per_hour` is its
  report count per hour.
- `new_sender_share`: among reporters with a known first contact, the share whose
  first-ever contact (reporters.created_at) came at most `new_sender.hours` before
  their first report on this case. None when no reporter is known.
- near-identical descriptions in the burst: character-shingle Jaccard similarity.
- `coordinated` (+ an Indonesian `reason`): enough distinct reporters in the burst AND
  (enough new senders OR enough near-identical descriptions in the burst).
- `repeat_reporter` (+ `repeat_reason`): one reporter of this case filed many reports
  naming the same reported party within a window.

`for_cases(session, case_ids)` computes them for many cases with a fixed number of
queries (reports of all the cases; descriptions of the burst reports only; the
reporters with many reports and those reports), so the queue can use it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.models import Report, Reporter, ReportLink
from console.queries import reporter_label

logger = logging.getLogger(__name__)

SIGNALS_FILE = Path(__file__).resolve().parent / "resources" / "signals.yml"
#: Most values in one SQL IN list.
CHUNK = 500
#: Most characters of a reported party quoted in a reason.
MAX_PARTY_CHARS = 60
#: Most characters of a reported party looked at when normalising it.
MAX_PARTY_SCAN = 200
_HANDLE = re.compile(r"@[\w.]{1,64}")
_REASON_KEYS = ("burst", "new_senders", "near_duplicates", "caution", "repeat", "repeat_more",
                "repeat_caution")


@dataclass(frozen=True)
class Rules:
    """Thresholds and reviewers' wording (console/resources/signals.yml)."""

    window: timedelta
    min_reporters: int
    new_sender_share: float
    near_duplicate_share: float
    new_sender_window: timedelta
    shingle_chars: int
    jaccard: float
    max_chars: int
    max_descriptions: int
    repeat_min_reports: int
    repeat_window: timedelta
    reasons: dict[str, str]

    @property
    def window_minutes(self) -> int:
        return int(self.window.total_seconds() // 60)


def _number(section: dict[str, Any], name: str, low: float, high: float) -> float:
    value = section.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{SIGNALS_FILE}: {name} must be a number in [{low}, {high}]")
    return float(value)


def load_rules(path: Path = SIGNALS_FILE) -> Rules:
    """Read and check the thresholds file (ValueError when malformed)."""
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path} must be a mapping")
    sections = {}
    for name in ("burst", "new_sender", "similarity", "repeat", "reasons"):
        section = data.get(name)
        if not isinstance(section, dict):
            raise ValueError(f"{path}: section {name} is missing")
        sections[name] = section
    reasons = {str(k): str(v) for k, v in sections["reasons"].items()}
    missing = [key for key in _REASON_KEYS if not reasons.get(key)]
    if missing:
        raise ValueError(f"{path}: reasons lack {missing}")
    burst, similarity, repeat = sections["burst"], sections["similarity"], sections["repeat"]
    return Rules(
        window=timedelta(minutes=_number(burst, "window_minutes", 1, 7 * 24 * 60)),
        min_reporters=int(_number(burst, "min_reporters", 2, 100_000)),
        new_sender_share=_number(burst, "new_sender_share", 0, 1),
        near_duplicate_share=_number(burst, "near_duplicate_share", 0, 1),
        new_sender_window=timedelta(hours=_number(sections["new_sender"], "hours", 0, 24 * 365)),
        shingle_chars=int(_number(similarity, "shingle_chars", 2, 20)),
        jaccard=_number(similarity, "jaccard", 0.05, 1),
        max_chars=int(_number(similarity, "max_chars", 20, 5000)),
        max_descriptions=int(_number(similarity, "max_descriptions", 2, 1000)),
        repeat_min_reports=int(_number(repeat, "min_reports", 2, 10_000)),
        repeat_window=timedelta(days=_number(repeat, "window_days", 1, 3650)),
        reasons=reasons,
    )


@lru_cache(maxsize=1)
def rules() -> Rules:
    """The configured rules, read once."""
    return load_rules()


# --- pure computation -----------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """What the signals need of one report of a case."""

    report_id: int
    reporter_key: str | None
    created_at: datetime
    first_contact_at: datetime | None = None  # reporters.created_at; None when unknown
    reported_party: str | None = None
    description: str = ""

    @property
    def owner(self) -> str:
        """The reporter, or a distinct placeholder for a report without one."""
        return self.reporter_key or f"\x00report:{self.report_id}"


@dataclass(frozen=True)
class RepeatReporter:
    """A reporter of the case who filed many reports naming one party."""

    reporter: str  # the console's non-reversible label
    reported_party: str
    reports: int


@dataclass(frozen=True)
class CaseSignals:
    """The signals of one case (see the module docstring)."""

    reports: int
    distinct_reporters: int
    unknown_reporters: int
    reports_per_hour: float
    new_sender_share: float | None
    burst_start: datetime | None
    burst_end: datetime | None
    burst_reports: int
    burst_reporters: int
    burst_new_sender_share: float | None
    near_duplicate_share: float | None  # in the burst; None when fewer than 2 compared
    coordinated: bool
    reason: str | None
    repeat_reporter: bool
    repeat_reason: str | None
    repeat_reporters: tuple[RepeatReporter, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The API's `signals` object (datetimes stay datetimes for the serialiser)."""
        return {
            "distinct_reporters": self.distinct_reporters,
            "reports_per_hour": self.reports_per_hour,
            "new_sender_share": self.new_sender_share,
            "coordinated": self.coordinated,
            "reason": self.reason,
            "unknown_reporters": self.unknown_reporters,
            "reports": self.reports,
            "near_duplicate_share": self.near_duplicate_share,
            "burst": {"start": self.burst_start, "end": self.burst_end,
                      "reports": self.burst_reports, "reporters": self.burst_reporters,
                      "new_sender_share": self.burst_new_sender_share},
            "repeat_reporter": self.repeat_reporter,
            "repeat_reason": self.repeat_reason,
            "repeat_reporters": [dataclasses.asdict(item) for item in self.repeat_reporters],
        }


def busiest_window(times: Sequence[datetime], window: timedelta) -> tuple[int, int]:
    """Indices [start, end) of the sorted `times` holding the most items spanning less
    than `window` (the earliest such run); (0, 0) for no times."""
    best_start, best_end = 0, 0
    start = 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        if end + 1 - start > best_end - best_start:
            best_start, best_end = start, end + 1
    return best_start, best_end


def burst_rows(rows: Sequence[ReportRow], rule: Rules) -> list[ReportRow]:
    """The reports of the busiest window, oldest first."""
    ordered = sorted(rows, key=lambda row: (row.created_at, row.report_id))
    start, end = busiest_window([row.created_at for row in ordered], rule.window)
    return ordered[start:end]


def compared_rows(rows: Sequence[ReportRow], rule: Rules) -> list[ReportRow]:
    """The burst reports whose descriptions are compared (at most `max_descriptions`)."""
    return burst_rows(rows, rule)[:rule.max_descriptions]


def shingles(text: str, size: int, max_chars: int) -> frozenset[str]:
    """Character shingles of the lower-cased, whitespace-collapsed start of `text`."""
    normal = " ".join(text[: max_chars * 2].casefold().split())[:max_chars]
    if len(normal) <= size:
        return frozenset((normal,)) if normal else frozenset()
    return frozenset(normal[i:i + size] for i in range(len(normal) - size + 1))


def jaccard(first: frozenset[str], second: frozenset[str]) -> float:
    """|A ∩ B| / |A ∪ B| (0 for two empty sets)."""
    if not first or not second:
        return 0.0
    shared = len(first & second)
    return shared / (len(first) + len(second) - shared)


def near_duplicates(rows: Sequence[ReportRow], rule: Rules) -> list[bool]:
    """Per report: is its description near-identical to one of another reporter?"""
    sets = [shingles(row.description, rule.shingle_chars, rule.max_chars) for row in rows]
    marked = [False] * len(rows)
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            if (marked[i] and marked[j]) or rows[i].owner == rows[j].owner:
                continue
            small, large = sorted((len(sets[i]), len(sets[j])))
            if not large or small < rule.jaccard * large:  # Jaccard <= small / large
                continue
            if jaccard(sets[i], sets[j]) >= rule.jaccard:
                marked[i] = marked[j] = True
    return marked


def _new_senders(rows: Sequence[ReportRow], rule: Rules) -> dict[str, bool]:
    """Per known reporter: was their first contact shortly before their first report here?"""
    first_report: dict[str, datetime] = {}
    contact: dict[str, datetime] = {}
    for row in rows:
        if row.reporter_key is None or row.first_contact_at is None:
            continue
        key = row.reporter_key
        if key not in first_report or row.created_at < first_report[key]:
            first_report[key] = row.created_at
        contact[key] = row.first_contact_at
    return {key: contact[key] >= first_report[key] - rule.new_sender_window
            for key in first_report}


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return round(sum(values) / len(values), 3) if values else None


def party_key(party: str | None) -> str | None:
    """A reported party, normalised: its first @handle, else its lower-cased words."""
    if not party:
        return None
    text = " ".join(party[:MAX_PARTY_SCAN].casefold().split())
    if not text or text == "-":
        return None
    handle = _HANDLE.search(text)
    return handle.group(0) if handle else text


def _repeats(rows: Sequence[ReportRow], history: dict[tuple[str, str], list[datetime]],
             rule: Rules) -> list[RepeatReporter]:
    found: dict[tuple[str, str], RepeatReporter] = {}
    for row in rows:
        party = party_key(row.reported_party)
        if row.reporter_key is None or party is None or (row.reporter_key, party) in found:
            continue
        times = sorted(history.get((row.reporter_key, party), []))
        start, end = busiest_window(times, rule.repeat_window)
        if end - start >= rule.repeat_min_reports:
            found[(row.reporter_key, party)] = RepeatReporter(
                reporter=reporter_label(row.reporter_key),
                reported_party=" ".join((row.reported_party or "").split())[:MAX_PARTY_CHARS],
                reports=end - start)
    return sorted(found.values(), key=lambda item: (-item.reports, item.reporter))


def _percent(share: float | None) -> int:
    return round((share or 0) * 100)


def compute(rows: Sequence[ReportRow], rule: Rules,
            history: dict[tuple[str, str], list[datetime]] | None = None) -> CaseSignals:
    """The signals of one case from its reports (descriptions needed for the burst only)
    and, per (reporter key, party key), the times of that reporter's reports naming it."""
    owners = {row.owner for row in rows}
    unknown = sum(1 for row in rows if row.reporter_key is None)
    new = _new_senders(rows, rule)
    burst = burst_rows(rows, rule)
    burst_owners = {row.owner for row in burst}
    burst_known = {row.reporter_key for row in burst if row.reporter_key in new}
    burst_new_share = _share(new[key] for key in burst_known if key is not None)
    compared = burst[:rule.max_descriptions]
    near_share = _share(near_duplicates(compared, rule)) if len(compared) >= 2 else None
    hours = rule.window.total_seconds() / 3600
    coordinated = len(burst_owners) >= rule.min_reporters and (
        (burst_new_share is not None and burst_new_share >= rule.new_sender_share)
        or (near_share is not None and near_share >= rule.near_duplicate_share))
    reason = None
    if coordinated:
        parts = [rule.reasons["burst"].format(
            reporters=len(burst_owners), reports=len(burst),
            minutes=max(1, round((burst[-1].created_at - burst[0].created_at)
                                 .total_seconds() / 60)))]
        if burst_new_share is not None and burst_new_share >= rule.new_sender_share:
            parts.append(rule.reasons["new_senders"].format(percent=_percent(burst_new_share)))
        if near_share is not None and near_share >= rule.near_duplicate_share:
            parts.append(rule.reasons["near_duplicates"].format(percent=_percent(near_share)))
        parts.append(rule.reasons["caution"])
        reason = " ".join(parts)
    repeats = _repeats(rows, history or {}, rule)
    repeat_reason = None
    if repeats:
        top = repeats[0]
        parts = [rule.reasons["repeat"].format(
            reporter=top.reporter, reports=top.reports, party=top.reported_party,
            days=round(rule.repeat_window.total_seconds() / 86400))]
        if len(repeats) > 1:
            parts.append(rule.reasons["repeat_more"].format(others=len(repeats) - 1))
        parts.append(rule.reasons["repeat_caution"])
        repeat_reason = " ".join(parts)
    return CaseSignals(
        reports=len(rows), distinct_reporters=len(owners), unknown_reporters=unknown,
        reports_per_hour=round(len(burst) / hours, 1) if burst else 0.0,
        new_sender_share=_share(new.values()),
        burst_start=burst[0].created_at if burst else None,
        burst_end=burst[-1].created_at if burst else None,
        burst_reports=len(burst), burst_reporters=len(burst_owners),
        burst_new_sender_share=burst_new_share, near_duplicate_share=near_share,
        coordinated=coordinated, reason=reason,
        repeat_reporter=bool(repeats), repeat_reason=repeat_reason,
        repeat_reporters=tuple(repeats))


# --- from the database ------------------------------------------------------------------


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _case_rows(session: Session, case_ids: Sequence[int]) -> dict[int, list[ReportRow]]:
    found: dict[int, list[ReportRow]] = defaultdict(list)
    for chunk in _chunks(case_ids):
        query = (select(ReportLink.case_id, Report.id, Report.reporter_key, Report.created_at,
                        Reporter.created_at, Report.reported_party)
                 .join(Report, Report.id == ReportLink.report_id)
                 .outerjoin(Reporter, Reporter.sender_key == Report.reporter_key)
                 .where(ReportLink.case_id.in_(chunk)))
        for case_id, report_id, key, created, contact, party in session.execute(query).all():
            found[case_id].append(ReportRow(report_id, key, created, contact, party))
    return found


def _descriptions(session: Session, report_ids: Sequence[int], max_chars: int
                  ) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(sorted(set(report_ids))):
        found.update(session.execute(
            select(Report.id, func.substr(Report.description, 1, max_chars))
            .where(Report.id.in_(chunk))).all())
    return found


def _history(session: Session, keys: Sequence[str], rule: Rules
             ) -> dict[tuple[str, str], list[datetime]]:
    """Times of the reports naming a party, of the reporters (among `keys`) with at least
    `repeat_min_reports` such reports in all."""
    heavy: list[str] = []
    for chunk in _chunks(sorted(set(keys))):
        heavy.extend(session.scalars(
            select(Report.reporter_key)
            .where(Report.reporter_key.in_(chunk), Report.reported_party.is_not(None))
            .group_by(Report.reporter_key)
            .having(func.count(Report.id) >= rule.repeat_min_reports)).all())
    history: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for chunk in _chunks(heavy):
        for key, party, created in session.execute(
                select(Report.reporter_key, Report.reported_party, Report.created_at)
                .where(Report.reporter_key.in_(chunk), Report.reported_party.is_not(None))
        ).all():
            normal = party_key(party)
            if normal is not None:
                history[(key, normal)].append(created)
    return history


def for_cases(session: Session, case_ids: Iterable[int], rule: Rules | None = None
              ) -> dict[int, CaseSignals]:
    """The signals of each case (over all its reports; cases without reports are left out)."""
    rule = rule or rules()
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    by_case = _case_rows(session, ids)
    wanted = [row.report_id for rows in by_case.values() for row in compared_rows(rows, rule)
              if len(rows) >= 2]
    texts = _descriptions(session, wanted, rule.max_chars)
    keys = [row.reporter_key for rows in by_case.values() for row in rows
            if row.reporter_key and party_key(row.reported_party)]
    history = _history(session, keys, rule) if keys else {}
    signals = {}
    for case_id, rows in by_case.items():
        filled = [dataclasses.replace(row, description=texts[row.report_id] or "")
                  if row.report_id in texts else row for row in rows]
        signals[case_id] = compute(filled, rule, history)
    flagged = sum(1 for item in signals.values() if item.coordinated)
    if flagged:
        logger.debug("Coordinated-report signals: %d of %d cases flagged", flagged, len(signals))
    return signals


def for_case(session: Session, case_id: int, rule: Rules | None = None) -> CaseSignals | None:
    """The signals of one case (None when it has no report)."""
    return for_cases(session, [case_id], rule).get(case_id)
