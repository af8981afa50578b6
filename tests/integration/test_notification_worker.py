"""The notification worker against the fake WhatsApp Graph API and Telegram Bot API.

Real store (SQLite; PostgreSQL for the race between two workers), real senders
(`channels.outbound`), fake platform servers that speak the protocols. Time is
a settable clock: no test waits for a backoff to pass.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.ephemeral import EphemeralStore, MemoryStore
from bot.notify.worker import (
    NOT_CONFIGURED,
    SEND_FAILED,
    NoticeSender,
    NotificationWorker,
    RetryPolicy,
    outbound_senders,
)
from bot.privacy import sender_key
from bot.settings import PROJECT_ROOT, get_settings
from bot.store import ReportStore
from bot.store.models import utcnow
from channels.whatsapp_api import GraphApiClient, WhatsAppNotifier, mark_window_open
from tests.fakes.graph_api import NOTICE_TEMPLATE, FakeGraphApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.integration.notify_support import (
    CHAT_ID,
    PHONE,
    Clock,
    file_report,
    next_attempts,
    notices,
    reporter,
    scalar,
)

TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
STATUS = "Sedang ditelaah petugas"  # status_labels.diproses in report_wording.yml


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReportStore]:
    instance = ReportStore(f"sqlite:///{tmp_path / 'reports.db'}")
    yield instance
    instance.dispose()


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraphApi]:
    with FakeGraphApi() as fake:
        for name, value in (("WHATSAPP_VERIFY_TOKEN", "verify"), ("WHATSAPP_APP_SECRET", "s"),
                            ("WHATSAPP_ACCESS_TOKEN", fake.access_token),
                            ("WHATSAPP_PHONE_NUMBER_ID", fake.phone_number_id),
                            ("WHATSAPP_API_BASE_URL", fake.base_url),
                            ("WHATSAPP_NOTIFY_TEMPLATE", NOTICE_TEMPLATE)):
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield fake


@pytest.fixture
async def telegram(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTelegramApi]:
    api = FakeTelegramApi(TG_TOKEN)
    await api.start()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TG_TOKEN)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", "s3cret")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", api.base_url)
    get_settings.cache_clear()
    yield api
    await api.stop()


async def eventually(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Wait until `condition()` holds; fail (instead of hanging) if it never does."""
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), seconds)
    except asyncio.TimeoutError:
        raise AssertionError(f"still false after {seconds:.0f} s") from None


def quick_whatsapp(graph: FakeGraphApi):  # type: ignore[no-untyped-def]
    """Senders whose Graph API client gives up fast (2 tries, 10 ms apart)."""

    def senders(channel: str, store: EphemeralStore) -> NoticeSender | None:
        if channel != "whatsapp":
            return outbound_senders(channel, store)
        client = GraphApiClient(graph.access_token, graph.phone_number_id, graph.base_url,
                                backoff_seconds=0.01, max_attempts=2)
        return WhatsAppNotifier(client, store, NOTICE_TEMPLATE, "id")

    return senders


def make_worker(store: ReportStore, clock: Callable[[], datetime] | None = None,
                **options: Any) -> NotificationWorker:
    """A worker on `clock` (default: a clock stopped now, after the changes made so far)."""
    options.setdefault("ephemeral", MemoryStore())
    options.setdefault("rate_per_second", 0)
    return NotificationWorker(store, clock=clock or Clock(), rng=random.Random(7), **options)


def whatsapp_report(store: ReportStore, status: str = "diproses", note: str | None = None
                    ) -> str:
    code = file_report(store, reporter(store, "whatsapp", PHONE), "whatsapp")
    store.update_status(code, status, "petugas-1", note=note)
    return code


