"""Headless Chromium driven over the Chrome DevTools Protocol, with aiohttp only.

No Playwright or Selenium download: Debian's /usr/bin/chromium is started with a
debugging port on 127.0.0.1, a page target is opened through its HTTP endpoint, and
commands go over that target's websocket. Just what the console's browser test and
`scripts/console_screenshots.py` need: navigate, evaluate JavaScript, fill and submit
forms, read the page, take PNG screenshots.

    async with Chromium(profile_dir) as browser:
        page = await browser.new_page()
        await page.goto("http://127.0.0.1:5080/login")
        await page.fill("input[name=name]", "kora")
        await page.submit("form[action='/login']")

Every wait is bounded by `timeout` (a guard against hangs, never a measurement).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-extensions",
                 "--hide-scrollbars", "--mute-audio", "--no-default-browser-check",
                 "--remote-debugging-address=127.0.0.1")


class BrowserError(RuntimeError):
    """Chromium could not be started, or a DevTools command failed."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Page:
    """One tab, driven over its DevTools websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, timeout: float) -> None:
        self._ws = ws
        self._timeout = timeout
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, asyncio.Future[dict[str, Any]]]] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self, width: int, height: int) -> None:
        """Start reading events; enable the domains used here; set the viewport."""
        self._reader = asyncio.create_task(self._read())
        await self.send("Page.enable")
        await self.send("Runtime.enable")
        await self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=False)

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(BrowserError(str(data["error"])))
                    else:
                        future.set_result(data.get("result", {}))
                continue
            method = data.get("method")
            for waiter in [w for w in self._waiters if w[0] == method]:
                self._waiters.remove(waiter)
                if not waiter[1].done():
                    waiter[1].set_result(data.get("params", {}))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BrowserError("the DevTools connection closed"))

    async def _bounded(self, awaitable: Awaitable[Any], what: str) -> Any:
        try:
            return await asyncio.wait_for(awaitable, timeout=self._timeout)
        except asyncio.TimeoutError as exc:
            raise BrowserError(f"Chromium did not finish {what}") from exc

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run one DevTools command and return its result."""
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        await self._ws.send_str(json.dumps({"id": self._next_id, "method": method,
                                            "params": params}))
        return await self._bounded(future, method)

    def expect(self, event: str) -> asyncio.Future[dict[str, Any]]:
        """A future for the next `event` (register it before causing the event)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((event, future))
        return future

    async def goto(self, url: str) -> None:
        """Navigate and wait for the page's load event."""
        loaded = self.expect("Page.loadEventFired")
        result = await self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError(f"navigation failed: {result['errorText']}")
        await self._bounded(loaded, f"loading {url}")

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its (JSON) value."""
        result = await self.send("Runtime.evaluate", expression=expression,
                                 returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    async def fill(self, selector: str, value: str) -> None:
        """Set an input's, textarea's or select's value."""
        found = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            f" if (!e) return false; e.value = {json.dumps(value)};"
            " e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()")
        if not found:
            raise BrowserError(f"no element matches {selector}")

    async def submit(self, form_selector: str) -> None:
        """Submit a form with its submit button (as a person would) and wait for the load."""
        loaded = self.expect("Page.loadEventFired")
        found = await self.evaluate(
            f"(() => {{ const f = document.querySelector({json.dumps(form_selector)});"
            " if (!f) return false; f.requestSubmit(); return true; })()")
        if not found:
            raise BrowserError(f"no form matches {form_selector}")
        await self._bounded(loaded, "submitting a form")

    async def text(self) -> str:
        """The page's visible text."""
        return str(await self.evaluate("document.body.innerText"))

    async def url(self) -> str:
        """The page's address."""
        return str(await self.evaluate("location.href"))

    async def screenshot(self, path: Path, full_page: bool = False) -> None:
        """A PNG of the viewport (or of the whole page)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = await self.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params.update(captureBeyondViewport=True, clip={
                "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        data = await self.send("Page.captureScreenshot", **params)
        path.write_bytes(base64.b64decode(data["data"]))

    async def close(self) -> None:
        """Close the websocket."""
        await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


class Chromium:
    """A headless Chromium process with its own profile folder (an async context manager)."""

    def __init__(self, profile_dir: Path, executable: str = CHROMIUM, width: int = 1280,
                 height: int = 860, timeout: float = 60.0) -> None:
        self.profile_dir = profile_dir
        self.executable = executable
        self.width, self.height = width, height
        self.timeout = timeout
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None
        self._pages: list[Page] = []

    async def __aenter__(self) -> Chromium:
        if not Path(self.executable).exists():
            raise BrowserError(f"{self.executable} is missing: install Debian's `chromium` "
                               "package (scripts/system_deps.sh)")
        self.port = _free_port()
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        self._process = await asyncio.create_subprocess_exec(
            self.executable, *CHROMIUM_ARGS, f"--remote-debugging-port={self.port}",
            f"--user-data-dir={self.profile_dir}", f"--window-size={self.width},{self.height}",
            "about:blank", stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        self._http = aiohttp.ClientSession()
        try:
            await asyncio.wait_for(self._until_ready(), timeout=self.timeout)
        except (asyncio.TimeoutError, BrowserError) as exc:
            await self.__aexit__()
            raise BrowserError("Chromium did not open its DevTools port") from exc
        return self

    async def _until_ready(self) -> None:
        assert self._http is not None and self._process is not None
        while True:
            if self._process.returncode is not None:
                raise BrowserError(f"Chromium exited with {self._process.returncode}")
            try:
                async with self._http.get(f"http://127.0.0.1:{self.port}/json/version") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)

    async def new_page(self) -> Page:
        """Open a new tab."""
        assert self._http is not None
        endpoint = f"http://127.0.0.1:{self.port}/json/new?about:blank"
        async with self._http.put(endpoint) as answer:
            if answer.status == 405:  # older Chromium: GET
                async with self._http.get(endpoint) as retry:
                    target = await retry.json(content_type=None)
            else:
                target = await answer.json(content_type=None)
        ws = await self._http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws, self.timeout)
        await page.start(self.width, self.height)
        self._pages.append(page)
        return page

    async def __aexit__(self, *_exc: object) -> None:
        for page in self._pages:
            await page.close()
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), timeout=self.timeout)
            except asyncio.TimeoutError:
                self._process.kill()
                await self._process.wait()
