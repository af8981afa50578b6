"""Volunteer codes ("RLW-" + 6 Crockford base32) and the taskforce word list."""

from __future__ import annotations

import re

import pytest

from bot.store.volunteer_codes import (
    find_volunteer_code,
    mentions_volunteer_code,
    new_volunteer_code,
)
from bot.taskforce_words import asks_to_leave, mentions_taskforce

CODE = re.compile(r"RLW-[0-9A-HJKMNP-TV-Z]{6}")


def test_new_codes_are_random_and_unambiguous() -> None:
    codes = {new_volunteer_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(CODE.fullmatch(code) for code in codes)


@pytest.mark.parametrize("text, code", [
    ("saya relawan, kode RLW-4MZ8KD", "RLW-4MZ8KD"),
    ("aku relawan gugus tugas kode rlw 4mz8kd", "RLW-4MZ8KD"),
    ("daftar relawan RLW\u20144MZ8KD.", "RLW-4MZ8KD"),
    ("kode: rlw--4mz8ko", "RLW-4MZ8K0"),  # Crockford confusables
    ("RLW-4MZ8KD dan RLW-7K3QX9", "RLW-4MZ8KD"),
])
def test_codes_are_found_however_they_are_typed(text: str, code: str) -> None:
    assert find_volunteer_code(text) == code
    assert mentions_volunteer_code(text)


@pytest.mark.parametrize("text", [
    "saya relawan", "cek status LP-7K3QX9", "XRLW-4MZ8KD", "RLW-4MZ8KDX", "RLW-4MZ", "",
])
def test_no_code_is_read_where_none_is_written(text: str) -> None:
    assert find_volunteer_code(text) is None
    assert not mentions_volunteer_code(text)


def test_a_code_shaped_message_outside_the_alphabet_is_still_a_code_attempt() -> None:
    # "U" is not Crockford: no valid code, but the sender did try one (rate-limited).
    assert find_volunteer_code("RLW-UUUUUU") is None
    assert mentions_volunteer_code("RLW-UUUUUU")


def test_hostile_long_text_is_read_in_bounded_time() -> None:
    text = "RLW-" * 100_000
    assert find_volunteer_code(text) is None


@pytest.mark.parametrize("text, leave", [
    ("berhenti jadi relawan", True),
    ("saya mau keluar dari gugus tugas", True),
    ("mundur dari relawan", True),
    ("berhenti", False),  # a plain stop is a stop
    ("saya relawan, ga bisa kirim laporan", False),
    ("saya relawan, kode RLW-4MZ8KD", False),
])
def test_leaving_needs_a_volunteer_word_and_a_leave_word(text: str, leave: bool) -> None:
    assert asks_to_leave(text) is leave


def test_taskforce_words() -> None:
    assert mentions_taskforce("aku relawan gugus tugas")
    assert not mentions_taskforce("cek status laporan")