async def test_whatsapp_inside_the_window_gets_the_notice_as_text(
        store: ReportStore, graph: FakeGraphApi) -> None:
    code = whatsapp_report(store, note="Akun sedang kami periksa.")
    ephemeral = MemoryStore()
    await mark_window_open(ephemeral, sender_key("whatsapp", PHONE))
    worker = make_worker(store, ephemeral=ephemeral)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.close()
    [sent] = graph.sent_messages()
    assert sent["to"] == PHONE and sent["type"] == "text"
    body = sent["text"]["body"]
    assert code in body and STATUS in body and "Catatan petugas: Akun sedang kami periksa." \
        in body
    [state] = store.notification_states([code])[code]
    assert (state.state, state.attempts, state.last_error) == ("sent", 1, None)
    assert state.sent_at is not None
    assert await make_worker(store, ephemeral=ephemeral).run_once() == 0  # never twice


async def test_whatsapp_outside_the_window_gets_the_template_with_ticket_and_status(
        store: ReportStore, graph: FakeGraphApi) -> None:
    code = whatsapp_report(store)
    worker = make_worker(store)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.close()
    [sent] = graph.sent_messages()
    assert sent["to"] == PHONE and sent["type"] == "template"
    template = sent["template"]
    assert template["name"] == NOTICE_TEMPLATE and template["language"] == {"code": "id"}
    assert [p["text"] for p in template["components"][0]["parameters"]] == [code, STATUS]
    assert [s.state for s in store.notification_states([code])[code]] == ["sent"]


async def test_telegram_notice_reaches_the_chat(store: ReportStore,
                                                telegram: FakeTelegramApi) -> None:
    code = file_report(store, reporter(store, "telegram", CHAT_ID), "telegram")
    store.update_status(code, "ditolak", "petugas", note="Konten bukan materi kampanye.")
    worker = make_worker(store)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.close()
    [sent] = telegram.calls_to("sendMessage")
    assert int(sent["chat_id"]) == CHAT_ID
    assert code in sent["text"] and "Tidak dapat ditindaklanjuti" in sent["text"]
    assert "Konten bukan materi kampanye." in sent["text"]
    assert notices(store) == [("telegram", "sent", 1, None)]


async def test_a_server_error_is_retried_after_a_backoff_then_sent(
        store: ReportStore, graph: FakeGraphApi) -> None:
    code = whatsapp_report(store)
    clock = Clock()  # after the change: its notice is due now
    worker = make_worker(store, clock, senders=quick_whatsapp(graph),
                         retry=RetryPolicy(max_attempts=5, base_seconds=30))
    graph.fail_next(500, count=2)  # both tries of the client's first attempt
    try:
        assert await worker.run_once() == 1
        assert notices(store) == [("whatsapp", "pending", 1, SEND_FAILED)]
        [retry_at] = next_attempts(store)
        # Equal jitter: between half and all of the first backoff step.
        assert retry_at is not None
        assert clock.now + timedelta(seconds=15) <= retry_at <= clock.now + timedelta(seconds=30)
        assert await worker.run_once() == 0  # not due yet
        clock.advance(30)
        assert await worker.run_once() == 1
    finally:
        await worker.close()
    assert notices(store) == [("whatsapp", "sent", 2, None)]
    [sent] = graph.sent_messages()
    assert sent["template"]["components"][0]["parameters"][0]["text"] == code


