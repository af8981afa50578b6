"""The report store on SQLite and on a real PostgreSQL server (see conftest.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text, update

from bot.privacy import sender_key
from bot.settings import get_settings
from bot.store import (
    ALLOWED_TRANSITIONS,
    STATUSES,
    DailyCapExceeded,
    FiledReport,
    IdempotencyConflict,
    InvalidTransition,
    NewEvidence,
    NewReport,
    NewReportLink,
    ReportNotFound,
    ReportStore,
    migrate,
)
from bot.store.db import make_engine
from bot.store.models import Base, Report
from tests.integration.conftest import PostgresServer

BACKENDS = ["sqlite", "postgresql"]
PHONE = "+6281114141414"
ALICE = "psn_alice"
BOB = "psn_bob"
VIDEO = "https://www.tiktok.com/@akun/video/1"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a new database on the throwaway PostgreSQL."""
    if request.param == "sqlite":
        # A folder that does not exist yet: the store must create it.
        return f"sqlite:///{tmp_path / 'var' / 'nested' / 'reports.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[ReportStore]:
    instance = ReportStore(database_url)
    yield instance
    instance.dispose()


def new_report(key: str, reporter: str | None = ALICE, urls: tuple[str, ...] = (VIDEO,),
               description: str = "video hoaks tentang paslon dua") -> NewReport:
    return NewReport(
        idempotency_key=key, reporter_key=reporter, channel="rest", category="hoaks",
        description=description,
        links=[NewReportLink(original_url=url + "?si=share", canonical_url=url,
                             platform="tiktok", check_status="ok", http_status=200,
                             page_title="Video")
               for url in urls],
        region_code="33.75", region_name="Kota Pekalongan (Jawa Tengah)",
        known_date=date(2024, 1, 20), reported_party="Akun @akun",
    )


def scalar(store: ReportStore, sql: str, **params: Any) -> Any:
    with store.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def rows(store: ReportStore, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params).all()]


