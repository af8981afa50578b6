"""The evidence archive in the console: the API's `links[].archive` and `online`, the
case page, the audited WARC download (404 outside the reviewer's regions), and the
re-check finding a page gone that the archive still holds."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.archive.worker import ArchiveWorker
from bot.settings import get_settings
from tests.console.conftest import Console, case_of, file_report, sql


@pytest.fixture
async def page(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, Any]]:
    """berita.example.id on 127.0.0.1: an article until `state["status"]` says otherwise."""
    state: dict[str, Any] = {"status": 200}

    async def handler(request: web.Request) -> web.Response:
        if state["status"] != 200:
            return web.Response(status=state["status"])
        return web.Response(text='<title>Artikel</title><meta name="author" content="Redaksi">',
                            content_type="text/html")

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
    yield state
    await runner.cleanup()


@pytest.mark.parametrize("gone_status", [404, 410])
async def test_archive_in_api_page_and_download_then_recheck_finds_it_gone(
        console: Console, page: dict[str, Any], gone_status: int) -> None:
    url = "http://berita.example.id/unggahan/1"
    ticket = file_report(console.store, url)  # region 33.75
    case_id = case_of(console.store, ticket)
    body = await console.get_json(f"/api/reports/{ticket}")
    assert body["links"][0]["archive"]["state"] == "pending"
    assert body["links"][0]["archive"]["sha256"] is None

    assert await ArchiveWorker(console.store).run_once() == 1
    body = await console.get_json(f"/api/reports/{ticket}")
    link = body["links"][0]
    archive = link["archive"]
    assert archive["state"] == "done" and link["online"] is True
    assert archive["page"] == {"title": "Artikel", "author": "Redaksi"}
    path = get_settings().var_dir / sql(console.store, "SELECT path FROM link_archives")[0][0]
    data = path.read_bytes()
    assert archive["sha256"] == hashlib.sha256(data).hexdigest()
    assert archive["bytes"] == len(data) and archive["fetched_at"]

    # The case page shows it; a reviewer of the region downloads it (audited).
    await console.login("pengawas.jateng")
    html = await (await console.client.get(f"/kasus/{case_id}")).text()
    assert archive["sha256"] in html and f'href="/arsip/{archive["id"]}"' in html
    response = await console.client.get(f"/arsip/{archive['id']}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/warc"
    assert "attachment" in response.headers["Content-Disposition"]
    assert hashlib.sha256(await response.read()).hexdigest() == archive["sha256"]
    assert sql(console.store, "SELECT actor, action, target FROM audit_log "
                              "WHERE action = 'archive.download'") == [
        ("pengawas.jateng", "archive.download", ticket)]

    # A pengawas of another province: as if it did not exist (and nothing is audited).
    await console.login("pengawas.aceh")
    assert (await console.client.get(f"/arsip/{archive['id']}")).status == 404
    assert (await console.client.get("/arsip/999999")).status == 404
    assert len(sql(console.store, "SELECT id FROM audit_log "
                                  "WHERE action = 'archive.download'")) == 1

    # The page is taken down: the re-check marks the link offline; the archive remains.
    page["status"] = gone_status
    body = await console.post_json(f"/api/cases/{case_id}/recheck", None)
    assert [(x["url"], x["online"]) for x in body["links"]] == [(url, False)]
    assert body["gone"] is True
    body = await console.get_json(f"/api/reports/{ticket}")
    assert body["links"][0]["online"] is False
    assert body["links"][0]["archive"] == archive
    assert path.read_bytes() == data
