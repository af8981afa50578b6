"""Show what the date-dependent answers say on a given day, from the project's files.

Usage: python scripts/preview_answers.py [2029-02-12] [--topic quiet_period ...]
       python scripts/preview_answers.py --check   (only validate the files; `make validate`)

Reads bot/resources/elections.yml and calendar_wording.yml (a mistake in them is
reported with the election and phase it concerns), then prints where the day
falls in the calendar and the FAQ answers that depend on the date, filled in as
a citizen would see them. Trainers use it after entering new KPU dates.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rasa.core.nlg.interpolator import interpolate_text  # noqa: E402
from rasa.shared.utils.io import read_yaml_file  # noqa: E402

from bot.dates import today_wib  # noqa: E402
from bot.election_calendar import KINDS, CalendarError  # noqa: E402
from bot.election_facts import load_facts  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402

logger = logging.getLogger(__name__)

FAQ_RESPONSES = PROJECT_ROOT / "data" / "faq" / "responses.yml"
DATE_TOPICS = ("campaign_period", "quiet_period", "campaign_ads", "social_media_accounts",
               "polls_quick_count")


def main(argv: list[str] | None = None) -> int:
    """Print the calendar position and the answers for the day asked (default: today)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("day", nargs="?", type=date.fromisoformat, default=None,
                        help="YYYY-MM-DD (default: today in WIB)")
    parser.add_argument("--topic", action="append", default=None,
                        help=f"FAQ topic to show (default: {', '.join(DATE_TOPICS)})")
    parser.add_argument("--check", action="store_true",
                        help="only validate the calendar files and say so")
    args = parser.parse_args(argv)
    day = args.day or today_wib()
    try:
        facts = load_facts()
    except CalendarError as error:
        print(f"The calendar has a mistake: {error}", file=sys.stderr)
        return 1
    if args.check:
        print(f"Election calendar OK: {len(facts.calendar.elections)} elections")
        return 0

    calendar = facts.calendar
    print(f"Day: {day.isoformat()}")
    running = calendar.ongoing(day)
    print("Running: " + (", ".join(f"{e.name} {phase}" for e, phase in running) or "nothing"))
    for kind in KINDS:
        focus, previous = calendar.focus(kind, day), calendar.previous(kind, day)
        print(f"{kind}: focus {focus.name if focus else '-'}, "
              f"previous {previous.name if previous else '-'}")

    values = facts.values_for(day)
    responses = read_yaml_file(str(FAQ_RESPONSES))["responses"]
    for topic in args.topic or DATE_TOPICS:
        variations = responses.get(f"utter_faq/{topic}")
        if not variations:
            print(f"\nNo answer utter_faq/{topic}", file=sys.stderr)
            return 1
        text = interpolate_text(variations[0]["text"], values)
        print(f"\n--- {topic} ({len(text)} characters)\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
