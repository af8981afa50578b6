"""The assistant's "today", passed in so that tests can freeze it.

Actions take a `Today` callable (default: `bot.dates.today_wib`, the date in
western Indonesia) and hand the day it returns to everything date-dependent,
such as the election calendar. A test freezes time by passing `fixed_day(...)`
instead of patching a global.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from bot.dates import today_wib

logger = logging.getLogger(__name__)

Today = Callable[[], date]

#: The real clock: today's date in WIB.
system_today: Today = today_wib


def fixed_day(day: date) -> Today:
    """A clock that always returns `day`."""

    def today() -> date:
        return day

    return today
