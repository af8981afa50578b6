"""Violation categories: canonical values, Indonesian labels, and keyword detection."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Category:
    """One violation category as stored in reports and shown to people."""

    value: str
    label: str
    keywords: tuple[str, ...]
    button: str = ""

    @property
    def button_title(self) -> str:
        """A label short enough for a chat button (at most 20 characters)."""
        return self.button or self.label


CATEGORIES: tuple[Category, ...] = (
    Category(
        "hoaks",
        "Hoaks / berita bohong",
        ("hoaks", "hoax", "hoak", "hox", "berita bohong", "bohong", "disinformasi",
         "misinformasi", "berita palsu", "foto editan", "video editan", "editan"),
        button="Hoaks",
    ),
    Category(
        "ujaran_kebencian",
        "Ujaran kebencian",
        ("ujaran kebencian", "kebencian", "hate speech", "menghina", "hinaan", "provokasi",
         "provokatif", "adu domba", "ngadu domba", "mengadu domba", "caci maki", "menghasut"),
        button="Ujaran kebencian",
    ),
    Category(
        "sara",
        "SARA",
        ("sara", "suku", "agama", "ras", "antargolongan", "rasis", "rasisme", "etnis"),
    ),
    Category(
        "kampanye_hitam",
        "Kampanye hitam / fitnah",
        ("kampanye hitam", "black campaign", "fitnah", "memfitnah", "pembunuhan karakter"),
        button="Kampanye hitam",
    ),
    Category(
        "politik_uang",
        "Politik uang",
        ("politik uang", "money politic", "money politics", "serangan fajar", "bagi amplop",
         "amplop", "bagi duit", "bagi2 duit", "bagi-bagi uang", "bagi uang", "sembako",
         "suap", "beli suara", "vote buying"),
    ),
    Category(
        "kampanye_di_luar_jadwal",
        "Kampanye di luar jadwal",
        ("di luar jadwal", "luar jadwal", "masa tenang", "curi start", "curi star",
         "sebelum jadwal", "belum waktunya kampanye"),
        button="Di luar jadwal",
    ),
    Category(
        "netralitas",
        "Netralitas ASN / TNI / Polri / kepala desa",
        ("asn", "pns", "tidak netral", "gak netral", "ga netral", "netralitas", "kades",
         "kepala desa", "perangkat desa", "polisi", "polri", "tni", "tentara", "aparat",
         "lurah", "camat", "pegawai negeri"),
        button="Netralitas aparat",
    ),
    Category("lainnya", "Lainnya", ()),
)

_BY_VALUE = {category.value: category for category in CATEGORIES}

# Longest keywords first so "kampanye hitam" wins over shorter overlaps.
_KEYWORD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])"), category.value)
    for category in CATEGORIES
    for keyword in sorted(category.keywords, key=len, reverse=True)
)


def category_values() -> list[str]:
    """All canonical category values, in display order."""
    return [category.value for category in CATEGORIES]


def get_category(value: str | None) -> Category | None:
    """The category with this canonical value, or None."""
    if not value:
        return None
    return _BY_VALUE.get(value.strip().lower())


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
    for pattern, value in _KEYWORD_PATTERNS:
        if pattern.search(lowered) and value not in found:
            found.append(value)
    if len(found) == 1:
        return found[0]
    return None
