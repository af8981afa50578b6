"""Status notices for web widget sessions: kept in the outbox, shown by the real web channel."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ephemeral import ephemeral_store
from bot.store import ReportStore
from channels.web_notices import StoredWebNotices
from channels.webchat import WebChatInput, room_of
from tests.channels.serving import Agent, WebSocketClient, serve, shutdown, until
from tests.integration.notify_support import file_report, notices


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReportStore]:
    instance = ReportStore(f"sqlite:///{tmp_path / 'reports.db'}")
    yield instance
    instance.dispose()


async def test_a_notice_reaches_a_connected_session_then_waits_for_the_next_visit(
        store: ReportStore) -> None:
    channel = WebChatInput(store=ephemeral_store(),
                           notices=StoredWebNotices(store, poll_seconds=0.05))
    server, base = await serve([channel], Agent())
    try:
        async with WebSocketClient(base) as client:
            session_id = client.session_id
            room = room_of(session_id)
            store.record_consent(room, "webchat")
            code = file_report(store, room, "webchat")
            await asyncio.to_thread(store.update_status, code, "diproses", "petugas",
                                    "Terima kasih, sedang kami cek.")
            live = await client.next_reply()  # connected: shown within a poll
            assert code in live["text"] and "Sedang ditelaah petugas" in live["text"]
            assert "Catatan petugas: Terima kasih, sedang kami cek." in live["text"]
        await asyncio.wait_for(until(_no_local_session(channel)), 60)

        await asyncio.to_thread(store.update_status, code, "selesai", "petugas")
        assert notices(store)[-1][1] == "queued"  # nobody is connected: it waits
        async with WebSocketClient(base, session_id) as back:
            later = await back.next_reply()  # shown at the next visit
            assert code in later["text"] and "Selesai ditindaklanjuti" in later["text"]
        assert [n[1] for n in notices(store)] == ["sent", "sent"]
        assert [s.state for s in store.notification_states([code])[code]] == ["sent", "sent"]
    finally:
        await shutdown(server)


def _no_local_session(channel: WebChatInput):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return channel.sessions.local_sessions() == []
    return check


async def test_an_unreachable_database_does_not_disturb_the_chat(tmp_path: Path) -> None:
    # A database path that cannot be created (a file stands where its folder should be).
    (tmp_path / "blocked").write_text("not a folder")
    broken = ReportStore(f"sqlite:///{tmp_path / 'blocked' / 'reports.db'}")
    channel = WebChatInput(store=ephemeral_store(),
                           notices=StoredWebNotices(broken, poll_seconds=0.05))
    agent = Agent()
    server, base = await serve([channel], agent)
    try:
        async with WebSocketClient(base) as client:
            await client.say("halo")
            assert (await client.next_reply())["text"] == "Diterima: halo"
    finally:
        await shutdown(server)
        broken.dispose()


def test_the_configured_channel_shows_stored_notices_unless_turned_off() -> None:
    assert isinstance(WebChatInput.from_credentials(None).notices, StoredWebNotices)
    assert WebChatInput.from_credentials({"stored_notices": False}).notices is None
    assert WebChatInput().notices is None  # built in code: only when given
