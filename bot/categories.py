"""Violation categories: canonical values, Indonesian labels, and keyword detection.

The categories themselves (value, label, button title, keywords) are data, in
`bot/resources/word_lists/categories.yml`, read once on first use.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.word_lists import WordListError, load_word_list, phrase_list, required

logger = logging.getLogger(__name__)

CATEGORY_WORDS = "categories"  # bot/resources/word_lists/categories.yml
#: The catch-all category, always offered last.
OTHER = "lainnya"
MAX_BUTTON_TITLE = 20


@dataclass(frozen=True)
class Category:
    """One violation category as stored in reports and shown to people."""

    value: str
    label: str
    keywords: tuple[str, ...]
    button: str = ""
    # The articles a takedown referral cites (reviewers' console).
    legal_basis: str = ""

    @property
    def button_title(self) -> str:
        """A label short enough for a chat button (at most 20 characters)."""
        return self.button or self.label


def _category(entry: Any, where: str) -> Category:
    if not isinstance(entry, dict):
        raise WordListError(f"{where}: expected value, label, button, keywords")
    value = str(required(entry, "value", where))
    label = str(required(entry, "label", where))
    button = str(entry.get("button") or "")
    category = Category(value, label, phrase_list(entry.get("keywords") or [],
                                                   f"{where}.keywords"), button,
                        str(entry.get("legal_basis") or ""))
    if not re.fullmatch(r"[a-z_]+", value):
        raise WordListError(f"{where}: value {value!r} must be lower_case_with_underscores")
    if len(category.button_title) > MAX_BUTTON_TITLE:
        raise WordListError(f"{where}: {category.button_title!r} is longer than "
                            f"{MAX_BUTTON_TITLE} characters; add a shorter `button`")
    return category


@dataclass(frozen=True)
class _Categories:
    all: tuple[Category, ...]
    by_value: dict[str, Category]
    # Longest keywords first so "kampanye hitam" wins over shorter overlaps.
    patterns: tuple[tuple[re.Pattern[str], str], ...]


@lru_cache(maxsize=1)
def _categories() -> _Categories:
    entries = required(load_word_list(CATEGORY_WORDS), "categories", CATEGORY_WORDS)
    if not isinstance(entries, list):
        raise WordListError(f"{CATEGORY_WORDS}.categories: expected a list")
    found = tuple(_category(entry, f"{CATEGORY_WORDS}.categories[{i}]")
                  for i, entry in enumerate(entries))
    values = [category.value for category in found]
    if len(set(values)) != len(values) or not values or values[-1] != OTHER:
        raise WordListError(f"{CATEGORY_WORDS}: values must be unique and end with {OTHER!r}")
    patterns = tuple(
        (re.compile(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])"), category.value)
        for category in found
        for keyword in sorted(category.keywords, key=len, reverse=True)
    )
    return _Categories(found, {category.value: category for category in found}, patterns)


def categories() -> tuple[Category, ...]:
    """Every category, in display order ("lainnya" last)."""
    return _categories().all


def category_values() -> list[str]:
    """All canonical category values, in display order."""
    return [category.value for category in categories()]


def get_category(value: str | None) -> Category | None:
    """The category with this canonical value, or None."""
    if not value:
        return None
    return _categories().by_value.get(value.strip().lower())


def label_for(value: str | None) -> str:
    """The Indonesian label of a category value (the value itself if unknown)."""
    category = get_category(value)
    return category.label if category else (value or "-")


def detect_category(text: str) -> str | None:
    """Return the category named in free text, or None when none or several clearly match.

    A message that names two different categories ("hoaks dan politik uang") is
    left to the user to choose, so nothing is guessed.
    """
    lowered = text.lower()
    found: list[str] = []
    for pattern, value in _categories().patterns:
        if pattern.search(lowered) and value not in found:
            found.append(value)
    if len(found) == 1:
        return found[0]
    return None
