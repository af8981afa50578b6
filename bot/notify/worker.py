"""The notification worker: sends the outbox's due notices to reporters.

Every reviewer's status change leaves a notice in the `notifications` table, in
the same transaction (`ReportStore._enqueue_notification`). A worker, in the
console process or alone (`python -m bot.notify`), repeatedly:

1. leases a batch of due notices (`ReportStore.claim_notifications`: two
   workers, on SQLite or PostgreSQL, never hold the same notice);
2. for each, reads the reporter's encrypted contact again and decrypts it just
   before sending (an erasure in between makes the notice "impossible");
3. renders the Indonesian text (`bot.notify.wording`) and sends it through the
   channel's `OutboundSender` (`channels.outbound.outbound_for`), paced by a
   per-channel token bucket in the ephemeral store;
4. records the outcome under its lease: "sent"; or, after a failure, another
   attempt later (exponential backoff with jitter) until `max_attempts`, then
   "failed".

Platform 429 answers are retried by the senders' own clients after the
`Retry-After` the platform gives (capped); a send that still fails waits for
the worker's backoff, which is longer. Web widget notices are not sent here:
they wait as "queued" and the web channel shows them to the session
(`channels.web_notices`). Nothing personal is logged: notices are named by
their id and ticket code, never by contact or sender key.

The worker is the one place in `bot/` that reaches `channels/`: the default
sender factory imports `channels.outbound` when the first notice is sent.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.ephemeral import EphemeralStore, ephemeral_store
from bot.notify.wording import load_wording_once as load_notice_wording
from bot.notify.wording import render_notice, template_values
from bot.report_wording import load_wording_once as load_report_wording
from bot.settings import get_settings
from bot.store import ReportStore
from bot.store.models import utcnow
from bot.store.types import ClaimedNotification

logger = logging.getLogger(__name__)

#: Notices leased per round.
BATCH_SIZE = 20
#: How long a lease lasts. A send starts only while at least SEND_TIMEOUT_SECONDS
#: of it are left (else the notice is given back and claimed afresh), so a live
#: worker never loses a notice it is sending.
LEASE_SECONDS = 600.0
#: The longest one send may take (the senders retry 429/5xx inside it).
SEND_TIMEOUT_SECONDS = 240.0
#: The longest wait between attempts.
RETRY_CAP_SECONDS = 3600.0
# Why a send failed (`notifications.last_error`): short, never personal data.
NOT_CONFIGURED = "channel not configured for sending"
UNDECRYPTABLE = "contact could not be decrypted"
SEND_FAILED = "platform refused or could not be reached"
SEND_TIMED_OUT = "send timed out"


class NoticeSender(Protocol):
    """What the worker needs of a `channels.outbound.OutboundSender`."""

    async def send_text(self, recipient: str, text: str,
                        template_values: Sequence[str] = ()) -> Any:
        """Send; answers a `channels.outbound.Delivery`."""
        ...

    async def close(self) -> None:
        """Release clients."""
        ...


#: Gives the sender of a channel (None: nobody can be reached on it from here).
SenderFactory = Callable[[str, EphemeralStore], "NoticeSender | None"]


def _read_wording() -> None:
    """Read the notice wording and the status labels (once per process)."""
    load_notice_wording()
    load_report_wording()


def outbound_senders(channel: str, store: EphemeralStore) -> NoticeSender | None:
    """The channel's outbound sender, built from the settings (`channels.outbound`)."""
    from channels.outbound import outbound_for  # the channels layer, only when sending

    return outbound_for(channel, store)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a notice whose sending failed.

    The wait after the n-th failed attempt is `base * 2**(n-1)` capped at `cap`,
    of which a random half ("equal jitter"): workers retrying after one outage
    spread out instead of hitting the platform together.
    """

    max_attempts: int = 8
    base_seconds: float = 30.0
    cap_seconds: float = RETRY_CAP_SECONDS

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_seconds < 0 or self.cap_seconds < 0:
            raise ValueError("max_attempts must be >= 1 and delays not negative")

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        """NOTIFY_MAX_ATTEMPTS and NOTIFY_RETRY_SECONDS."""
        settings = get_settings()
        return cls(settings.notify_max_attempts, max(0.0, settings.notify_retry_seconds))

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after `attempts` failed attempts (1 or more)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return ceiling / 2 + rng.uniform(0.0, ceiling / 2)


class NotificationWorker:
    """Sends due notices; `run_once` for one round, `run` until stopped, then `close`."""

    def __init__(
        self,
        store: ReportStore | None = None,
        *,
        senders: SenderFactory = outbound_senders,
        retry: RetryPolicy | None = None,
        rate_per_second: float | None = None,
        ephemeral: EphemeralStore | None = None,
        batch_size: int = BATCH_SIZE,
        lease_seconds: float = LEASE_SECONDS,
        send_timeout: float = SEND_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        """All arguments have working defaults from the settings; tests pass a clock."""
        self.store = store if store is not None else ReportStore(get_settings().database_url)
        self.retry = retry if retry is not None else RetryPolicy.from_settings()
        rate = get_settings().notify_rate_per_second if rate_per_second is None \
            else rate_per_second
        self.rate_per_second = max(0.0, rate)
        if batch_size < 1 or lease_seconds <= send_timeout:
            raise ValueError("batch_size must be >= 1 and the lease longer than a send")
        self._senders_for = senders
        self._ephemeral = ephemeral
        self._batch_size = batch_size
        self._lease_seconds = lease_seconds
        self._send_timeout = send_timeout
        self._clock = clock
        self._rng = rng if rng is not None else random.SystemRandom()
        self._senders: dict[str, NoticeSender | None] = {}
        self._stop: asyncio.Event | None = None
        self._wording_read = False

    # -- life cycle ---------------------------------------------------------------------

    async def run_once(self) -> int:
        """Lease the notices due now and try each once; how many were handled."""
        if not self._wording_read:
            await asyncio.to_thread(_read_wording)  # files are read off the event loop
            self._wording_read = True
        claimed = await asyncio.to_thread(self.store.claim_notifications, self._batch_size,
                                          self._lease_seconds, self._clock())
        for index, notice in enumerate(claimed):
            if self._stop is not None and self._stop.is_set():
                await self._give_back(claimed[index:])
                return index
            try:
                await self._deliver(notice)
            except Exception as exc:  # noqa: BLE001 - the others still go out
                # Type only: a database error's message can quote query parameters.
                logger.warning("Notice %d could not be handled (%s); it is tried again when "
                               "its lease ends", notice.id, type(exc).__name__)
        return len(claimed)

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        """Send what is due every `interval` seconds (at once while more is due) until `stop`.

        A round that fails (the database unreachable, say) is logged and tried
        again at the next interval; the worker itself never stops on an error.
        """
        self._stop = stop
        logger.info("Notification worker started")
        try:
            while not stop.is_set():
                try:
                    handled = await self.run_once()
                except SQLAlchemyError as exc:
                    # The message of a database error can quote query parameters: type only.
                    logger.warning("Notification round failed (%s); trying again",
                                   type(exc).__name__)
                    handled = 0
                except Exception:  # noqa: BLE001 - the next round tries again
                    logger.exception("Notification round failed; trying again")
                    handled = 0
                if handled >= self._batch_size:
                    await asyncio.sleep(0)  # more is due: no pause, but let others run
                    continue
                try:
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                except asyncio.TimeoutError:
                    pass
        finally:
            self._stop = None
            logger.info("Notification worker stopped")

    async def close(self) -> None:
        """Close the senders' clients (the worker can still be used afterwards)."""
        senders, self._senders = self._senders, {}
        for channel, sender in senders.items():
            if sender is None:
                continue
            try:
                await sender.close()
            except Exception as exc:  # noqa: BLE001 - closing the others matters more
                logger.warning("Closing the %s sender failed: %s", channel, type(exc).__name__)

    # -- one notice ---------------------------------------------------------------------

    def _sender(self, channel: str) -> NoticeSender | None:
        if channel not in self._senders:
            store = self._ephemeral if self._ephemeral is not None else ephemeral_store()
            self._senders[channel] = self._senders_for(channel, store)
        return self._senders[channel]

    async def _deliver(self, notice: ClaimedNotification) -> None:
        """Send one leased notice and record what became of it."""
        try:
            sender = self._sender(notice.channel)
        except Exception as exc:  # noqa: BLE001 - a broken configuration fails this notice
            logger.error("No %s sender (%s)", notice.channel, type(exc).__name__)
            sender = None
        if sender is None:
            await self._failed(notice, NOT_CONFIGURED)
            return
        await self._pace(notice.channel)
        if self._clock() + timedelta(seconds=self._send_timeout) >= notice.lease_until:
            # Too little of the lease is left for a send: another worker could take
            # the notice over mid-send. Give it back to be claimed afresh.
            await self._give_back([notice])
            return
        recipient = await asyncio.to_thread(self.store.notice_recipient, notice, self._clock())
        if not recipient.claimed:
            logger.info("Notice %d is no longer held by this worker; skipped", notice.id)
            return
        if recipient.refusal is not None:
            await self._record(notice, "impossible", error=recipient.refusal, attempted=False)
            return
        text = render_notice(notice.content)
        values = template_values(notice.content)
        contact = await asyncio.to_thread(recipient.decrypt_contact)
        if contact is None:
            await self._failed(notice, UNDECRYPTABLE)
            return
        try:
            delivery = await asyncio.wait_for(sender.send_text(contact, text, values),
                                              timeout=self._send_timeout)
        except asyncio.TimeoutError:
            await self._failed(notice, SEND_TIMED_OUT)
            return
        except Exception as exc:  # noqa: BLE001 - senders should not raise; retry if one does
            await self._failed(notice, f"sender raised {type(exc).__name__}")
            return
        finally:
            del contact
        state = getattr(delivery, "value", delivery)
        if state == "sent":
            await self._record(notice, "sent")
        elif state == "queued":
            await self._record(notice, "queued")
        else:
            await self._failed(notice, SEND_FAILED)

    async def _pace(self, channel: str) -> None:
        """Wait for a token of the channel's bucket (NOTIFY_RATE_PER_SECOND, 0: unpaced).

        The bucket lives in the ephemeral store, so with REDIS_URL every worker
        and replica shares one rate per channel, as the platforms count it (per
        bot, per business number); one second's worth may go at once.
        """
        rate = self.rate_per_second
        if rate <= 0:
            return
        store = self._ephemeral if self._ephemeral is not None else ephemeral_store()
        while not await store.take(f"notify-rate:{channel}", max(1.0, rate), rate):
            await asyncio.sleep(1.0 / rate)

    async def _failed(self, notice: ClaimedNotification, error: str) -> None:
        """Another attempt later, or "failed" when this was the last one allowed."""
        attempts = notice.attempts + 1
        if attempts >= self.retry.max_attempts:
            await self._record(notice, "failed", error=error)
            return
        wait = self.retry.delay(attempts, self._rng)
        await self._record(notice, "pending", error=error,
                           retry_at=self._clock() + timedelta(seconds=wait))

    async def _record(self, notice: ClaimedNotification, state: str, *, error: str | None = None,
                      retry_at: datetime | None = None, attempted: bool = True) -> None:
        recorded = await asyncio.to_thread(
            self.store.finish_notification, notice, state, error=error, retry_at=retry_at,
            attempted=attempted, now=self._clock())
        if recorded:
            logger.info("Notice %d (%s, report %s): %s%s", notice.id, notice.channel,
                        notice.content.ticket_code, state, f" ({error})" if error else "")

    async def _give_back(self, notices: Sequence[ClaimedNotification]) -> None:
        """Release leased notices unsent (stopping), without counting an attempt."""
        now = self._clock()
        for notice in notices:
            await asyncio.to_thread(self.store.finish_notification, notice, "pending",
                                    retry_at=now, attempted=False, now=now)
