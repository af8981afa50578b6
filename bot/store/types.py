"""Plain data passed in and out of the report store, and its exceptions.

Nothing here touches the database, so actions and reviewer tools can import these
types cheaply. Reporters are only ever identified by their pseudonymous
`sender_key` (see `bot.privacy.sender_key`), never by a phone number or chat id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

logger = logging.getLogger(__name__)

#: Every status a report can have, in workflow order. The stored values are the
#: Indonesian words reviewers use; citizen-facing labels are in bot.status_labels.
STATUSES: tuple[str, ...] = ("baru", "diproses", "diteruskan", "selesai", "ditolak")
INITIAL_STATUS = "baru"

#: The review workflow: which status may follow which. "selesai" and "ditolak"
#: can only be reopened (back to "diproses"), e.g. after an appeal.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "baru": frozenset({"diproses", "diteruskan", "selesai", "ditolak"}),
    "diproses": frozenset({"diteruskan", "selesai", "ditolak"}),
    "diteruskan": frozenset({"diproses", "selesai"}),
    "selesai": frozenset({"diproses"}),
    "ditolak": frozenset({"diproses"}),
}

#: Who made the automatic first entry of every report's audit trail.
SYSTEM_ACTOR = "sistem"

#: Roles of the reviewers' console: a pengawas reviews reports of their regions, a
#: koordinator all regions (assigns, exports, may reveal a contact), an admin
#: manages accounts only.
CONSOLE_ROLES: tuple[str, ...] = ("pengawas", "koordinator", "admin")
#: What became of the notice announcing a status change to the reporter (the
#: outbox, `notifications`): waiting to be sent; handed to the platform (for the
#: web widget: shown to the session); waiting for the reporter's next visit (web
#: widget); given up after every attempt failed; never possible (erased, no consent,
#: a channel nobody can be reached on).
NOTIFICATION_STATES: tuple[str, ...] = ("pending", "sent", "queued", "failed", "impossible")
#: Channels a notice can reach: their connectors can write to a person outside a
#: conversation (`channels.outbound`). REST cannot.
NOTIFIABLE_CHANNELS: frozenset[str] = frozenset({"whatsapp", "telegram", "webchat"})
#: Channels whose notices wait in the outbox ("queued") and are shown by the
#: channel itself when the person is connected (the web widget's sessions live in
#: the Rasa process, not in the notification worker's).
INBOX_CHANNELS: frozenset[str] = frozenset({"webchat"})


@dataclass(frozen=True)
class NewReportLink:
    """A link of a report to be filed, with what the link checker found."""

    original_url: str
    canonical_url: str
    platform: str
    check_status: str | None = None
    http_status: int | None = None
    page_title: str | None = None
    # When the link checker looked at it; the filing time when unknown.
    checked_at: datetime | None = None


@dataclass(frozen=True)
class NewEvidence:
    """A file (screenshot, document) already saved by the channel, to attach to a report."""

    kind: str  # e.g. "image", "video", "document"
    mime_type: str
    size_bytes: int
    sha256: str  # hex digest of the file's content
    storage_path: str  # where the channel saved it (relative to var/ preferably)
    # A screenshot's text as read (bot/ocr) and its perceptual hash, when read.
    extracted_text: str | None = None
    perceptual_hash: str | None = None


@dataclass(frozen=True)
class NewReport:
    """A complete report, ready to be filed.

    `idempotency_key` must be stable for one filled-in form (a retried submission
    carries the same key) and must not contain personal data in clear.
    `reporter_key` is the reporter's pseudonymous sender key (None files an
    anonymous report, which is not subject to the daily cap).
    """

    idempotency_key: str
    reporter_key: str | None
    channel: str
    category: str
    description: str
    links: Sequence[NewReportLink] = field(default_factory=list)
    region_code: str | None = None
    region_name: str | None = None
    known_date: date | None = None
    reported_party: str | None = None
    evidence: Sequence[NewEvidence] = field(default_factory=list)
    # The platform a screenshot showed, for the case of a report without a link.
    screenshot_platform: str | None = None


@dataclass(frozen=True)
class FiledReport:
    """The result of filing: the ticket code and which links were already known.

    `created` is False when the idempotency key had been filed before: the
    earlier report is returned and nothing new was written. `duplicate_links`
    holds the `original_url` of every link whose canonical URL had been
    reported before this report (by anyone), in the order submitted.
    """

    ticket_code: str
    created: bool
    duplicate_links: list[str]


@dataclass(frozen=True)
class ReportStatus:
    """What a reporter may see about their own report."""

    ticket_code: str
    status: str
    category: str
    created_at: datetime  # timezone-aware UTC
    updated_at: datetime  # timezone-aware UTC
    # The reviewer's note of the latest status change, if that change had one.
    note: str | None = None
    # Where reviewers forwarded it and how it ended (codes of bot/resources/decisions.yml).
    destination: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class StatusUpdate:
    """A reviewer's status change and what is needed to notify the reporter.

    The contact is kept encrypted (and out of `repr`); call `decrypt_contact()`
    only at the moment a notification is actually sent. `sender_key` and the
    contact are None once the reporter has erased their data.
    """

    ticket_code: str
    old_status: str
    new_status: str
    changed_at: datetime
    note: str | None
    channel: str
    sender_key: str | None
    contact_encrypted: str | None = field(default=None, repr=False)
    # Where the report was forwarded / how it ended (bot/resources/decisions.yml).
    destination: str | None = None
    outcome: str | None = None

    @property
    def can_notify(self) -> bool:
        """True when the reporter is still known (not erased) on some channel."""
        return self.sender_key is not None

    def decrypt_contact(self) -> str | None:
        """The reporter's contact in clear, for sending the notification; never log it."""
        if self.contact_encrypted is None:
            return None
        from bot.privacy import decrypt_contact

        return decrypt_contact(self.contact_encrypted)


