"""The link checker against a local fake web on 127.0.0.1 (no request leaves the machine)."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from bot.link_checker import LinkChecker, LinkCheckResult, SafeResolver, parse_networks

LOOPBACK = ["127.0.0.1/32"]
#: 64 MiB of zeros, gzipped to about 64 KiB.
GZIP_BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)


@dataclass
class FakeWeb:
    """The fake web's port and the paths it was asked for."""

    port: int
    hits: list[str] = field(default_factory=list)


@pytest.fixture
async def fake_web() -> AsyncIterator[FakeWeb]:
    state = FakeWeb(port=0)

    async def handler(request: web.Request) -> web.StreamResponse:
        state.hits.append(request.path)
        path = request.path
        if path == "/ZS8abc/":
            raise web.HTTPFound("http://www.tiktok.com/@akun/video/73?is_from_webapp=1")
        if path == "/@akun/video/73":
            return web.Response(
                text='<html><head><meta property="og:title" content="Video &amp; hoaks">'
                     "<title>x</title></head></html>", content_type="text/html")
        if path.startswith("/hop/"):
            n = int(path.rsplit("/", 1)[1])
            raise web.HTTPMovedPermanently(f"/hop/{n + 1}")
        if path == "/to-loopback":
            raise web.HTTPFound("http://127.0.0.1/admin")
        if path == "/to-metadata":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data")
        if path == "/to-private-name":
            raise web.HTTPFound("http://intranet.example.id/")
        if path == "/gone":
            return web.Response(status=410)
        if path == "/missing":
            return web.Response(status=404)
        if path == "/slow":
            await asyncio.sleep(5)
            return web.Response(text="late")
        if path == "/huge":
            body = "<html><head>" + "x" * 500_000 + "<title>too far</title></head></html>"
            return web.Response(text=body, content_type="text/html")
        if path == "/pdf":
            return web.Response(body=b"%PDF-1.4", content_type="application/pdf")
        if path == "/error":
            return web.Response(status=503)
        if path == "/meta-flood":
            return web.Response(body=b"<meta" * (256 * 1024 // 5), content_type="text/html")
        if path == "/gzip-bomb":
            return web.Response(body=GZIP_BOMB, content_type="text/html",
                                headers={"Content-Encoding": "gzip"})
        if path == "/deflate":
            return web.Response(body=zlib.compress(b"<title>Dikompres</title>"),
                                content_type="text/html", headers={"Content-Encoding": "deflate"})
        if path == "/brotli":
            return web.Response(body=b"\x8b\x03\x80<title>x</title>\x03", content_type="text/html",
                                headers={"Content-Encoding": "br"})
        if path == "/bogus-charset":
            return web.Response(body=b"<title>Judul tetap terbaca</title>",
                                headers={"Content-Type": "text/html; charset=x-no-such-charset"})
        return web.Response(text="<title>Beranda</title>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    yield state
    await runner.cleanup()


def resolver(port: int, allowed: list[str] = LOOPBACK) -> SafeResolver:
    """Public-looking names that lead to the fake web (and one to a private address)."""
    overrides: dict[str, tuple[str, int | None]] = {
        name: ("127.0.0.1", port)
        for name in ("vt.tiktok.com", "www.tiktok.com", "tiktok.com", "berita.example.id")
    }
    overrides["intranet.example.id"] = ("10.0.0.1", 80)
    return SafeResolver(parse_networks(allowed), overrides)


async def check(web_: FakeWeb, url: str, max_bytes: int = 64 * 1024):
    async with LinkChecker(timeout=2, max_redirects=5, max_bytes=max_bytes,
                           resolver=resolver(web_.port), allowed_networks=LOOPBACK) as checker:
        return await checker.check(url)


async def test_short_link_is_resolved_to_the_canonical_post(fake_web: FakeWeb) -> None:
    result = await check(fake_web, "http://vt.tiktok.com/ZS8abc/")
    assert result.status == "ok"
    assert result.platform == "tiktok"
    assert result.canonical == "https://tiktok.com/@akun/video/73"
    assert result.page_title == "Video & hoaks"
    assert result.redirects == ["http://www.tiktok.com/@akun/video/73?is_from_webapp=1"]
    assert result.note is None


async def test_too_many_redirects(fake_web: FakeWeb) -> None:
    result = await check(fake_web, "http://berita.example.id/hop/0")
    assert result.status == "too_many_redirects"
    assert fake_web.hits.count("/hop/0") == 1 and "/hop/5" in fake_web.hits
    assert "/hop/6" not in fake_web.hits  # stopped after 5 redirects


@pytest.mark.parametrize("path", ["/to-loopback", "/to-metadata", "/to-private-name"])
async def test_redirects_to_non_public_addresses_are_blocked(fake_web: FakeWeb, path: str) -> None:
    result = await check(fake_web, f"http://berita.example.id{path}")
    assert result.status == "blocked"
    assert result.note == "alamat itu bukan situs publik."


@pytest.mark.parametrize(("path", "status"), [("/gone", "not_found"), ("/missing", "not_found"),
                                               ("/error", "unreachable")])
async def test_deleted_or_failing_pages_are_results(fake_web: FakeWeb, path: str,
                                                    status: str) -> None:
    result = await check(fake_web, f"http://berita.example.id{path}")
    assert result.status == status
    assert result.note and "berita.example.id" in result.note


async def test_slow_page_times_out(fake_web: FakeWeb) -> None:
    result = await check(fake_web, "http://berita.example.id/slow")
    assert result.status == "timeout"


async def test_only_the_first_bytes_are_read(fake_web: FakeWeb) -> None:
    result = await check(fake_web, "http://berita.example.id/huge")
    assert result.status == "ok"
    assert result.page_title is None  # the title lies beyond max_bytes


async def test_non_html_has_no_title(fake_web: FakeWeb) -> None:
    result = await check(fake_web, "http://berita.example.id/pdf")
    assert (result.status, result.page_title) == ("ok", None)


async def test_without_allowed_networks_loopback_is_never_contacted(fake_web: FakeWeb) -> None:
    async with LinkChecker(timeout=2, resolver=resolver(fake_web.port, allowed=[]),
                           allowed_networks=[]) as checker:
        by_name = await checker.check("http://vt.tiktok.com/ZS8abc/")
        by_literal = await checker.check(f"http://127.0.0.1:{fake_web.port}/")
        by_decimal = await checker.check("http://2130706433/")
    assert by_name.status == "blocked"
    assert by_literal.status in {"blocked", "invalid"}
    assert by_decimal.status == "blocked"
    assert fake_web.hits == []


async def test_check_many_keeps_order(fake_web: FakeWeb) -> None:
    async with LinkChecker(timeout=2, resolver=resolver(fake_web.port),
                           allowed_networks=LOOPBACK) as checker:
        results = await checker.check_many(
            ["http://berita.example.id/missing", "http://vt.tiktok.com/ZS8abc/", "not a url"]
        )
    assert [r.status for r in results] == ["not_found", "ok", "invalid"]


# --- hostile pages (issue 12) ------------------------------------------------------


async def test_a_meta_flood_page_is_parsed_within_the_timeout(fake_web: FakeWeb) -> None:
    # 256 KiB of "<meta" took the old regexes hours, on the event loop.
    result = await check(fake_web, "http://berita.example.id/meta-flood",
                         max_bytes=256 * 1024)
    assert result.status == "ok", result


async def test_a_gzip_bomb_is_not_inflated_past_the_cap(fake_web: FakeWeb) -> None:
    tracemalloc.start()
    try:
        result = await check(fake_web, "http://berita.example.id/gzip-bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "ok"
    # The old code inflated every chunk whole (64 MiB here); the cap is 64 KiB.
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"


async def test_deflate_is_decoded_and_unknown_encodings_give_no_title(fake_web: FakeWeb) -> None:
    deflated = await check(fake_web, "http://berita.example.id/deflate")
    assert (deflated.status, deflated.page_title) == ("ok", "Dikompres")
    brotli = await check(fake_web, "http://berita.example.id/brotli")
    assert (brotli.status, brotli.page_title) == ("ok", None)


async def test_a_bogus_charset_is_read_as_utf8(fake_web: FakeWeb) -> None:
    result = await check(fake_web, "http://berita.example.id/bogus-charset")
    assert (result.status, result.page_title) == ("ok", "Judul tetap terbaca")


class BrokenOnOneHost(LinkChecker):
    """A checker with a fault on one host, as an unexpected library error would be."""

    async def _follow(self, url: str, result: LinkCheckResult) -> None:
        if "rusak" in url:
            raise LookupError("unknown encoding: x-no-such-charset")
        await super()._follow(url, result)


async def test_one_failing_link_does_not_fail_the_others(fake_web: FakeWeb) -> None:
    async with BrokenOnOneHost(timeout=2, resolver=resolver(fake_web.port),
                               allowed_networks=LOOPBACK) as checker:
        results = await checker.check_many(
            ["http://rusak.example.id/", "http://vt.tiktok.com/ZS8abc/"])
    assert [r.status for r in results] == ["unreachable", "ok"]
    assert results[0].note and "rusak.example.id" in results[0].note
