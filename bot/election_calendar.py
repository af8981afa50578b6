"""The election calendar: elections, their phases, and where a given day falls.

`bot/resources/elections.yml` lists elections (Pemilu 2024, Pilkada 2024,
Pemilu 2029, ...). Each has phases in a fixed order (`PHASES`: pendaftaran,
kampanye, masa tenang, pemungutan suara, rekapitulasi, sengketa) and windows
inside its campaign (`WINDOWS`: mass-media ads, rallies). Any date may still be
unknown: KPU sets a schedule long after the year of an election is known.

Nothing here knows what today is. Every question takes the day as an argument;
callers get it from a clock (`bot.clock`) that tests can freeze.

For a kind of election (`pemilu`, `pilkada`) and a day:

- the *focus* is the first election of that kind that is not over: the one
  running now, or else the next one;
- the *previous* election is the last one that is over;
- an election is over once its voting day has passed and no later phase with
  known dates is still running (an election without any known date is over
  once its year has passed).

`parse_calendar` refuses overlapping phases, phases out of order, windows
outside the campaign and elections of one kind that overlap, naming the
election and the phases in the message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

logger = logging.getLogger(__name__)

# Phases of one election, in the order they happen.
PHASES: tuple[str, ...] = (
    "registration",     # pendaftaran
    "campaign",         # kampanye
    "quiet_period",     # masa tenang
    "voting",           # pemungutan suara
    "recapitulation",   # rekapitulasi suara
    "disputes",         # penyelesaian sengketa
)
# Windows that lie inside the campaign phase.
WINDOWS: tuple[str, ...] = (
    "ads",              # iklan kampanye di media massa
    "rallies",          # rapat umum
)
# pemilu: national elections under UU 7/2017 (from 2029: President, DPR, DPD).
# pilkada: regional elections (kepala daerah; after MK 135/PUU-XXII/2024 also DPRD).
KINDS: tuple[str, ...] = ("pemilu", "pilkada")

ELECTION_FIELDS = frozenset(
    {"name", "kind", "year", "year_estimated", "offices", "phases", "windows", "rules"}
)
MIN_YEAR, MAX_YEAR = 2000, 2100


class CalendarError(ValueError):
    """The calendar holds a value of the wrong kind or dates that cannot be right."""


class Status(Enum):
    """Where a phase or window stands on a given day."""

    UNKNOWN = "unknown"      # its dates are not set yet
    UPCOMING = "upcoming"
    ONGOING = "ongoing"
    PAST = "past"


@dataclass(frozen=True)
class Period:
    """An inclusive range of days; a one-day phase has `start == end`."""

    start: date
    end: date

    def contains(self, day: date) -> bool:
        """True when `day` lies within the period (both ends included)."""
        return self.start <= day <= self.end

    def status(self, day: date) -> Status:
        """Upcoming, ongoing or past on `day`."""
        if day < self.start:
            return Status.UPCOMING
        if day > self.end:
            return Status.PAST
        return Status.ONGOING

    def describe(self) -> str:
        """ISO form for error messages: `2024-02-11 – 2024-02-13` or one date."""
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


@dataclass(frozen=True)
class Election:
    """One election with the phase and window dates known so far."""

    key: str
    name: str
    kind: str
    year: int
    offices: str
    year_estimated: bool = False
    phases: Mapping[str, Period] = field(default_factory=dict)
    windows: Mapping[str, Period] = field(default_factory=dict)
    # Raw rule values (validated and formatted by bot.election_facts).
    rules: Mapping[str, Any] = field(default_factory=dict)

    def period(self, name: str) -> Period | None:
        """The dates of a phase or window, None while they are unknown."""
        if name in PHASES:
            return self.phases.get(name)
        if name in WINDOWS:
            return self.windows.get(name)
        raise KeyError(f"{name!r} is neither a phase ({', '.join(PHASES)}) "
                       f"nor a window ({', '.join(WINDOWS)})")

    def status(self, name: str, day: date) -> Status:
        """Where phase or window `name` stands on `day`."""
        period = self.period(name)
        return Status.UNKNOWN if period is None else period.status(day)

    def ongoing_phase(self, day: date) -> str | None:
        """The phase running on `day`, if its dates are known."""
        for name, period in self.phases.items():
            if period.contains(day):
                return name
        return None

    def known_span(self) -> Period | None:
        """From the first known phase start to the last known phase end."""
        if not self.phases:
            return None
        periods = list(self.phases.values())
        return Period(min(p.start for p in periods), max(p.end for p in periods))

    def is_over(self, day: date) -> bool:
        """Voting has passed and no later known phase is still running."""
        span = self.known_span()
        if span is None:
            return day.year > self.year
        return "voting" in self.phases and day > span.end


@dataclass(frozen=True)
class Calendar:
    """All elections, sorted by kind, then year."""

    elections: tuple[Election, ...]

    def of_kind(self, kind: str) -> tuple[Election, ...]:
        """The elections of one kind, earliest first."""
        if kind not in KINDS:
            raise KeyError(f"unknown kind of election {kind!r}; known: {', '.join(KINDS)}")
        return tuple(e for e in self.elections if e.kind == kind)

    def focus(self, kind: str, day: date) -> Election | None:
        """The election of `kind` running on `day`, or else the next one."""
        for election in self.of_kind(kind):
            if not election.is_over(day):
                return election
        return None

    def previous(self, kind: str, day: date) -> Election | None:
        """The last election of `kind` that is over on `day`."""
        over = [e for e in self.of_kind(kind) if e.is_over(day)]
        return over[-1] if over else None

    def ongoing(self, day: date) -> list[tuple[Election, str]]:
        """Every (election, phase) running on `day`: pemilu first, then pilkada."""
        running = []
        for election in self.elections:
            phase = election.ongoing_phase(day)
            if phase is not None:
                running.append((election, phase))
        return running

    def rules_election(self, kind: str, day: date) -> Election | None:
        """The election whose rules answers cite on `day`.

        The focus election once its rules are entered; before that the latest
        earlier election of the kind that has rules.
        """
        elections = self.of_kind(kind)
        focus = self.focus(kind, day)
        limit = focus.year if focus is not None else MAX_YEAR
        with_rules = [e for e in elections if e.rules and e.year <= limit]
        if with_rules:
            return with_rules[-1]
        later = [e for e in elections if e.rules]
        return later[0] if later else None


# --- parsing and validation ---------------------------------------------------------


def as_date(value: Any, where: str) -> date:
    """An ISO date from YAML (already a `date`, or a quoted 'YYYY-MM-DD')."""
    if isinstance(value, datetime):
        raise CalendarError(f"{where} must be a date without a time, got {value!r}")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise CalendarError(f"{where} must be an ISO date (YYYY-MM-DD), got {value!r}") from exc


def as_text(value: Any, where: str) -> str:
    """Non-empty text without braces (numbers must be quoted so no leading 0 is lost)."""
    if not isinstance(value, str) or not value.strip():
        raise CalendarError(
            f"{where} must be non-empty text (put numbers in quotes), got {value!r}"
        )
    if "{" in value or "}" in value:
        raise CalendarError(f"{where} must not contain {{ or }}, got {value!r}")
    return value.strip()


def as_mapping(value: Any, where: str) -> Mapping[str, Any]:
    """A YAML mapping, or a clear error naming where it was expected."""
    if not isinstance(value, Mapping):
        raise CalendarError(f"{where} must be a mapping (key: value lines)")
    return value


def _period(value: Any, where: str) -> Period | None:
    """`null` (unknown), one date (a one-day phase) or `{start: ..., end: ...}`."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"start", "end"})
        if unknown:
            raise CalendarError(f"{where} has unknown field(s) {', '.join(map(str, unknown))}; "
                                f"use start and end")
        start, end = value.get("start"), value.get("end")
        if start is None and end is None:
            return None
        if start is None or end is None:
            raise CalendarError(
                f"{where} needs both start and end, or neither while the dates are unknown"
            )
        period = Period(as_date(start, f"{where}.start"), as_date(end, f"{where}.end"))
        if period.start > period.end:
            raise CalendarError(
                f"{where}.start ({period.start.isoformat()}) must be on or before "
                f"{where}.end ({period.end.isoformat()})"
            )
        return period
    day = as_date(value, where)
    return Period(day, day)


