"""The evidence archive against real pages on 127.0.0.1: a filed report's links are
fetched in the background with the link checker's SSRF rules and kept as WARC files
whose hashes match what the database records (read back with warcio)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import text
from warcio.archiveiterator import ArchiveIterator

from actions import report as report_actions
from actions.report import ActionSubmitReport
from actions.services import get_store
from bot.archive.worker import ArchiveWorker
from bot.dates import today_wib
from bot.settings import PROJECT_ROOT, get_settings
from bot.store import NewReport, NewReportLink, ReportStore
from bot.store.archives import ArchiveOutcome, ArchiveQueue
from bot.store.models import utcnow
from tests.integration.servers import fake_web

#: The longest a test waits for the background worker (never a timing assertion).
WAIT_SECONDS = 30.0

ARTICLE = (
    '<html><head><title>Judul tag title</title>'
    '<meta property="og:title" content="Paslon X dituduh curang">'
    '<meta name="description" content="Unggahan yang dilaporkan warga.">'
    '<script type="application/ld+json">{"@type": "NewsArticle", '
    '"author": {"@type": "Person", "name": "Akun Anonim"}, '
    '"datePublished": "2026-11-28T09:00:00+07:00"}</script>'
    '</head><body><p>isi</p></body></html>'
)


@pytest.fixture
async def pages(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, Any]]:
    """berita.example.id on 127.0.0.1: /artikel (HTML with metadata), /besar (600 KiB),
    /macet (answers only when the test releases it), /pindah (redirects to /artikel);
    /artikel answers 404 once `state["gone"]` is set. Every request is counted."""
    state: dict[str, Any] = {"hits": [], "gone": False, "release": asyncio.Event(),
                             "hung": asyncio.Event()}

    async def handler(request: web.Request) -> web.StreamResponse:
        state["hits"].append(request.path)
        if request.path == "/pindah":
            raise web.HTTPFound("/artikel")
        if request.path == "/besar":
            return web.Response(body=b"<p>" + b"x" * (600 * 1024), content_type="text/html")
        if request.path == "/macet":
            state["hung"].set()
            await state["release"].wait()
            return web.Response(text="<title>Akhirnya</title>", content_type="text/html")
        if request.path == "/gzip":
            response = web.Response(text=ARTICLE, content_type="text/html")
            response.enable_compression(web.ContentCoding.gzip)
            return response
        if state["gone"]:
            return web.Response(status=404, text="tidak ada")
        return web.Response(text=ARTICLE, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    monkeypatch.setenv("LINK_CHECK_HOST_OVERRIDES", f"berita.example.id=127.0.0.1:{port}")
    monkeypatch.setenv("LINK_CHECK_ALLOWED_NETWORKS", "127.0.0.1/32")
    get_settings.cache_clear()
    state["port"] = port
    try:
        yield state
    finally:
        state["release"].set()
        await runner.cleanup()


@pytest.fixture
def store() -> Iterator[ReportStore]:
    instance = ReportStore(get_settings().database_url)
    yield instance
    instance.dispose()


def file_links(store: ReportStore, *urls: str) -> str:
    """File a report with these links straight through the store; its ticket code."""
    links = [NewReportLink(original_url=url, canonical_url=url, platform="web") for url in urls]
    return store.file_report(NewReport(
        idempotency_key=uuid.uuid4().hex, reporter_key=None, channel="rest",
        category="hoaks", description="uji arsip", links=links), daily_cap=0).ticket_code


def archives(store: ReportStore) -> list[dict[str, Any]]:
    """Every archive job with its link, oldest first."""
    with store.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT a.*, l.original_url FROM link_archives a "
            "JOIN report_links l ON l.id = a.report_link_id ORDER BY a.id")).mappings().all()
    return [dict(row) for row in rows]


def by_url(store: ReportStore) -> dict[str, dict[str, Any]]:
    return {row["original_url"]: row for row in archives(store)}


async def wait_for_state(store: ReportStore, url: str, states: tuple[str, ...]
                         ) -> dict[str, Any]:
    """Poll the database until the link's archive reaches one of `states`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        row = (await asyncio.to_thread(by_url, store)).get(url)
        if row is not None and row["state"] in states:
            return row
        assert loop.time() < deadline, f"archive of {url} still {row and row['state']}"
        await asyncio.sleep(0.1)


def warc_records(path: Path) -> list[tuple[Any, bytes]]:
    """(record, payload as stored) for each record, digests checked by warcio as it reads
    (`raw_stream`: `content_stream` would undo the page's own Content-Encoding)."""
    found = []
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle, check_digests="raise"):
            found.append((record, record.raw_stream.read()))
    return found