@dataclass(frozen=True)
class NotificationState:
    """Whether the reporter heard of one status change of their report (for reviewers).

    `last_error` is a short reason in English ("contact erased", "send failed"),
    never personal data.
    """

    ticket_code: str
    new_status: str
    state: str  # one of NOTIFICATION_STATES
    attempts: int
    last_error: str | None
    created_at: datetime  # timezone-aware UTC
    sent_at: datetime | None  # when it was handed to the platform or shown (web)


@dataclass(frozen=True)
class NoticeContent:
    """What a notice says: the report, its new status and the reviewer's words.

    `destination` and `outcome` are recorded for "diteruskan" / "selesai" (where
    the report went, what came of it) when the store has them.
    """

    ticket_code: str
    new_status: str
    note: str | None = None
    destination: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class ClaimedNotification:
    """A notice a worker leased to send; `claim` proves the lease is still its own."""

    id: int
    claim: str = field(repr=False)
    channel: str
    attempts: int  # attempts made before this one
    content: NoticeContent
    lease_until: datetime  # the worker must have finished sending by then


@dataclass(frozen=True)
class NoticeRecipient:
    """Whom a claimed notice goes to, read just before it is sent.

    `refusal` says why it must not be sent at all ("contact erased", "no
    consent", "no contact"); `claimed` is False when the worker's lease was lost
    or the notice is no longer waiting (an erasure, another worker). The contact
    stays encrypted until `decrypt_contact()`; never log it.
    """

    contact_encrypted: str | None = field(default=None, repr=False)
    refusal: str | None = None
    claimed: bool = True

    def decrypt_contact(self) -> str | None:
        """The contact in clear, for the moment of sending only."""
        if self.contact_encrypted is None:
            return None
        from bot.privacy import decrypt_contact

        return decrypt_contact(self.contact_encrypted)


class StoreError(Exception):
    """Base class of the report store's own errors."""


class DailyCapExceeded(StoreError):
    """The sender has reached the configured number of new reports per 24 hours."""

    def __init__(self, cap: int, count: int) -> None:
        super().__init__(f"daily report cap reached ({count} of {cap} in the last 24 hours)")
        self.cap = cap
        self.count = count


class InvalidTransition(StoreError, ValueError):
    """A status change that the review workflow does not allow."""

    def __init__(self, old_status: str, new_status: str) -> None:
        super().__init__(f"status change {old_status!r} -> {new_status!r} is not allowed")
        self.old_status = old_status
        self.new_status = new_status


class ReportNotFound(StoreError, LookupError):
    """No report has this ticket code."""


class CaseNotFound(StoreError, LookupError):
    """No case has this id."""


class IdempotencyConflict(StoreError, ValueError):
    """The idempotency key was already used by a report of another reporter."""
