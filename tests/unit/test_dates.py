"""Indonesian chat date expressions, deadline arithmetic and date wording."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dates import (
    DateParse,
    days_since,
    format_date_id,
    format_range_id,
    format_relative_id,
    is_past_deadline,
    parse_known_date,
)

TODAY = date(2024, 11, 20)  # a Wednesday
assert TODAY.weekday() == 2


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


# (text, expected date, approximate)
DATE_CASES: list[tuple[str, date, bool]] = [
    ("hari ini", TODAY, False),
    ("Hari ini jam 10.30", TODAY, False),
    ("tadi", TODAY, False),
    ("tadi pagi", TODAY, False),
    ("tadi siang", TODAY, False),
    ("td sore", TODAY, False),
    ("barusan", TODAY, False),
    ("baru saja", TODAY, False),
    # "tadi malam" / "semalam" is last night: yesterday, flagged approximate.
    ("tadi malam", ago(1), True),
    ("semalam", ago(1), True),
    ("kemarin", ago(1), False),
    ("Kemaren", ago(1), False),
    ("kmrn", ago(1), False),
    ("kemarin sore", ago(1), False),
    ("aku liat kemarin malam di tiktok", ago(1), False),
    ("kemarin lusa", ago(2), False),
    ("2 hari lalu", ago(2), False),
    ("2hr lalu", ago(2), False),
    ("3 hari yang lalu", ago(3), False),
    ("3 hari yg lalu", ago(3), False),
    ("tiga hari lalu", ago(3), False),
    ("sepuluh hari yang lalu", ago(10), False),
    ("dua belas hari lalu", ago(12), False),
    ("dua puluh satu hari lalu", ago(21), False),
    ("tiga puluh hari lalu", ago(30), False),
    ("beberapa hari lalu", ago(3), True),
    ("seminggu lalu", ago(7), True),
    ("seminggu yang lalu", ago(7), True),
    ("minggu lalu", ago(7), True),
    ("minggu kemarin", ago(7), True),
    ("sepekan lalu", ago(7), True),
    ("2 minggu lalu", ago(14), True),
    ("sebulan lalu", date(2024, 10, 20), True),
    ("bulan lalu", date(2024, 10, 20), True),
    ("tgl 5", date(2024, 11, 5), False),
    ("tanggal 5", date(2024, 11, 5), False),
    ("tgl. 20", TODAY, False),
    ("tanggal 25", date(2024, 10, 25), False),  # the 25th is ahead: last month
    ("tgl 31", date(2024, 10, 31), False),
    ("tgl 5 bulan lalu", date(2024, 10, 5), False),
    ("5/11", date(2024, 11, 5), False),
    ("05-11", date(2024, 11, 5), False),
    ("tgl 5/11", date(2024, 11, 5), False),
    ("25/12", date(2023, 12, 25), False),  # no year: the most recent 25 December
    ("29/2", date(2024, 2, 29), False),
    ("5/11/2024", date(2024, 11, 5), False),
    ("5-11-24", date(2024, 11, 5), False),
    ("5.11.2024", date(2024, 11, 5), False),
    ("15-08-2024", date(2024, 8, 15), False),
    ("5 November 2024", date(2024, 11, 5), False),
    ("5 nov", date(2024, 11, 5), False),
    ("5 nop", date(2024, 11, 5), False),
    ("5 Nopember", date(2024, 11, 5), False),
    ("nov 5", date(2024, 11, 5), False),
    ("tgl 5 nov", date(2024, 11, 5), False),
    ("pada 10 oktober", date(2024, 10, 10), False),
    ("17 agustus 2024", date(2024, 8, 17), False),
    ("2024-11-05", date(2024, 11, 5), False),
    ("senin kemarin", date(2024, 11, 18), False),
    ("hari senin", date(2024, 11, 18), False),
    ("selasa", ago(1), False),
    ("rabu", TODAY, False),
    ("hari rabu kemarin", ago(7), False),  # today is Wednesday: last week's
    ("kamis lalu", date(2024, 11, 14), False),
    ("jumat", date(2024, 11, 15), False),
    ("jum'at kemarin", date(2024, 11, 15), False),
    ("sabtu malam", date(2024, 11, 16), False),
    ("minggu", date(2024, 11, 17), False),
    ("hari minggu", date(2024, 11, 17), False),
    ("ahad", date(2024, 11, 17), False),
    ("1-2 hari lalu", ago(2), False),
    ("https://www.tiktok.com/@akun/video/5/11 kemarin", ago(1), False),
    ("saya lihat videonya di fb tanggal 5 kemarin sore", date(2024, 11, 5), False),
]


@pytest.mark.parametrize(("text", "expected", "approximate"), DATE_CASES)
def test_parse_known_date(text: str, expected: date, approximate: bool) -> None:
    parsed = parse_known_date(text, TODAY)
    assert parsed is not None, text
    assert parsed.value == expected
    assert parsed.approximate is approximate
    assert parsed.future is False
    assert parsed.matched_text
    assert parsed.matched_text.lower() in " ".join(text.lower().split())


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("aku liat kemarin malam di tiktok", "kemarin malam"),
        ("senin kemarin ada postingan", "senin kemarin"),
        ("Tgl 5 Nov", "Tgl 5 Nov"),
        ("kira2 3 hari yang lalu min", "3 hari yang lalu"),
    ],
)
def test_matched_text_is_the_part_read(text: str, matched: str) -> None:
    parsed = parse_known_date(text, TODAY)
    assert parsed is not None and parsed.matched_text == matched


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("besok", date(2024, 11, 21)),
        ("lusa", date(2024, 11, 22)),
        ("selasa depan", date(2024, 11, 26)),
        ("5/11/2030", date(2030, 11, 5)),
        ("2024-12-01", date(2024, 12, 1)),
        ("25 desember 2024", date(2024, 12, 25)),
    ],
)
def test_future_dates_are_flagged(text: str, expected: date) -> None:
    parsed = parse_known_date(text, TODAY)
    assert parsed is not None
    assert parsed.value == expected
    assert parsed.future is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "saya mau lapor hoaks",
        "ada video di tiktok",
        "31/2",
        "31/11",
        "30/02/2024",
        "2024-02-30",
        "0/5",
        "5/13",
        "tgl 32",
        "jam 9.11",
        "paslon 02",
        "nomor 0812-3456-7890",
        "pak agus 2 kali posting",
        "minggu ini",
        "udah 3 hari",
        "https://example.com/2024/11/05/berita",
    ],
)
def test_no_date(text: str) -> None:
    assert parse_known_date(text, TODAY) is None


def test_date_parse_fields() -> None:
    parsed = parse_known_date("kemarin", TODAY)
    assert parsed == DateParse(value=ago(1), approximate=False, matched_text="kemarin")


def test_days_since_and_deadline() -> None:
    assert days_since(ago(3), TODAY) == 3
    assert days_since(TODAY + timedelta(days=1), TODAY) == -1
    assert is_past_deadline(ago(7), TODAY) is False
    assert is_past_deadline(ago(8), TODAY) is True
    assert is_past_deadline(ago(3), TODAY, days=2) is True


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2024, 11, 5), "5 November 2024"),
        (date(2024, 1, 31), "31 Januari 2024"),
        (date(2024, 8, 17), "17 Agustus 2024"),
    ],
)
def test_format_date_id(day: date, text: str) -> None:
    assert format_date_id(day) == text


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (TODAY, "hari ini"),
        (ago(1), "kemarin"),
        (ago(3), "3 hari lalu"),
        (ago(30), "30 hari lalu"),
        (TODAY + timedelta(days=1), "besok"),
        (TODAY + timedelta(days=5), "5 hari lagi"),
    ],
)
def test_format_relative_id(day: date, text: str) -> None:
    assert format_relative_id(day, TODAY) == text


def test_format_range_id() -> None:
    assert format_range_id(date(2024, 11, 5), date(2024, 11, 5)) == "5 November 2024"
    assert format_range_id(date(2024, 11, 5), date(2024, 11, 9)) == "5–9 November 2024"
    assert format_range_id(date(2023, 11, 28), date(2024, 2, 10)) == (
        "28 November 2023 – 10 Februari 2024"
    )


def test_date_case_count() -> None:
    assert len(DATE_CASES) >= 50


# --- properties ------------------------------------------------------------------

DATE_WORDS = [
    "kemarin", "lusa", "besok", "tadi", "malam", "hari", "ini", "lalu", "yang", "minggu",
    "senin", "jumat", "tgl", "tanggal", "5", "31", "11", "2024", "/", "-", ".", "nov", "mei",
    "se", "tiga", "puluh", "bulan", "depan", "2", "0", "99", "1900", "9999",
]


def _check(text: str, today: date) -> None:
    parsed = parse_known_date(text, today)
    if parsed is not None:
        assert isinstance(parsed.value, date)
        assert parsed.future == (parsed.value > today)
        assert parsed.value <= today or parsed.future


@settings(max_examples=400, deadline=None)
@given(st.text(), st.dates())
def test_never_raises_and_never_silently_future(text: str, today: date) -> None:
    _check(text, today)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(DATE_WORDS), max_size=8).map(" ".join),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
)
def test_date_like_text_never_raises(text: str, today: date) -> None:
    _check(text, today)
    _check(text.replace(" / ", "/").replace(" - ", "-"), today)