def sha256_b32(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


def check_stored(row: dict[str, Any]) -> list[tuple[Any, bytes]]:
    """The WARC file is where the row says, with its size and SHA-256; the last
    response's payload hashes to the recorded payload SHA-256 (and its own digest)."""
    path = get_settings().var_dir / row["path"]
    data = path.read_bytes()
    assert row["bytes"] == len(data)
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    records = warc_records(path)
    responses = [(r, body) for r, body in records if r.rec_type == "response"]
    record, payload = responses[-1]
    assert hashlib.sha256(payload).hexdigest() == row["payload_sha256"]
    assert record.rec_headers.get_header("WARC-Payload-Digest") == sha256_b32(payload)
    return records


# --- through the action server's own path ------------------------------------------------


def _submitted(sender: str, link: str) -> Tracker:
    slots = {name: None for name in report_actions.REPORT_SLOTS}
    slots.update({
        "consent_given": True, "report_links": [link], "requested_slot": None,
        "link_checks": [{"original": link, "canonical": link, "platform": "tiktok",
                         "status": "ok", "http_status": 200, "page_title": None}],
        "category": "hoaks", "description": "video hoaks tentang paslon",
        "region": "Jawa Tengah", "region_code": "33", "known_date": today_wib().isoformat(),
        "reported_party": "@akun_palsu", "report_confirmed": "yes",
    })
    return Tracker(sender_id=sender, slots=slots,
                   latest_message={"text": "/affirm", "intent": {"name": "affirm",
                                                                  "confidence": 1.0},
                                   "entities": []},
                   events=[{"event": "user", "text": "/affirm", "input_channel": "rest"},
                           {"event": "active_loop", "name": "report_form", "timestamp": 1.0}],
                   paused=False, followup_action=None, active_loop={"name": "report_form"},
                   latest_action_name="action_listen")


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()


@pytest.fixture
def fake_pages(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """tests/integration/servers.py's fake web (its own thread), the checker pointed there."""
    with fake_web() as environment:
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield


async def test_a_filed_report_gets_its_warc_with_matching_hashes(
        domain: dict[str, Any], fake_pages: None) -> None:
    """The issue's done-when: a link served by a local page (the short link redirects to
    the video page) is archived in the background after `action_submit_report`."""
    link = "http://vt.tiktok.com/ZS8xyz/"
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport().run(dispatcher, _submitted("warc-1", link), domain)
    assert dispatcher.messages[0]["response"] == "utter_report_filed"
    row = await wait_for_state(get_store(), link, ("done", "failed"))
    assert row["state"] == "done", row["last_error"]
    assert row["final_url"] == ("http://www.tiktok.com/@akun_palsu/video/7301234567890"
                                "?is_from_webapp=1")
    assert row["http_status"] == 200
    records = check_stored(row)
    kinds = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r, _ in records]
    assert kinds == [("warcinfo", None), ("response", link), ("request", link),
                     ("response", row["final_url"]), ("request", row["final_url"]),
                     ("metadata", row["final_url"])]
    assert records[1][0].http_headers.get_statuscode() == "302"
    meta = json.loads(records[-1][1])
    assert meta["page"] == {"title": "Video hoaks paslon"} == json.loads(row["page_meta"])
    assert meta["redirects"] == [row["final_url"]]
    assert [part["payload_sha256"] for part in meta["parts"]] == [
        hashlib.sha256(body).hexdigest() for r, body in records if r.rec_type == "response"]


async def test_the_reply_never_waits_and_a_hanging_page_holds_up_nothing_else(
        domain: dict[str, Any], pages: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_TIMEOUT", "120")
    get_settings.cache_clear()
    hanging, normal = "http://berita.example.id/macet", "http://berita.example.id/artikel"
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport().run(dispatcher, _submitted("warc-hang", hanging), domain)
    # The citizen has the ticket while the page has not answered (it cannot, until the
    # test releases it): the reply did not wait for the archive.
    assert dispatcher.messages[0]["response"] == "utter_report_filed"
    row = by_url(get_store())[hanging]
    assert (row["state"], row["attempts"]) == ("pending", 0)
    await asyncio.wait_for(pages["hung"].wait(), WAIT_SECONDS)

    # Another report meanwhile is archived while the first page still hangs.
    other = CollectingDispatcher()
    await ActionSubmitReport().run(other, _submitted("warc-other", normal), domain)
    done = await wait_for_state(get_store(), normal, ("done", "failed"))
    assert done["state"] == "done" and not pages["release"].is_set()
    assert by_url(get_store())[hanging]["state"] == "pending"
    check_stored(done)

    pages["release"].set()
    finished = await wait_for_state(get_store(), hanging, ("done", "failed"))
    assert finished["state"] == "done"
    assert json.loads(finished["page_meta"]) == {"title": "Akhirnya"}


# --- the worker on its own ---------------------------------------------------------------


async def test_metadata_from_opengraph_meta_and_json_ld(store: ReportStore,
                                                        pages: dict[str, Any]) -> None:
    file_links(store, "http://berita.example.id/pindah")
    assert await ArchiveWorker(store).run_once() == 1
    row = archives(store)[0]
    assert row["state"] == "done" and row["final_url"] == "http://berita.example.id/artikel"
    assert json.loads(row["page_meta"]) == {
        "title": "Paslon X dituduh curang", "description": "Unggahan yang dilaporkan warga.",
        "author": "Akun Anonim", "published": "2026-11-28T09:00:00+07:00"}
    check_stored(row)
    assert pages["hits"] == ["/pindah", "/artikel"]


async def test_a_compressed_page_is_stored_as_received_and_still_read(
        store: ReportStore, pages: dict[str, Any]) -> None:
    file_links(store, "http://berita.example.id/gzip")
    await ArchiveWorker(store).run_once()
    row = archives(store)[0]
    records = check_stored(row)
    response, payload = next((r, b) for r, b in records if r.rec_type == "response")
    assert response.http_headers.get_header("Content-Encoding") == "gzip"
    assert gzip.decompress(payload).decode() == ARTICLE
    assert json.loads(row["page_meta"])["author"] == "Akun Anonim"


async def test_private_addresses_are_never_fetched(store: ReportStore, pages: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake page listens on 127.0.0.1, but loopback is no longer allowed; another
    # name resolves to a private address; a literal private address is refused as written.
    monkeypatch.setenv("LINK_CHECK_HOST_OVERRIDES",
                       f"berita.example.id=127.0.0.1:{pages['port']},"
                       "intranet.example.id=10.0.0.1:80")
    monkeypatch.delenv("LINK_CHECK_ALLOWED_NETWORKS")
    get_settings.cache_clear()
    urls = ("http://berita.example.id/artikel", "http://intranet.example.id/admin",
            "http://192.168.1.1/")
    file_links(store, *urls)
    worker = ArchiveWorker(store, concurrency=3)
    assert await worker.run_once() == 3
    rows = by_url(store)
    assert {url: (rows[url]["state"], rows[url]["last_error"]) for url in urls} == {
        url: ("failed", "blocked") for url in urls}
    assert all(rows[url]["path"] is None for url in urls)
    assert pages["hits"] == []
    assert not (get_settings().var_dir / "archives").exists()
    assert await worker.run_once() == 0  # refused links are not tried again


async def test_the_stored_body_is_capped_and_marked_truncated(
        store: ReportStore, pages: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINK_CHECK_MAX_BYTES", str(64 * 1024))
    get_settings.cache_clear()
    file_links(store, "http://berita.example.id/besar")
    await ArchiveWorker(store).run_once()
    row = archives(store)[0]
    assert row["state"] == "done"
    records = check_stored(row)
    response, payload = next((r, b) for r, b in records if r.rec_type == "response")
    assert len(payload) == 64 * 1024
    assert response.rec_headers.get_header("WARC-Truncated") == "length"
    assert response.http_headers.get_header("Content-Length") == str(3 + 600 * 1024)


async def test_a_crashed_worker_leaves_the_job_to_be_taken_again(
        store: ReportStore, pages: dict[str, Any]) -> None:
    file_links(store, "http://berita.example.id/artikel")
    queue = ArchiveQueue(store)
    start = utcnow()
    [lost] = queue.claim(5, lease_seconds=60, now=start)  # a worker took it, then died
    assert queue.claim(5, lease_seconds=60, now=start + timedelta(seconds=30)) == []
    later = start + timedelta(seconds=61)  # its lease has run out
    assert await ArchiveWorker(store, clock=lambda: later).run_once() == 1
    assert archives(store)[0]["state"] == "done"
    # The dead worker's late answer is not recorded over the new one.
    assert queue.finish(lost, ArchiveOutcome("failed", error="late"), now=later) is False
    assert archives(store)[0]["state"] == "done"


# --- several workers (replicas) on SQLite and PostgreSQL --------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


def test_replicas_claiming_at_once_never_share_a_job(shared_url: str) -> None:
    """Separate engines racing in threads, as archive workers of several replicas."""
    first = ReportStore(shared_url)
    for index in range(8):
        file_links(first, *(f"http://berita.example.id/{index}/{n}" for n in range(3)))
    replicas = [ReportStore(shared_url) for _ in range(4)]
    barrier = threading.Barrier(len(replicas))
    claimed: list[list[int]] = [[] for _ in replicas]

    def work(index: int) -> None:
        queue = ArchiveQueue(replicas[index])
        barrier.wait()
        while batch := queue.claim(2, lease_seconds=600):
            claimed[index] += [job.id for job in batch]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(replicas))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for replica in [first, *replicas]:
            replica.dispose()
    every = [job_id for ids in claimed for job_id in ids]
    assert sorted(every) == sorted(set(every)) and len(every) == 24
