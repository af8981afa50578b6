"""The election calendar: validation of phases and elections, and where a day falls."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.election_calendar import (
    PHASES,
    Calendar,
    CalendarError,
    Period,
    Status,
    parse_calendar,
)

# A complete cycle with made-up dates for a next election (not real KPU dates).
CYCLE: dict[str, Any] = {
    "pemilu2024": {
        "name": "Pemilu 2024", "kind": "pemilu", "year": 2024, "offices": "Presiden, DPR",
        "phases": {
            "campaign": {"start": "2023-11-28", "end": "2024-02-10"},
            "quiet_period": {"start": "2024-02-11", "end": "2024-02-13"},
            "voting": "2024-02-14",
        },
        "windows": {"ads": {"start": "2024-01-21", "end": "2024-02-10"}},
        "rules": {"campaign_regulation": "PKPU 15/2023"},
    },
    "pilkada2024": {
        "name": "Pilkada 2024", "kind": "pilkada", "year": 2024, "offices": "kepala daerah",
        "phases": {
            "campaign": {"start": "2024-09-25", "end": "2024-11-23"},
            "quiet_period": {"start": "2024-11-24", "end": "2024-11-26"},
            "voting": "2024-11-27",
        },
    },
    "pemilu2029": {
        "name": "Pemilu 2029", "kind": "pemilu", "year": 2029, "offices": "Presiden, DPR, DPD",
        "phases": {
            "registration": {"start": "2028-06-01", "end": "2028-06-30"},
            "campaign": {"start": "2028-11-28", "end": "2029-02-10"},
            "quiet_period": {"start": "2029-02-11", "end": "2029-02-13"},
            "voting": "2029-02-14",
            "recapitulation": {"start": "2029-02-15", "end": "2029-03-20"},
            "disputes": None,
        },
    },
    "daerah2031": {
        "name": "Pemilu daerah", "kind": "pilkada", "year": 2031, "year_estimated": True,
        "offices": "DPRD, kepala daerah",
        "phases": {"campaign": None, "voting": {"start": None, "end": None}},
    },
}


@pytest.fixture(scope="module")
def calendar() -> Calendar:
    return parse_calendar(CYCLE)


def _changed(path: str, value: Any) -> dict[str, Any]:
    """A copy of CYCLE with `a.b.c` set to value (deleted when value is ...)."""
    content = copy.deepcopy(CYCLE)
    *parents, last = path.split(".")
    node = content
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return content


# --- reading ------------------------------------------------------------------------


def test_phases_keep_their_order_and_unknown_ones_are_left_out(calendar: Calendar) -> None:
    pemilu2029 = calendar.of_kind("pemilu")[1]
    assert list(pemilu2029.phases) == [
        "registration", "campaign", "quiet_period", "voting", "recapitulation"]
    assert pemilu2029.phases["voting"] == Period(date(2029, 2, 14), date(2029, 2, 14))
    assert pemilu2029.period("disputes") is None
    assert pemilu2029.status("disputes", date(2029, 5, 1)) is Status.UNKNOWN
    daerah = calendar.of_kind("pilkada")[1]
    assert daerah.phases == {} and daerah.year_estimated


def test_elections_are_sorted_by_kind_then_year() -> None:
    reordered = dict(reversed(list(CYCLE.items())))
    keys = [e.key for e in parse_calendar(reordered).elections]
    assert keys == ["pemilu2024", "pemilu2029", "pilkada2024", "daerah2031"]


def test_yaml_dates_work_as_well_as_strings() -> None:
    content = _changed("pemilu2024.phases.voting", date(2024, 2, 14))
    assert parse_calendar(content).of_kind("pemilu")[0].phases["voting"].start == date(2024, 2, 14)


# --- where a day falls ----------------------------------------------------------------

# (day, pemilu focus, pemilu previous, ongoing phases)
CYCLE_DAYS = [
    (date(2026, 12, 1), "pemilu2029", "pemilu2024", []),                   # between elections
    (date(2028, 11, 25), "pemilu2029", "pemilu2024", []),                  # 3 days before
    (date(2028, 6, 10), "pemilu2029", "pemilu2024", [("pemilu2029", "registration")]),
    (date(2029, 1, 5), "pemilu2029", "pemilu2024", [("pemilu2029", "campaign")]),
    (date(2029, 2, 12), "pemilu2029", "pemilu2024", [("pemilu2029", "quiet_period")]),
    (date(2029, 2, 14), "pemilu2029", "pemilu2024", [("pemilu2029", "voting")]),
    (date(2029, 3, 1), "pemilu2029", "pemilu2024", [("pemilu2029", "recapitulation")]),
    (date(2029, 3, 21), None, "pemilu2029", []),                          # after
    (date(2024, 2, 12), "pemilu2024", None, [("pemilu2024", "quiet_period")]),
    (date(2024, 11, 25), "pemilu2029", "pemilu2024", [("pilkada2024", "quiet_period")]),
]


@pytest.mark.parametrize(("day", "focus", "previous", "ongoing"), CYCLE_DAYS)
def test_focus_previous_and_ongoing_phase(
    calendar: Calendar, day: date, focus: str | None, previous: str | None,
    ongoing: list[tuple[str, str]],
) -> None:
    got_focus = calendar.focus("pemilu", day)
    got_previous = calendar.previous("pemilu", day)
    assert (got_focus.key if got_focus else None) == focus
    assert (got_previous.key if got_previous else None) == previous
    assert [(e.key, phase) for e, phase in calendar.ongoing(day)] == ongoing


def test_phase_status_across_the_cycle(calendar: Calendar) -> None:
    pemilu2029 = calendar.of_kind("pemilu")[1]
    campaign = [pemilu2029.status("campaign", day) for day in (
        date(2028, 11, 25), date(2028, 11, 28), date(2029, 2, 10), date(2029, 2, 11))]
    assert campaign == [Status.UPCOMING, Status.ONGOING, Status.ONGOING, Status.PAST]


def test_an_election_without_dates_is_over_once_its_year_has_passed(calendar: Calendar) -> None:
    daerah = calendar.of_kind("pilkada")[1]
    assert not daerah.is_over(date(2031, 12, 31))
    assert daerah.is_over(date(2032, 1, 1))
    assert calendar.focus("pilkada", date(2032, 1, 1)) is None
    assert calendar.previous("pilkada", date(2032, 1, 1)) is daerah


def test_an_election_is_not_over_before_its_voting_day_is_known() -> None:
    content = _changed("pemilu2029.phases.voting", None)
    content["pemilu2029"]["phases"].update(recapitulation=None, quiet_period=None)
    pemilu2029 = parse_calendar(content).of_kind("pemilu")[1]
    # The campaign is over but voting is not set: still the election in focus.
    assert not pemilu2029.is_over(date(2029, 6, 1))


def test_rules_come_from_the_focus_election_once_it_has_them(calendar: Calendar) -> None:
    assert calendar.rules_election("pemilu", date(2026, 12, 1)).key == "pemilu2024"
    with_rules = _changed("pemilu2029.rules", {"campaign_regulation": "PKPU 1/2028"})
    updated = parse_calendar(with_rules)
    assert updated.rules_election("pemilu", date(2026, 12, 1)).key == "pemilu2029"
    assert updated.rules_election("pemilu", date(2024, 1, 1)).key == "pemilu2024"
    # A kind without any rules has no rules election.
    assert calendar.rules_election("pilkada", date(2026, 12, 1)) is None


days = st.dates(min_value=date(2023, 1, 1), max_value=date(2033, 12, 31))


@given(days)
def test_a_running_election_is_always_the_one_in_focus(day: date) -> None:
    calendar = parse_calendar(CYCLE)
    for election, phase in calendar.ongoing(day):
        assert election.status(phase, day) is Status.ONGOING
        assert calendar.focus(election.kind, day) is election
        assert not election.is_over(day)
    for kind in ("pemilu", "pilkada"):
        focus, previous = calendar.focus(kind, day), calendar.previous(kind, day)
        if focus is not None and previous is not None:
            assert previous.year < focus.year


@given(days)
def test_at_most_one_phase_runs_per_election(day: date) -> None:
    calendar = parse_calendar(CYCLE)
    for election in calendar.elections:
        running = [p for p in PHASES if election.status(p, day) is Status.ONGOING]
        assert len(running) <= 1


def test_periods_contain_both_ends() -> None:
    period = Period(date(2029, 2, 11), date(2029, 2, 13))
    assert period.contains(date(2029, 2, 11)) and period.contains(date(2029, 2, 13))
    assert not period.contains(date(2029, 2, 13) + timedelta(days=1))


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        # Overlapping phases, named with both dates.
        ("pemilu2029.phases.quiet_period", {"start": "2029-02-09", "end": "2029-02-13"},
         r"pemilu2029: phases overlap: quiet_period \(2029-02-09 – 2029-02-13\) starts "
         r"before campaign \(2028-11-28 – 2029-02-10\) has ended"),
        ("pemilu2029.phases.voting", "2029-02-13",
         r"pemilu2029: phases overlap: voting \(2029-02-13\) starts before quiet_period"),
        # Phases out of order.
        ("pemilu2029.phases.voting", "2029-01-10",
         r"pemilu2029: phases out of order: voting \(2029-01-10\) comes before quiet_period"),
        ("pemilu2029.phases.registration", {"start": "2029-04-01", "end": "2029-04-30"},
         r"pemilu2029: phases out of order: campaign .* comes before registration"),
        ("pemilu2024.phases.quiet_period", None, None),  # an unknown phase is fine
        ("pemilu2029.phases.recapitulation", {"start": "2029-02-01", "end": "2029-02-05"},
         r"pemilu2029: phases out of order: recapitulation .* comes before voting"),
        # One phase.
        ("pemilu2029.phases.campaign", {"start": "2029-02-10", "end": "2028-11-28"},
         r"pemilu2029\.phases\.campaign\.start \(2029-02-10\) must be on or before"),
        ("pemilu2029.phases.campaign", {"start": "2028-11-28"},
         r"pemilu2029\.phases\.campaign needs both start and end"),
        ("pemilu2029.phases.campaign", {"start": "2028-11-28", "ende": "2029-02-10"},
         r"pemilu2029\.phases\.campaign has unknown field\(s\) ende"),
        ("pemilu2029.phases.kampanye", None,
         r"pemilu2029\.phases has unknown name\(s\) kampanye; known: registration, campaign"),
        ("pemilu2029.phases.voting", "14 Februari 2029",
         r"pemilu2029\.phases\.voting must be an ISO date"),
        ("pemilu2029.phases.voting", "2029-02-30",
         r"pemilu2029\.phases\.voting must be an ISO date"),
        # Windows lie inside the campaign.
        ("pemilu2024.windows.ads", {"start": "2024-01-21", "end": "2024-02-11"},
         r"pemilu2024\.windows\.ads \(2024-01-21 – 2024-02-11\) must lie within the campaign"),
        ("pilkada2024.phases.campaign", None, None),
        ("pemilu2029.windows.ads", {"start": "2029-01-21", "end": "2029-02-10"}, None),
        ("daerah2031.windows.ads", {"start": "2031-01-21", "end": "2031-02-10"},
         r"daerah2031\.windows\.ads is set but the campaign dates are not"),
        # The election itself.
        ("pemilu2029.phases.recapitulation", ..., None),
        ("pemilu2029.year", 2028, r"pemilu2029\.phases\.voting \(2029-02-14\) is not in the "
                                  r"election's year 2028"),
        ("pemilu2029.year", "2029", r"pemilu2029\.year must be a year"),
        ("pemilu2029.kind", "pilpres", r"pemilu2029\.kind must be one of pemilu, pilkada"),
        ("pemilu2029.name", ..., r"pemilu2029\.name is missing"),
        ("pemilu2029.offices", ..., r"pemilu2029\.offices is missing"),
        ("pemilu2029.curent", "x", r"pemilu2029 has unknown field\(s\) curent"),
        ("pemilu2029.year_estimated", True,
         r"pemilu2029\.year_estimated must be false once the voting day is known"),
        ("pemilu2029.year_estimated", "ya", r"year_estimated must be true or false"),
        # Elections of one kind.
        ("pemilu2029.name", "Pemilu 2024", r"pemilu2024 and pemilu2029 have the same name"),
        ("daerah2031.year", 2024, r"pilkada2024 and daerah2031 are both pilkada elections in 2024"),
    ],
)
def test_broken_calendars_name_the_election_and_phase(
    path: str, value: Any, message: str | None
) -> None:
    content = _changed(path, value)
    if message is None:  # a change that must stay valid (checks the checks)
        parse_calendar(content)
        return
    with pytest.raises(CalendarError, match=message):
        parse_calendar(content)


def test_an_unknown_phase_in_between_does_not_hide_a_wrong_order() -> None:
    content = _changed("pemilu2029.phases.quiet_period", None)
    content["pemilu2029"]["phases"]["voting"] = "2029-01-10"
    with pytest.raises(CalendarError, match=r"phases overlap: voting \(2029-01-10\) starts "
                                            r"before campaign"):
        parse_calendar(content)
    content["pemilu2029"]["phases"]["voting"] = "2028-10-01"
    with pytest.raises(CalendarError, match=r"phases out of order: voting \(2028-10-01\) "
                                            r"comes before campaign"):
        parse_calendar(content)


def test_elections_of_one_kind_must_not_overlap() -> None:
    content = copy.deepcopy(CYCLE)
    content["pemilu2029"]["phases"] = {"campaign": {"start": "2024-02-01", "end": "2024-03-01"},
                                       "voting": "2029-02-14"}
    with pytest.raises(CalendarError, match=r"pemilu2029 \(2024-02-01 – 2029-02-14\) overlaps "
                                            r"or comes before pemilu2024"):
        parse_calendar(content)


def test_each_kind_needs_an_election() -> None:
    content = {k: v for k, v in CYCLE.items() if v["kind"] == "pemilu"}
    with pytest.raises(CalendarError, match="has no pilkada election"):
        parse_calendar(content)
    with pytest.raises(CalendarError, match="lists no election"):
        parse_calendar({})
    with pytest.raises(CalendarError, match="must be a mapping"):
        parse_calendar(["pemilu2024"])


def test_a_date_with_a_time_is_refused() -> None:
    from datetime import datetime

    content = _changed("pemilu2029.phases.voting", datetime(2029, 2, 14, 10, 0))
    with pytest.raises(CalendarError, match="must be a date without a time"):
        parse_calendar(content)
