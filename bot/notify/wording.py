"""The Indonesian text of a notice: a report's new status, told to its reporter.

The phrases live in `bot/resources/notification_wording.yml` (the status names
are `status_labels` in report_wording.yml); the file is read once, on first
use. A notice names the ticket code and the new status, says in one plain
sentence what that means, where the report went and what came of it when the
reviewer recorded that, the reviewer's note, and how to ask for details.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from bot.report_wording import read_sections
from bot.settings import RESOURCES_DIR
from bot.status_labels import status_label
from bot.store.types import STATUSES, NoticeContent

logger = logging.getLogger(__name__)

WORDING_FILE = RESOURCES_DIR / "notification_wording.yml"
NOTICE = "notice"
STATUS_NEWS = "status_news"
DESTINATIONS = "destinations"
OUTCOMES = "outcomes"
SECTIONS = (NOTICE, STATUS_NEWS, DESTINATIONS, OUTCOMES)
#: The lines of a notice, in order (each a phrase of the `notice` section).
NOTICE_LINES = ("status_changed", "destination", "outcome", "reviewer_note", "closing")
#: Longest destination or outcome shown (reviewers' free text is cut).
VALUE_LIMIT = 200


class NotificationWordingError(ValueError):
    """The wording file lacks a phrase or has one of the wrong shape."""


def load_notification_wording(path: Path = WORDING_FILE) -> dict[str, dict[str, str]]:
    """Read and check the wording file: sections of `key: phrase` (non-empty texts)."""
    wording = read_sections(path, SECTIONS, NotificationWordingError)
    missing = [line for line in NOTICE_LINES if line not in wording[NOTICE]]
    if missing:
        raise NotificationWordingError(f"{path}: notice lacks {missing}")
    untold = [status for status in STATUSES if status not in wording[STATUS_NEWS]]
    if untold:
        raise NotificationWordingError(f"{path}: status_news lacks {untold}")
    return wording


@lru_cache(maxsize=1)
def _wording() -> dict[str, dict[str, str]]:
    return load_notification_wording()


def load_wording_once() -> None:
    """Read the wording file now (otherwise the first notice reads it)."""
    _wording()


def _one_line(value: str | None, limit: int = VALUE_LIMIT) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _label(section: str, value: str | None) -> str | None:
    """A recorded code's label (`destinations`, `outcomes`), else the value as recorded."""
    text = _one_line(value)
    if text is None:
        return None
    return _wording()[section].get(text.lower().replace(" ", "_"), text)


def destination_label(value: str | None) -> str | None:
    """Where a report went, in words (None when nothing was recorded)."""
    return _label(DESTINATIONS, value)


def outcome_label(value: str | None) -> str | None:
    """What came of a report, in words (None when nothing was recorded)."""
    return _label(OUTCOMES, value)


def render_notice(content: NoticeContent) -> str:
    """The notice for a status change, one short paragraph per line."""
    phrases = _wording()[NOTICE]
    values = {
        "ticket_code": content.ticket_code,
        "status_label": status_label(content.new_status),
        "destination": destination_label(content.destination),
        "outcome": outcome_label(content.outcome),
        "note": (content.note or "").strip() or None,
    }
    first = phrases["status_changed"].format(**values)
    news = _wording()[STATUS_NEWS].get(content.new_status)
    lines = [f"{first} {news}" if news else first]
    for line in ("destination", "outcome", "reviewer_note"):
        key = "note" if line == "reviewer_note" else line
        if values[key] is not None:
            lines.append(phrases[line].format(**values))
    lines.append(phrases["closing"].format(**values))
    return "\n\n".join(lines)


def template_values(content: NoticeContent) -> tuple[str, str]:
    """The body parameters of the WhatsApp notice template: ticket code, status (in words)."""
    return content.ticket_code, status_label(content.new_status)
