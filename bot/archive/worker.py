"""The archive worker: fetches each newly reported link and keeps it as a WARC file.

Where it runs: in the action server process (`actions.services` starts it with
the store, in its own thread and event loop, so no fetch, parse or file write
ever shares the loop that answers citizens), or on its own with
`python -m bot.archive`. Filing a report queues the jobs in the filing
transaction (`bot.store.archives.enqueue_archives`) and nudges the worker; the
citizen's reply never waits for it.

With several replicas each runs a worker: jobs are leased
(`ArchiveQueue.claim`: conditional UPDATE, `SKIP LOCKED` on PostgreSQL), so a
job is fetched by one worker at a time, and a worker that dies leaves a lease
that runs out, after which another takes the job again.

Each job: `LinkChecker.capture` (the link checker's SSRF rules, resolver,
overrides, allowed networks, redirect limit and byte cap, on every hop) within
ARCHIVE_TIMEOUT; the page's metadata read in a thread (`page_meta`); the WARC
written in a thread (`bot.archive.warc`); the outcome recorded under the lease.
At most ARCHIVE_CONCURRENCY jobs run at once, each in its own slot, so a page
that hangs holds one slot until its time budget ends and nothing else.
Unreachable pages and time-outs are tried again later (MAX_ATTEMPTS in all);
refused (non-public) or invalid links fail at once. Nothing personal and no URL
is logged: jobs are named by id.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.archive.page_meta import page_meta
from bot.archive.warc import write_warc
from bot.link_checker import Exchange, LinkChecker, LinkCheckResult, decode_body
from bot.settings import get_settings
from bot.store.archives import ArchiveJob, ArchiveOutcome, ArchiveQueue
from bot.store.models import utcnow

logger = logging.getLogger(__name__)

#: Attempts per link before it counts as failed, and the first wait between them.
MAX_ATTEMPTS = 3
RETRY_SECONDS = 120.0
#: Decoded HTML read for the page's metadata at most.
META_PARSE_BYTES = 512 * 1024
#: Extra seconds a job may take beyond the fetch budget (metadata, the WARC file).
WRITE_BUDGET_SECONDS = 30.0
#: Statuses after which trying again later may help.
_RETRYABLE = frozenset({"timeout", "unreachable"})

CheckerFactory = Callable[[], LinkChecker]


def _charset(exchange: Exchange) -> str | None:
    for name, value in exchange.response_headers:
        if name.lower() == "content-type":
            for part in value.split(";")[1:]:
                key, _, charset = part.strip().partition("=")
                if key.lower() == "charset" and charset:
                    return charset.strip('"\' ')[:40]
    return None


def _header(exchange: Exchange, wanted: str) -> str:
    for name, value in exchange.response_headers:
        if name.lower() == wanted:
            return value
    return ""


def read_page_meta(exchange: Exchange) -> dict[str, str]:
    """The page's own title, description, author and publish time (CPU: call in a thread)."""
    if not 200 <= exchange.status < 300 or "html" not in _header(exchange,
                                                                  "content-type").lower():
        return {}
    body = decode_body(exchange.body, _header(exchange, "content-encoding"), META_PARSE_BYTES)
    return page_meta(body, _charset(exchange)) if body else {}


