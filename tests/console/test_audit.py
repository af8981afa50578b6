"""The audit log: written for views, decisions, exports and reveals; nobody can edit it,
on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DatabaseError

from bot.store.models import Base
from console import audit
from console.store import ConsoleStore
from tests.console.conftest import Console, case_of, file_report, sql


async def test_views_decisions_and_exports_are_audited(console: Console) -> None:
    code = file_report(console.store)
    case_id = case_of(console.store, code)
    await console.get_json(f"/api/reports/{code}", user="pengawas.jateng")
    await console.get_json(f"/api/cases/{case_id}")
    await console.post_json(f"/api/reports/{code}/status", {"status": "diproses"})
    await console.post_json(f"/api/cases/{case_id}/status",
                            {"status": "ditolak", "note": "bukan pelanggaran"})
    await console.client.get("/api/referrals/tiktok.csv", headers=console.auth("kora"))
    rows = sql(console.store, "SELECT actor, action, target, detail FROM audit_log "
                              "WHERE action NOT LIKE 'user.%' AND action NOT LIKE 'token.%' "
                              "ORDER BY id")
    assert [row[:3] for row in rows] == [
        ("pengawas.jateng", "report.view", code),
        ("kora", "case.view", f"case:{case_id}"),
        ("kora", "report.status", code),
        ("kora", "case.status", f"case:{case_id}"),
        ("kora", "referral.export", "platform:tiktok"),
    ]
    assert json.loads(rows[2][3]) == {"new": "diproses", "note": False, "old": "baru"}
    assert json.loads(rows[3][3])["tickets"] == [code]
    assert json.loads(rows[1][3]) == {"tickets": [code]}
    # Admins read it in a page; nobody else may.
    await console.login("kora")
    assert (await console.client.get("/admin/audit")).status == 403
    await console.login("admin1")
    page = await console.client.get("/admin/audit?aksi=report.status")
    html = await page.text()
    assert page.status == 200 and code in html and "case.view" not in html


def test_detail_never_takes_contact_keys(store: ConsoleStore) -> None:
    with store.write() as session, pytest.raises(ValueError, match="contact"):
        audit.record(session, "kora", "contact.reveal", "LP-XXXXXX", contact="+62811")
    with store.write() as session, pytest.raises(TypeError):
        audit.record(session, "kora", "x", None, detail=object())


def _assert_append_only(url: str) -> None:
    engine = create_engine(url, future=True)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO audit_log (at, actor, action, target, detail) "
                "VALUES (CURRENT_TIMESTAMP, 'kora', 'report.view', 'LP-AAAAAA', '{}')"))
        for statement in ("UPDATE audit_log SET actor = 'orang-lain'",
                          "DELETE FROM audit_log"):
            with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
        if engine.dialect.name == "postgresql":
            with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
                connection.execute(text("TRUNCATE audit_log"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT actor FROM audit_log")).all() == [("kora",)]
    finally:
        engine.dispose()


def test_audit_log_is_append_only_on_sqlite(store: ConsoleStore, tmp_path) -> None:  # noqa: ANN001
    store.engine  # noqa: B018 - migrated
    _assert_append_only(store.database_url)
    # The models' own schema (create_all) gets the same triggers.
    reference = f"sqlite:///{tmp_path / 'create_all.db'}"
    engine = create_engine(reference, future=True)
    Base.metadata.create_all(engine)
    engine.dispose()
    _assert_append_only(reference)


def test_audit_log_is_append_only_on_postgresql(fresh_postgres_url: str) -> None:
    store = ConsoleStore(fresh_postgres_url)
    try:
        store.engine  # noqa: B018 - migrated
        _assert_append_only(fresh_postgres_url)
    finally:
        store.dispose()
