"""Safe link checking: resolve short links, record reachability and page titles.

Every hop is re-validated and no connection is ever made to a loopback,
private, link-local, multicast or reserved address, however it is reached (IP
literal in any notation, DNS answer or redirect). DNS answers are vetted by
`SafeResolver` before aiohttp connects, so the checked address is the one used.
An unreachable or deleted page is a result, not an error: reports still go in.
"""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import logging
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver
from selectolax.lexbor import LexborHTMLParser

from bot.report_wording import LINK_CHECKS, has_phrase, phrase
from bot.settings import get_settings
from bot.urls import (
    UrlError,
    canonicalize,
    detect_platform,
    is_public_address,
    parse_and_validate,
    parse_host_ip,
)

logger = logging.getLogger(__name__)

USER_AGENT = "LaporKontenPemilu-LinkChecker/1.0 (+https://bawaslu.go.id)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_CONCURRENCY = 5
#: How much of a page is parsed for its title (after decompression).
TITLE_PARSE_BYTES = 64 * 1024
#: Content encodings the checker accepts and decodes itself, within the byte cap.
_ZLIB_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS,
               "deflate": zlib.MAX_WBITS}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: What a check can find. "unchecked": kept without fetching (the sender's
#: link-check budget was used up). Each but "ok" has a note for the citizen in
#: bot/resources/report_wording.yml (`link_checks`).
CHECK_STATUSES = ("ok", "not_found", "unreachable", "timeout", "blocked", "invalid",
                  "too_many_redirects", "unchecked")


@dataclass
class Exchange:
    """One HTTP request and its response as fetched (kept for the evidence archive).

    `body` is the payload exactly as received (still gzip- or deflate-encoded when
    the server said so), at most the checker's `max_bytes`; `truncated` says the
    server sent more.
    """

    url: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    http_version: str
    response_headers: list[tuple[str, str]]
    body: bytes
    truncated: bool
    peer_ip: str | None
    fetched_at: datetime


class BlockedAddressError(OSError):
    """A host resolved (or was written as) an address the checker must not contact."""


@dataclass
class LinkCheckResult:
    """What the checker found out about one link."""

    original: str
    canonical: str
    platform: str
    # One of CHECK_STATUSES.
    status: str
    final_url: str | None = None
    http_status: int | None = None
    redirects: list[str] = field(default_factory=list)
    page_title: str | None = None
    note: str | None = None
    checked_at: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    #: Every hop's request and response, kept only by `LinkChecker.capture`.
    exchanges: list[Exchange] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (stored in the conversation and the report)."""
        data = asdict(self)
        data.pop("exchanges", None)
        return data

    @classmethod
    def unchecked(cls, url: str, status: str = "unchecked") -> LinkCheckResult:
        """A result for a valid link that was not (or could not be) fetched."""
        try:
            canonical = canonicalize(url)
        except UrlError:
            canonical = url
        result = cls(url, canonical, detect_platform(url), status)
        result.note = _note_for(result)
        return result


def _address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                     allowed: tuple[Network, ...]) -> bool:
    return is_public_address(ip) or any(ip in network for network in allowed)


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDR strings such as "127.0.0.1/32"."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


class SafeResolver(AbstractResolver):
    """Resolve names, then refuse the host if any answer is not a public address.

    `overrides` maps a host name to (ip, port), like curl's --resolve; it exists
    for staging and tests (a fake web on 127.0.0.1) together with `allowed`.
    """

    def __init__(self, allowed: tuple[Network, ...] = (),
                 overrides: dict[str, tuple[str, int | None]] | None = None,
                 inner: AbstractResolver | None = None) -> None:
        self._allowed = allowed
        self._overrides = overrides or {}
        self._inner = inner

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[dict[str, Any]]:
        """Resolve `host`; raise BlockedAddressError when any answer is unsafe."""
        name = host.lower().rstrip(".")
        if name in self._overrides:
            ip, override_port = self._overrides[name]
            address = ipaddress.ip_address(ip)
            answers = [{
                "hostname": host, "host": ip, "port": override_port or port,
                "family": 10 if address.version == 6 else 2, "proto": 0, "flags": 0,
            }]
        else:
            if self._inner is None:
                self._inner = DefaultResolver()
            answers = await self._inner.resolve(host, port, family)
        for answer in answers:
            if not _address_allowed(ipaddress.ip_address(answer["host"]), self._allowed):
                logger.warning("Refused %s: it resolves to a non-public address", name)
                raise BlockedAddressError(f"{name} resolves to a non-public address")
        return answers

    async def close(self) -> None:
        """Close the wrapped resolver."""
        if self._inner is not None:
            await self._inner.close()


def _settings_overrides() -> dict[str, tuple[str, int | None]]:
    overrides: dict[str, tuple[str, int | None]] = {}
    for item in get_settings().link_check_host_overrides:
        host, _, target = item.partition("=")
        ip, _, port = target.rpartition(":") if target.count(":") == 1 else (target, "", "")
        overrides[host.strip().lower()] = (ip.strip(), int(port) if port else None)
    return overrides


class LinkChecker:
    """Checks links safely; use as `async with LinkChecker() as checker`."""

    def __init__(
        self,
        timeout: float | None = None,
        max_redirects: int | None = None,
        max_bytes: int | None = None,
        resolver: AbstractResolver | None = None,
        allowed_networks: Iterable[str] | None = None,
    ) -> None:
        settings = get_settings()
        self.timeout = timeout if timeout is not None else settings.link_check_timeout
        self.max_redirects = (max_redirects if max_redirects is not None
                              else settings.link_check_max_redirects)
        self.max_bytes = max_bytes if max_bytes is not None else settings.link_check_max_bytes
        self.allowed = parse_networks(
            allowed_networks if allowed_networks is not None
            else settings.link_check_allowed_networks
        )
        self._resolver = resolver or SafeResolver(self.allowed, _settings_overrides())
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LinkChecker:
        connector = aiohttp.TCPConnector(resolver=self._resolver, limit=MAX_CONCURRENCY,
                                         use_dns_cache=False, force_close=True)
        # Bodies are decompressed here, never by aiohttp: it would inflate a whole
        # chunk at once, and a gzip bomb would fill memory past the byte cap.
        self._session = aiohttp.ClientSession(
            connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": USER_AGENT, "Accept": "text/html,*/*;q=0.5",
                     "Accept-Encoding": "gzip, deflate"},
            auto_decompress=False,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def check_many(self, urls: Iterable[str]) -> list[LinkCheckResult]:
        """Check several links concurrently (bounded), in the given order.

        One link failing in an unexpected way never fails the others: it is
        reported as unreachable.
        """
        semaphore = asyncio.Semaphore(MAX_CONCURRENCY)

        async def bounded(url: str) -> LinkCheckResult:
            async with semaphore:
                try:
                    return await self.check(url)
                except Exception as exc:  # noqa: BLE001 - a result, never an error
                    logger.warning("Link check failed unexpectedly: %s", type(exc).__name__)
                    return LinkCheckResult.unchecked(url, "unreachable")

        return list(await asyncio.gather(*(bounded(u) for u in urls)))

    async def check(self, url: str) -> LinkCheckResult:
        """Follow the link hop by hop within the time limit and describe what is there."""
        return await self._check(url, capture=False)

    async def capture(self, url: str) -> LinkCheckResult:
        """Like `check`, also keeping every hop's request and response in
        `result.exchanges`, bodies as received up to `max_bytes` (for the evidence
        archive, `bot.archive`). The same rules apply to every hop; no title is
        parsed here (the archive reads the page's metadata itself, in a thread)."""
        return await self._check(url, capture=True)

    async def _check(self, url: str, capture: bool) -> LinkCheckResult:
        try:
            parsed = parse_and_validate(url)
        except UrlError as error:
            status = "blocked" if error.code == "blocked" else "invalid"
            return LinkCheckResult(url, url, "web", status, note=error.message_id)
        result = LinkCheckResult(url, canonicalize(parsed.url), detect_platform(parsed.url),
                                 "unreachable")
        try:
            following = (self._follow(parsed.url, result, capture=True) if capture
                         else self._follow(parsed.url, result))
            await asyncio.wait_for(following, timeout=self.timeout)
        except asyncio.TimeoutError:
            result.status = "timeout"
        if result.status == "ok" and result.final_url:
            result.canonical = canonicalize(result.final_url)
            result.platform = detect_platform(result.final_url)
        result.note = _note_for(result)
        return result

    async def _follow(self, url: str, result: LinkCheckResult, capture: bool = False) -> None:
        if self._session is None:
            raise RuntimeError("LinkChecker must be used as an async context manager")
        current = url
        for _hop in range(self.max_redirects + 1):
            host = urlsplit(current).hostname or ""
            ip = parse_host_ip(host)
            if ip is not None and not _address_allowed(ip, self.allowed):
                result.status = "blocked"
                return
            try:
                async with self._session.get(current, allow_redirects=False) as response:
                    result.http_status = response.status
                    if capture:
                        result.exchanges.append(await self._exchange(current, response))
                    if response.status in REDIRECT_STATUSES and "Location" in response.headers:
                        target = urljoin(current, response.headers["Location"])
                        try:
                            current = parse_and_validate(target).url
                        except UrlError as error:
                            result.status = "blocked" if error.code == "blocked" else "invalid"
                            return
                        result.redirects.append(current)
                        continue
                    result.final_url = current
                    if response.status in (404, 410):
                        result.status = "not_found"
                    elif 200 <= response.status < 300:
                        result.status = "ok"
                        if not capture:
                            result.page_title = await self._read_title(response)
                    else:
                        result.status = "unreachable"
                    return
            except BlockedAddressError:
                result.status = "blocked"
                return
            except aiohttp.ClientConnectorError as error:
                if isinstance(error.os_error, BlockedAddressError):
                    result.status = "blocked"
                else:
                    result.status = "unreachable"
                return
            except (aiohttp.ClientError, OSError, ValueError):
                result.status = "unreachable"
                return
        result.status = "too_many_redirects"

    async def _exchange(self, url: str, response: aiohttp.ClientResponse) -> Exchange:
        """The request and response of one hop, the body raw and capped at `max_bytes`."""
        fetched_at = datetime.now(timezone.utc)
        body = bytearray()
        truncated = False
        async for chunk in response.content.iter_chunked(16 * 1024):
            body += chunk
            if len(body) > self.max_bytes:
                truncated = True
                del body[self.max_bytes:]
                break
        peer = None
        if response.connection is not None and response.connection.transport is not None:
            address = response.connection.transport.get_extra_info("peername")
            peer = str(address[0]) if address else None
        version = response.version
        return Exchange(
            url=url,
            request_headers=[(k, v) for k, v in response.request_info.headers.items()],
            status=response.status, reason=response.reason or "",
            http_version=f"HTTP/{version.major}.{version.minor}" if version else "HTTP/1.1",
            response_headers=[(k.decode("latin-1"), v.decode("latin-1"))
                              for k, v in response.raw_headers],
            body=bytes(body), truncated=truncated, peer_ip=peer, fetched_at=fetched_at)

    async def _read_title(self, response: aiohttp.ClientResponse) -> str | None:
        content_type = response.headers.get("Content-Type", "")
        if "html" not in content_type.lower():
            return None
        body = await self._read_body(response)
        if body is None:
            return None
        # Parsing is CPU work: off the event loop, on a bounded prefix, with a C
        # parser that stays linear on hostile markup (the caller's timeout applies).
        return await asyncio.to_thread(page_title, body, response.charset)

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes | None:
        """At most `max_bytes` of the body, decompressed here within that cap."""
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        inflater = None
        if encoding in _ZLIB_WBITS:
            inflater = zlib.decompressobj(_ZLIB_WBITS[encoding])
        elif encoding not in ("", "identity"):
            return None  # an encoding we did not ask for: no title, still a result
        limit = min(self.max_bytes, TITLE_PARSE_BYTES) if self.max_bytes else TITLE_PARSE_BYTES
        body = bytearray()
        received = 0
        async for chunk in response.content.iter_chunked(16 * 1024):
            received += len(chunk)
            if inflater is None:
                body += chunk
            else:
                try:
                    body += inflater.decompress(inflater.unconsumed_tail + chunk,
                                                limit - len(body) + 1)
                except zlib.error:
                    return None
            if len(body) >= limit or received >= self.max_bytes:
                break
        return bytes(body[:limit])


def decode_body(body: bytes, content_encoding: str | None, limit: int) -> bytes | None:
    """At most `limit` bytes of a body as received, gzip/deflate decoded within that
    limit (None for an encoding the checker does not ask for, or a broken stream).
    A truncated stream gives what could be decoded."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body[:limit]
    if encoding not in _ZLIB_WBITS:
        return None
    inflater = zlib.decompressobj(_ZLIB_WBITS[encoding])
    try:
        return inflater.decompress(body, limit)
    except zlib.error:
        return None


def page_title(body: bytes, charset: str | None = None) -> str | None:
    """The og:title or <title> of an HTML document (None when it has neither)."""
    encoding = "utf-8"
    if charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            logger.info("Unknown page charset; decoding as UTF-8")
    text = body.decode(encoding, errors="replace")
    tree = LexborHTMLParser(text)
    title: str | None = None
    node = tree.css_first('meta[property="og:title"]')
    if node is not None:
        title = node.attributes.get("content")
    if not title:
        node = tree.css_first("title")
        title = node.text() if node is not None else None
    if not title:
        return None
    return " ".join(title.split())[:300] or None


def _note_for(result: LinkCheckResult) -> str | None:
    """What the check found, for the citizen (`link_checks` of report_wording.yml)."""
    if not has_phrase(LINK_CHECKS, result.status):
        return None
    host = urlsplit(result.final_url or result.original).hostname or result.original
    return phrase(LINK_CHECKS, result.status, host=host)
