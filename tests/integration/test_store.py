"""The report store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from bot.store import (
    DailyCapExceeded,
    InvalidTransition,
    NewReport,
    NewReportLink,
    ReportNotFound,
    ReportStore,
)
from bot.store.db import make_engine
from bot.store.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reports.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
    engine.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[ReportStore]:
    instance = ReportStore(database_url)
    yield instance
    instance.dispose()


def report(key: str, reporter: str = "psn_a", url: str = "https://tiktok.com/@a/video/1",
           description: str = "video hoaks tentang paslon dua") -> NewReport:
    return NewReport(
        idempotency_key=key, reporter_key=reporter, channel="rest", category="hoaks",
        description=description,
        links=[NewReportLink(original_url=url + "?si=1", canonical_url=url, platform="tiktok",
                             check_status="ok", http_status=200, page_title="Video")],
        region_code="33.75", region_name="Kota Pekalongan (Jawa Tengah)",
    )


def test_migrated_schema_matches_the_models(store: ReportStore) -> None:
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_filing_is_durable(store: ReportStore, database_url: str) -> None:
    filed = store.file_report(report("k1"))
    assert filed.created and filed.ticket_code.startswith("LP-")
    # A brand-new engine (another process, after a restart) sees the committed row.
    fresh = ReportStore(database_url)
    status = fresh.get_status(filed.ticket_code, "psn_a")
    fresh.dispose()
    assert status is not None and status.status == "baru"


def test_same_idempotency_key_files_once(store: ReportStore) -> None:
    first = store.file_report(report("same"))
    again = store.file_report(report("same"))
    assert again.ticket_code == first.ticket_code and not again.created
    assert len(store.list_reports("psn_a")) == 1


def test_concurrent_retries_file_once(store: ReportStore) -> None:
    codes: list[str] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            codes.append(store.file_report(report("race")).ticket_code)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(codes)) == 1
    assert len(store.list_reports("psn_a")) == 1


def test_same_canonical_url_joins_one_case(store: ReportStore) -> None:
    first = store.file_report(report("a", reporter="psn_a"))
    second = store.file_report(report("b", reporter="psn_b"))
    assert first.duplicate_links == []
    assert second.duplicate_links == ["https://tiktok.com/@a/video/1?si=1"]
    with store.engine.connect() as connection:
        count = connection.execute(text("SELECT report_count FROM cases")).scalar_one()
    assert count == 2


def test_status_is_visible_only_to_the_filer(store: ReportStore) -> None:
    code = store.file_report(report("k")).ticket_code
    assert store.get_status(code.lower().replace("-", ""), "psn_a") is not None
    assert store.get_status(code, "psn_someone_else") is None
    assert store.get_status("LP-ZZZZZZ", "psn_a") is None


def test_status_changes_are_audited_and_validated(store: ReportStore) -> None:
    code = store.file_report(report("k")).ticket_code
    update = store.update_status(code, "diproses", "petugas-1", note="sedang dikaji")
    assert (update.old_status, update.new_status, update.reporter_key) == (
        "baru", "diproses", "psn_a")
    assert store.get_status(code, "psn_a").note == "sedang dikaji"
    with pytest.raises(InvalidTransition):
        store.update_status(code, "baru", "petugas-1")
    with pytest.raises(ReportNotFound):
        store.update_status("LP-ZZZZZZ", "selesai", "petugas-1")
    with store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT old_status, new_status, changed_by FROM status_changes ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [(None, "baru", "sistem"),
                                        ("baru", "diproses", "petugas-1")]


def test_erasure_anonymises_but_keeps_reports(store: ReportStore) -> None:
    store.record_consent("psn_a", "rest", contact_encrypted="token")
    code = store.file_report(report("k")).ticket_code
    assert store.has_consent("psn_a")
    assert store.erase_reporter("psn_a") == 1
    assert not store.has_consent("psn_a")
    assert store.get_status(code, "psn_a") is None
    with store.engine.connect() as connection:
        kept = connection.execute(text("SELECT reporter_key FROM reports")).all()
        contact = connection.execute(text("SELECT contact_encrypted FROM reporters")).scalar()
    assert [tuple(r) for r in kept] == [(None,)]
    assert contact is None


def test_daily_cap(store: ReportStore) -> None:
    store.file_report(report("1", url="https://x.com/a/status/1"), daily_cap=2)
    store.file_report(report("2", url="https://x.com/a/status/2"), daily_cap=2)
    with pytest.raises(DailyCapExceeded):
        store.file_report(report("3", url="https://x.com/a/status/3"), daily_cap=2)
    # Other reporters are not affected.
    store.file_report(report("4", reporter="psn_b"), daily_cap=2)