def _periods(value: Any, names: tuple[str, ...], where: str) -> dict[str, Period]:
    if value is None:
        return {}
    raw = as_mapping(value, where)
    unknown = sorted(str(key) for key in set(raw) - set(names))
    if unknown:
        raise CalendarError(
            f"{where} has unknown name(s) {', '.join(unknown)}; known: {', '.join(names)}"
        )
    periods = {}
    for name in names:  # keep the canonical order
        period = _period(raw.get(name), f"{where}.{name}")
        if period is not None:
            periods[name] = period
    return periods


def _check_phase_order(phases: Mapping[str, Period], where: str) -> None:
    """Known phases must follow PHASES order without overlapping."""
    known = [(name, phases[name]) for name in PHASES if name in phases]
    for (first, a), (second, b) in zip(known, known[1:], strict=False):
        if b.end < a.start:
            raise CalendarError(
                f"{where}: phases out of order: {second} ({b.describe()}) comes before "
                f"{first} ({a.describe()}); phases must follow the order {', '.join(PHASES)}"
            )
        if b.start <= a.end:
            raise CalendarError(
                f"{where}: phases overlap: {second} ({b.describe()}) starts before "
                f"{first} ({a.describe()}) has ended; each phase must start after the "
                f"previous one ends"
            )


def _check_windows(election: Election, where: str) -> None:
    campaign = election.phases.get("campaign")
    for name, window in election.windows.items():
        if campaign is None:
            raise CalendarError(
                f"{where}.windows.{name} is set but the campaign dates are not: "
                f"enter phases.campaign first"
            )
        if window.start < campaign.start or window.end > campaign.end:
            raise CalendarError(
                f"{where}.windows.{name} ({window.describe()}) must lie within the "
                f"campaign ({campaign.describe()})"
            )