def race(count: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run `work(i)` in `count` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        barrier.wait()
        try:
            result = work(index)
        except BaseException as exc:  # noqa: BLE001 - inspected by the test
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return results, errors


# --- schema and migrations ------------------------------------------------------


def test_postgresql_is_a_real_server(postgres_server: PostgresServer, postgres_url: str) -> None:
    assert "PostgreSQL" in postgres_server.version and " 15." in postgres_server.version
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar()
            listen = connection.execute(text("SHOW listen_addresses")).scalar()
    finally:
        engine.dispose()
    assert str(version).startswith("15.")
    assert listen == "127.0.0.1"


def test_migrated_schema_matches_the_models(store: ReportStore) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == []
    assert revision == "0006"


def test_migrated_constraints_and_indexes_are_named_like_the_models(
    store: ReportStore, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Stricter than autogenerate: also check constraints and every name."""
    if database_url.startswith("sqlite"):
        reference_url = f"sqlite:///{tmp_path / 'create_all.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = server.create_database("reference")
        request.addfinalizer(lambda: server.drop_database(name))
        reference_url = server.url(name)
    reference = create_engine(reference_url, future=True)
    try:
        Base.metadata.create_all(reference)
        migrated, expected = inspect(store.engine), inspect(reference)

        def described(inspector: Any, table: str) -> dict[str, Any]:
            return {
                "pk": inspector.get_pk_constraint(table),
                "unique": sorted(inspector.get_unique_constraints(table),
                                 key=lambda c: c["name"]),
                "indexes": sorted(({"name": i["name"], "columns": i["column_names"],
                                    "unique": bool(i["unique"])}
                                   for i in inspector.get_indexes(table)),
                                  key=lambda i: i["name"]),
                "foreign_keys": sorted(inspector.get_foreign_keys(table),
                                       key=lambda c: c["name"]),
                "checks": sorted(inspector.get_check_constraints(table),
                                 key=lambda c: c["name"]),
            }

        for table in Base.metadata.tables:
            assert described(migrated, table) == described(expected, table), table
    finally:
        reference.dispose()


def test_migrate_is_repeatable_and_safe_when_processes_start_together(
    database_url: str,
) -> None:
    _, errors = race(4, lambda _: migrate(database_url))
    assert errors == []
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
                ("0006",)]
    finally:
        engine.dispose()


def test_sqlite_is_durable_and_enforces_foreign_keys(tmp_path: Path) -> None:
    store = ReportStore(f"sqlite:///{tmp_path / 'reports.db'}")
    try:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.dispose()


def test_default_url_puts_the_database_under_var() -> None:
    settings = get_settings()
    assert not settings.var_dir.exists()
    store = ReportStore()  # DATABASE_URL unset: SQLite under VAR_DIR (tests/conftest.py)
    try:
        store.file_report(new_report("k"))
    finally:
        store.dispose()
    assert (settings.var_dir / "reports.db").exists()


def test_no_engine_or_file_before_first_use(tmp_path: Path) -> None:
    store = ReportStore(f"sqlite:///{tmp_path / 'lazy' / 'reports.db'}")
    assert store._engine is None
    assert not (tmp_path / "lazy").exists()


# --- filing -------------------------------------------------------------------------


def test_filing_is_committed_and_durable(store: ReportStore, database_url: str) -> None:
    filed = store.file_report(new_report("k1"))
    assert filed == FiledReport(filed.ticket_code, created=True, duplicate_links=[])
    assert len(filed.ticket_code) == 9 and filed.ticket_code.startswith("LP-")
    store.dispose()

    # A brand-new engine (as after a restart, or another process) reads it back.
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            report = connection.execute(text(
                "SELECT ticket_code, reporter_key, channel, category, description, region_code,"
                " region_name, known_date, reported_party, status FROM reports")).one()
            link = connection.execute(text(
                "SELECT original_url, canonical_url, platform, check_status, http_status,"
                " page_title, checked_at FROM report_links")).one()
            audit = connection.execute(text(
                "SELECT old_status, new_status, changed_by FROM status_changes")).all()
    finally:
        engine.dispose()
    assert tuple(report) == (
        filed.ticket_code, ALICE, "rest", "hoaks", "video hoaks tentang paslon dua", "33.75",
        "Kota Pekalongan (Jawa Tengah)", report.known_date, "Akun @akun", "baru")
    assert str(report.known_date).startswith("2024-01-20")
    assert tuple(link)[:6] == (VIDEO + "?si=share", VIDEO, "tiktok", "ok", 200, "Video")
    assert link.checked_at is not None
    assert [tuple(r) for r in audit] == [(None, "baru", "sistem")]

    fresh = ReportStore(database_url)
    try:
        status = fresh.get_status(filed.ticket_code, ALICE)
    finally:
        fresh.dispose()
    assert status is not None and status.status == "baru" and status.category == "hoaks"


def test_timestamps_are_timezone_aware_utc(store: ReportStore) -> None:
    before = datetime.now(timezone.utc)
    code = store.file_report(new_report("k")).ticket_code
    status = store.get_status(code, ALICE)
    assert status is not None
    for moment in (status.created_at, status.updated_at):
        assert moment.utcoffset() == timedelta(0)
        assert before - timedelta(seconds=1) <= moment <= datetime.now(timezone.utc)


def test_same_idempotency_key_files_once(store: ReportStore) -> None:
    first = store.file_report(new_report("same"))
    again = store.file_report(new_report("same"))
    assert again.ticket_code == first.ticket_code
    assert (first.created, again.created) == (True, False)
    assert scalar(store, "SELECT count(*) FROM reports") == 1
    assert scalar(store, "SELECT report_count FROM cases") == 1


@pytest.mark.parametrize("separate_engines", [False, True], ids=["shared", "per-thread"])
def test_concurrent_submissions_with_one_key_file_once(
    store: ReportStore, database_url: str, separate_engines: bool
) -> None:
    """Retries racing each other (one store shared, or one per thread like processes)."""
    stores = [ReportStore(database_url) if separate_engines else store for _ in range(8)]
    store.engine  # noqa: B018 - migrate first: this test is about filing, not migrating
    try:
        results, errors = race(8, lambda i: stores[i].file_report(new_report("race")))
    finally:
        for other in stores:
            if other is not store:
                other.dispose()
    assert errors == []
    assert len({r.ticket_code for r in results}) == 1
    assert sorted(r.created for r in results) == [False] * 7 + [True]
    assert scalar(store, "SELECT count(*) FROM reports") == 1
    assert scalar(store, "SELECT count(*) FROM report_links") == 1
    assert scalar(store, "SELECT report_count FROM cases") == 1


def test_same_canonical_url_joins_one_case_and_is_reported_back(store: ReportStore) -> None:
    other = "https://x.com/akun/status/2"
    first = store.file_report(new_report("a", reporter=ALICE))
    second = store.file_report(new_report("b", reporter=BOB, urls=(other, VIDEO)))
    assert first.duplicate_links == []
    assert second.duplicate_links == [VIDEO + "?si=share"]
    assert rows(store, "SELECT canonical_url, report_count FROM cases ORDER BY id") == [
        (VIDEO, 2), (other, 1)]
    # A replay answers the same as the first time, even after more reports came in.
    store.file_report(new_report("c", reporter=BOB, urls=(other,)))
    assert store.file_report(new_report("b", reporter=BOB, urls=(other, VIDEO))) == FiledReport(
        second.ticket_code, created=False, duplicate_links=[VIDEO + "?si=share"])
    assert store.file_report(new_report("a", reporter=ALICE)).duplicate_links == []


def test_one_url_twice_in_a_report_is_one_link(store: ReportStore) -> None:
    report = NewReport(
        idempotency_key="k", reporter_key=ALICE, channel="rest", category="hoaks",
        description="dua kali", links=[
            NewReportLink(VIDEO + "?a=1", VIDEO, "tiktok"),
            NewReportLink(VIDEO + "?b=2", VIDEO, "tiktok"),
        ])
    assert store.file_report(report).duplicate_links == []
    assert rows(store, "SELECT original_url, checked_at FROM report_links") == [
        (VIDEO + "?a=1", None)]
    assert scalar(store, "SELECT report_count FROM cases") == 1


def test_concurrent_reports_of_one_url_count_every_report(store: ReportStore) -> None:
    store.engine  # noqa: B018
    results, errors = race(
        8, lambda i: store.file_report(new_report(f"k{i}", reporter=f"psn_user{i}")))
    assert errors == []
    assert len({r.ticket_code for r in results}) == 8
    assert sorted(len(r.duplicate_links) for r in results) == [0] + [1] * 7
    assert rows(store, "SELECT report_count FROM cases") == [(8,)]


def test_evidence_is_stored_with_the_report(store: ReportStore) -> None:
    digest = "AB" * 32
    report = NewReport(
        idempotency_key="k", reporter_key=ALICE, channel="whatsapp", category="hoaks",
        description="tangkapan layar", evidence=[
            NewEvidence("image", "image/jpeg", 123_456, digest, "evidence/2024/01/x.jpg")])
    store.file_report(report)
    assert rows(store, "SELECT kind, mime_type, size_bytes, sha256, storage_path FROM evidence"
                ) == [("image", "image/jpeg", 123_456, digest.lower(), "evidence/2024/01/x.jpg")]


def test_anonymous_reports_are_filed_without_a_reporter(store: ReportStore) -> None:
    filed = store.file_report(new_report("anon", reporter=None), daily_cap=1)
    store.file_report(new_report("anon2", reporter=None), daily_cap=1)
    assert filed.created
    assert rows(store, "SELECT reporter_key FROM reports") == [(None,), (None,)]
    assert scalar(store, "SELECT count(*) FROM reporters") == 0


def test_idempotency_key_of_another_reporter_is_refused(store: ReportStore) -> None:
    store.file_report(new_report("k", reporter=ALICE))
    with pytest.raises(IdempotencyConflict):
        store.file_report(new_report("k", reporter=BOB))


@pytest.mark.parametrize(
    "change",
    [
        {"channel": "x" * 33},
        {"category": ""},
        {"idempotency_key": ""},
        {"region_code": "1" * 17},
        {"links": [NewReportLink("https://a.id/" + "x" * 2048, "https://a.id/x", "web")]},
        {"evidence": [NewEvidence("image", "image/png", 1, "not-a-digest", "a.png")]},
    ],
    ids=["channel", "category", "key", "region", "url", "sha256"],
)
def test_input_that_does_not_fit_is_refused_and_nothing_is_written(
    store: ReportStore, change: dict[str, Any]
) -> None:
    values = {**new_report("k").__dict__, **change}
    with pytest.raises(ValueError):
        store.file_report(NewReport(**values))
    assert scalar(store, "SELECT count(*) FROM reports") == 0


def test_overlong_page_titles_are_truncated(store: ReportStore) -> None:
    report = NewReport("k", ALICE, "rest", "hoaks", "d",
                       links=[NewReportLink(VIDEO, VIDEO, "tiktok", "ok", 200, "J" * 1000)])
    store.file_report(report)
    assert scalar(store, "SELECT page_title FROM report_links") == "J" * 300


# --- daily cap ----------------------------------------------------------------------


def test_daily_cap(store: ReportStore) -> None:
    for i in range(2):
        store.file_report(new_report(f"{i}", urls=(f"https://x.com/a/status/{i}",)), daily_cap=2)
    with pytest.raises(DailyCapExceeded) as raised:
        store.file_report(new_report("2", urls=("https://x.com/a/status/2",)), daily_cap=2)
    assert (raised.value.cap, raised.value.count) == (2, 2)
    assert scalar(store, "SELECT count(*) FROM reports") == 2
    # The refused report left nothing behind (no case either).
    assert scalar(store, "SELECT count(*) FROM cases") == 2
    # A retried submission of a report already filed is still answered.
    assert not store.file_report(new_report("1", urls=("https://x.com/a/status/1",)),
                                 daily_cap=2).created
    # Other reporters are not affected; 0 disables the cap.
    store.file_report(new_report("b", reporter=BOB), daily_cap=2)
    store.file_report(new_report("3", urls=("https://x.com/a/status/3",)), daily_cap=0)
    assert store.count_recent(ALICE) == 3


def test_daily_cap_is_a_rolling_24_hours(store: ReportStore) -> None:
    store.file_report(new_report("old"), daily_cap=1)
    with pytest.raises(DailyCapExceeded):
        store.file_report(new_report("new"), daily_cap=1)
    with store.engine.begin() as connection:
        connection.execute(update(Report).values(
            created_at=datetime.now(timezone.utc) - timedelta(hours=24, minutes=1)))
    assert store.count_recent(ALICE) == 0
    assert store.file_report(new_report("new"), daily_cap=1).created


def test_daily_cap_defaults_to_the_setting(
    store: ReportStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILY_REPORT_CAP", "1")
    get_settings.cache_clear()
    store.file_report(new_report("1"))
    with pytest.raises(DailyCapExceeded):
        store.file_report(new_report("2"))


def test_daily_cap_holds_under_concurrent_submissions(store: ReportStore) -> None:
    store.engine  # noqa: B018
    results, errors = race(
        8, lambda i: store.file_report(
            new_report(f"k{i}", urls=(f"https://x.com/a/status/{i}",)), daily_cap=3))
    assert len(results) == 3
    assert len(errors) == 5 and all(isinstance(e, DailyCapExceeded) for e in errors)
    assert scalar(store, "SELECT count(*) FROM reports") == 3


# --- status -------------------------------------------------------------------------


def test_status_is_visible_only_to_the_filer(store: ReportStore) -> None:
    alice = sender_key("whatsapp", PHONE)
    code = store.file_report(new_report("k", reporter=alice)).ticket_code
    for typed in (code, code.lower(), code.replace("-", ""), code.replace("-", " "),
                  code.lower().replace("-", "--")):
        status = store.get_status(typed, alice)
        assert status is not None and status.ticket_code == code
    # The same phone number on another channel, someone else, an unknown code:
    # all get exactly the same answer.
    assert store.get_status(code, sender_key("telegram", PHONE)) is None
    assert store.get_status(code, sender_key("whatsapp", "+6281299999999")) is None
    assert store.get_status(code, "") is None
    assert store.get_status("LP-ZZZZZZ", alice) is None
    assert store.get_status("bukan kode", alice) is None


def test_list_reports_newest_first_only_own(store: ReportStore) -> None:
    codes = [store.file_report(new_report(f"k{i}", urls=(f"https://x.com/a/status/{i}",)),
                               daily_cap=0).ticket_code for i in range(4)]
    store.file_report(new_report("bob", reporter=BOB))
    listed = store.list_reports(ALICE)
    assert [r.ticket_code for r in listed] == codes[::-1]
    assert [r.ticket_code for r in store.list_reports(ALICE, limit=2)] == codes[:1:-1]
    assert [r.ticket_code for r in store.list_reports(ALICE, 2)] == codes[:1:-1]
    assert store.list_reports("psn_nobody") == []
    assert store.list_reports(ALICE, limit=0) == []


def test_update_status_is_audited_and_returns_whom_to_notify(store: ReportStore) -> None:
    store.record_consent(ALICE, "whatsapp", contact=PHONE)
    code = store.file_report(new_report("k")).ticket_code
    update = store.update_status(code.lower(), "diproses", "petugas-1", note="sedang dikaji")
    assert (update.ticket_code, update.old_status, update.new_status) == (
        code, "baru", "diproses")
    assert (update.channel, update.sender_key, update.note) == ("rest", ALICE, "sedang dikaji")
    assert update.can_notify and update.decrypt_contact() == PHONE
    assert PHONE not in repr(update) and "contact" not in repr(update)
    status = store.get_status(code, ALICE)
    assert status is not None and status.status == "diproses" and status.note == "sedang dikaji"
    assert status.updated_at > status.created_at

    store.update_status(code, "selesai", "petugas-2")
    status = store.get_status(code, ALICE)
    assert status is not None and status.note is None  # the latest change had no note
    assert rows(store, "SELECT old_status, new_status, note, changed_by FROM status_changes"
                       " ORDER BY id") == [
        (None, "baru", None, "sistem"),
        ("baru", "diproses", "sedang dikaji", "petugas-1"),
        ("diproses", "selesai", None, "petugas-2"),
    ]
    history = store.status_history(code)
    assert [h[:3] for h in history] == [(None, "baru", "sistem"),
                                        ("baru", "diproses", "petugas-1"),
                                        ("diproses", "selesai", "petugas-2")]
    assert all(h[3].tzinfo is not None for h in history)


ALL_PAIRS = [(old, new) for old in STATUSES for new in STATUSES]


@pytest.mark.parametrize(("old", "new"), ALL_PAIRS, ids=[f"{o}-{n}" for o, n in ALL_PAIRS])
def test_transitions_follow_the_workflow(store: ReportStore, old: str, new: str) -> None:
    code = store.file_report(new_report("k")).ticket_code
    path = {"baru": [], "diproses": ["diproses"], "diteruskan": ["diteruskan"],
            "selesai": ["selesai"], "ditolak": ["ditolak"]}[old]
    for step in path:
        store.update_status(code, step, "petugas")
    if new in ALLOWED_TRANSITIONS[old]:
        assert store.update_status(code, new, "petugas").new_status == new
    else:
        with pytest.raises(InvalidTransition):
            store.update_status(code, new, "petugas")
        status = store.get_status(code, ALICE)
        assert status is not None and status.status == old
        assert scalar(store, "SELECT count(*) FROM status_changes") == 1 + len(path)


def test_update_status_refuses_unknown_reports_statuses_and_reviewers(store: ReportStore) -> None:
    code = store.file_report(new_report("k")).ticket_code
    with pytest.raises(ReportNotFound):
        store.update_status("LP-ZZZZZZ", "diproses", "petugas")
    with pytest.raises(ReportNotFound):
        store.update_status("bukan kode", "diproses", "petugas")
    with pytest.raises(InvalidTransition):
        store.update_status(code, "dihapus", "petugas")
    with pytest.raises(ValueError):
        store.update_status(code, "diproses", "")


# --- consent and erasure ------------------------------------------------------------


def test_consent_is_recorded_and_the_contact_encrypted(store: ReportStore) -> None:
    assert not store.has_consent(ALICE)
    store.record_consent(ALICE, "whatsapp", contact=PHONE)
    assert store.has_consent(ALICE)
    stored = scalar(store, "SELECT contact_encrypted FROM reporters")
    assert stored and PHONE not in stored and "6281114141414" not in stored
    # Consenting again without a contact keeps the contact.
    store.record_consent(ALICE, "whatsapp")
    assert scalar(store, "SELECT contact_encrypted FROM reporters") == stored
    assert not store.has_consent(BOB)


def test_erasure_anonymises_but_keeps_reports(store: ReportStore) -> None:
    store.record_consent(ALICE, "rest", contact=PHONE)
    codes = [store.file_report(new_report(f"k{i}")).ticket_code for i in range(2)]
    bob_code = store.file_report(new_report("b", reporter=BOB)).ticket_code

    assert store.erase_reporter(ALICE) == 2

    assert not store.has_consent(ALICE)
    assert all(store.get_status(code, ALICE) is None for code in codes)
    assert store.list_reports(ALICE) == []
    assert rows(store, "SELECT ticket_code, reporter_key, description FROM reports"
                       " ORDER BY id") == [
        (codes[0], None, "video hoaks tentang paslon dua"),
        (codes[1], None, "video hoaks tentang paslon dua"),
        (bob_code, BOB, "video hoaks tentang paslon dua"),
    ]
    # The idempotency keys no longer link the reports to the sender.
    assert scalar(store, "SELECT count(*) FROM reports WHERE idempotency_key LIKE 'k%'") == 0
    # Nothing of the reporter is left: not the contact, the consent or the pseudonym.
    assert rows(store, "SELECT sender_key FROM reporters WHERE sender_key = :key",
                key=ALICE) == []
    # Reviewers still work on the reports, but there is nobody to notify.
    update = store.update_status(codes[0], "diproses", "petugas")
    assert update.sender_key is None and update.decrypt_contact() is None
    assert not update.can_notify
    # Erasing again, or someone unknown, erases nothing more.
    assert store.erase_reporter(ALICE) == 0
    assert store.erase_reporter("psn_nobody") == 0
    # Bob is untouched.
    assert store.get_status(bob_code, BOB) is not None


def test_a_reporter_can_consent_and_report_again_after_erasure(store: ReportStore) -> None:
    store.record_consent(ALICE, "rest", contact=PHONE)
    store.file_report(new_report("k1"))
    store.erase_reporter(ALICE)
    store.record_consent(ALICE, "rest")
    assert store.has_consent(ALICE)
    assert scalar(store, "SELECT contact_encrypted FROM reporters") is None
    code = store.file_report(new_report("k2")).ticket_code
    assert [r.ticket_code for r in store.list_reports(ALICE)] == [code]


def test_no_personal_data_in_logs(store: ReportStore, caplog: pytest.LogCaptureFixture) -> None:
    alice = sender_key("whatsapp", PHONE)
    caplog.set_level(logging.DEBUG)
    store.record_consent(alice, "whatsapp", contact=PHONE)
    code = store.file_report(new_report("k", reporter=alice)).ticket_code
    store.file_report(new_report("k", reporter=alice))
    store.update_status(code, "diproses", "petugas", note="catatan")
    store.get_status(code, alice)
    store.erase_reporter(alice)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged  # the store does log what it does...
    for secret in (PHONE, PHONE[1:], alice, "video hoaks", VIDEO):
        assert secret not in logged  # ...but never who, what or which link