class ArchiveWorker:
    """Archives pending links; `run_once` for one batch, `run` until stopped."""

    def __init__(self, store: Any = None, *, checker_factory: CheckerFactory | None = None,
                 concurrency: int | None = None, timeout: float | None = None,
                 var_dir: Path | None = None, lease_seconds: float | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        """Defaults come from the settings (ARCHIVE_CONCURRENCY, ARCHIVE_TIMEOUT, VAR_DIR)."""
        settings = get_settings()
        if store is None:
            from bot.store import ReportStore

            store = ReportStore(settings.database_url)
        self.queue = ArchiveQueue(store)
        self.timeout = timeout if timeout is not None else settings.archive_timeout
        self.concurrency = max(1, concurrency if concurrency is not None
                               else settings.archive_concurrency)
        self._checker_factory = checker_factory or (lambda: LinkChecker(timeout=self.timeout))
        self._var_dir = var_dir if var_dir is not None else settings.var_dir
        self._budget = self.timeout + WRITE_BUDGET_SECONDS
        self._lease = lease_seconds if lease_seconds is not None else self._budget + 60.0
        if self._lease <= self._budget:
            raise ValueError("the lease must outlast a job's budget")
        self._clock = clock
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- one job ------------------------------------------------------------------------

    async def archive(self, job: ArchiveJob) -> ArchiveOutcome:
        """Fetch, read and store one link; the outcome (not yet recorded)."""
        try:
            return await asyncio.wait_for(self._archive(job), timeout=self._budget)
        except asyncio.TimeoutError:
            return self._retry_or_fail(job, "timeout")

    async def _archive(self, job: ArchiveJob) -> ArchiveOutcome:
        async with self._checker_factory() as checker:
            result: LinkCheckResult = await checker.capture(job.url)
        final = result.exchanges[-1] if result.exchanges else None
        if final is None or result.status not in ("ok", "not_found", "unreachable") \
                or result.final_url is None:
            if result.status in _RETRYABLE:
                return self._retry_or_fail(job, result.status)
            return ArchiveOutcome("failed", error=result.status)
        page = await asyncio.to_thread(read_page_meta, final)
        stored = await asyncio.to_thread(write_warc, result.exchanges, page, self._var_dir)
        return ArchiveOutcome(
            "done", fetched_at=final.fetched_at, final_url=final.url,
            http_status=final.status, path=stored.path, size=stored.size,
            sha256=stored.sha256, payload_sha256=stored.payload_sha256, page_meta=page)

    def _retry_or_fail(self, job: ArchiveJob, error: str) -> ArchiveOutcome:
        if job.attempts + 1 >= MAX_ATTEMPTS:
            return ArchiveOutcome("failed", error=error)
        wait = RETRY_SECONDS * 2 ** job.attempts
        return ArchiveOutcome("pending", error=error,
                              retry_at=self._clock() + timedelta(seconds=wait))

    async def _run_job(self, job: ArchiveJob) -> None:
        try:
            outcome = await self.archive(job)
        except Exception as exc:  # noqa: BLE001 - one job never stops the others
            logger.warning("Archive job %d failed unexpectedly (%s)", job.id, type(exc).__name__)
            outcome = self._retry_or_fail(job, f"archiver raised {type(exc).__name__}")
        try:
            recorded = await asyncio.to_thread(self.queue.finish, job, outcome,
                                               now=self._clock())
        except SQLAlchemyError as exc:
            # Type only (a database error can quote parameters); the lease runs out and
            # the job is taken again.
            logger.warning("Archive job %d: outcome not recorded (%s)", job.id,
                           type(exc).__name__)
            return
        if recorded:
            logger.info("Archive job %d: %s%s", job.id, outcome.state,
                        f" ({outcome.error})" if outcome.error else "")

    # -- life cycle ---------------------------------------------------------------------

    async def _claim(self, slots: int) -> list[ArchiveJob]:
        now = self._clock()
        if not await asyncio.to_thread(self.queue.has_due, now):
            return []
        return await asyncio.to_thread(self.queue.claim, slots, self._lease, now)

    async def run_once(self) -> int:
        """Claim what is due (up to the concurrency) and archive it; how many jobs ran."""
        jobs = await self._claim(self.concurrency)
        await asyncio.gather(*(self._run_job(job) for job in jobs))
        return len(jobs)

    def wake(self) -> None:
        """Look for new jobs now (safe to call from any thread)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event, interval: float = 10.0) -> None:
        """Keep up to `concurrency` jobs running, each in its own slot, until `stop`.

        Free slots are filled as soon as a job ends, when `wake()` is called (a
        report was filed) or every `interval` seconds; a failed round (database
        unreachable) is logged and tried again.
        """
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        running: set[asyncio.Task[None]] = set()
        logger.info("Archive worker started (%d at once)", self.concurrency)
        try:
            while not stop.is_set():
                self._wake.clear()
                free = self.concurrency - len(running)
                if free > 0:
                    try:
                        jobs = await self._claim(free)
                    except SQLAlchemyError as exc:
                        logger.warning("Archive round failed (%s); trying again",
                                       type(exc).__name__)
                        jobs = []
                    for job in jobs:
                        running.add(asyncio.create_task(self._run_job(job),
                                                        name=f"archive-{job.id}"))
                    if jobs and len(running) < self.concurrency:
                        continue  # more may be due
                waiters: set[asyncio.Future[Any]] = {
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()), *running}
                done, _ = await asyncio.wait(waiters, timeout=interval,
                                             return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters - running:
                    if not waiter.done():
                        waiter.cancel()
                running -= {task for task in done if task in running}
        finally:
            for task in running:
                task.cancel()  # their leases run out; another round takes them again
            await asyncio.gather(*running, return_exceptions=True)
            logger.info("Archive worker stopped")


class ArchiveThread:
    """An `ArchiveWorker` in a daemon thread with its own event loop (the action server's
    way to keep all archive work off the loop that answers citizens)."""

    def __init__(self, worker: ArchiveWorker, interval: float = 10.0) -> None:
        self.worker = worker
        self._interval = interval
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()  # bound to the thread's loop when first awaited there
        self._thread = threading.Thread(target=self._main, name="link-archive", daemon=True)

    def start(self) -> ArchiveThread:
        """Start the thread (returns at once)."""
        self._thread.start()
        return self

    def _main(self) -> None:
        try:
            self._loop.run_until_complete(self.worker.run(self._stop, self._interval))
        except RuntimeError as exc:
            # The interpreter is exiting without stop() (a daemon thread): Python
            # refuses new worker-thread jobs then. Pending jobs keep their rows and
            # their leases run out, so the next worker takes them; nothing is lost.
            if "after shutdown" not in str(exc):
                raise
            logger.debug("Archive worker ended with the interpreter")
        finally:
            self._loop.close()

    def wake(self) -> None:
        """Look for new jobs now (from any thread)."""
        self.worker.wake()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker and wait for the thread."""
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