def parse_election(key: str, raw: Any, where: str) -> Election:
    """Validate one election block."""
    block = as_mapping(raw, where)
    unknown = sorted(str(name) for name in set(block) - ELECTION_FIELDS)
    if unknown:
        raise CalendarError(
            f"{where} has unknown field(s) {', '.join(unknown)}; "
            f"known fields: {', '.join(sorted(ELECTION_FIELDS))}"
        )
    for name in ("name", "kind", "year", "offices"):
        if block.get(name) is None:
            raise CalendarError(f"{where}.{name} is missing")
    kind = block["kind"]
    if kind not in KINDS:
        raise CalendarError(f"{where}.kind must be one of {', '.join(KINDS)}, got {kind!r}")
    year = block["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise CalendarError(f"{where}.year must be a year such as 2029, got {year!r}")
    estimated = block.get("year_estimated", False)
    if not isinstance(estimated, bool):
        raise CalendarError(f"{where}.year_estimated must be true or false, got {estimated!r}")
    rules = block.get("rules")
    election = Election(
        key=key,
        name=as_text(block["name"], f"{where}.name"),
        kind=kind,
        year=year,
        offices=as_text(block["offices"], f"{where}.offices"),
        year_estimated=estimated,
        phases=_periods(block.get("phases"), PHASES, f"{where}.phases"),
        windows=_periods(block.get("windows"), WINDOWS, f"{where}.windows"),
        rules=dict(as_mapping(rules, f"{where}.rules")) if rules is not None else {},
    )
    _check_phase_order(election.phases, where)
    _check_windows(election, where)
    voting = election.phases.get("voting")
    if voting is not None and voting.start.year != year:
        raise CalendarError(
            f"{where}.phases.voting ({voting.describe()}) is not in the election's year {year}"
        )
    if voting is not None and estimated:
        raise CalendarError(
            f"{where}.year_estimated must be false once the voting day is known"
        )
    return election


def _check_same_kind(elections: list[Election], where: str) -> None:
    """Elections of one kind: distinct years, and dates in the order of the years."""
    for kind in KINDS:
        same = sorted((e for e in elections if e.kind == kind), key=lambda e: e.year)
        for a, b in zip(same, same[1:], strict=False):
            if a.year == b.year:
                raise CalendarError(
                    f"{where}: {a.key} and {b.key} are both {kind} elections in {a.year}"
                )
            span_a, span_b = a.known_span(), b.known_span()
            if span_a is not None and span_b is not None and span_b.start <= span_a.end:
                raise CalendarError(
                    f"{where}: {b.key} ({span_b.describe()}) overlaps or comes before "
                    f"{a.key} ({span_a.describe()}); one {kind} election must end before "
                    f"the next one starts"
                )


def parse_calendar(raw: Any, where: str = "elections") -> Calendar:
    """Validate the `elections:` section; return the calendar."""
    section = as_mapping(raw, where)
    if not section:
        raise CalendarError(f"{where} lists no election")
    elections = [
        parse_election(str(key), block, f"{where}.{key}") for key, block in section.items()
    ]
    names: dict[str, str] = {}
    for election in elections:
        if election.name in names:
            raise CalendarError(
                f"{where}: {names[election.name]} and {election.key} have the same name "
                f"{election.name!r}"
            )
        names[election.name] = election.key
    _check_same_kind(elections, where)
    for kind in KINDS:
        if not any(e.kind == kind for e in elections):
            raise CalendarError(f"{where} has no {kind} election")
    ordered = sorted(elections, key=lambda e: (KINDS.index(e.kind), e.year))
    return Calendar(tuple(ordered))
