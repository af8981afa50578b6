"""The checks every connector makes before a message reaches Rasa: length and rate.

No single sender may delay anyone else's conversation. A message longer than
`MAX_MESSAGE_CHARS` (4,096, WhatsApp's own limit) is not handed to the
assistant (the NLU pipeline and the extractors would spend time on it); the
sender is told, politely, to split it. A sender who sends faster than the rate
limit (a burst of `RATE_LIMIT_BURST`, then `RATE_LIMIT_PER_MINUTE`) is told once
to slow down; what arrives during the pause is dropped until the bucket refills.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.channel_messages import channel_message
from bot.rate_limit import TokenBucket
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

    def __init__(self, max_chars: int | None = None, limiter: TokenBucket | None = None) -> None:
        settings = get_settings()
        self.max_chars = max_chars if max_chars is not None else settings.max_message_chars
        self.limiter = limiter if limiter is not None else TokenBucket(
            settings.rate_burst, settings.rate_per_minute / 60.0)
        self._warned: set[str] = set()

    def check(self, sender: str, text: str | None) -> Verdict:
        """The verdict for a message of `sender` (a pseudonymous id) with `text`."""
        if not self.limiter.take(sender):
            if sender in self._warned:
                logger.info("Message dropped: sender over the rate limit")
                return Verdict(False)
            if len(self._warned) > 100_000:
                self._warned.clear()
            self._warned.add(sender)
            logger.info("Sender over the rate limit: told to slow down")
            return Verdict(False, channel_message("too_many_messages"))
        self._warned.discard(sender)
        if text is not None and len(text) > self.max_chars:
            logger.info("Message of %d characters refused (limit %d)", len(text), self.max_chars)
            limit = f"{self.max_chars:,}".replace(",", ".")
            return Verdict(False, channel_message("message_too_long", max_chars=limit))
        return ACCEPT
