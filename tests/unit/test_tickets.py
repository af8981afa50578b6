"""Ticket codes: format, randomness, normalisation of what people type."""

from __future__ import annotations

import math
import re
from collections import Counter

import pytest

from bot.store.tickets import (
    ALPHABET,
    find_ticket_codes,
    is_ticket_code,
    new_ticket_code,
    normalize_ticket_code,
)

CODE = re.compile(r"LP-[0-9A-HJKMNP-TV-Z]{6}")


def test_alphabet_is_crockford_base32() -> None:
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_new_codes_are_well_formed() -> None:
    for _ in range(2000):
        code = new_ticket_code()
        assert CODE.fullmatch(code), code
        assert is_ticket_code(code)
        assert normalize_ticket_code(code) == code


def test_new_codes_are_random_not_sequential() -> None:
    codes = [new_ticket_code() for _ in range(20_000)]
    # 20,000 draws from 32**6 (~1.07e9): a collision is possible but very rare
    # (p ~ 0.19); more than 3 would mean the generator is broken.
    assert len(codes) - len(set(codes)) <= 3
    # Consecutive codes are unrelated: no increasing run, no shared prefix trend.
    assert sum(a < b for a, b in zip(codes, codes[1:], strict=False)) < 0.55 * len(codes)
    # Every position uses the whole alphabet about evenly (chi-square, 31 d.o.f.;
    # 70 is far beyond the 99.99th percentile of ~61).
    expected = len(codes) / 32
    for position in range(3, 9):
        counts = Counter(code[position] for code in codes)
        assert set(counts) == set(ALPHABET)
        chi2 = sum((counts[ch] - expected) ** 2 / expected for ch in ALPHABET)
        assert chi2 < 70, (position, chi2)
    # Entropy per code is ~30 bits.
    assert math.log2(32**6) == 30


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # canonical, case and separators
        ("LP-7K3QX9", "LP-7K3QX9"),
        ("lp-7k3qx9", "LP-7K3QX9"),
        ("Lp-7K3qX9", "LP-7K3QX9"),
        ("lp7k3qx9", "LP-7K3QX9"),
        ("LP7K3QX9", "LP-7K3QX9"),
        ("LP 7K3QX9", "LP-7K3QX9"),
        ("lp--7k3qx9", "LP-7K3QX9"),
        ("LP - 7K3QX9", "LP-7K3QX9"),
        (" LP-7K3QX9 ", "LP-7K3QX9"),
        ("LP-7K3 QX9", "LP-7K3QX9"),
        ("L P 7 K 3 Q X 9", "LP-7K3QX9"),
        ("LP\t7K3QX9\n", "LP-7K3QX9"),
        ("LP_7K3QX9", "LP-7K3QX9"),
        ("LP\u20147K3QX9", "LP-7K3QX9"),  # em dash (iOS turns "--" into one)
        ("LP\u20137K3QX9", "LP-7K3QX9"),  # en dash
        ("LP\u00a07K3QX9", "LP-7K3QX9"),  # non-breaking space
        ("ＬＰ－７Ｋ３ＱＸ９", "LP-7K3QX9"),  # full-width keyboard
        # wrapping punctuation
        ("#LP-7K3QX9", "LP-7K3QX9"),
        ('"LP-7K3QX9".', "LP-7K3QX9"),
        ("(lp-7k3qx9)", "LP-7K3QX9"),
        # Crockford confusables
        ("LP-7K3QXO", "LP-7K3QX0"),
        ("lp-7k3qxo", "LP-7K3QX0"),
        ("LP-1L1I11", "LP-111111"),
        ("lp-il0o1l", "LP-110011"),
        ("LP-OOOOOO", "LP-000000"),
        # not codes
        ("LP-7K3QX", None),
        ("LP-7K3QX99", None),
        ("LP-", None),
        ("LP", None),
        ("7K3QX9", None),
        ("AB-7K3QX9", None),
        ("LQ-7K3QX9", None),
        ("LP-7K3QU9", None),  # U is not in Crockford's alphabet
        ("LP-7K3Q!9", None),
        ("LP-7K3QX9-1", None),
        ("", None),
        ("   ", None),
        (None, None),
        ("halo", None),
    ],
)
def test_normalize_ticket_code(typed: str | None, expected: str | None) -> None:
    assert normalize_ticket_code(typed) == expected


@pytest.mark.parametrize(
    ("message", "codes"),
    [
        ("cek status lp 7k3qx9 sama LP-9B2CXE dong", ["LP-7K3QX9", "LP-9B2CXE"]),
        ("Kode saya LP-7K3QX9.", ["LP-7K3QX9"]),
        ("kode: lp7k3qx9, tolong dicek", ["LP-7K3QX9"]),
        ("LP--7K3QX9 dan lp-7k3qx9 lagi", ["LP-7K3QX9"]),  # deduplicated
        ("status LP\u20147K3QXO?", ["LP-7K3QX0"]),
        ("(LP-7K3QX9)", ["LP-7K3QX9"]),
        ("LP-7K3QX9\nLP-ABCDEF", ["LP-7K3QX9", "LP-ABCDEF"]),
        ("help7k3qx9", []),  # "lp" inside a word
        ("LP-7K3QX99", []),  # too long
        ("LP-7K3QX", []),  # too short
        ("LP-7K3QU9", []),  # U is not a code character
        ("saya mau lapor", []),
        ("help me", []),
        ("", []),
        (None, []),
    ],
)
def test_find_ticket_codes_in_a_message(message: str | None, codes: list[str]) -> None:
    assert find_ticket_codes(message) == codes


def test_every_generated_code_survives_being_mangled() -> None:
    for _ in range(500):
        code = new_ticket_code()
        body = code[3:]
        for typed in (code.lower(), "lp" + body.lower(), f"LP {body}", f"lp--{body}",
                      f"LP {body[:3]} {body[3:]}"):
            assert normalize_ticket_code(typed) == code
        assert find_ticket_codes(f"tolong cek {code.lower()} ya") == [code]
