"""Indonesian wording for report statuses, shared by actions and reviewer tools.

The labels are `status_labels` in bot/resources/report_wording.yml.
"""

from __future__ import annotations

import logging

from bot.report_wording import STATUS_LABELS, has_phrase, phrase

logger = logging.getLogger(__name__)


def status_label(status: str) -> str:
    """The citizen-facing label of a status (the raw value if unknown)."""
    return phrase(STATUS_LABELS, status) if has_phrase(STATUS_LABELS, status) else status