async def test_a_notice_fails_for_good_after_the_last_attempt(
        store: ReportStore, graph: FakeGraphApi) -> None:
    whatsapp_report(store)
    clock = Clock()  # after the change: its notice is due now
    worker = make_worker(store, clock, senders=quick_whatsapp(graph),
                         retry=RetryPolicy(max_attempts=3, base_seconds=10))
    graph.fail_next(503, count=100)
    try:
        for attempt in (1, 2, 3):
            assert await worker.run_once() == 1, attempt
            clock.advance(3600)
        assert await worker.run_once() == 0
    finally:
        await worker.close()
        graph.clear()
    assert notices(store) == [("whatsapp", "failed", 3, SEND_FAILED)]
    assert graph.sent_messages() == []


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, base_seconds=30, cap_seconds=600)
    rng = random.Random(1)
    for attempts, ceiling in ((1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (9, 600)):
        delays = [policy.delay(attempts, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


async def test_a_rate_limit_answer_is_waited_out_by_the_client(
        store: ReportStore, graph: FakeGraphApi) -> None:
    whatsapp_report(store)
    worker = make_worker(store, senders=quick_whatsapp(graph))
    graph.fail_next(429, count=1, retry_after="0")
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.close()
    assert notices(store) == [("whatsapp", "sent", 1, None)]
    assert len(graph.requests) == 2 and len(graph.sent_messages()) == 1


class CountingStore(MemoryStore):
    """The memory store, also counting the tokens it refused."""

    refused = 0

    async def take(self, key: str, capacity: float, per_second: float) -> bool:
        allowed = await super().take(key, capacity, per_second)
        if not allowed:
            self.refused += 1
        return allowed


async def test_the_channel_rate_is_honoured(store: ReportStore,
                                            telegram: FakeTelegramApi) -> None:
    ticks = [0.0]
    ephemeral = CountingStore(clock=lambda: ticks[0])
    rate = 20.0
    for _ in range(int(rate)):  # another worker just spent this second's tokens
        assert await ephemeral.take("notify-rate:telegram", rate, rate)
    code = file_report(store, reporter(store, "telegram", CHAT_ID), "telegram")
    store.update_status(code, "diproses", "petugas")
    worker = make_worker(store, ephemeral=ephemeral, rate_per_second=rate)
    try:
        sending = asyncio.ensure_future(worker.run_once())
        await eventually(lambda: ephemeral.refused >= 2)
        assert telegram.calls_to("sendMessage") == [] and not sending.done()
        ticks[0] += 1.0  # a second later the bucket has refilled
        assert await sending == 1
    finally:
        await worker.close()
    assert len(telegram.calls_to("sendMessage")) == 1


async def test_a_channel_without_a_sender_here_is_retried_and_reported(
        store: ReportStore, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_SECRET_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    code = file_report(store, reporter(store, "telegram", CHAT_ID), "telegram")
    store.update_status(code, "diproses", "petugas")
    worker = make_worker(store)
    assert await worker.run_once() == 1
    await worker.close()
    assert notices(store) == [("telegram", "pending", 1, NOT_CONFIGURED)]


async def test_an_erasure_while_a_notice_is_leased_stops_it(
        store: ReportStore, telegram: FakeTelegramApi) -> None:
    key = reporter(store, "telegram", CHAT_ID)
    code = file_report(store, key, "telegram")
    store.update_status(code, "diproses", "petugas")

    def erase_then_build(channel: str, ephemeral: EphemeralStore) -> NoticeSender | None:
        store.erase_reporter(key)  # the citizen erases their data right after the claim
        return outbound_senders(channel, ephemeral)

    worker = make_worker(store, senders=erase_then_build)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.close()
    assert telegram.calls_to("sendMessage") == []
    assert notices(store) == [("telegram", "impossible", 0, "contact erased")]


async def test_a_notice_whose_lease_runs_low_is_given_back_unsent(
        store: ReportStore, telegram: FakeTelegramApi) -> None:
    code = file_report(store, reporter(store, "telegram", CHAT_ID), "telegram")
    store.update_status(code, "diproses", "petugas")
    clock = Clock()  # after the change: its notice is due now

    def slow_start(channel: str, ephemeral: EphemeralStore) -> NoticeSender | None:
        clock.advance(20)  # building the sender took long: 230 s of the lease are left
        return outbound_senders(channel, ephemeral)

    worker = make_worker(store, clock, senders=slow_start, lease_seconds=250,
                         send_timeout=240)
    try:
        assert await worker.run_once() == 1
        assert telegram.calls_to("sendMessage") == []
        assert notices(store) == [("telegram", "pending", 0, None)]  # no attempt counted
        assert await worker.run_once() == 1  # claimed afresh, with a whole lease
    finally:
        await worker.close()
    assert len(telegram.calls_to("sendMessage")) == 1
    assert notices(store) == [("telegram", "sent", 1, None)]


async def test_no_contact_or_sender_key_is_logged(
        store: ReportStore, graph: FakeGraphApi, telegram: FakeTelegramApi,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wa_key = reporter(store, "whatsapp", PHONE)
    tg_key = reporter(store, "telegram", CHAT_ID)
    tokens = [row for row in (scalar(store, "SELECT contact_encrypted FROM reporters"
                                            " WHERE sender_key = :k", k=k)
                              for k in (wa_key, tg_key))]
    codes = [file_report(store, wa_key, "whatsapp"), file_report(store, tg_key, "telegram")]
    for code in codes:
        store.update_status(code, "diproses", "petugas")
    ephemeral = MemoryStore()
    await mark_window_open(ephemeral, wa_key)
    graph.fail_next(500, count=2)
    worker = make_worker(store, senders=quick_whatsapp(graph), ephemeral=ephemeral,
                         retry=RetryPolicy(base_seconds=0))
    try:
        while await worker.run_once():
            pass
    finally:
        await worker.close()
    assert [s.state for code in codes for s in store.notification_states([code])[code]] == [
        "sent", "sent"]
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if not record.name.startswith("tests."))
    assert "Notice" in logged  # the worker does log what it does...
    for secret in (PHONE, str(CHAT_ID), wa_key, tg_key, *tokens, TG_TOKEN):
        assert secret not in logged  # ...never to whom


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_two_workers_never_send_one_notice_twice(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest,
        telegram: FakeTelegramApi) -> None:
    url = (f"sqlite:///{tmp_path / 'shared.db'}" if backend == "sqlite"
           else str(request.getfixturevalue("fresh_postgres_url")))
    setup = ReportStore(url)
    chats = [600000000 + i for i in range(12)]
    for chat in chats:
        code = file_report(setup, reporter(setup, "telegram", chat), "telegram")
        setup.update_status(code, "diproses", "petugas")
    setup.dispose()
    replicas = [ReportStore(url) for _ in range(2)]  # two processes' engines
    workers = [make_worker(replica, Clock(), batch_size=3) for replica in replicas]

    async def drain(worker: NotificationWorker) -> int:
        handled = 0
        while (count := await worker.run_once()):
            handled += count
        return handled

    try:
        handled = await asyncio.gather(*(drain(worker) for worker in workers))
    finally:
        for worker in workers:
            await worker.close()
    sent_to = sorted(int(call["chat_id"]) for call in telegram.calls_to("sendMessage"))
    assert sent_to == chats  # every chat once: none missed, none twice
    assert sum(handled) == len(chats)
    assert {n[1] for n in notices(replicas[0])} == {"sent"}
    for replica in replicas:
        replica.dispose()


async def test_run_sends_until_stopped(store: ReportStore, telegram: FakeTelegramApi) -> None:
    code = file_report(store, reporter(store, "telegram", CHAT_ID), "telegram")
    worker = make_worker(store, utcnow)  # real time: the change comes after the start
    stop = asyncio.Event()
    running = asyncio.ensure_future(worker.run(stop, interval=0.05))
    store.update_status(code, "diproses", "petugas")
    await eventually(lambda: bool(telegram.calls_to("sendMessage")))
    stop.set()
    await running
    await worker.close()
    assert notices(store) == [("telegram", "sent", 1, None)]


def _worker_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'reports.db'}",
           "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("REDIS_URL", None)
    return env


def test_the_worker_runs_alone_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = _worker_env(tmp_path)
    once = subprocess.run([sys.executable, "-m", "bot.notify", "--once"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert once.returncode == 0, once.stderr
    assert "Handled 0 notice(s)" in once.stderr
    process = subprocess.Popen([sys.executable, "-m", "bot.notify", "--interval", "0.1"],
                               env=env, stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    try:
        assert process.stderr is not None
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "Notification worker started" in line:
                break
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    assert "Notification worker stopped" in output and "Traceback" not in output
    bad = subprocess.run([sys.executable, "-m", "bot.notify", "--interval", "0"], env=env,
                         capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)
    assert bad.returncode == 2 and "--interval" in bad.stderr
