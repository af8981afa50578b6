"""The store's taskforce methods on SQLite and on the throwaway PostgreSQL: joining,
leaving, revoking, the volunteer mark set at filing, and erasure."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.privacy import sender_key
from bot.store import NewReport, NewReportLink, ReportStore
from bot.store.models import Report, VolunteerMembership
from bot.store.volunteers import JoinResult
from tests.integration.conftest import (  # noqa: F401 - fixtures for the PostgreSQL runs
    fresh_postgres_url,
    postgres_server,
)

VOLUNTEER = sender_key("whatsapp", "+6281300000001")
OTHER = sender_key("telegram", "123456789")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReportStore]:
    url = (f"sqlite:///{tmp_path / 'reports.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("fresh_postgres_url")))
    instance = ReportStore(url)
    yield instance
    instance.dispose()


def issue(store: ReportStore, region: str = "33.74", name: str = "Gugus Semarang") -> tuple[int,
                                                                                             str]:
    with store._write() as session:  # noqa: SLF001 - the console passes its own session
        info = store.issue_volunteer_codes(session, region, name, "kora")[0]
    return info.id, info.code


def file(store: ReportStore, key: str | None) -> int | None:
    url = f"https://x.com/a/status/{uuid.uuid4().int % 10**12}"
    ticket = store.file_report(NewReport(
        idempotency_key=uuid.uuid4().hex, reporter_key=key, channel="whatsapp",
        category="hoaks", description="Hoaks", links=[NewReportLink(url, url, "x")]),
        daily_cap=0).ticket_code
    with store._read() as session:  # noqa: SLF001
        return session.scalar(select(Report.volunteer_code_id)
                              .where(Report.ticket_code == ticket))


def test_join_leave_and_the_mark_at_filing(store: ReportStore) -> None:
    first_id, first = issue(store)
    second_id, second = issue(store, "11", "Gugus Aceh")
    assert store.join_taskforce(VOLUNTEER, "RLW-222222").result is JoinResult.INVALID
    joined = store.join_taskforce(VOLUNTEER, first)
    assert (joined.result, joined.taskforce, joined.region_code) == (
        JoinResult.JOINED, "Gugus Semarang", "33.74")
    assert store.join_taskforce(VOLUNTEER, first).result is JoinResult.ALREADY
    assert file(store, VOLUNTEER) == first_id
    assert file(store, OTHER) is None and file(store, None) is None
    # Joining another code ends the first membership.
    assert store.join_taskforce(VOLUNTEER, second).result is JoinResult.JOINED
    assert file(store, VOLUNTEER) == second_id
    with store._read() as session:  # noqa: SLF001
        open_rows = session.scalars(select(VolunteerMembership.code_id).where(
            VolunteerMembership.left_at.is_(None))).all()
    assert open_rows == [second_id]
    assert store.leave_taskforce(VOLUNTEER) is True
    assert store.leave_taskforce(VOLUNTEER) is False
    assert file(store, VOLUNTEER) is None


def test_a_revoked_code_admits_nobody_and_marks_nothing_new(store: ReportStore) -> None:
    code_id, code = issue(store)
    store.join_taskforce(VOLUNTEER, code)
    marked = file(store, VOLUNTEER)
    with store._write() as session:  # noqa: SLF001
        first = store.revoke_volunteer_code(session, code_id, "kora")
    with store._write() as session:  # noqa: SLF001
        again = store.revoke_volunteer_code(session, code_id, "kora2")
        assert store.revoke_volunteer_code(session, 999_999, "kora") is None
    assert first is not None and again is not None
    assert again.revoked_at == first.revoked_at and again.revoked_by == "kora"
    assert marked == code_id
    assert store.volunteer_code_of(VOLUNTEER) is None
    assert file(store, VOLUNTEER) is None
    assert store.join_taskforce(OTHER, code).result is JoinResult.INVALID


def test_erasure_forgets_memberships_and_keeps_the_reports_mark(store: ReportStore) -> None:
    code_id, code = issue(store)
    store.join_taskforce(VOLUNTEER, code)
    assert file(store, VOLUNTEER) == code_id
    store.erase_reporter(VOLUNTEER)
    with store._read() as session:  # noqa: SLF001
        assert session.scalars(select(VolunteerMembership.id)).all() == []
        assert session.scalars(select(Report.volunteer_code_id)).all() == [code_id]
