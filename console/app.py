"""The console's aiohttp application and `python -m console`.

`make_app(store, settings)` wires the store, the middlewares (security headers, error
answers, authentication with CSRF checks) and the routes of `console.api`,
`console.pages`, `console.insight_pages` and `console.admin_pages`; static files come
from console/static/ (no CDN). On start-up it runs the reporters' notification worker
as a background task (`bot.notify.worker.NotificationWorker`) unless
CONSOLE_NOTIFY_WORKER=0, and stops it on clean-up.

`main()` serves on CONSOLE_HOST (127.0.0.1 unless set) and CONSOLE_PORT (5080).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clock import Today, system_today
from bot.link_checker import LinkChecker
from bot.notify.worker import NotificationWorker
from bot.settings import get_settings
from console import admin_pages, api, auth, insight_pages, pages, taskforce_pages
from console.accounts import Accounts
from console.config import ConsoleSettings
from console.context import ACCOUNTS, CHECKER_FACTORY, SETTINGS, STORE, TODAY
from console.store import ConsoleStore

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_REQUEST_BYTES = 256 * 1024
#: Pages may load only the console's own styles and images; no script runs at all.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_WORKER = web.AppKey("notify_worker", object)
_WORKER_TASK = web.AppKey("notify_worker_task", asyncio.Task)
_WORKER_STOP = web.AppKey("notify_worker_stop", asyncio.Event)

WorkerFactory = Callable[[ConsoleStore], Any]


@web.middleware
async def security_headers(request: web.Request, handler: Callable[[web.Request],
                                                                   Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    """CSP without inline scripts, no framing, no sniffing, no caching of personal data."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if not request.path.startswith("/static/"):
        # Reports, contacts and evidence must not stay in a browser or proxy cache.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    if isinstance(response, web.HTTPException):
        raise response
    return response


async def favicon(_request: web.Request) -> web.Response:
    """GET /favicon.ico: nothing (browsers ask for it on every page)."""
    return web.Response(status=204)


async def health(_request: web.Request) -> web.Response:
    """GET /healthz: the process answers (no database access, nothing personal)."""
    return web.json_response({"status": "ok"})


def default_worker_factory(store: ConsoleStore) -> Any:
    """The reporters' notification worker, on the console's store."""
    return NotificationWorker(store)


async def _start_worker(app: web.Application, factory: WorkerFactory) -> None:
    worker = factory(app[STORE])
    if worker is None:
        return
    stop = asyncio.Event()
    app[_WORKER] = worker
    app[_WORKER_STOP] = stop
    app[_WORKER_TASK] = asyncio.create_task(worker.run(stop), name="notification-worker")
    logger.info("Notification worker started")


async def _stop_worker(app: web.Application) -> None:
    task = app.get(_WORKER_TASK)
    if task is None:
        return
    app[_WORKER_STOP].set()
    try:
        await asyncio.wait_for(task, timeout=10)
    except asyncio.TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app[_WORKER].close()
    logger.info("Notification worker stopped")


def make_app(store: ConsoleStore | None = None, settings: ConsoleSettings | None = None, *,
             checker_factory: Callable[[], LinkChecker] = LinkChecker,
             today: Today = system_today,
             worker_factory: WorkerFactory | None = default_worker_factory) -> web.Application:
    """The console application (see the module docstring); nothing runs until started."""
    settings = settings or ConsoleSettings.from_env()
    store = store or ConsoleStore(get_settings().database_url)
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[
        security_headers, api.api_errors, pages.page_errors, auth.authenticate])
    app[STORE] = store
    app[SETTINGS] = settings
    app[ACCOUNTS] = Accounts(store, settings)
    app[CHECKER_FACTORY] = checker_factory
    app[TODAY] = today
    app.router.add_get("/healthz", health)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/login", auth.login_page)
    app.router.add_post("/login", auth.login)
    app.router.add_post("/logout", auth.logout)
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    api.add_routes(app)
    pages.add_routes(app)
    insight_pages.add_routes(app)
    admin_pages.add_routes(app)
    taskforce_pages.add_routes(app)

    if settings.notify_worker and worker_factory is not None:
        async def start(app_: web.Application) -> None:
            await _start_worker(app_, worker_factory)

        app.on_startup.append(start)
        app.on_cleanup.append(_stop_worker)

    async def dispose(_app: web.Application) -> None:
        await asyncio.to_thread(store.dispose)

    app.on_cleanup.append(dispose)
    return app


def main(argv: list[str] | None = None) -> int:
    """Serve the console until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    try:
        settings = ConsoleSettings.from_env()
    except ValueError as error:
        print(f"console: {error}", file=sys.stderr)
        return 2
    store = ConsoleStore(get_settings().database_url)
    store.engine  # noqa: B018 - migrate before accepting requests
    app = make_app(store, settings)
    logger.info("Reviewers' console on http://%s:%d/", settings.host, settings.port)
    web.run_app(app, host=settings.host, port=settings.port, access_log=None,
                print=None)
    return 0
