"""Re-checking a case's links with the SSRF-safe checker against a fake web on 127.0.0.1;
content found gone is the evidence "konten diturunkan" needs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.settings import get_settings
from tests.console.conftest import Console, case_of, file_report, sql


@pytest.fixture
async def fake_web(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, int]]:
    """A web server on 127.0.0.1 standing in for berita.example.id; /hilang is gone (410)."""
    state = {"hits": 0}

    async def handler(request: web.Request) -> web.Response:
        state["hits"] += 1
        if request.path == "/hilang":
            return web.Response(status=410)
        return web.Response(text="<title>Masih ada</title>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    # The checker refuses loopback unless told otherwise (as in the link checker tests).
    monkeypatch.setenv("LINK_CHECK_HOST_OVERRIDES", f"berita.example.id=127.0.0.1:{port}")
    monkeypatch.setenv("LINK_CHECK_ALLOWED_NETWORKS", "127.0.0.1/32")
    get_settings.cache_clear()
    yield state
    await runner.cleanup()


async def test_recheck_marks_gone_content_as_takedown_evidence(console: Console,
                                                               fake_web: dict[str, int]) -> None:
    gone = file_report(console.store, "http://berita.example.id/hilang")
    still = file_report(console.store, "http://berita.example.id/ada")
    gone_case, still_case = case_of(console.store, gone), case_of(console.store, still)

    # Without a re-check, "konten diturunkan" is a guess: refused.
    answer = await console.post_json(f"/api/reports/{gone}/status",
                                     {"status": "selesai", "outcome": "konten_diturunkan"},
                                     status=409)
    assert answer["error"] == "no_takedown_evidence"

    body = await console.post_json(f"/api/cases/{gone_case}/recheck", None)
    assert body["id"] == gone_case
    assert body["links"] == [dict(body["links"][0], url="http://berita.example.id/hilang",
                                  online=False, check_status="not_found", http_status=410,
                                  rechecked=True)]
    assert body["gone"] is True
    assert body["checks"][0]["checked_by"] == "kora"
    body = await console.post_json(f"/api/cases/{still_case}/recheck", None,
                                   user="pengawas.jateng")
    assert body["links"][0]["online"] is True and body["gone"] is False
    assert fake_web["hits"] == 2

    await console.post_json(f"/api/reports/{still}/status",
                            {"status": "selesai", "outcome": "konten_diturunkan"}, status=409)
    body = await console.post_json(f"/api/reports/{gone}/status",
                                   {"status": "selesai", "outcome": "konten_diturunkan"})
    assert body["history"][-1]["outcome"] == "konten_diturunkan"
    assert sql(console.store, "SELECT count(*) FROM case_link_checks") == [(2,)]
    assert sql(console.store, "SELECT action, target FROM audit_log WHERE action = "
                              "'case.recheck' ORDER BY id") == [
        ("case.recheck", f"case:{gone_case}"), ("case.recheck", f"case:{still_case}")]


async def test_recheck_is_scoped_and_never_reaches_private_addresses(
        console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    # A public-looking name that resolves to a private address is blocked, not fetched.
    monkeypatch.setenv("LINK_CHECK_HOST_OVERRIDES", "intranet.example.id=10.0.0.1:80")
    monkeypatch.delenv("LINK_CHECK_ALLOWED_NETWORKS", raising=False)
    get_settings.cache_clear()
    code = file_report(console.store, "http://intranet.example.id/admin")
    case_id = case_of(console.store, code)
    await console.post_json(f"/api/cases/{case_id}/recheck", None, user="pengawas.aceh",
                            status=404)
    body = await console.post_json(f"/api/cases/{case_id}/recheck", None)
    assert body["links"][0]["check_status"] == "blocked"
    assert body["links"][0]["online"] is None
