"""Hostile message text: 100 kB messages must not freeze the extractors.

Regression tests for issue 12 ("Hostile input"): the link patterns in
bot/regions.py and bot/dates.py were quadratic (a 100 kB message took about
200 s in each) and the fuzzy region matcher built every deletion variant of a
100 kB "word". These tests run each extractor on such input under a watchdog
(30 s, about a hundred times what the fixed code needs on this machine): they
detect a freeze, they do not measure speed (`make bench` does).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.services import extract
from bot.categories import detect_category
from bot.dates import parse_known_date
from bot.regions import match_region
from bot.store.tickets import find_ticket_codes
from bot.urls import extract_urls, mask_links

WATCHDOG_SECONDS = 30.0
TODAY = date(2026, 12, 1)

HOSTILE = {
    "one long word": "a" * 100_000,
    "dotted": "a." * 50_000,
    "domain without spaces": "x" * 50_000 + ".com/" + "y" * 50_000,
    "schemes": "http://" * 14_000,
    "handles": "@" * 100_000,
    "digits": "1" * 100_000,
    "digit runs": "1-" * 50_000,
    "dotted digits": "1." * 50_000,
    "kabupaten": "kab. " * 20_000,
    "ticket prefixes": "LP-" * 33_000,
}

EXTRACTORS: dict[str, Callable[[str], Any]] = {
    "match_region": match_region,
    "parse_known_date": lambda text: parse_known_date(text, TODAY),
    "detect_category": detect_category,
    "extract_urls": extract_urls,
    "mask_links": mask_links,
    "find_ticket_codes": find_ticket_codes,
}


def finishes(func: Callable[[], Any]) -> bool:
    """True when `func` returns (or raises) within the watchdog."""
    worker = threading.Thread(target=func, daemon=True)
    worker.start()
    worker.join(WATCHDOG_SECONDS)
    return not worker.is_alive()


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("extractor", sorted(EXTRACTORS))
def test_extractors_do_not_freeze_on_100_kb(name: str, extractor: str) -> None:
    text = HOSTILE[name]
    assert finishes(lambda: EXTRACTORS[extractor](text)), f"{extractor} froze on {name}"


# The patterns mask_links replaced, as a reference on short text (they are only
# too slow on long text).
_OLD_DATES = re.compile(r"(?:https?://|www\.)\S+|\S+\.(?:com|id|net|org|ly|me|tv|io)/\S*|@\w+",
                        re.IGNORECASE)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("kejadian 12/11/2024 di tiktok.com/@info_bandung/video/2024", "kejadian 12/11/2024 di"),
        ("lihat https://x.com/a/status/2024 kemarin", "lihat kemarin"),
        ("www.kompas.com/2024/11/05/berita tgl 5 nov", "tgl 5 nov"),
        ("akun @bandung_info di kota bandung", "akun di kota bandung"),
        ("(https://t.co/abc) kab. tegal", "( kab. tegal"),
        ("kota.pekalongan bukan domain", "kota.pekalongan bukan domain"),
    ],
)
def test_mask_links_blanks_links_domains_and_handles(text: str, kept: str) -> None:
    masked = mask_links(text)
    assert len(masked) == len(text)
    assert " ".join(masked.split()) == kept


@given(st.text(alphabet="ab1/.:@ -whtpscomid", max_size=80))
def test_mask_links_masks_at_least_what_the_old_date_pattern_did(text: str) -> None:
    masked = mask_links(text)
    assert len(masked) == len(text)
    old = _OLD_DATES.sub(lambda m: " " * len(m.group(0)), text)
    # Every character the old pattern blanked is blanked now too.
    assert all(new == " " for new, was in zip(masked, old) if was == " ")


async def test_an_extractor_over_its_budget_counts_as_finding_nothing(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    import actions.services as services

    monkeypatch.setattr(services, "EXTRACTOR_BUDGET_SECONDS", 0.05)
    release = threading.Event()
    assert await extract(lambda: release.wait(5) or "found", default="nothing") == "nothing"
    release.set()
    assert await extract(str.upper, "ok", default="nothing") == "OK"
