"""Indonesian date expressions as people type them in chat, and date wording.

`parse_known_date("aku liat kemarin malam di tiktok", today)` understands
relative days ("hari ini", "tadi pagi", "kemarin", "kemarin lusa", "3 hari
lalu", "tiga hari yang lalu", "seminggu lalu"), day names ("senin kemarin",
"hari jumat"), the day of the month ("tgl 5"), numeric dates (day first:
"5/11", "05-11", "5/11/2024"), written dates ("5 November 2024", "5 nop",
"nov 5") and ISO dates ("2024-11-05"), also inside a longer message. Dates in
the future come back flagged `future=True` so the assistant can refuse them
politely; a date without a year is the most recent such day, never a future one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from bot.urls import mask_links

logger = logging.getLogger(__name__)

MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
    "September", "Oktober", "November", "Desember",
)
# Month words (Indonesian, common abbreviations and spellings, English).
MONTH_WORDS: dict[str, int] = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "pebruari": 2, "febuari": 2, "feb": 2, "peb": 2, "february": 2,
    "maret": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "agst": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nopember": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12, "dec": 12, "december": 12,
}
DAY_WORDS: dict[str, int] = {
    "senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jumaat": 4, "sabtu": 5,
    "minggu": 6, "ahad": 6,
}


def _number_words() -> dict[str, int]:
    units = ("satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")
    words = {word: value for value, word in enumerate(units, 1)}
    words.update({"sepuluh": 10, "sebelas": 11})
    for value, word in enumerate(units[1:], 2):
        words[f"{word} belas"] = 10 + value
    for tens, prefix in ((20, "dua puluh"), (30, "tiga puluh")):
        words[prefix] = tens
        if tens == 20:
            for value, word in enumerate(units, 1):
                words[f"{prefix} {word}"] = tens + value
    return words


# "satu" .. "tiga puluh".
NUMBER_WORDS: dict[str, int] = _number_words()

# Each pattern is tried against the message; the best match wins (by priority,
# then length, then position), so "senin kemarin" beats "kemarin" and
# "tgl 5 nov" beats "tgl 5".
_P_ISO, _P_FULL, _P_DAY_MONTH, _P_DAY_OF_MONTH, _P_WEEKDAY, _P_RELATIVE = 60, 50, 40, 30, 25, 20

_L = r"(?<![0-9A-Za-z])"
_R = r"(?![0-9A-Za-z])"
_NO_DIGIT_BEFORE = r"(?<![0-9])(?<![0-9][/.\-])"
_NO_DIGIT_AFTER = r"(?![/.\-]?[0-9])"


def _alternation(words: Iterable[str]) -> str:
    items = sorted(words, key=len, reverse=True)
    return "|".join(re.escape(item).replace(r"\ ", r"\s+") for item in items)


_MONTH = rf"(?:{_alternation(MONTH_WORDS)})(?![a-z])"
_NUMBER = rf"(?:{_alternation(NUMBER_WORDS)})"
_TGL = r"(?:(?:tgl|tanggal|tangal|tnggl|tg)\.?\s*)"
_AGO = r"(?:(?:yang|yg)\s+)?(?:lalu|yll|yl|kemarin|kemaren|kmrn|kmaren|kemarn|sebelumnya)"
_YESTERDAY = r"(?:kemarin|kemaren|kmrn|kmarin|kemarn|kmaren|kmren|kemrin)"
_APOS = r"['\u2019\u2018`]?"
_DAY = (
    r"(senin|selasa|rabu|kamis|jum" + _APOS + r"a?at|sabtu|minggu|ahad)"
)

_ISO = re.compile(rf"{_NO_DIGIT_BEFORE}([0-9]{{4}})-([0-9]{{1,2}})-([0-9]{{1,2}}){_NO_DIGIT_AFTER}")
_DMY = re.compile(
    rf"{_L}{_TGL}?{_NO_DIGIT_BEFORE}([0-9]{{1,2}})([/.\-])([0-9]{{1,2}})\2([0-9]{{4}}|[0-9]{{2}})"
    rf"{_NO_DIGIT_AFTER}",
    re.IGNORECASE,
)
# Day/month without a year; "." is not accepted here ("jam 9.11" is a time).
_DM = re.compile(
    rf"{_L}{_TGL}?{_NO_DIGIT_BEFORE}([0-9]{{1,2}})[/\-]([0-9]{{1,2}}){_NO_DIGIT_AFTER}"
    rf"(?!\s*(?:hari|hr|minggu|mgg|pekan|bulan|bln|tahun|thn|jam|menit)\b)",
    re.IGNORECASE,
)
_DAY_MONTH = re.compile(
    rf"{_L}{_TGL}?{_NO_DIGIT_BEFORE}([0-9]{{1,2}})\s*[\-/.]?\s*({_MONTH})\.?"
    rf"(?:\s*[,\-/.]?\s*([0-9]{{4}})|\s*'([0-9]{{2}}))?{_NO_DIGIT_AFTER}",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(
    rf"{_L}({_MONTH})\.?\s*([0-9]{{1,2}})(?:\s*,?\s*([0-9]{{4}}))?{_NO_DIGIT_AFTER}"
    rf"(?!\s*(?:hari|hr|minggu|pekan|bulan|tahun|jam)\b)",
    re.IGNORECASE,
)
_DAY_OF_MONTH = re.compile(
    rf"{_L}{_TGL}([0-9]{{1,2}}){_NO_DIGIT_AFTER}{_R}"
    rf"(?:\s+(bulan\s+(?:ini|lalu|kemarin|kemaren|kmrn)|bln\s+(?:ini|lalu)))?",
    re.IGNORECASE,
)
_WEEKDAY = re.compile(
    rf"{_L}(hari\s+|hr\s+)?{_DAY}{_R}"
    rf"(?:\s+({_YESTERDAY}|lalu|(?:yang|yg)\s+lalu|kmrn|depan|besok|ini))?{_R}",
    re.IGNORECASE,
)
_COUNT_AGO = re.compile(
    rf"{_L}(?:([0-9]{{1,3}}|{_NUMBER}|beberapa|bbrp)\s*|(se))"
    rf"(hari|hr|minggu|mgg|pekan|bulan|bln|tahun|thn)\s*{_AGO}{_R}",
    re.IGNORECASE,
)
_UNIT_AGO = re.compile(
    rf"{_L}(minggu|pekan|bulan|tahun)\s+{_AGO}{_R}",
    re.IGNORECASE,
)
_LAST_NIGHT = re.compile(
    rf"{_L}(?:tadi\s+malam|tadi\s+malem|td\s+malam|td\s+malem|semalam|semalem){_R}",
    re.IGNORECASE,
)
_TWO_DAYS_AGO = re.compile(
    rf"{_L}{_YESTERDAY}\s+(?:lusa|dulu){_R}",
    re.IGNORECASE,
)
_ONE_DAY_AGO = re.compile(
    rf"{_L}{_YESTERDAY}(?:\s+(?:pagi|siang|sore|malam|malem|hari))?{_R}",
    re.IGNORECASE,
)
_TODAY = re.compile(
    rf"{_L}(?:hari\s+ini|hr\s+ini|tadi(?:\s+(?:pagi|siang|sore))?|td\s+(?:pagi|siang|sore)"
    rf"|barusan|baru\s+(?:saja|aja|tadi)|(?:pagi|siang|sore)\s+ini){_R}",
    re.IGNORECASE,
)
_AHEAD = re.compile(rf"{_L}(besok|bsk|lusa){_R}", re.IGNORECASE)
_MIN_YEAR, _MAX_YEAR = 1900, 2100


@dataclass(frozen=True)
class DateParse:
    """A date found in a message.

    `approximate` is set for vague expressions ("seminggu lalu", "tadi
    malam"); `future` for dates after today ("besok", "5/11/2030"), which the
    assistant should refuse; `matched_text` is the part of the message read.
    """

    value: date
    approximate: bool = False
    matched_text: str = ""
    future: bool = False


@dataclass(frozen=True)
class _Candidate:
    priority: int
    start: int
    end: int
    value: date
    approximate: bool


def _make(year: int, month: int, day: int) -> date | None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _full_year(text: str) -> int:
    year = int(text)
    return year + 2000 if len(text) == 2 else year


def _most_recent(month: int, day: int, today: date) -> date | None:
    """The latest date with this day and month that is not after today."""
    for year in range(today.year, today.year - 8, -1):
        try:
            value = date(year, month, day)
        except ValueError:
            if not 1 <= month <= 12 or not 1 <= day <= 31:
                return None
            continue  # 29 February in a non-leap year: look further back
        if value <= today:
            return value
    return None


def _months_back(today: date, months: int) -> date:
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for day in range(today.day, 0, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise ValueError("no valid day")  # pragma: no cover - day 1 always exists


def _day_of_month(day: int, today: date, which: str | None) -> date | None:
    """Day `day` of this month, or of the latest month before it that has it."""
    if not 1 <= day <= 31:
        return None
    if which and "ini" in which:
        return _make(today.year, today.month, day)
    start = 1 if which or day > today.day else 0
    for back in range(start, start + 12):
        first = _months_back(today.replace(day=1), back)
        value = _make(first.year, first.month, day)
        if value is not None and value <= today:
            return value
    return None


def _count(text: str | None) -> int | None:
    if text is None:
        return None
    word = " ".join(text.lower().split())
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)


def _iso(m: re.Match[str], today: date) -> tuple[date | None, bool]:
    return _make(int(m[1]), int(m[2]), int(m[3])), False


def _dmy(m: re.Match[str], today: date) -> tuple[date | None, bool]:
    return _make(_full_year(m[4]), int(m[3]), int(m[1])), False


def _dm(m: re.Match[str], today: date) -> tuple[date | None, bool]:
    return _most_recent(int(m[2]), int(m[1]), today), False


def _day_month(m: re.Match[str], today: date) -> tuple[date | None, bool]:
    month = MONTH_WORDS[" ".join(m[2].lower().split())]
    year = m[3] or m[4]
    if year:
        return _make(_full_year(year), month, int(m[1])), False
    return _most_recent(month, int(m[1]), today), False


def _month_day(m: re.Match[str], today: date) -> tuple[date | None, bool]:
    month = MONTH_WORDS[" ".join(m[1].lower().split())]
    if m[3]:
        return _make(int(m[3]), month, int(m[2])), False
    return _most_recent(month, int(m[2]), today), False


def _tgl(m: re.Match[str], today: date) -> tuple[date | None, bool]:
    which = " ".join(m[2].lower().split()) if m[2] else None
    return _day_of_month(int(m[1]), today, which), False


def _weekday(m: re.Match[str], today: date) -> tuple[date | None, bool]:
    name = re.sub(r"[^a-z]", "", m[2].lower())
    name = "jumat" if name.startswith("jum") else name
    suffix = " ".join((m[3] or "").lower().split())
    if name == "minggu" and not m[1]:
        # "minggu lalu" is last week and "minggu ini" this week (other patterns);
        # a bare "minggu" after a number is a count of weeks.
        if suffix and suffix not in ("depan", "besok"):
            return None, False
        if re.search(r"(?:[0-9]|\bse|\b(?:satu|dua|tiga|empat|lima|beberapa))\s*$",
                     m.string[: m.start()], re.IGNORECASE):
            return None, False
    if suffix == "ini" and name == "minggu" and m[1]:
        suffix = ""
    weekday = DAY_WORDS[name]
    if suffix in ("depan", "besok"):
        ahead = (weekday - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead), False
    back = (today.weekday() - weekday) % 7
    if back == 0 and suffix and suffix != "ini":
        back = 7
    return today - timedelta(days=back), False


def _count_ago(m: re.Match[str], today: date) -> tuple[date | None, bool]:
    unit = m[3].lower()
    vague = m[1] is not None and m[1].lower() in ("beberapa", "bbrp")
    amount = 1 if m[2] else (3 if vague else _count(m[1]))
    if amount is None:
        return None, False
    if unit in ("hari", "hr"):
        return today - timedelta(days=amount), vague
    if unit in ("minggu", "mgg", "pekan"):
        return today - timedelta(days=7 * amount), True
    if unit in ("bulan", "bln"):
        return _months_back(today, amount), True
    return _months_back(today, 12 * amount), True


def _unit_ago(m: re.Match[str], today: date) -> tuple[date | None, bool]:
    unit = m[1].lower()
    if unit in ("minggu", "pekan"):
        return today - timedelta(days=7), True
    return _months_back(today, 1 if unit == "bulan" else 12), True


def _days(offset: int, approximate: bool = False) -> Callable[[re.Match[str], date],
                                                              tuple[date | None, bool]]:
    def value(m: re.Match[str], today: date) -> tuple[date | None, bool]:
        return today - timedelta(days=offset), approximate

    return value


def _ahead(m: re.Match[str], today: date) -> tuple[date | None, bool]:
    return today + timedelta(days=2 if m[1].lower() == "lusa" else 1), False


_Reader = Callable[[re.Match[str], date], tuple[date | None, bool]]
_PATTERNS: tuple[tuple[int, re.Pattern[str], _Reader], ...] = (
    (_P_ISO, _ISO, _iso),
    (_P_FULL, _DMY, _dmy),
    (_P_DAY_MONTH, _DAY_MONTH, _day_month),
    (_P_DAY_MONTH, _MONTH_DAY, _month_day),
    (_P_DAY_MONTH, _DM, _dm),
    (_P_DAY_OF_MONTH, _DAY_OF_MONTH, _tgl),
    (_P_WEEKDAY, _WEEKDAY, _weekday),
    (_P_RELATIVE, _COUNT_AGO, _count_ago),
    (_P_RELATIVE, _UNIT_AGO, _unit_ago),
    (_P_RELATIVE, _TWO_DAYS_AGO, _days(2)),
    # "tadi malam" / "semalam" is last night: usually yesterday's date.
    (_P_RELATIVE, _LAST_NIGHT, _days(1, approximate=True)),
    (_P_RELATIVE, _ONE_DAY_AGO, _days(1)),
    (_P_RELATIVE, _TODAY, _days(0)),
    (_P_RELATIVE, _AHEAD, _ahead),
)


def parse_known_date(text: str, today: date) -> DateParse | None:
    """Find the date a citizen says they saw the content; None when there is none.

    Day/month order is Indonesian (day first); impossible dates ("31/2") are
    ignored. The result is flagged `future` when it lies after `today`.
    """
    if not text:
        return None
    masked = mask_links(text)
    best: _Candidate | None = None
    for priority, pattern, reader in _PATTERNS:
        for m in pattern.finditer(masked):
            try:
                value, approximate = reader(m, today)
            except (OverflowError, ValueError):
                continue
            if value is None:
                continue
            candidate = _Candidate(priority, m.start(), m.end(), value, approximate)
            if best is None or _better(candidate, best):
                best = candidate
    if best is None:
        return None
    matched = " ".join(text[best.start : best.end].split())
    return DateParse(best.value, best.approximate, matched, future=best.value > today)


def _better(a: _Candidate, b: _Candidate) -> bool:
    return (a.priority, a.end - a.start, -a.start) > (b.priority, b.end - b.start, -b.start)


def days_since(day: date, today: date) -> int:
    """Whole days from `day` to `today` (negative for future dates)."""
    return (today - day).days


def is_past_deadline(day: date, today: date, days: int = 7) -> bool:
    """True when more than `days` days have passed since the content became known."""
    return days_since(day, today) > days


def format_date_id(day: date) -> str:
    """A date in Indonesian, e.g. "5 November 2024"."""
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def format_range_id(start: date, end: date) -> str:
    """A date range in Indonesian, e.g. "28 November 2023 – 10 Februari 2024"."""
    if start == end:
        return format_date_id(start)
    if start.year == end.year and start.month == end.month:
        return f"{start.day}–{end.day} {MONTHS_ID[end.month - 1]} {end.year}"
    if start.year == end.year:
        return f"{start.day} {MONTHS_ID[start.month - 1]} – {format_date_id(end)}"
    return f"{format_date_id(start)} – {format_date_id(end)}"


def format_relative_id(day: date, today: date) -> str:
    """How long ago, in Indonesian: "hari ini", "kemarin", "3 hari lalu" ("besok" ahead)."""
    delta = days_since(day, today)
    if delta == 0:
        return "hari ini"
    if delta == 1:
        return "kemarin"
    if delta > 1:
        return f"{delta} hari lalu"
    if delta == -1:
        return "besok"
    if delta == -2:
        return "lusa"
    return f"{-delta} hari lagi"


WIB = timezone(timedelta(hours=7))  # Asia/Jakarta has no daylight saving time


def today_wib() -> date:
    """Today's date in western Indonesia: what citizens mean by "hari ini"."""
    return datetime.now(WIB).date()
