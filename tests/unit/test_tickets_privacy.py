"""Ticket codes and personal-data protection."""

from __future__ import annotations

import stat

import pytest

from bot.privacy import decrypt_contact, encrypt_contact, redact, sender_key
from bot.settings import get_settings
from bot.store.tickets import (
    ALPHABET,
    find_ticket_codes,
    new_ticket_code,
    normalize_ticket_code,
)


def test_new_codes_are_well_formed_and_not_sequential() -> None:
    codes = {new_ticket_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert code.startswith("LP-") and len(code) == 9
        assert all(ch in ALPHABET for ch in code[3:])


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("LP-7K3QX9", "LP-7K3QX9"),
        ("lp-7k3qx9", "LP-7K3QX9"),
        ("lp7k3qx9", "LP-7K3QX9"),
        ("LP 7K3QX9", "LP-7K3QX9"),
        ("lp--7k3qx9", "LP-7K3QX9"),
        (" LP - 7K3QX9 ", "LP-7K3QX9"),
        ("LP-7K3QXO", "LP-7K3QX0"),  # O read as zero
        ("LP-1L1I11", "LP-111111"),
        ("LP-7K3QX", None),
        ("LP-7K3QX99", None),
        ("AB-7K3QX9", None),
        ("LP-7K3QU9", None),  # U is not in Crockford's alphabet
        ("", None),
    ],
)
def test_normalize_ticket_code(typed: str, code: str | None) -> None:
    assert normalize_ticket_code(typed) == code


def test_find_codes_in_a_message() -> None:
    assert find_ticket_codes("cek status lp 7k3qx9 sama LP-9B2CXE dong") == [
        "LP-7K3QX9", "LP-9B2CXE"]
    assert find_ticket_codes("help me") == []


def test_sender_key_is_stable_keyed_and_per_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    a = sender_key("whatsapp", "+6281114141414")
    assert a == sender_key("whatsapp", "+6281114141414")
    assert a != sender_key("telegram", "+6281114141414")
    assert a.startswith("psn_") and "6281114141414" not in a
    monkeypatch.setenv("PSEUDONYM_KEY", "another-secret")
    get_settings.cache_clear()
    assert sender_key("whatsapp", "+6281114141414") != a


def test_development_keys_are_private_files() -> None:
    sender_key("rest", "x")
    encrypt_contact("x")
    folder = get_settings().var_dir / "dev-secrets"
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_contact_encryption_round_trip() -> None:
    token = encrypt_contact("+6281114141414")
    assert "6281114141414" not in token
    assert decrypt_contact(token) == "+6281114141414"


def test_redact() -> None:
    assert redact("+6281114141414") == "+62811****14"
    assert redact(None) == "-"
    assert redact("123") == "***"
