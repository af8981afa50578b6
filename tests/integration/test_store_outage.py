"""The action server's report store rides out a PostgreSQL restart (bot/store/outage.py)."""

from __future__ import annotations

import threading

import pytest

from bot.outage import OutageTolerant, is_outage
from bot.store import ReportStore
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


async def test_ride_out_retries_only_transient_errors_and_gives_up() -> None:
    from bot.outage import ride_out

    calls: list[int] = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("server restarting")
        return "ok"

    def transient(error: Exception) -> bool:
        return isinstance(error, ConnectionError)

    assert await ride_out("test", flaky, transient) == "ok" and len(calls) == 3

    async def broken() -> str:
        raise ValueError("a query error")

    with pytest.raises(ValueError):
        await ride_out("test", broken, transient)

    async def down() -> str:
        raise ConnectionError("still down")

    with pytest.raises(ConnectionError):
        await ride_out("test", down, transient, seconds=0.5)
