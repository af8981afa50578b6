"""Decisions in the store (destination, outcome, whole cases) and the reviewers' queue."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.decisions import DecisionError, check_decision, decision_lists, referral_platform_for
from bot.store.types import CaseNotFound, InvalidTransition
from bot.urls import PLATFORM_HOSTS
from console import queries
from console.accounts import Accounts
from console.scope import Reviewer, valid_region_codes
from console.store import ConsoleStore
from tests.console.conftest import PASSWORD, TODAY, case_of, file_report, sql

KOORDINATOR = Reviewer(1, "kora", "koordinator")
JATENG = Reviewer(2, "pengawas.jateng", "pengawas", ("33",))
KOTA_PEKALONGAN = Reviewer(3, "pengawas.pekalongan", "pengawas", ("33.75",))


def test_curated_lists_cover_every_link_platform() -> None:
    lists = decision_lists()
    assert {c.value for c in lists.destinations} >= {"tiktok", "meta", "x", "youtube",
                                                     "gakkumdu", "kpu", "lainnya"}
    assert lists.outcome("konten_diturunkan").needs_gone_link
    for platform, _hosts in PLATFORM_HOSTS:
        assert referral_platform_for(platform) is not None, platform
    assert referral_platform_for("instagram").value == "meta"


@pytest.mark.parametrize(("status", "note", "destination", "outcome", "code"), [
    ("ditolak", None, None, None, "note_required"),
    ("ditolak", "  ", None, None, "note_required"),
    ("diteruskan", None, None, None, "destination_required"),
    ("diteruskan", None, "nowhere", None, "unknown_destination"),
    ("diproses", None, "tiktok", None, "destination_not_allowed"),
    ("selesai", None, None, "entah", "unknown_outcome"),
    ("diteruskan", None, "kpu", "lainnya", "outcome_not_allowed"),
    ("diproses", "x" * 2001, None, None, "note_too_long"),
])
def test_decision_rules(status: str, note: str | None, destination: str | None,
                        outcome: str | None, code: str) -> None:
    with pytest.raises(DecisionError) as caught:
        check_decision(status, note, destination, outcome)
    assert caught.value.code == code


def test_update_status_records_destination_and_outcome(store: ConsoleStore) -> None:
    code = file_report(store)
    update = store.update_status(code, "diteruskan", "petugas", destination="gakkumdu")
    assert update.destination == "gakkumdu" and update.outcome is None
    store.update_status(code, "selesai", "petugas", outcome="konten_tidak_diturunkan")
    assert sql(store, "SELECT new_status, destination, outcome FROM status_changes ORDER BY id"
               ) == [("baru", None, None), ("diteruskan", "gakkumdu", None),
                     ("selesai", None, "konten_tidak_diturunkan")]
    with pytest.raises(DecisionError):
        store.update_status(code, "diproses", "petugas", destination="tiktok")
    # The store keeps its older contract: a note is the console's requirement.
    assert store.update_status(code, "diproses", "petugas").new_status == "diproses"


def test_update_case_status_is_all_or_nothing(store: ConsoleStore) -> None:
    url = "https://www.tiktok.com/@akun/video/55"
    first = file_report(store, url)
    second = file_report(store, url, phone="+628111")
    case_id = case_of(store, first)
    store.update_status(second, "ditolak", "petugas", note="duplikat")
    with pytest.raises(InvalidTransition):
        store.update_case_status(case_id, "selesai", "petugas")  # ditolak -> selesai
    assert sorted(sql(store, "SELECT status FROM reports")) == [("baru",), ("ditolak",)]
    updates = store.update_case_status(case_id, "diproses", "petugas", note="dikaji ulang")
    assert sorted(u.ticket_code for u in updates) == sorted([first, second])
    assert {u.new_status for u in updates} == {"diproses"} and updates[0].channel == "whatsapp"
    # Reports already in the status are left alone; nothing to change is a conflict.
    store.update_status(first, "selesai", "petugas")
    assert [u.ticket_code for u in store.update_case_status(case_id, "selesai", "p")] == [second]
    with pytest.raises(InvalidTransition):
        store.update_case_status(case_id, "selesai", "petugas")
    with pytest.raises(CaseNotFound):
        store.update_case_status(999, "diproses", "petugas")


def test_region_codes_are_validated() -> None:
    assert valid_region_codes(["33.75", "11", "33.75"]) == ("11", "33.75")
    for bad in ("99", "33.99", "3", "33.7", "33;", "33.75.01", ""):
        with pytest.raises(ValueError):
            valid_region_codes([bad])


def test_scope_by_region_prefix() -> None:
    assert JATENG.can_see_region("33.75") and JATENG.can_see_region("33")
    assert not JATENG.can_see_region("34.71") and not JATENG.can_see_region(None)
    assert not JATENG.can_see_region("330") and not KOTA_PEKALONGAN.can_see_region("33")
    assert KOORDINATOR.can_see_region(None)
    assert not Reviewer(4, "adm", "admin").can_see_region("33.75")


def test_queue_is_sorted_by_deadline_reporters_and_age(store: ConsoleStore) -> None:
    def days_ago(days: int) -> date:
        return TODAY - timedelta(days=days)

    # Known 11 days ago: the deadline passed 4 days ago; known 2 days ago: 5 days left.
    late = file_report(store, "https://www.tiktok.com/@a/video/1", known=days_ago(11))
    soon_one = file_report(store, "https://www.tiktok.com/@a/video/2", known=days_ago(2))
    crowded = file_report(store, "https://www.tiktok.com/@a/video/3", known=days_ago(2))
    file_report(store, "https://www.tiktok.com/@a/video/3", known=days_ago(2),
                phone="+628222")
    closed = file_report(store, "https://www.tiktok.com/@a/video/4", known=days_ago(30))
    store.update_status(closed, "ditolak", "petugas", note="bukan pelanggaran")
    elsewhere = file_report(store, "https://www.tiktok.com/@a/video/5", region="11.01",
                            known=days_ago(21))
    with store.read() as session:
        items = queries.queue(session, JATENG, queries.QueueFilters(), TODAY)
        assert [i.case_id for i in items] == [case_of(store, c) for c in (late, crowded,
                                                                          soon_one)]
        assert items[0].days_left == -4 and items[1].reporters == 2
        everything = queries.queue(session, KOORDINATOR, queries.QueueFilters(status=None),
                                   TODAY)
        assert [i.case_id for i in everything] == [case_of(store, c) for c in (
            elsewhere, late, crowded, soon_one, closed)]
        searched = queries.queue(session, KOORDINATOR,
                                 queries.QueueFilters(status=None, q="video/4"), TODAY)
        assert [i.tickets for i in searched] == [[closed]]
        by_code = queries.queue(session, KOORDINATOR,
                                queries.QueueFilters(status=None, q=late.lower()), TODAY)
        assert [i.tickets for i in by_code] == [[late]]
        assert queries.queue(session, KOORDINATOR,
                             queries.QueueFilters(region="11", category="sara"), TODAY) == []


def test_every_category_cites_a_legal_basis_and_every_error_has_a_message() -> None:
    from bot.categories import categories
    from console.messages import known_codes

    assert all(category.legal_basis for category in categories())
    codes = {
        # bot/decisions.py and console/store.py
        "note_required", "note_too_long", "destination_required", "unknown_destination",
        "destination_not_allowed", "unknown_outcome", "outcome_not_allowed",
        "no_takedown_evidence", "transition_not_allowed", "case_outside_regions",
        # console/accounts.py
        "bad_name", "bad_role", "bad_region", "region_required", "region_not_for_role",
        "password_too_short", "password_too_long", "name_taken", "unknown_user", "disabled",
        # console/casework.py and console/referrals.py
        "note_empty", "reason_too_short", "reason_too_long", "unknown_platform",
        "unknown_batch", "empty", "too_many", "wrong_platform", "already_referred",
        "already_sent", "reference_required", "reference_too_long",
        # the web layer
        "login_invalid", "login_throttled", "session_expired", "csrf_failed", "forbidden",
        "not_found", "unauthorized", "bad_request", "bad_filter",
    }
    assert codes <= known_codes(), sorted(codes - known_codes())


def test_queue_filters_by_platform_date_and_assignee(store: ConsoleStore) -> None:
    from console import casework

    video = file_report(store, "https://www.tiktok.com/@a/video/1")
    post = file_report(store, "https://x.com/a/status/2")
    casework.assign(store, KOORDINATOR, case_of(store, post), None)  # nothing to take away
    Accounts(store).create_user("pengawas.jateng", "pengawas", ["33"], PASSWORD)
    casework.assign(store, KOORDINATOR, case_of(store, video), "pengawas.jateng")

    def cases(**filters: object) -> list[int]:
        with store.read() as session:
            return [i.case_id for i in queries.queue(session, KOORDINATOR,
                                                     queries.QueueFilters(**filters), TODAY)]

    assert cases(platform="x") == [case_of(store, post)]
    assert cases(assignee="-") == [case_of(store, post)]
    assert cases(assignee="pengawas.jateng") == [case_of(store, video)]
    assert sorted(cases(date_from=TODAY, date_to=TODAY)) == sorted(
        [case_of(store, video), case_of(store, post)])
    assert cases(date_from=TODAY + timedelta(days=1)) == []
    assert cases(date_to=TODAY - timedelta(days=1)) == []
