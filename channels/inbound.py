"""The checks every connector makes before a message reaches Rasa: length and rate.

No single sender may delay anyone else's conversation. A message longer than
`MAX_MESSAGE_CHARS` (4,096, WhatsApp's own limit) is not handed to the
assistant (the NLU pipeline and the extractors would spend time on it); the
sender is told, politely, to split it. A sender who sends faster than the rate
limit (a burst of `RATE_LIMIT_BURST`, then `RATE_LIMIT_PER_MINUTE`) is told once
to slow down; what arrives during the pause is dropped until the bucket refills.

The buckets and the "already told" marks live in the ephemeral store
(`bot.ephemeral`), so with REDIS_URL the limit holds across every Rasa process:
`rate:<scope>:<sender>` (a token bucket) and `rate-told:<scope>:<sender>` (kept
as long as one token takes to come back: the next refusal after that is a new
episode and is announced again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from rasa.core.channels.channel import OutputChannel

from bot.channel_messages import channel_message
from bot.ephemeral import EphemeralStore, ephemeral_store
from bot.settings import get_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """What to do with one incoming message: hand it on, answer it here, or drop it."""

    accept: bool
    reply: str | None = None


ACCEPT = Verdict(True)


class InboundGuard:
    """Message length cap and per-sender rate limit, shared by a connector's messages."""

    def __init__(self, store: EphemeralStore | None = None, *, scope: str = "msg",
                 max_chars: int | None = None, burst: int | None = None,
                 per_minute: float | None = None) -> None:
        settings = get_settings()
        self.store = store if store is not None else ephemeral_store()
        self.scope = scope
        self.max_chars = max_chars if max_chars is not None else settings.max_message_chars
        self.burst = burst if burst is not None else settings.rate_burst
        self.per_second = (per_minute if per_minute is not None else settings.rate_per_minute) / 60

    async def check(self, sender: str, text: str | None) -> Verdict:
        """The verdict for a message of `sender` (a pseudonymous id) with `text`."""
        if not await self.store.take(f"rate:{self.scope}:{sender}", self.burst, self.per_second):
            told_for = 1 / self.per_second if self.per_second > 0 else 24 * 3600.0
            if not await self.store.add(f"rate-told:{self.scope}:{sender}", "1", told_for):
                logger.info("Message dropped: sender over the rate limit")
                return Verdict(False)
            logger.info("Sender over the rate limit: told to slow down")
            return Verdict(False, channel_message("too_many_messages"))
        if text is not None and len(text) > self.max_chars:
            logger.info("Message of %d characters refused (limit %d)", len(text), self.max_chars)
            limit = f"{self.max_chars:,}".replace(",", ".")
            return Verdict(False, channel_message("message_too_long", max_chars=limit))
        return ACCEPT

    async def admit(self, sender: str, text: str | None, output: OutputChannel) -> bool:
        """`check`, answering a refusal through `output`; True when the message goes on."""
        verdict = await self.check(sender, text)
        if not verdict.accept and verdict.reply:
            await output.send_text_message(sender, verdict.reply)
        return verdict.accept
