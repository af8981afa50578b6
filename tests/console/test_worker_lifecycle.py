"""The console runs the notification worker for as long as it runs (brief item 3).

The worker here is a minimal one with the interface of `bot.notify.worker.
NotificationWorker` (`run(stop)`, `close()`), standing in until that module is merged.
"""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from console.app import make_app
from console.config import ConsoleSettings
from console.store import ConsoleStore


class CountingWorker:
    """Runs until told to stop; records its life."""

    def __init__(self, store: ConsoleStore) -> None:
        self.store = store
        self.started = asyncio.Event()
        self.stopped = False
        self.closed = False

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        self.started.set()
        await stop.wait()
        self.stopped = True

    async def close(self) -> None:
        self.closed = True


async def test_the_worker_starts_and_stops_with_the_console(store: ConsoleStore) -> None:
    made: list[CountingWorker] = []

    def factory(given: ConsoleStore) -> CountingWorker:
        made.append(CountingWorker(given))
        return made[-1]

    client = TestClient(TestServer(make_app(store, ConsoleSettings(), worker_factory=factory),
                                   host="127.0.0.1"))
    await client.start_server()
    try:
        assert len(made) == 1 and made[0].store is store
        await asyncio.wait_for(made[0].started.wait(), timeout=30)
        assert (await client.get("/healthz")).status == 200
    finally:
        await client.close()
    assert made[0].stopped and made[0].closed


async def test_no_worker_when_switched_off(store: ConsoleStore) -> None:
    made: list[object] = []
    app = make_app(store, ConsoleSettings.from_env({"CONSOLE_NOTIFY_WORKER": "0"}),
                   worker_factory=lambda given: made.append(given))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    await client.close()
    assert made == []
