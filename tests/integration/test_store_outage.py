"""The action server's report store rides out a PostgreSQL restart (bot/store/outage.py)."""

from __future__ import annotations

import threading

from bot.store import ReportStore
from bot.store.outage import OutageTolerant, is_outage
from tests.integration.conftest import PostgresServer
from tests.integration.test_store import ALICE, new_report


def test_a_store_call_during_a_restart_waits_for_the_server(
        postgres_server: PostgresServer) -> None:
    url = postgres_server.url(postgres_server.create_database("outage"))
    store = OutageTolerant(ReportStore(url))
    store.record_consent(ALICE, "rest")
    assert postgres_server.local is not None
    postgres_server.local.stop()
    restarter = threading.Timer(2.0, postgres_server.local.start)
    restarter.start()
    try:
        # The server is down when this starts; the call succeeds once it is back.
        filed = store.file_report(new_report("outage-1"))
        assert store.has_consent(ALICE)
    finally:
        restarter.join(60)
    assert filed.ticket_code
    # Filing again after the outage is idempotent: one report.
    assert store.file_report(new_report("outage-1")).ticket_code == filed.ticket_code


def test_only_connection_failures_are_outages() -> None:
    from sqlalchemy import exc

    refused = exc.OperationalError("SELECT 1", {}, Exception("connection refused"))
    locked = exc.OperationalError("SELECT 1", {}, Exception("database is locked"))
    assert is_outage(refused) and not is_outage(locked)
    assert not is_outage(exc.IntegrityError("INSERT", {}, Exception("duplicate key")))
